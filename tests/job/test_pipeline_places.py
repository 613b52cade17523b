"""A target held back by its own rate, or whose listing is done, makes way for the next (job/pipeline.py's
`execute`): with one worker, the next target is listed while the first waits on its pacer or reads its
enrichments; at most twice max_workers targets are in flight.

The real job runs in-process; STS is the emulator's, and every Lambda call goes to a local server that answers
each region's ListFunctions in two pages. At `max_requests_per_second: 1` the pacer lets one request go in any
1.11 s, so each target's second page waits: that wait is what gives the target's place back.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from conftest import make_config, seed_members
from support.enrich_aws import json_reply
from support.hostile_lambda import HostileLambda, Reply, Request, functions, page

from inventory.aws.clients import ClientFactory
from inventory.contract.layout import Format
from inventory.contract.results import Status
from inventory.demo.emulator import Emulator
from inventory.demo.seed import FunctionSpec, MemberSpec
from inventory.job.pipeline import WAITING_SHARE, JobOptions, run_job

ACCOUNT = "295000000001"  # used only by this module
REGIONS = ["us-east-1", "eu-west-1", "eu-central-1"]
NOT_FOUND = "ResourceNotFoundException"  # GetPolicy's "no policy" (not "Function not found")


@pytest.fixture(scope="module")
def account(emulator: Emulator) -> str:
    seed_members(emulator, [MemberSpec(ACCOUNT, "places", {"us-east-1": (FunctionSpec("seeded", 1),)})])
    return ACCOUNT


class TwoPages:
    """Every region's ListFunctions in two pages; the order in which (region, page) requests arrived."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, int]] = []
        self._lock = threading.Lock()

    def __call__(self, n: int, request: Request) -> Reply:
        region = next(r for r in REGIONS if f"/{r}/lambda/" in request.headers.get("Authorization", ""))
        second = request.marker is not None
        with self._lock:
            self.seen.append((region, 2 if second else 1))
        prefix = region.replace("-", "")
        return page(functions(f"{prefix}b", 1, region)) if second else page(functions(f"{prefix}a", 2, region), "m2")


def test_a_target_waiting_on_its_own_rate_makes_way_for_the_next(
    emu: Emulator, account: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    config = make_config([{"account_id": account, "name": "places"}], regions=REGIONS, max_requests_per_second=1)
    script = TwoPages()
    with HostileLambda(script) as server:
        monkeypatch.setenv("AWS_ENDPOINT_URL_LAMBDA", server.endpoint)
        options = JobOptions(config, str(tmp_path / "inventory.parquet"), Format.PARQUET, 1)
        summary, results = run_job(options, ClientFactory.from_environment(1))

    assert (summary.counts.ok, summary.counts.failed, summary.counts.functions) == (3, 0, 9)
    assert {r.function_count for r in results} == {3}
    order = script.seen
    first, second, third = REGIONS  # the order execute starts them in (one account)
    # the second target was listed while the first waited on its pacer (one worker: it had given its place back)
    assert order.index((second, 1)) < order.index((first, 2)), order
    # ... but at most WAITING_SHARE x 1 targets in flight: the third began only once one of the two had ended
    assert WAITING_SHARE == 2
    assert order.index((third, 1)) > min(order.index((first, 2)), order.index((second, 2))), order
    assert len(order) == 6


def test_a_target_whose_listing_is_done_makes_way_while_its_enrichment_reads(
    emu: Emulator, account: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """One worker, `enrich: [policy]`: the first target's GetPolicy is answered only once the second target's
    ListFunctions has arrived (or after 5 s), which it does only if the first made way when its listing ended."""
    second_listed = threading.Event()
    waited: list[bool] = []

    def script(n: int, request: Request) -> Reply:
        region = next(r for r in REGIONS if f"/{r}/lambda/" in request.headers.get("Authorization", ""))
        if request.path.endswith("/policy"):
            if region == REGIONS[0]:
                waited.append(second_listed.wait(5.0))
            return json_reply(
                {"Message": "The resource you requested does not exist."}, 404, "ResourceNotFoundException"
            )
        if region == REGIONS[1]:
            second_listed.set()
        return page(functions(region.replace("-", ""), 1, region))

    config = make_config([{"account_id": account, "name": "places"}], regions=REGIONS[:2], enrich=["policy"])
    with HostileLambda(script) as server:
        monkeypatch.setenv("AWS_ENDPOINT_URL_LAMBDA", server.endpoint)
        options = JobOptions(config, str(tmp_path / "inventory.parquet"), Format.PARQUET, 1)
        summary, results = run_job(options, ClientFactory.from_environment(1))

    assert (summary.counts.ok, summary.counts.failed) == (2, 0)
    assert [e.status for r in results for e in r.enrichments] == [Status.OK, Status.OK]
    assert waited == [True], "the second target was not listed while the first read its policy"
