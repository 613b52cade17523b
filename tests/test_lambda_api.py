"""ListFunctions signed by botocore and sent by aiohttp, against the emulator over real HTTP."""

from __future__ import annotations

import asyncio
from typing import Any

import botocore.credentials
import pytest
from botocore.exceptions import ClientError
from conftest import seed_members

from inventory.credentials import ClientFactory
from inventory.demo.emulator import Emulator
from inventory.demo.seed import FunctionSpec, MemberSpec
from inventory.lambda_api import LambdaLister, Page, error_from
from inventory.retry import FaultKind, classify

ACCOUNT = "260000000001"  # only this module uses it
REGION = "us-east-1"


@pytest.fixture(scope="module")
def seeded(emulator: Emulator) -> None:
    seed_members(emulator, [MemberSpec(ACCOUNT, "api", {REGION: (FunctionSpec("paged", 75, publish=True),)})])


@pytest.fixture
def member(emu: Emulator, seeded: None) -> botocore.credentials.ReadOnlyCredentials:
    sts = ClientFactory.from_environment(2).client("sts", REGION)
    role = f"arn:aws:iam::{ACCOUNT}:role/CrossAccountListFunctionsRole"
    creds = sts.assume_role(RoleArn=role, RoleSessionName="lambda-api-test")["Credentials"]
    return botocore.credentials.ReadOnlyCredentials(
        creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"]
    )


def _page(region: str, creds: botocore.credentials.ReadOnlyCredentials, marker: str | None = None) -> Page:
    async def one() -> Page:
        async with ClientFactory.from_environment(2).lister() as lister:
            return await lister.page(region, creds, marker)

    return asyncio.run(one())


def _all(creds: botocore.credentials.ReadOnlyCredentials, all_versions: bool) -> tuple[list[Any], int]:
    async def walk(lister: LambdaLister) -> tuple[list[Any], int]:
        names: list[Any] = []
        marker, pages = None, 0
        while True:
            page = await lister.page(REGION, creds, marker, all_versions)
            pages += 1
            names += [(f["FunctionName"], f["Version"]) for f in page.functions]
            marker = page.next_marker
            if marker is None:
                return names, pages

    async def run() -> tuple[list[Any], int]:
        async with ClientFactory.from_environment(2).lister() as lister:
            return await walk(lister)

    return asyncio.run(run())


def test_pages_follow_next_marker(emu: Emulator, member: botocore.credentials.ReadOnlyCredentials) -> None:
    emu.app.reset_stats()
    names, pages = _all(member, all_versions=False)
    assert pages == 2  # 50 + 25
    assert len(names) == len(set(names)) == 75
    assert {version for _, version in names} == {"$LATEST"}
    assert emu.app.stats.list_calls[(ACCOUNT, REGION)] == 2


def test_all_versions(emu: Emulator, member: botocore.credentials.ReadOnlyCredentials) -> None:
    names, pages = _all(member, all_versions=True)
    assert len(names) == len(set(names)) == 150  # $LATEST and version 1 of each
    assert pages == 3


def test_throttle_is_a_client_error_that_retries(
    emu: Emulator, member: botocore.credentials.ReadOnlyCredentials
) -> None:
    emu.app.behaviour.throttle_rate = 1.0
    try:
        with pytest.raises(ClientError) as err:
            _page(REGION, member)
    finally:
        emu.app.behaviour.throttle_rate = 0.0
    assert err.value.response["Error"]["Code"] == "TooManyRequestsException"
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 429
    assert classify(err.value).kind is FaultKind.THROTTLED


def test_disabled_region_reads_as_not_enabled(emu: Emulator, member: botocore.credentials.ReadOnlyCredentials) -> None:
    emu.app.behaviour.disabled.add((ACCOUNT, "eu-west-1"))
    try:
        with pytest.raises(ClientError) as err:
            _page("eu-west-1", member)
    finally:
        emu.app.behaviour.disabled.discard((ACCOUNT, "eu-west-1"))
    assert classify(err.value).kind is FaultKind.NOT_ENABLED


def test_unreachable_endpoint_is_transient(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # discard port: nothing listens
    creds = botocore.credentials.ReadOnlyCredentials("AKIDEXAMPLE", "secret", None)
    with pytest.raises(Exception) as err:
        _page(REGION, creds)
    assert classify(err.value).kind is FaultKind.TRANSIENT


@pytest.mark.parametrize(
    ("status", "headers", "body", "code", "message"),
    [
        (
            429,
            {"x-amzn-ErrorType": "TooManyRequestsException:http://internal/"},
            b'{"message":"Rate"}',
            "TooManyRequestsException",
            "Rate",
        ),
        (403, {"x-amzn-ErrorType": "AccessDeniedException"}, b'{"Message":"no"}', "AccessDeniedException", "no"),
        (
            400,
            {},
            b'{"__type":"com.amazon#InvalidParameterValueException","message":"bad"}',
            "InvalidParameterValueException",
            "bad",
        ),
        (502, {}, b"<html>Bad Gateway</html>", "HTTP502", "<html>Bad Gateway</html>"),
        (500, {}, b"", "HTTP500", "HTTP 500"),
    ],
)
def test_error_from(status: int, headers: dict[str, str], body: bytes, code: str, message: str) -> None:
    err = error_from(status, headers, body)
    assert err.response["Error"] == {"Code": code, "Message": message}
    assert err.response["ResponseMetadata"]["HTTPStatusCode"] == status
    assert err.operation_name == "ListFunctions"
