"""The run summary. (The status rows: tests/contract/test_status.py; results -> exit code: tests/test_exits.py.)"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from inventory.contract.record import Counts, RunInfo, RunRecord, build_record
from inventory.contract.results import EnrichmentOutcome, Status, TargetResult
from inventory.contract.target import Account, Target
from inventory.job.summary import RunSummary, render_summary

OUT = Path("out/inventory.parquet")
STATUS_OUT = Path("out/inventory.status.parquet")
INFO = RunInfo.start({"accounts": []})


def _record(results: list[TargetResult]) -> RunRecord:
    """The run's record, whose counts the summary shows."""
    return build_record(INFO, results, {}, INFO.started_at)


def _account(account_id: str, name: str | None = None) -> Account:
    return Account(account_id, name or f"name-{account_id}", (), f"arn:aws:iam::{account_id}:role/R", None)


def ok(
    account_id: str, region: str, count: int = 3, *, pages: int = 1, retries: int = 0, duration: float = 0.25
) -> TargetResult:
    return TargetResult(Target(_account(account_id), region), Status.OK, count, (), pages, retries, duration)


def skipped(account_id: str, region: str) -> TargetResult:
    return TargetResult(
        Target(_account(account_id), region),
        Status.SKIPPED,
        None,
        (),
        0,
        0,
        0.01,
        "UnrecognizedClientException",
        "region not enabled for this account (The security token included in the request is invalid.)",
    )


def failed(account_id: str, region: str, code: str = "AccessDenied", retries: int = 0) -> TargetResult:
    return TargetResult(
        Target(_account(account_id), region),
        Status.FAILED,
        None,
        (),
        0,
        retries,
        1.5,
        code,
        f"AssumeRole failed: not authorized ({code})",
    )


def _summary(results: list[TargetResult], assume_role_calls: int = 4, duration: float = 12.34) -> RunSummary:
    return RunSummary(
        _record(results).counts,
        retries=sum(r.retries for r in results),
        assume_role_calls=assume_role_calls,
        assume_role_retries=2 if assume_role_calls else 0,
        duration_s=duration,
        output=OUT,  # type: ignore[arg-type]
        status_output=STATUS_OUT,  # type: ignore[arg-type]
    )


MIXED = [
    ok("333333333333", "us-east-1", 5, pages=2, retries=1),
    failed("555555555555", "eu-west-1"),
    ok("222222222222", "eu-west-1", 0),
    skipped("333333333333", "ap-east-1"),
    ok("222222222222", "us-east-1", 7, retries=2),
    failed("555555555555", "us-east-1", "TooManyRequestsException", retries=7),
]


# --- summarise ----------------------------------------------------------------------------------------


def test_summarise_counts() -> None:
    summary = _summary(MIXED)
    assert summary == RunSummary(
        Counts(targets=6, ok=3, skipped=1, failed=2, functions=12, accounts=3),
        retries=10,
        assume_role_calls=4,
        assume_role_retries=2,
        duration_s=12.34,
        output=OUT,
        status_output=STATUS_OUT,
    )


def test_summarise_nothing() -> None:
    summary = _summary([], assume_role_calls=0, duration=0.0)
    assert (
        summary.counts.targets,
        summary.counts.ok,
        summary.counts.skipped,
        summary.counts.failed,
        summary.counts.functions,
        summary.counts.accounts,
    ) == (
        0,
        0,
        0,
        0,
        0,
        0,
    )


# --- render_summary -----------------------------------------------------------------------------------


def test_render_summary_counts_and_paths() -> None:
    text = render_summary(_summary(MIXED), MIXED)
    first = text.splitlines()[0]
    assert "12 functions" in first and "3 accounts" in first and "12.3s" in first
    assert "6: 3 ok, 1 skipped, 2 failed" in text
    assert "4 AssumeRole (2 retries), 10 listing retries" in text
    assert str(OUT) in text and str(STATUS_OUT) in text


def test_render_summary_lists_failed_and_skipped_targets() -> None:
    text = render_summary(_summary(MIXED), MIXED)
    lines = text.splitlines()
    failed_lines = [line for line in lines if line.strip().startswith("failed")]
    assert len(failed_lines) == 2
    assert any("555555555555/eu-west-1" in line and "AccessDenied" in line for line in failed_lines)
    assert any("555555555555/us-east-1" in line and "TooManyRequestsException" in line for line in failed_lines)
    assert all("name-555555555555" in line for line in failed_lines)
    skipped_lines = [line for line in lines if line.strip().startswith("skipped")]
    assert len(skipped_lines) == 1
    assert "333333333333/ap-east-1" in skipped_lines[0]
    # ok targets are not listed individually
    assert "222222222222/us-east-1" not in text
    assert "333333333333/us-east-1" not in text


def test_render_summary_all_ok_lists_no_targets() -> None:
    results = [ok("111111111111", "us-east-1"), ok("111111111111", "eu-west-1")]
    text = render_summary(_summary(results), results)
    assert len(text.splitlines()) == 5
    assert "2: 2 ok, 0 skipped, 0 failed" in text
    assert "failed " not in text.replace("0 failed", "")


def test_render_summary_caps_the_list() -> None:
    results = [failed(f"{i:012d}", "us-east-1") for i in range(1, 26)]
    text = render_summary(_summary(results), results)
    target_lines = [line for line in text.splitlines() if line.strip().startswith("failed")]
    assert len(target_lines) == 10
    assert "... and 15 more in the status file" in text


def test_render_summary_exactly_ten_has_no_more_line() -> None:
    results = [failed(f"{i:012d}", "us-east-1") for i in range(1, 11)]
    text = render_summary(_summary(results), results)
    assert "more in the status file" not in text


def test_render_summary_lines_have_no_embedded_newlines_from_results() -> None:
    results = [ok("111111111111", "us-east-1"), failed("222222222222", "eu-west-1")]
    text = render_summary(_summary(results), results)
    assert len(text.splitlines()) == 6


def test_render_summary_counts_enrichments_and_names_their_failures() -> None:
    denied = EnrichmentOutcome("policy", Status.FAILED, 1, error_code="AccessDeniedException", error_message="no")
    results = [
        replace(ok("111111111111", "us-east-1"), enrichments=(EnrichmentOutcome("tags", Status.OK, 2), denied)),
        replace(
            ok("222222222222", "us-east-1"),
            enrichments=(EnrichmentOutcome("tags", Status.OK, 1), EnrichmentOutcome("policy", Status.OK, 3)),
        ),
        replace(
            failed("333333333333", "us-east-1"),
            enrichments=(EnrichmentOutcome("tags", Status.SKIPPED, 0), EnrichmentOutcome("policy", Status.SKIPPED, 0)),
        ),
    ]
    summary = _summary(results, assume_role_calls=3, duration=1.0)
    lines = render_summary(summary, results).splitlines()
    assert "  enrich   tags: 2 ok, 0 failed, 1 skipped, 3 calls" in lines
    assert "  enrich   policy: 1 ok, 1 failed, 1 skipped, 4 calls (AccessDeniedException 1)" in lines
    assert "  enrich failed name-111111111111 111111111111/us-east-1: AccessDeniedException: no" in lines
    assert summary.counts.failed == 1, "a failed enrichment is not a failed target"


def test_render_summary_without_enrichments_has_no_enrich_line() -> None:
    results = [ok("111111111111", "us-east-1")]
    summary = _summary(results, assume_role_calls=1, duration=1.0)
    assert "enrich" not in render_summary(summary, results)
