"""The benchmark's fake AWS answers the estate reads (issue 20) as the job reads them: each list read with the job's
own calls (inventory/aws/estate_calls.py, function_calls.py) over its signed-HTTP path returns, page after page,
the items fake_estate_truth.py holds; bad paging and unknown names get Lambda's errors; the reads throttle and
count toward their account-region. And bench_estate.py's check passes the tables the job's own typing makes of
those items, and catches a row lost, added or changed. Small and fast: `pytest benchmarks/`."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import test_fake
from bench_enrich import parse_names
from bench_estate import ESTATE_MATRIX, REGION_SET, TABLES, check_estate, estate_ratios, verdict_lines
from fake_estate_truth import Estate, estate, min_estate_calls
from test_fake import ACCOUNT, REGION, _calls

from inventory.aws import enrichment_calls as api
from inventory.aws import estate_calls as region_api
from inventory.aws import function_calls as function_api
from inventory.aws.retry import FaultKind, classify
from inventory.contract.estate import ESTATE
from inventory.contract.estate_rows import estate_batch, estate_values
from inventory.contract.results import EstateRow
from inventory.contract.target import Account, Target

fake = test_fake.fake  # the fixture: the fake in its own process, its URL in AWS_ENDPOINT_URL
SEED, COUNT = 7, 230  # seed 7's us-east-1 of the first account: 60 mappings, 4 layers, a code signing config
ONE_A_PAGE = ("--seed", str(SEED), "--estate-page-items", "1")  # every list of two items or more pages
Page = Callable[[api.Scope, str | None], Awaitable[api.Paged]]
_CSC = f"arn:aws:lambda:{REGION}:{ACCOUNT}:code-signing-config:csc-0000"  # + 13 digits: no config of the fake's


def _estate() -> Estate:
    return estate(ACCOUNT, REGION, COUNT, SEED)


async def _read_all(scope: api.Scope, page: Page) -> tuple[list[Any], int]:
    """Every item of a list, page after page: (items, pages)."""
    items: list[Any] = []
    token: str | None = None
    for pages in range(1, 10_000):
        answer = await page(scope, token)
        items += answer.values
        token = answer.next_token
        if token is None:
            return items, pages
    raise AssertionError("the pages did not end")


def _lists(*pages: Page) -> list[tuple[list[Any], int]]:
    answers = _calls(*(partial(_read_all, page=page) for page in pages))
    for answer in answers:
        assert not isinstance(answer, BaseException), answer
    return answers


@pytest.mark.parametrize("fake", [ONE_A_PAGE], indirect=True)
def test_account_region_lists_page_through_the_estate(fake: str) -> None:
    e = _estate()
    assert len(e.mappings) > 50 and len(e.layers) > 1 and e.signing_configs
    names = [layer["LayerName"] for layer in e.layers]
    versions = [partial(region_api.layer_versions_page, layer=name) for name in names]
    region_lists = (region_api.event_source_mappings_page, region_api.layers_page, region_api.code_signing_configs_page)
    arns = [config["CodeSigningConfigArn"] for config in e.signing_configs]
    signed = [partial(region_api.functions_by_code_signing_config_page, config=arn) for arn in arns]
    (mappings, mapping_pages), (layers, _), (configs, _), *rest = _lists(*region_lists, *versions, *signed)
    by_layer, by_config = rest[: len(names)], rest[len(names) :]
    assert (mappings, mapping_pages) == (list(e.mappings), len(e.mappings))  # one item a page, as asked
    assert layers == list(e.layers) and configs == list(e.signing_configs)
    assert [items for items, _ in by_layer] == [list(e.layer_versions[name]) for name in names]
    assert all(items[0]["Version"] > items[-1]["Version"] for items, _ in by_layer if len(items) > 1)  # newest first
    fn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function"
    using = [[f"{fn}:{f.name}" for f in e.functions if f.signing_arn == arn] for arn in arns]
    assert [items for items, _ in by_config] == using and [pages for _, pages in by_config] == [len(u) for u in using]
    assert 0 < sum(map(len, using)) < len(e.functions)  # some functions use a config, not all
    with urllib.request.urlopen(fake + "/__enrichment_min_calls") as resp:
        least = json.load(resp)
    held = sum(len(v) for v in e.layer_versions.values())  # a page each (one item a page); a policy read each
    assert least["event_source_mappings"] == len(e.mappings) and least["layers"] == len(e.layers) + held
    assert least["layer_policies"] == held
    assert least["code_signing"] == len(arns) + sum(map(len, using))  # one function a page


@pytest.mark.parametrize("fake", [ONE_A_PAGE], indirect=True)
def test_function_reads_answer_each_functions_estate(fake: str) -> None:
    e = _estate()
    reads = [
        (function_api.aliases_page, "aliases"),
        (function_api.event_invoke_configs_page, "invoke_configs"),
        (function_api.provisioned_concurrency_configs_page, "provisioned"),
    ]
    pages = [partial(page, name=f.name) for f in e.functions for page, _ in reads]
    found = iter(_lists(*pages))
    for f in e.functions:
        for _, member in reads:
            items, count = next(found)
            assert items == list(getattr(f, member)) and count == max(1, len(items))
    assert any(len(f.aliases) > 1 for f in e.functions) and any(f.provisioned for f in e.functions)


@pytest.mark.parametrize("fake", [ONE_A_PAGE], indirect=True)
def test_bad_paging_and_unknown_names_get_lambdas_errors(fake: str) -> None:
    name = _estate().functions[0].name

    def get(path: str) -> Callable[[api.Scope], Awaitable[bytes]]:
        return lambda scope: api.lambda_get(scope, "Probe", path)

    answers = _calls(
        get("/2018-10-31/layers?MaxItems=51"),  # over ListLayers' bound
        get("/2015-03-31/event-source-mappings/?MaxItems=0"),
        get("/2020-04-22/code-signing-configs/?Marker=not-ours"),
        get(f"/2019-09-30/functions/{name}/provisioned-concurrency"),  # without List=ALL
        lambda scope: function_api.aliases_page(scope, None, name="not-a-function-00001"),
        lambda scope: region_api.functions_by_code_signing_config_page(scope, None, config=f"{_CSC}0000000000000"),
        lambda scope: region_api.layer_versions_page(scope, None, layer="no-such-layer"),
    )
    codes = [classify(a).code if isinstance(a, BaseException) else a for a in answers]
    assert codes[:4] == ["InvalidParameterValueException"] * 4
    assert codes[4:6] == ["ResourceNotFoundException"] * 2
    assert codes[6] == api.Paged([], None)


@pytest.mark.parametrize("fake", [("--throttle-rate", "1")], indirect=True)
def test_estate_reads_throttle_and_count_toward_their_account_region(fake: str) -> None:
    answers = _calls(
        lambda s: region_api.event_source_mappings_page(s, None),
        lambda s: region_api.functions_by_code_signing_config_page(s, None, config=f"{_CSC}0000000000000"),
    )
    assert [classify(a).kind for a in answers] == [FaultKind.THROTTLED] * 2
    with urllib.request.urlopen(fake + "/__stats") as resp:
        stats = json.load(resp)
    assert stats["requests_by_target"] == {f"{ACCOUNT}/{REGION}": 2}


# ------------------------------------------------------------------------------------------ bench_estate's check


def _write_run(folder: Path, e: Estate, tables: tuple[str, ...]) -> Path:
    """What the job writes of `e` for a run asking for the enrichments writing `tables`: those tables, typed by
    the job's own estate_values and estate_batch, and the functions' code_signing_config_arn."""
    target = Target(Account(ACCOUNT, ACCOUNT, (), f"arn:aws:iam::{ACCOUNT}:role/r", None), REGION)
    keyed = {
        "event_source_mappings": [EstateRow((i["FunctionArn"].split(":")[6],), i) for i in e.mappings],
        "layers": [EstateRow((), i) for i in e.layers],
        "layer_versions": [EstateRow((n,), i) for n, items in e.layer_versions.items() for i in items],
        "aliases": [EstateRow((f.name,), i) for f in e.functions for i in f.aliases],
        "event_invoke_configs": [EstateRow((f.name,), i) for f in e.functions for i in f.invoke_configs],
        "provisioned_concurrency": [EstateRow((f.name,), i) for f in e.functions for i in f.provisioned],
        "code_signing_configs": [EstateRow((), i) for i in e.signing_configs],
    }
    moment = datetime(2026, 12, 1, tzinfo=UTC)
    for table in tables:
        typed = estate_batch(ESTATE[table], [estate_values(ESTATE[table], target, moment, keyed[table])])
        pq.write_table(typed, folder / f"inventory.{table}.parquet")
    signed = "code_signing_configs" in tables
    functions = {
        "account_id": [ACCOUNT] * len(e.functions),
        "region": [REGION] * len(e.functions),
        "function_name": [f.name for f in e.functions],
        "code_signing_config_arn": [(f.signing_arn or None) if signed else None for f in e.functions],
    }
    pq.write_table(
        pa.table(functions, schema=pa.schema([(k, pa.string()) for k in functions])), folder / "inventory.parquet"
    )
    return folder / "inventory.parquet"


def test_the_check_passes_the_jobs_typing_of_the_fakes_items(tmp_path: Path) -> None:
    every = tuple(t for tables in TABLES.values() for t in tables)
    output = _write_run(tmp_path, _estate(), every)
    problems, facts = check_estate(output, list(TABLES), {ACCOUNT: {REGION: COUNT}}, SEED)
    assert problems == []
    assert facts["estate_rows"]["event_source_mappings"] == len(_estate().mappings)
    assert min(facts["estate_rows"].values()) > 0


def test_the_check_catches_a_row_lost_added_or_changed(tmp_path: Path) -> None:
    e = _estate()
    changed = dict(e.mappings[1], BatchSize=7)
    wrong = Estate((*e.mappings[2:], changed, e.mappings[2]), e.layers, {}, e.signing_configs, e.functions)
    output = _write_run(tmp_path, wrong, ("event_source_mappings", "layers", "layer_versions", "aliases"))
    problems, _ = check_estate(output, ["event_source_mappings", "layers"], {ACCOUNT: {REGION: COUNT}}, SEED)
    assert any(
        p.startswith("event_source_mappings: 2 rows of the fake's missing or different, 2 rows") for p in problems
    )
    assert any(p.startswith("layer_versions: ") for p in problems)  # every version lost
    assert "aliases: written, but aliases was not asked" in problems


def test_min_estate_calls_counts_every_page() -> None:
    e = _estate()
    one = min_estate_calls([e], 1)
    assert one["event_source_mappings"] == len(e.mappings)
    used = [len(e.signed[c["CodeSigningConfigArn"]]) for c in e.signing_configs]
    assert one["code_signing"] == len(e.signing_configs) + sum(max(1, n) for n in used)
    assert one["aliases"] == sum(max(1, len(f.aliases)) + len(f.aliases) for f in e.functions)  # + GetPolicy each
    default = min_estate_calls([e, estate(ACCOUNT, "us-east-2", 0, SEED)], 100)
    assert default["event_source_mappings"] == 1 + 1  # 60 mappings in one page of 100, and the empty region's one
    assert default["aliases"] == COUNT + sum(len(f.aliases) for f in e.functions)
    assert default["provisioned_concurrency"] == COUNT
    # one page of configs each; a list of functions per config (50 a page) where there are functions, not in the
    # empty region (nothing to give a config to)
    assert default["code_signing"] == 1 + sum(max(1, -(-n // 50)) for n in used) + 1


def test_the_target_is_the_three_per_account_region_tables_together() -> None:
    """code_signing is read per account-region and per config: the 1.3x target holds the three tables together;
    the two without it are a row of their own, with no target."""
    sets = [parse_names(part.replace("+", ",")) for part in ESTATE_MATRIX.split(",")]
    assert REGION_SET in sets and ("event_source_mappings", "layers") in sets and ("code_signing",) in sets

    def measured(wall: float) -> dict[str, float]:
        return {"wall_s": wall, "cpu_s": wall / 2, "calls": wall * 10, "max_rps_per_target": 9}

    rows = [((), measured(10.0)), (("event_source_mappings", "layers"), measured(12.0)), (REGION_SET, measured(14.0))]
    ratios = estate_ratios(rows)
    assert ratios["event_source_mappings+layers+code_signing"]["target_met"] is False  # 1.4x
    assert "target_met" not in ratios["event_source_mappings+layers"]
    first, second, rate = verdict_lines(ratios, 10)
    assert first.startswith("  per-account-region tables event_source_mappings+layers+code_signing: wall 1.40x")
    assert "(target <= 1.3x: NOT met; 14.0 s / 10.0 s)" in first
    assert second.startswith("  without code_signing event_source_mappings+layers: wall 1.20x the plain listing (no ")
    assert rate.startswith("  estate runs: at most 9 requests in one second")
