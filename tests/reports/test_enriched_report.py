"""The compliance report on an inventory with enrichments: unused affected functions, every format (golden
Markdown and CSV, HTML) carrying owners, usage, the public sections and the estate, an inventory written before
enrichments existed, and `lambda-inventory report --owner-tag team --group-by owner` as a subprocess (the
estate tables written beside a CSV inventory, or into the lake)."""

from __future__ import annotations

import csv
import io
import subprocess
from datetime import date
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from conftest import run_cli
from enriched_inventory import enriched_functions, enriched_snapshot, enriched_statuses
from estate_inventory import estate_tables, write_estate
from report_golden import check_golden
from support.inventories import (
    AS_OF,
    PROD,
    SNAPSHOT_DATE,
    WITHIN,
    catalog,
    function,
    functions_table,
    sample_functions,
    sample_snapshot,
    status_table,
    write_lake_run,
    write_run,
    write_runtimes,
)

from inventory.contract.csvsafe import unescape
from inventory.readers.snapshot import Snapshot, load_snapshot
from inventory.reports.compliance import ComplianceReport, build_report
from inventory.reports.compliance_render import AFFECTED_COLUMNS, render_report
from inventory.reports.owners import Grouping
from inventory.reports.usage import Usage, usage_of


def _report(tmp_path: Path, snapshot: Snapshot | None = None, owner_tag: str | None = "team") -> ComplianceReport:
    group_by = Grouping.OWNER if owner_tag else Grouping.ACCOUNT
    return build_report(
        snapshot or enriched_snapshot(), catalog(tmp_path), AS_OF, WITHIN, owner_tag=owner_tag, group_by=group_by
    )


def _csv(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


# --- usage: unused, used, unknown ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "usage", "invocations"),
    [
        ({"enriched": ["usage"], "invocations_30d": 0}, Usage.UNUSED, 0),
        ({"enriched": ["tags", "usage"], "invocations_30d": 7}, Usage.USED, 7),
        ({"enriched": ["usage"], "invocations_30d": None}, Usage.UNKNOWN, None),  # listed, no value: not read
        ({"enriched": [], "invocations_30d": None}, Usage.UNKNOWN, None),  # not asked
        ({"enriched": None, "invocations_30d": None}, Usage.UNKNOWN, None),  # a file from before enrichments
        ({"enriched": ["tags"], "invocations_30d": 0}, Usage.UNKNOWN, None),  # a 0 not vouched for is not unused
    ],
)
def test_usage_of_a_row(fields: dict[str, Any], usage: Usage, invocations: int | None) -> None:
    assert usage_of(fields) == (usage, invocations)


def test_unused_affected_functions_are_candidates_for_deletion(tmp_path: Path) -> None:
    report = _report(tmp_path)
    assert [(f.function_name, f.usage, f.invocations_30d, f.last_invocation_day) for f in report.affected] == [
        ("billing-export", Usage.UNUSED, 0, None),
        ("billing-export", Usage.UNUSED, 0, None),
        ("edge-auth", Usage.UNUSED, 0, None),
        ("orders|api", Usage.USED, 1500, date(2026, 11, 27)),
        ("orders-worker", Usage.UNUSED, 0, None),
        ("api-canary", Usage.UNKNOWN, None, None),  # dev eu-central-1: usage failed
        ("legacy-<batch>", Usage.UNKNOWN, None, None),
    ]
    counts = report.usage
    assert (counts.unused, counts.used, counts.unknown) == (4, 1, 2)
    assert counts.line == (
        "Usage over the 30 days to the snapshot day, of the 7 affected: 4 unused (candidates for deletion), "
        "1 used, 2 unknown (usage not read); usage: read for 2 of 3 listed targets (7 of 10 functions); "
        "failed for 1 target."
    )


def test_usage_never_read_is_unknown_not_unused(tmp_path: Path) -> None:
    report = _report(tmp_path, sample_snapshot(), owner_tag=None)
    assert {f.usage for f in report.affected} == {Usage.UNKNOWN}
    assert (report.usage.unused, report.usage.used, report.usage.unknown) == (0, 0, 7)
    assert report.usage.line == (
        "Usage: not collected (enable enrich: [usage]): whether an affected function is unused is unknown."
    )


# --- every format --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("fmt", "ext"), [("markdown", "md"), ("csv", "csv")])
def test_golden_enriched_by_owner(tmp_path: Path, fmt: str, ext: str) -> None:
    check_golden(f"enriched.{ext}", render_report(_report(tmp_path), fmt))


def test_csv_has_the_new_columns_and_owner_last_only_with_an_owner_tag(tmp_path: Path) -> None:
    rows = _csv(render_report(_report(tmp_path), "csv"))
    assert list(rows[0]) == [*AFFECTED_COLUMNS, "owner"]
    assert AFFECTED_COLUMNS[-5:] == ("invocations_30d", "last_invocation_day", "usage", "public", "public_actions")
    first, orders, unknown = rows[0], rows[3], rows[5]
    assert (rows[2]["function_name"], rows[2]["public_actions"]) == ("edge-auth", '["lambda:InvokeFunction"]')
    assert (unknown["public"], unknown["public_actions"]) == ("policy (no invoke)", '["lambda:GetFunction"]')
    assert first["public_actions"] == "[]"  # read: nothing public
    assert (first["invocations_30d"], first["usage"], first["public"], first["owner"]) == (
        "0",
        "unused: candidate for deletion",
        "no",
        "payments",
    )
    assert (orders["invocations_30d"], orders["last_invocation_day"], orders["usage"]) == ("1500", "2026-11-27", "used")
    assert (unknown["invocations_30d"], unknown["usage"], unknown["owner"]) == (
        "",
        "unknown: usage not read",
        "(tags not read)",
    )
    assert list(_csv(render_report(_report(tmp_path, owner_tag=None), "csv"))[0]) == list(AFFECTED_COLUMNS)


def test_csv_owner_from_a_member_tag_cannot_run_as_a_formula(tmp_path: Path) -> None:
    hostile = '=HYPERLINK("http://evil.example","x")'
    rows = [{**r, "tags": [("team", hostile)]} if "tags" in r["enriched"] else r for r in enriched_functions()]
    snapshot = Snapshot(functions_table(rows), status_table(enriched_statuses()), "t", SNAPSHOT_DATE)
    table = _csv(render_report(_report(tmp_path, snapshot), "csv"))
    assert {r["owner"] for r in table} == {f"'{hostile}", "(tags not read)"}
    assert unescape(f"'{hostile}") == hostile
    assert [c for r in table for c in r.values() if c[:1] in {"=", "+", "-", "@", "\t", "\r"}] == []


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.text: list[str] = []
        self.svgs = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.svgs += tag == "svg"

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def test_html_carries_owners_usage_and_the_public_section(tmp_path: Path) -> None:
    rows = [
        {**r, "tags": [("team", "<b>ops</b>")]} if r["function_name"] == "reports" else r for r in enriched_functions()
    ]
    snapshot = Snapshot(
        functions_table(rows), status_table(enriched_statuses()), "t", SNAPSHOT_DATE, tables=estate_tables()
    )
    page = render_report(_report(tmp_path, snapshot), "html")
    parsed = _Text()
    parsed.feed(page)
    text = " ".join(parsed.text)
    assert parsed.svgs == 2  # by runtime, by owner
    assert "Functions by lifecycle status per owner" in text and "per account" not in text
    assert "Public functions" in text and "policy (URLs not read)" in text and "policy (no invoke)" in text
    assert "Public aliases and layer versions" in text and "arn:aws:lambda:eu-west-1:012345678901:layer:otel:1" in text
    assert "Estate" in text and "concurrency allocated, in total" in text and "Layers" in text
    assert "unused: candidate for deletion" in text and "used (1500 in 30 days)" in text
    assert "<b>ops</b>" in text and "<b>ops</b>" not in page  # escaped in the page, text once parsed
    assert "(tags not read)" in text


# --- an inventory written before enrichments existed -----------------------------------------------------


def test_an_inventory_written_before_enrichments_reports_them_not_collected(tmp_path: Path) -> None:
    path = tmp_path / "old.parquet"
    write_run(str(path), sample_functions(), sample_snapshot().status.to_pylist())
    new_columns = ["enriched", "tags", "url_auth_types", "public_invoke", "invoke_principals"]
    new_columns += ["reserved_concurrency", "invocations_30d", "last_invocation_day"]
    pq.write_table(pq.read_table(path).drop_columns(new_columns), path)
    status_path = tmp_path / "old.status.parquet"
    pq.write_table(pq.read_table(status_path).drop_columns(["enrichments"]), status_path)
    snapshot = load_snapshot(str(path))
    assert {"enriched", "tags", "invocations_30d"} <= snapshot.absent_columns
    report = _report(tmp_path, snapshot)
    assert {(f.owner, f.usage, f.public) for f in report.affected} == {
        ("(tags not read)", Usage.UNKNOWN, "not checked")
    }
    assert report.exposure.functions == ()
    assert report.exposure.checked.startswith("Not checked: policy and urls were not collected")


# --- the command --------------------------------------------------------------------------------------


def _cli(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return run_cli("report", *args)


@pytest.mark.parametrize("written", ["lake", "inv.csv"])
def test_cli_owner_tag_and_group_by_owner_on_a_written_inventory(tmp_path: Path, written: str) -> None:
    """The enrichment columns (a map of tags, lists, a date) as a run writes them: a lake's Iceberg tables, or
    a CSV file's JSON cells."""
    if written == "lake":
        run = write_lake_run(tmp_path / written, enriched_functions(), enriched_statuses())
        write_estate(tmp_path / written, estate_tables(), run)
    else:
        write_run(str(tmp_path / written), enriched_functions(), enriched_statuses())
        write_estate(tmp_path / written, estate_tables())
    runtimes = write_runtimes(tmp_path)
    common = ("--as-of", "2026-11-28", "--runtimes", runtimes, "--owner-tag", "team", "--group-by", "owner")
    done = _cli(tmp_path / written, *common)
    assert (done.returncode, done.stderr) == (0, "")
    lines = done.stdout.splitlines()
    assert "## Functions by owner" in lines and "## Functions by account and region" not in lines
    assert "| payments | 2 | 1 | 0 | 0 | 0 | 0 | 0 | 3 |" in lines
    assert "| (tags not read) | 0 | 0 | 0 | 1 | 1 | 1 | 0 | 3 |" in lines
    assert "## Public functions" in lines and "## Public aliases and layer versions" in lines
    assert any("| edge-auth |" in line and "policy (URLs not read)" in line for line in lines)
    assert any("| api-canary |" in line and "| policy (no invoke) | lambda:GetFunction |" in line for line in lines)
    # the estate as written (typed back from the lake's tables or the CSV's JSON cells), and where it was not read
    assert any("| alias | orders\\|api | live | 3 (4: 10%) | lambda:InvokeFunction |" in line for line in lines)
    assert "| provisioned_concurrency | concurrency allocated, in total | 55 |" in lines
    assert "| event_source_mappings | self-managed Kafka, Enabled | 1 |" in lines
    failed = "failed for 1 target: 012345678901 us-east-1 (AccessDeniedException)"
    assert f"aliases: read for 2 of 3 listed targets; {failed}." in lines
    out = tmp_path / "affected.csv"
    done = _cli(tmp_path / written, *common, "--format", "csv", "--output", out)
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")
    rows = _csv(out.read_text(encoding="utf-8"))
    assert [(r["function_name"], r["owner"], r["usage"]) for r in rows][:3] == [
        ("billing-export", "payments", "unused: candidate for deletion"),
        ("billing-export", "payments", "unused: candidate for deletion"),
        ("edge-auth", "payments", "unused: candidate for deletion"),
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--group-by", "owner"], "--group-by owner needs --owner-tag KEY"),
        (["--owner-tag", ""], "--owner-tag: '' is not a tag key"),
        (["--owner-tag", "x" * 129], "--owner-tag: 'xxx"),
        (["--owner-tag", "team\nx"], "--owner-tag: 'team\\nx' is not a tag key"),
    ],
)
def test_cli_bad_owner_flags_exit_2_with_one_line(tmp_path: Path, args: list[str], message: str) -> None:
    source = tmp_path / "inv.parquet"
    write_run(str(source), [function(PROD, "f")], enriched_statuses()[:1])
    done = _cli(source, *args)
    assert done.returncode == 2
    (line,) = done.stderr.splitlines()
    assert line.startswith(f"lambda-inventory: error: {message}")
    assert done.stdout == ""


def test_cli_group_by_rejects_an_unknown_grouping(tmp_path: Path) -> None:
    done = _cli(tmp_path / "x.parquet", "--group-by", "region")
    assert done.returncode == 2
    assert "invalid choice: 'region'" in done.stderr
