"""The "Public functions" section: which functions, why (invoke, or other actions such as lambda:GetFunction),
which actions, who, and how far policy and URLs were read, so that an empty list never reads as "nothing is
public" when nothing was checked."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from enriched_inventory import enriched_snapshot, enriched_statuses
from support.inventories import (
    AS_OF,
    DEV,
    PROD,
    SNAPSHOT_DATE,
    WITHIN,
    catalog,
    function,
    functions_table,
    sample_snapshot,
    status,
    status_table,
)

from inventory.aws.lambda_actions import FUNCTION_ACTIONS
from inventory.readers.snapshot import Snapshot
from inventory.reports.compliance import ComplianceReport, build_report
from inventory.reports.compliance_render import report_document
from inventory.reports.document import Section
from inventory.reports.exposure import actions_cell, public_label

READ_BOTH = ["policy", "urls"]
GET = {"public_actions": ["lambda:GetFunction"]}


def _report(tmp_path: Path, snapshot: Snapshot, owner_tag: str | None = None) -> ComplianceReport:
    return build_report(snapshot, catalog(tmp_path), AS_OF, WITHIN, owner_tag=owner_tag)


def _section(report: ComplianceReport) -> Section:
    return next(s for s in report_document(report).sections if s.heading == "Public functions")


@pytest.mark.parametrize(
    ("fields", "label"),
    [
        ({"enriched": READ_BOTH, "public_invoke": True, "url_auth_types": []}, "policy"),
        ({"enriched": READ_BOTH, "public_invoke": False, "url_auth_types": ["NONE"], "public_url": True}, "URL"),
        (
            {"enriched": READ_BOTH, "public_invoke": True, "url_auth_types": ["NONE"], "public_url": True},
            "policy and URL",
        ),
        # a NONE URL that no policy opens answers 403 (issue 20): not public
        ({"enriched": READ_BOTH, "public_invoke": False, "url_auth_types": ["NONE"], "public_url": False}, "no"),
        ({"enriched": READ_BOTH, "public_invoke": True, "url_auth_types": ["NONE"], "public_url": False}, "policy"),
        # a file written before public_url: a NONE URL counts, as it may answer anyone
        ({"enriched": READ_BOTH, "public_invoke": False, "url_auth_types": ["AWS_IAM", "NONE"]}, "URL"),
        ({"enriched": READ_BOTH, "public_invoke": False, "url_auth_types": ["AWS_IAM"]}, "no"),  # signed URL only
        ({"enriched": READ_BOTH, "public_invoke": False, "url_auth_types": []}, "no"),
        ({"enriched": ["policy"], "public_invoke": True}, "policy (URLs not read)"),
        ({"enriched": ["urls"], "url_auth_types": ["NONE"]}, "URL (policy not read)"),  # public_url null: not judged
        ({"enriched": ["urls"], "url_auth_types": ["NONE"], "public_url": True}, "URL (policy not read)"),  # an alias's
        ({"enriched": ["policy"], "public_invoke": False}, "no public policy; URLs not read"),
        ({"enriched": ["urls"], "url_auth_types": []}, "no public URL; policy not read"),
        ({"enriched": [], "public_invoke": None, "url_auth_types": None}, "not checked"),
        ({"enriched": None, "public_invoke": None, "url_auth_types": None}, "not checked"),  # an older file
        ({"enriched": READ_BOTH, "public_invoke": None, "url_auth_types": None}, "not checked"),  # no value
        ({"enriched": [], "public_invoke": True, "url_auth_types": ["NONE"]}, "not checked"),  # not vouched for
        # public by other actions than invoke (issue 20): anyone may download the code, read the configuration
        ({"enriched": READ_BOTH, "public_invoke": False, "url_auth_types": [], **GET}, "policy (no invoke)"),
        ({"enriched": ["policy"], "public_invoke": False, **GET}, "policy (no invoke; URLs not read)"),
        (
            {"enriched": READ_BOTH, "public_invoke": False, "url_auth_types": ["NONE"], "public_url": True, **GET},
            "policy (no invoke) and URL",  # an alias's NONE URL
        ),
        ({"enriched": READ_BOTH, "public_invoke": True, "url_auth_types": [], **GET}, "policy"),  # invoke says it
        ({"enriched": ["urls"], "public_invoke": None, "url_auth_types": [], **GET}, "no public URL; policy not read"),
    ],
)
def test_public_label(fields: dict[str, Any], label: str) -> None:
    row = {"public_invoke": None, "url_auth_types": None, "public_url": None, "public_actions": None, **fields}
    assert public_label(row) == label


def test_public_functions_with_why_and_principals(tmp_path: Path) -> None:
    exposure = _report(tmp_path, enriched_snapshot(), owner_tag="team").exposure
    assert [
        (f.function_name, f.status, f.owner, f.why, f.url_auth_types, f.principals) for f in exposure.functions
    ] == [
        ("image-resizer", "image", "media", "policy and URL", ("NONE",), ("*", "arn:aws:iam::999999999999:root")),
        ("orders-worker", "deprecation_soon", "(untagged)", "policy", (), ("*",)),
        ("orders|api", "deprecated", "orders", "URL", ("AWS_IAM", "NONE"), ("s3.amazonaws.com",)),
        ("edge-auth", "create_blocked", "payments", "policy (URLs not read)", None, ("*",)),  # us-east-1: urls failed
        ("api-canary", "deprecation_soon", "(tags not read)", "policy (no invoke)", (), ()),  # its code downloadable
    ]  # legacy-<batch>: its NONE URL is not public_url (no policy opens it: 403)
    assert [f.actions for f in exposure.functions][-2:] == [("lambda:InvokeFunction",), ("lambda:GetFunction",)]
    assert exposure.checked == (
        "Checked: policy: read for 3 of 3 listed targets (10 of 10 functions); "
        "urls: read for 2 of 3 listed targets (9 of 10 functions); failed for 1 target."
    )


def test_the_table_says_not_read_and_none_apart(tmp_path: Path) -> None:
    section = _section(_report(tmp_path, enriched_snapshot(), owner_tag="team"))
    assert section.table is not None
    columns = section.table.columns
    assert columns[7:12] == ("owner", "why", "public actions", "URL auth", "invoke principals")
    cells = {row[3]: dict(zip(columns, row, strict=True)) for row in section.table.rows}
    assert cells["edge-auth"]["URL auth"] == "(URLs not read)"
    assert cells["orders|api"]["invoke principals"] == "s3.amazonaws.com"
    assert cells["orders-worker"]["URL auth"] == "(none)"
    assert cells["image-resizer"]["invoke principals"] == "*, arn:aws:iam::999999999999:root"
    assert cells["image-resizer"]["public actions"] == "lambda:InvokeFunction, lambda:InvokeFunctionUrl"
    canary = cells["api-canary"]
    assert (canary["why"], canary["public actions"]) == ("policy (no invoke)", "lambda:GetFunction")
    assert cells["orders|api"]["public actions"] == "(none)"  # public by an alias's URL, its policy grants nothing
    assert "owner" not in _section(_report(tmp_path, enriched_snapshot())).table.columns  # type: ignore[union-attr]


def test_nothing_checked_never_reads_as_nothing_public(tmp_path: Path) -> None:
    section = _section(_report(tmp_path, sample_snapshot()))  # no enrichment at all
    assert section.table is not None and section.table.rows == ()
    assert section.text[1] == "Not checked: policy and urls were not collected (enable enrich: [policy, urls])."
    assert section.empty == "None listed because nothing was checked: this does not mean that no function is public."


def _single(tmp_path: Path, rows: list[dict[str, Any]], names: list[str]) -> Section:
    outcomes = [{"name": n, "status": "ok", "calls": 1, "error_code": None, "error_message": None} for n in names]
    statuses = [status(PROD, "eu-west-1", count=len(rows), enrichments=outcomes)]
    snapshot = Snapshot(functions_table(rows), status_table(statuses), "fixture://one", SNAPSHOT_DATE)
    return _section(_report(tmp_path, snapshot))


def test_checked_everywhere_and_none_public_is_said_plainly(tmp_path: Path) -> None:
    fields = {"enriched": READ_BOTH, "public_invoke": False, "invoke_principals": [], "url_auth_types": ["AWS_IAM"]}
    section = _single(tmp_path, [function(PROD, "f", **fields)], READ_BOTH)
    assert section.text[1] == (
        "Checked: policy: read for 1 of 1 listed targets (1 of 1 functions); "
        "urls: read for 1 of 1 listed targets (1 of 1 functions)."
    )
    assert section.empty.startswith("No function is public: policy and URLs were read for every")


def test_checked_in_part_is_not_a_clean_bill(tmp_path: Path) -> None:
    fields = {"enriched": ["policy"], "public_invoke": False, "invoke_principals": []}
    section = _single(tmp_path, [function(PROD, "f", **fields)], ["policy"])
    assert section.text[1] == (
        "Checked: policy: read for 1 of 1 listed targets (1 of 1 functions); "
        "urls: not collected (enable enrich: [urls])."
    )
    assert section.empty.endswith("this is not a clean bill of health.")


def test_a_failed_enrichment_is_not_read_and_says_so(tmp_path: Path) -> None:
    statuses = [s for s in enriched_statuses() if s["account_id"] == DEV and s["status"] == "ok"]
    for e in statuses[0]["enrichments"]:
        e["status"] = "failed" if e["name"] in READ_BOTH else e["status"]
    rows = [function(DEV, "f", region="eu-central-1")]
    snapshot = Snapshot(functions_table(rows), status_table(statuses), "fixture://failed", SNAPSHOT_DATE)
    section = _section(_report(tmp_path, snapshot))
    assert section.text[1] == (
        "Not checked: policy: not read: failed for 1 target (the status file's enrichments say why); "
        "urls: not read: failed for 1 target (the status file's enrichments say why)."
    )
    assert section.empty.startswith("None listed because nothing was checked")


def test_actions_are_named_and_a_wildcard_is_said_once() -> None:
    assert actions_cell(("lambda:GetFunction", "lambda:GetFunctionConfiguration"), "-") == (
        "lambda:GetFunction, lambda:GetFunctionConfiguration"
    )
    assert actions_cell(FUNCTION_ACTIONS, "-") == f"all {len(FUNCTION_ACTIONS)} function actions (lambda:*)"
    assert actions_cell((*FUNCTION_ACTIONS, "lambda:SomeNewAction"), "-").endswith("(lambda:*), lambda:SomeNewAction")
    assert (actions_cell((), "-"), actions_cell(None, "(policy not read)")) == ("(none)", "(policy not read)")


def test_code_download_alone_is_public_not_invocable(tmp_path: Path) -> None:
    """lambda:GetFunction to * (issue 20): listed, its actions named; its neighbour with no policy is not."""
    read = {"enriched": READ_BOTH, "public_invoke": False, "invoke_principals": [], "url_auth_types": []}
    rows = [
        function(PROD, "open-code", **read, public_actions=["lambda:GetFunction", "lambda:GetFunctionConfiguration"]),
        function(PROD, "closed", **read, public_actions=[]),
    ]
    section = _single(tmp_path, rows, READ_BOTH)
    assert section.table is not None
    (row,) = (dict(zip(section.table.columns, r, strict=True)) for r in section.table.rows)
    assert (row["function"], row["why"]) == ("open-code", "policy (no invoke)")
    assert row["public actions"] == "lambda:GetFunction, lambda:GetFunctionConfiguration"


def test_a_file_written_before_public_actions_says_only_invoke_was_judged(tmp_path: Path) -> None:
    fields = {"enriched": READ_BOTH, "public_invoke": False, "invoke_principals": [], "url_auth_types": []}
    outcomes = [{"name": n, "status": "ok", "calls": 1, "error_code": None, "error_message": None} for n in READ_BOTH]
    statuses = [status(PROD, "eu-west-1", count=1, enrichments=outcomes)]
    table = functions_table([function(PROD, "f", **fields)])
    absent = frozenset({"public_actions"})
    snapshot = Snapshot(table, status_table(statuses), "old", SNAPSHOT_DATE, absent_columns=absent)
    section = _section(_report(tmp_path, snapshot))
    assert section.text[1].endswith("Written before public_actions: only invoke was judged.")
