"""`report --owner-tag KEY` and `--group-by`: the owner of every row, never silently blank, and the table per
owner; which tables of counts the report shows. The enriched sample is tests/reports/enriched_inventory.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from enriched_inventory import enriched_snapshot
from support.inventories import (
    AS_OF,
    PROD,
    SNAPSHOT_DATE,
    WITHIN,
    catalog,
    function,
    functions_table,
    sample_snapshot,
    status_table,
)

from inventory.errors import ConfigError
from inventory.readers.snapshot import Snapshot
from inventory.reports.compliance import ComplianceReport, build_report
from inventory.reports.compliance_render import render_report, report_document
from inventory.reports.owners import EMPTY_VALUE, TAGS_NOT_READ, UNTAGGED, Grouping, owner_column

BY_OWNER = "Functions by owner"
BY_ACCOUNT = "Functions by account and region"


def _report(
    tmp_path: Path, snapshot: Snapshot, owner_tag: str | None = "team", group_by: Grouping = Grouping.ACCOUNT
) -> ComplianceReport:
    return build_report(snapshot, catalog(tmp_path), AS_OF, WITHIN, owner_tag=owner_tag, group_by=group_by)


def _headings(report: ComplianceReport) -> list[str]:
    return [s.heading for s in report_document(report).sections]


@pytest.mark.parametrize(
    ("fields", "owner"),
    [
        ({"enriched": ["tags"], "tags": [("team", "payments")]}, "payments"),
        ({"enriched": ["tags", "usage"], "tags": [("env", "prod"), ("team", "a|b")]}, "a|b"),
        ({"enriched": ["tags"], "tags": []}, UNTAGGED),  # read, no tags at all
        ({"enriched": ["tags"], "tags": [("env", "prod")]}, UNTAGGED),  # read, not this tag
        ({"enriched": ["tags"], "tags": [("Team", "payments")]}, UNTAGGED),  # keys are case-sensitive
        ({"enriched": ["tags"], "tags": [("team", "")]}, EMPTY_VALUE),
        ({"enriched": ["tags"], "tags": None}, TAGS_NOT_READ),  # listed as read, but no value: not read
        ({"enriched": [], "tags": None}, TAGS_NOT_READ),  # not asked
        ({"enriched": ["policy"], "tags": [("team", "x")]}, TAGS_NOT_READ),  # a value not vouched for
    ],
)
def test_owner_of_a_row(fields: dict[str, Any], owner: str) -> None:
    table = functions_table([function(PROD, "f", **fields)])
    assert owner_column(table, "team").to_pylist() == [owner]


def test_rows_written_before_enrichments_existed_are_tags_not_read() -> None:
    table = functions_table([function(PROD, "f", enriched=["tags"], tags=[("team", "x")])])
    strings = pa.list_(pa.string())
    old = table.set_column(table.schema.get_field_index("enriched"), "enriched", pa.nulls(1, strings))
    assert owner_column(old, "team").to_pylist() == [TAGS_NOT_READ]


def test_every_affected_row_has_its_owner(tmp_path: Path) -> None:
    report = _report(tmp_path, enriched_snapshot())
    assert [(f.function_name, f.owner) for f in report.affected] == [
        ("billing-export", "payments"),
        ("billing-export", "payments"),
        ("edge-auth", "payments"),
        ("orders|api", "orders"),
        ("orders-worker", UNTAGGED),
        ("api-canary", TAGS_NOT_READ),  # dev eu-central-1: tags failed
        ("legacy-<batch>", TAGS_NOT_READ),
    ]
    assert all(f.owner for f in report.affected)


def test_without_an_owner_tag_there_is_no_owner(tmp_path: Path) -> None:
    report = _report(tmp_path, enriched_snapshot(), owner_tag=None)
    assert {f.owner for f in report.affected} == {None}
    assert (report.by_owner, report.tags) == ((), None)
    assert BY_OWNER not in _headings(report)
    assert "owner" not in render_report(report, "csv").splitlines()[0].split(",")


def test_by_owner_counts_every_function_by_status_owners_first_then_placeholders(tmp_path: Path) -> None:
    report = _report(tmp_path, enriched_snapshot())
    assert [(t.label, t.total, t.affected) for t in report.by_owner] == [
        (("media",), 1, 0),
        (("orders",), 1, 1),
        (("payments",), 3, 3),
        ((EMPTY_VALUE,), 1, 0),
        ((UNTAGGED,), 1, 1),
        ((TAGS_NOT_READ,), 3, 2),
    ]
    assert sum(t.total for t in report.by_owner) == report.overall.total
    section = next(s for s in report_document(report).sections if s.heading == BY_OWNER)
    assert section.text[1] == (
        "tags: read for 2 of 3 listed targets (7 of 10 functions); failed for 1 target; "
        f"the others' functions are {TAGS_NOT_READ}."
    )
    assert section.table is not None and section.table.columns[0] == "owner"


def test_owner_tag_on_an_inventory_whose_tags_were_never_read_says_so_once(tmp_path: Path) -> None:
    report = _report(tmp_path, sample_snapshot())  # no enrichment at all
    assert {f.owner for f in report.affected} == {TAGS_NOT_READ}
    assert [(t.label, t.total) for t in report.by_owner] == [((TAGS_NOT_READ,), 10)]
    document = report_document(report)
    said = "tags: not collected (enable enrich: [tags])"
    assert document.warnings[-1] == f"Owners (tag 'team'): {said}; every function's owner is {TAGS_NOT_READ}."
    markdown = render_report(report, "markdown")
    assert markdown.count("tags: not collected (enable enrich: \\[tags\\])") == 1


def test_owner_tag_when_tags_failed_everywhere_says_they_failed(tmp_path: Path) -> None:
    snapshot = enriched_snapshot()
    statuses = snapshot.status.to_pylist()
    for row in statuses:
        for e in row["enrichments"]:
            e["status"] = "failed" if e["name"] == "tags" and row["status"] == "ok" else e["status"]
    rows = snapshot.functions.to_pylist()
    rows = [{**r, "tags": None, "enriched": [e for e in r["enriched"] if e != "tags"]} for r in rows]
    failed = Snapshot(functions_table(rows), status_table(statuses), "fixture://failed", SNAPSHOT_DATE)
    report = _report(tmp_path, failed)
    assert report.tags is not None and (report.tags.targets_read, report.tags.targets_failed) == (0, 3)
    warning = report_document(report).warnings[-1]
    assert "tags: not read: failed for 3 targets (the status file's enrichments say why)" in warning


@pytest.mark.parametrize(
    ("group_by", "owner_tag", "tables"),
    [
        (Grouping.ACCOUNT, None, ["Functions by runtime", BY_ACCOUNT]),
        (Grouping.ACCOUNT, "team", ["Functions by runtime", BY_ACCOUNT, BY_OWNER]),
        (Grouping.OWNER, "team", ["Functions by runtime", BY_OWNER]),
        (Grouping.RUNTIME, None, ["Functions by runtime"]),
        (Grouping.RUNTIME, "team", ["Functions by runtime", BY_OWNER]),
    ],
)
def test_group_by_picks_the_table_of_counts(
    tmp_path: Path, group_by: Grouping, owner_tag: str | None, tables: list[str]
) -> None:
    headings = _headings(_report(tmp_path, enriched_snapshot(), owner_tag, group_by))
    assert [h for h in headings if h.startswith("Functions by")] == tables
    assert headings[:2] == ["Summary", "Affected functions"]


def test_group_by_owner_needs_an_owner_tag(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"^--group-by owner needs --owner-tag KEY"):
        _report(tmp_path, enriched_snapshot(), None, Grouping.OWNER)
