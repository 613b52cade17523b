"""The benchmark's fake AWS answers the enrichment calls as the job reads them: each call made with the job's own
signed-HTTP path and parsers (inventory/aws/enrichment_calls.py) returns what fake_truth.py says the function holds,
across pages; throttles are classified as throttles; every member call counts toward its account-region's
rate. These check the benchmark; `pytest` runs them after `tests/`, `pytest benchmarks/` alone."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import botocore.session
import pytest
from botocore.credentials import ReadOnlyCredentials
from fake_stats import peak_in_window
from fake_truth import Truth, target_truths

from inventory.aws import enrichment_calls as api
from inventory.aws.clients import botocore_config
from inventory.aws.lambda_api import LambdaLister
from inventory.aws.retry import FaultKind, classify

HERE = Path(__file__).resolve().parent
ACCOUNT, REGION, SEED = "100000000000", "us-east-1", 1


def _start(tmp: Path, *extra: str) -> tuple[subprocess.Popen[bytes], str]:
    port_file = tmp / "port"
    cmd = [sys.executable, str(HERE / "fake_aws.py"), "--port-file", str(port_file), "--accounts", "1"]
    cmd += ["--regions", "1", "--latency-ms", "0", "--jitter-ms", "0", "--total-functions", "230", *extra]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while not port_file.exists():
        assert proc.poll() is None and time.monotonic() < deadline, "the fake did not start"
        time.sleep(0.05)
    return proc, f"http://127.0.0.1:{port_file.read_text()}"


@pytest.fixture
def fake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> Iterator[str]:
    proc, url = _start(tmp_path, *getattr(request, "param", ()))
    for name in list(os.environ):
        if name.startswith(("AWS_", "LAMBDA_INVENTORY_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_ENDPOINT_URL", url)
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
    try:
        yield url
    finally:
        proc.terminate()
        proc.wait(10)


def _member_credentials() -> ReadOnlyCredentials:
    sts = boto3.client("sts", region_name=REGION, aws_access_key_id="AKIAHUB", aws_secret_access_key="x")
    creds = sts.assume_role(RoleArn=f"arn:aws:iam::{ACCOUNT}:role/r", RoleSessionName="bench-test")["Credentials"]
    return ReadOnlyCredentials(creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"])


def _calls(*calls: Callable[[api.Scope], Awaitable[Any]]) -> list[Any]:
    """Each call over the job's signed-HTTP path as the member account: its answer or its exception."""
    credentials = _member_credentials()

    async def run() -> list[Any]:
        async with LambdaLister(botocore.session.Session(), botocore_config(2), 4) as http:
            scope = api.Scope(http, REGION, credentials)
            return await asyncio.gather(*(call(scope) for call in calls), return_exceptions=True)

    return asyncio.run(run())


def _at(
    page: Callable[[api.Scope, str | None], Awaitable[api.Paged]], token: str | None
) -> Callable[[api.Scope], Awaitable[api.Paged]]:
    return lambda scope: page(scope, token)


def _pages(page: Callable[[api.Scope, str | None], Awaitable[api.Paged]]) -> list[Any]:
    values: list[Any] = []
    token: str | None = None
    while True:
        (answer,) = _calls(_at(page, token))
        assert isinstance(answer, api.Paged), answer
        values.append(answer.values)
        token = answer.next_token
        if token is None:
            return values


def _truths() -> list[Truth]:
    with urllib.request.urlopen(os.environ["AWS_ENDPOINT_URL"] + "/__population") as resp:
        count = json.load(resp)[ACCOUNT][REGION]
    assert count == 230
    return target_truths(ACCOUNT, REGION, count, SEED)


def test_get_resources_pages_the_tagged_functions(fake: str) -> None:
    truths = _truths()
    pages = _pages(api.tags_page)
    listed = {t.arn: t.tags for t in truths if t.tags is not None}
    assert len(pages) == -(-len(listed) // 100) > 1
    assert {arn: tags for page in pages for arn, tags in page.items()} == listed
    assert any(tags == {} for tags in listed.values()) and len(listed) < len(truths)  # some untagged, some absent


def test_per_function_calls_answer_each_functions_data(fake: str) -> None:
    truths = _truths()
    urls = _calls(*(lambda s, t=t: api.url_configs_page(s, None, name=t.name) for t in truths))
    policies = _calls(*(lambda s, t=t: api.policy_text(s, t.name) for t in truths))
    reserved = _calls(*(lambda s, t=t: api.reserved_concurrency(s, t.name) for t in truths))
    for t, url, policy, concurrency in zip(truths, urls, policies, reserved, strict=True):
        on = ("", "live")[: len(t.url_auth_types)]  # the function's own URL, then its alias's
        assert url == api.Paged([api.UrlConfig(*c) for c in zip(t.url_auth_types, on, strict=True)], None)
        if t.policy is None:
            assert classify(policy).code == "ResourceNotFoundException"
        else:
            assert json.loads(policy) == t.policy
        assert concurrency == t.reserved
    assert any(t.public_invoke for t in truths) and any(t.reserved is not None for t in truths)
    (missing,) = _calls(lambda s: api.reserved_concurrency(s, "not-a-function-00001"))
    assert classify(missing).code == "ResourceNotFoundException"


@pytest.mark.parametrize("fake", [("--metric-points-per-page", "7")], indirect=True)
def test_get_metric_data_answers_every_query_across_pages(fake: str) -> None:
    truths = _truths()[:10]
    end = datetime(2026, 12, 1, tzinfo=UTC)
    window = (end - timedelta(days=30), end)
    pages = _pages(lambda s, token: api.invocations_page(s, token, names=[t.name for t in truths], window=window))
    assert len(pages) > 2
    for index, t in enumerate(truths):
        points = sorted(p for page in pages if index in page for p in page[index].points())
        assert points == sorted((end.timestamp() - days * 86400, value) for days, value in t.points)


@pytest.mark.parametrize("fake", [("--throttle-rate", "1")], indirect=True)
def test_every_service_throttles_as_a_throttle(fake: str) -> None:
    name = _truths()[0].name
    answers = _calls(
        lambda s: api.tags_page(s, None),
        lambda s: api.reserved_concurrency(s, name),
        lambda s: api.invocations_page(s, None, names=[name], window=(datetime(2026, 1, 1, tzinfo=UTC),) * 2),
    )
    assert [classify(a).kind for a in answers] == [FaultKind.THROTTLED] * 3


def test_every_member_call_counts_toward_its_account_region(fake: str) -> None:
    name = _truths()[0].name
    _calls(lambda s: api.tags_page(s, None), lambda s: api.policy_text(s, name))
    with urllib.request.urlopen(fake + "/__stats") as resp:
        stats = json.load(resp)
    assert stats["requests_by_target"] == {f"{ACCOUNT}/{REGION}": 2}
    assert stats["max_peak_rps"] == {"target": f"{ACCOUNT}/{REGION}", "rps": 2}


def test_peak_in_window_slides_over_sorted_arrivals() -> None:
    assert peak_in_window([]) == 0
    assert peak_in_window([0.5, 0.0, 0.99, 1.0, 1.5]) == 3  # (0.5, 1.5] holds 0.99, 1.0, 1.5; (0, 1] as many
    assert peak_in_window([0.0, 1.0, 2.0]) == 1
