"""`diff` as a security team reads it: a function made public overnight is its own section and gate
(`--fail-on newly-public`), its policy, URL and owner tag are changes, and an enrichment is compared only
where both snapshots read it, with a note naming where it was not.

The snapshots are written and read back as the job's files (diff_inventory.py). `public_actions` (the policy
enrichment's list of the actions anyone may perform) is added to a snapshot as read when the schema does not
have it yet, as a snapshot of a later version carries it.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import subprocess
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from conftest import run_cli
from diff_inventory import (
    ALL_READ,
    DEV,
    EAST,
    NEW_TIME,
    OLD_TIME,
    PROD,
    WEST,
    Row,
    Side,
    categories,
    changed_fields,
    check_golden,
    diff,
    enriched,
    target,
    write,
)

from inventory.contract.columns import ENRICHMENTS
from inventory.readers.snapshot import Snapshot, load_snapshot
from inventory.reports.diff import Category, Diff, Gate, diff_snapshots
from inventory.reports.diff_coverage import NOT_READ
from inventory.reports.diff_public import PUBLIC_ACTIONS
from inventory.reports.diff_render import NEWLY_PUBLIC, DiffFormat, render_diff


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


PUBLIC: dict[str, Any] = {"public_invoke": True, "invoke_principals": ["*"], "url_auth_types": ["NONE"]}
STATUS = [target(PROD, EAST, enrichments=ALL_READ)]


def _overnight() -> tuple[Side, Side]:
    """The issue's night: `billing` made public (policy `*`, a URL with auth NONE, a new owner tag); `api`
    and `worker` untouched."""
    quiet = [enriched(PROD, EAST, "api", tags=[("team", "orders")]), enriched(PROD, EAST, "worker")]
    before = enriched(PROD, EAST, "billing", tags=[("team", "payments")])
    after = enriched(PROD, EAST, "billing", tags=[("team", "someone-else")], **PUBLIC)
    return ([*quiet, before], STATUS), ([*quiet, after], STATUS)


def test_a_function_made_public_overnight_is_newly_public_and_changed() -> None:
    result = diff(*_overnight())
    (public,) = result.newly_public
    assert (public.function_name, public.category) == ("billing", Category.CHANGED)
    assert [(f.field, f.old, f.new) for f in public.fields] == [
        ("public_invoke", "false", "true"),
        ("url_auth_types", "[]", '["NONE"]'),
    ]
    assert changed_fields(result) == {
        "billing": {
            "tags": ('{"team": "payments"}', '{"team": "someone-else"}'),
            "url_auth_types": ("[]", '["NONE"]'),
            "public_invoke": ("false", "true"),
            "invoke_principals": ("[]", '["*"]'),
        }
    }
    assert result.unchanged == 2 and result.enrichment_gaps == ()
    assert result.tripped({Gate.NEWLY_PUBLIC}) and result.tripped({Gate.CHANGE})
    check_golden("newly_public", result)


def test_newly_public_is_the_first_section_and_the_first_csv_rows() -> None:
    result = diff(*_overnight())
    markdown = render_diff(result, DiffFormat.MARKDOWN)
    headings = [line for line in markdown.splitlines() if line.startswith("## ")]
    assert headings[0] == "## Newly public (1)"
    assert "**Newly public: 1 function(s) (see Newly public).**" in markdown
    rows = list(csv.DictReader(io.StringIO(render_diff(result, DiffFormat.CSV))))
    assert [(r["category"], r["function_name"], r["field"]) for r in rows[:2]] == [
        (NEWLY_PUBLIC, "billing", "public_invoke"),
        (NEWLY_PUBLIC, "billing", "url_auth_types"),
    ]
    assert {r["category"] for r in rows[2:]} == {"changed"}


def test_an_added_public_function_is_newly_public_and_an_added_private_one_is_not() -> None:
    (old, status), _ = _overnight()
    new = [*old, enriched(PROD, EAST, "open", url_auth_types=["AWS_IAM", "NONE"]), enriched(PROD, EAST, "closed")]
    result = diff((old, status), (new, status))
    (public,) = result.newly_public
    assert (public.function_name, public.category) == ("open", Category.ADDED)
    assert [(f.field, f.old, f.new) for f in public.fields] == [("url_auth_types", "", '["AWS_IAM", "NONE"]')]
    assert categories(result) == {"added": {"open", "closed"}}


def test_public_before_and_after_is_a_change_not_newly_public() -> None:
    """Public by its policy in OLD; a public URL added in NEW is a change, but the function was public."""
    old = [enriched(PROD, EAST, "f", public_invoke=True, invoke_principals=["*"])]
    new = [enriched(PROD, EAST, "f", **PUBLIC)]
    result = diff((old, STATUS), (new, STATUS))
    assert result.newly_public == ()
    assert changed_fields(result) == {"f": {"url_auth_types": ("[]", '["NONE"]')}}
    assert not result.tripped({Gate.NEWLY_PUBLIC}) and result.tripped({Gate.CHANGE})


def _with_actions(snapshot: Snapshot, actions: list[list[str]] | None) -> Snapshot:
    """The snapshot with `public_actions` as read (one list per row), or without the column (None)."""
    functions = snapshot.functions
    if PUBLIC_ACTIONS in functions.column_names:
        functions = functions.drop_columns([PUBLIC_ACTIONS])
    if actions is not None:
        functions = functions.append_column(PUBLIC_ACTIONS, pa.array(actions, pa.list_(pa.string())))
    absent = snapshot.absent_columns | ({PUBLIC_ACTIONS} if actions is None else set())
    return dataclasses.replace(snapshot, functions=functions, absent_columns=frozenset(absent))


def _action_pair(
    old_actions: list[list[str]] | None, new_actions: list[list[str]] | None, *, invoke: bool = True
) -> Diff:
    """One function with these public_actions, public_invoke `invoke` in both snapshots."""
    policy = {"public_invoke": invoke, "invoke_principals": ["*"] if invoke else []}
    write(Path("old.parquet"), [enriched(PROD, EAST, "f", **policy)], STATUS, OLD_TIME)
    write(Path("new.parquet"), [enriched(PROD, EAST, "f", **policy)], STATUS, NEW_TIME)
    old, new = load_snapshot("old.parquet"), load_snapshot("new.parquet")
    return diff_snapshots(_with_actions(old, old_actions), _with_actions(new, new_actions))


def test_public_actions_gaining_an_action_is_newly_public_even_when_it_was_public() -> None:
    result = _action_pair([["lambda:InvokeFunction"]], [["lambda:GetFunction", "lambda:InvokeFunction"]])
    (public,) = result.newly_public
    assert [(f.field, f.old, f.new) for f in public.fields] == [
        (PUBLIC_ACTIONS, '["lambda:InvokeFunction"]', '["lambda:GetFunction", "lambda:InvokeFunction"]')
    ]
    assert _action_pair([["lambda:InvokeFunction"]], [["lambda:InvokeFunction"]]).newly_public == ()
    assert _action_pair([["lambda:GetPolicy", "lambda:InvokeFunction"]], [["lambda:InvokeFunction"]]).newly_public == ()


def test_public_actions_alone_make_a_function_public() -> None:
    """Nobody may invoke it, but anyone may now read its policy: public."""
    result = _action_pair([[]], [["lambda:GetPolicy"]], invoke=False)
    assert [(c.function_name, f.field, f.old, f.new) for c in result.newly_public for f in c.fields] == [
        ("f", PUBLIC_ACTIONS, "[]", '["lambda:GetPolicy"]')
    ]


def test_a_snapshot_without_public_actions_has_not_read_them() -> None:
    """An older file, or this version's: no evidence either way, never a function 'newly' public."""
    assert _action_pair(None, [["lambda:InvokeFunction", "lambda:GetFunction"]]).newly_public == ()
    assert _action_pair([["lambda:InvokeFunction"]], None).newly_public == ()
    assert _action_pair(None, None).newly_public == ()


def _coverage_night() -> tuple[Side, Side]:
    """prod us-east-1 read everything both nights; prod eu-west-1's policy failed in NEW; dev us-east-1 asked
    for no tags in OLD. Each of them changes what the enrichment that was not read in both would show."""
    dev_old = {e: "ok" for e in ENRICHMENTS if e != "tags"}
    old_status = [*STATUS, target(PROD, WEST, enrichments=ALL_READ), target(DEV, EAST, enrichments=dev_old)]
    policy_failed = {**ALL_READ, "policy": "failed"}
    new_status = [*STATUS, target(PROD, WEST, enrichments=policy_failed), target(DEV, EAST, enrichments=ALL_READ)]
    west_read = [e for e in ENRICHMENTS if e != "policy"]
    old = [
        enriched(PROD, EAST, "api", reserved_concurrency=10),
        enriched(PROD, WEST, "edge"),
        enriched(DEV, EAST, "tool", read=sorted(dev_old), tags=None),
    ]
    new = [
        enriched(PROD, EAST, "api", reserved_concurrency=0),
        enriched(PROD, WEST, "edge", read=west_read, public_invoke=None, invoke_principals=None),
        enriched(DEV, EAST, "tool", tags=[("team", "tools")]),
    ]
    return (old, old_status), (new, new_status)


def test_an_enrichment_is_compared_only_where_both_snapshots_read_it() -> None:
    result = diff(*_coverage_night())
    assert changed_fields(result) == {"api": {"reserved_concurrency": ("10", "0")}}
    assert result.unchanged == 2
    assert [(g.enrichments, g.old, g.new, g.targets, g.everywhere) for g in result.enrichment_gaps] == [
        (("tags",), NOT_READ, "ok", ((DEV, EAST),), False),
        (("policy",), "ok", "failed (AccessDeniedException)", ((PROD, WEST),), False),
    ]
    markdown = render_diff(result, DiffFormat.MARKDOWN)
    assert "| tags | not read | ok | 222222222222 us-east-1 |" in markdown
    assert "| policy | ok | failed (AccessDeniedException) | 111111111111 eu-west-1 |" in markdown
    check_golden("enrichments", result)


def test_a_function_public_where_old_did_not_read_its_policy_is_not_called_newly_public() -> None:
    (old, old_status), (new, new_status) = _coverage_night()
    old_status = [*old_status[:1], target(PROD, WEST, enrichments={**ALL_READ, "policy": "failed"}), old_status[2]]
    old = [old[0], enriched(PROD, WEST, "edge", read=[e for e in ENRICHMENTS if e != "policy"]), old[2]]
    new_status = [*new_status[:1], target(PROD, WEST, enrichments=ALL_READ), new_status[2]]
    new = [new[0], enriched(PROD, WEST, "edge", public_invoke=True, invoke_principals=["*"]), new[2]]
    result = diff((old, old_status), (new, new_status))
    assert result.newly_public == ()
    assert "edge" not in changed_fields(result)
    (gap,) = [g for g in result.enrichment_gaps if "policy" in g.enrichments]
    assert (gap.old, gap.new, gap.targets) == ("failed (AccessDeniedException)", "ok", ((PROD, WEST),))


def test_listing_only_snapshots_say_no_enrichment_was_compared_in_one_line() -> None:
    plain = [enriched(PROD, EAST, "f", read=[], tags=None, public_invoke=None, url_auth_types=None)]
    status = [target(PROD, EAST), target(PROD, WEST)]
    (gap,) = diff((plain, status), (plain, status)).enrichment_gaps
    assert (gap.enrichments, gap.old, gap.new, gap.everywhere, gap.of) == (
        ("tags", "urls", "policy", "concurrency"),
        NOT_READ,
        NOT_READ,
        True,
        2,
    )


# --- the gate on the command line ------------------------------------------------------------------------


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return run_cli("diff", "old.parquet", "new.parquet", *args, timeout=120)


def _write(pair: tuple[Side, Side]) -> None:
    (old, old_status), (new, new_status) = pair
    write(Path("old.parquet"), old, old_status, OLD_TIME)
    write(Path("new.parquet"), new, new_status, NEW_TIME)


@pytest.mark.parametrize(
    ("flags", "code"),
    [
        ((), 0),
        (("--fail-on", "newly-public"), 4),
        (("--fail-on", "change"), 4),
        (("--fail-on-change",), 4),
        (("--fail-on", "change", "--fail-on", "newly-public"), 4),
    ],
)
def test_the_gates_trip_on_a_function_made_public(flags: tuple[str, ...], code: int) -> None:
    _write(_overnight())
    proc = _cli(*flags)
    assert (proc.returncode, proc.stderr) == (code, "")
    assert proc.stdout.splitlines()[4:7:2] == [
        "**Newly public: 1 function(s) (see Newly public).**",
        "## Newly public (1)",
    ]


@pytest.mark.parametrize(
    ("flags", "code"),
    [(("--fail-on", "newly-public"), 0), (("--fail-on", "change"), 4), (("--fail-on-change",), 4)],
)
def test_newly_public_does_not_trip_on_other_changes(flags: tuple[str, ...], code: int) -> None:
    """The same night without the function made public: only its memory size changed."""
    (old, status), _ = _overnight()
    new: list[Row] = [*old[:2], {**old[2], "memory_size": 512}]
    _write(((old, status), (new, status)))
    proc = _cli(*flags)
    assert (proc.returncode, proc.stderr) == (code, "")
    assert "## Newly public (0)" in proc.stdout


def test_an_unknown_gate_is_refused() -> None:
    _write(_overnight())
    proc = _cli("--fail-on", "public")
    assert proc.returncode == 2
    assert "invalid choice: 'public'" in proc.stderr


def test_a_none_url_no_policy_opens_is_not_newly_public_where_it_was_judged() -> None:
    """public_url (urls judged with the policy) decides: a NONE URL that answers 403 is no exposure; where the
    verdict is null (the policy not read) a NONE URL still leans public."""
    old = [enriched(PROD, EAST, "closed"), enriched(PROD, EAST, "open"), enriched(PROD, EAST, "unjudged")]
    new = [
        enriched(PROD, EAST, "closed", url_auth_types=["NONE"], public_url=False),
        enriched(PROD, EAST, "open", url_auth_types=["NONE"], public_url=True),
        enriched(PROD, EAST, "unjudged", url_auth_types=["NONE"], public_url=None),
    ]
    result = diff((old, STATUS), (new, STATUS))
    assert sorted(change.function_name for change in result.newly_public) == ["open", "unjudged"]
