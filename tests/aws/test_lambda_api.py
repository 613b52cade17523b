"""ListFunctions signed by botocore and sent by aws/http1.py (aiohttp through a proxy), over real HTTP: against
the emulator, and against a local endpoint that gives hostile answers (tests/hostile_lambda.py)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import botocore.credentials
import pytest
from botocore.exceptions import ClientError
from conftest import clear_aws_environment, seed_members
from support.hostile_lambda import HANG, HostileLambda, Reply, functions, page, sequence

from inventory.aws.clients import ClientFactory, botocore_config
from inventory.aws.lambda_api import LambdaLister, Page, Timeouts, error_from
from inventory.aws.retry import FaultError, FaultKind, classify
from inventory.aws.sigv4 import sign
from inventory.demo.emulator import Emulator
from inventory.demo.seed import FunctionSpec, MemberSpec

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
    emu.app.behaviour.disabled.add((ACCOUNT, "eu-south-1"))  # an opt-in region (collect.py decides skipped)
    try:
        with pytest.raises(ClientError) as err:
            _page("eu-south-1", member)
    finally:
        emu.app.behaviour.disabled.discard((ACCOUNT, "eu-south-1"))
    assert classify(err.value).kind is FaultKind.NOT_ENABLED


def test_unreachable_endpoint_is_unanswered(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # discard port: nothing listens
    creds = botocore.credentials.ReadOnlyCredentials("AKIDEXAMPLE", "secret", None)
    with pytest.raises(Exception) as err:
        _page(REGION, creds)
    assert classify(err.value).kind is FaultKind.UNANSWERED


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
        (502, {}, b"<html>Bad Gateway</html>", "HTTP502", "Bad Gateway"),
        (500, {}, b"", "HTTP500", "HTTP 500"),
        # botocore's rest-json normalisation: the ':' part first, then the last '#' part
        (
            400,
            {"x-amzn-ErrorType": "com.amazon.coral.availability#ThrottlingException"},
            b'{"message":"Rate exceeded"}',
            "ThrottlingException",
            "Rate exceeded",
        ),
        (
            400,
            {"x-amzn-ErrorType": "com.amazon.coral.availability#ThrottlingException:http://internal.amazon.com/"},
            b"{}",
            "ThrottlingException",
            "HTTP 400",
        ),
        (400, {}, b'{"__type":"ThrottlingException:http://internal/","message":"m"}', "ThrottlingException", "m"),
        (400, {}, b'{"code":"com.amazon#ThrottlingException","Message":"m"}', "ThrottlingException", "m"),
        (
            403,
            {},
            b"<?xml version='1.0'?>\n<ErrorResponse>\n  <Error>\n    <Code>SignatureDoesNotMatch</Code>\n"
            b"    <Message>The request signature we calculated does not match</Message>\n  </Error>\n</ErrorResponse>",
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match",
        ),
    ],
)
def test_error_from(status: int, headers: dict[str, str], body: bytes, code: str, message: str) -> None:
    err = error_from(status, headers, body)
    assert err.response["Error"] == {"Code": code, "Message": message}
    assert err.response["ResponseMetadata"]["HTTPStatusCode"] == status
    assert err.operation_name == "ListFunctions"


@pytest.mark.parametrize(
    "header", ["com.amazon.coral.availability#ThrottlingException", "ThrottlingException:http://internal.amazon.com/"]
)
def test_a_namespaced_throttle_is_a_throttle(header: str) -> None:
    fault = classify(error_from(400, {"x-amzn-ErrorType": header}, b'{"message":"Rate exceeded"}'))
    assert (fault.kind, fault.code) == (FaultKind.THROTTLED, "ThrottlingException")


# --- hostile answers over real HTTP --------------------------------------------------------------------

FAKE = botocore.credentials.ReadOnlyCredentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "token")


def _hostile(
    monkeypatch: pytest.MonkeyPatch, server: HostileLambda, timeouts: Timeouts | None = None
) -> tuple[Page | BaseException, float]:
    """One page from the hostile server with the real LambdaLister: the page or the error, and seconds taken."""
    clear_aws_environment(monkeypatch)
    monkeypatch.setenv("AWS_ENDPOINT_URL_LAMBDA", server.endpoint)

    async def one() -> Page:
        lister = LambdaLister(botocore.session.Session(), botocore_config(2), 2, timeouts)
        async with lister:
            return await lister.page(REGION, FAKE, None)

    started = time.monotonic()
    try:
        return asyncio.run(one()), time.monotonic() - started
    except Exception as err:  # noqa: BLE001 - the test inspects it
        return err, time.monotonic() - started


@pytest.mark.parametrize(
    ("body", "what"),
    [
        (b"", "an empty body"),
        (b"{}", "no Functions list"),
        (b'{"Functions": null}', "no Functions list"),
        (b'{"Functions": null, "NextMarker": "x"}', "no Functions list"),
        (b'[{"FunctionName": "f"}]', "a JSON list, not an object"),
        (b'"Functions"', "a JSON str, not an object"),
        (b"<html><body>OK</body></html>", "a body that is not JSON"),
        (b'{"Functions": {"FunctionName": "f"}}', "Functions as a dict"),
        (b'{"Functions": [], "NextMarker": 7}', "NextMarker as a int"),
    ],
)
def test_a_200_that_is_not_a_page_is_an_invalid_response(
    monkeypatch: pytest.MonkeyPatch, body: bytes, what: str
) -> None:
    with HostileLambda(sequence(Reply(200, body))) as server:
        err, _ = _hostile(monkeypatch, server)
    assert isinstance(err, FaultError), err
    fault = classify(err)
    assert (fault.kind, fault.code) == (FaultKind.TRANSIENT, "InvalidResponse")
    assert what in fault.message


def test_a_page_is_validated_and_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    with HostileLambda(sequence(page([{"FunctionName": "f"}], "next"))) as server:
        result, _ = _hostile(monkeypatch, server)
    assert result == Page([{"FunctionName": "f"}], "next")


def test_a_multi_line_html_error_page_becomes_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    html = b"<html>\r\n<head><title>500 Internal Server Error</title></head>\r\n<body>\n\t<h1>oops</h1>\n</body>\n"
    with HostileLambda(sequence(Reply(500, html, {"Content-Type": "text/html"}))) as server:
        err, _ = _hostile(monkeypatch, server)
    assert isinstance(err, ClientError)
    fault = classify(err)
    assert (fault.kind, fault.code, fault.message) == (FaultKind.TRANSIENT, "HTTP500", "500 Internal Server Error")


def test_a_403_echoing_the_signed_request_is_masked(monkeypatch: pytest.MonkeyPatch) -> None:
    def echo(_: int, request: Any) -> Reply:
        token = request.headers["X-Amz-Security-Token"]
        body = (
            f"<Error>\n<Code>AccessDenied</Code>\n<Message>denied: GET /2015-03-31/functions/?"
            f"X-Amz-Security-Token={token}&amp;X-Amz-Credential=ASIAQWERTYUIOPASDFGH%2F20261130\n"
            f"Authorization: {request.headers['Authorization']}</Message>\n</Error>"
        )
        return Reply(403, body.encode(), {"Content-Type": "application/xml"})

    with HostileLambda(echo) as server:
        err, _ = _hostile(monkeypatch, server)
    fault = classify(err)
    assert (fault.kind, fault.code) == (FaultKind.FATAL, "AccessDenied")
    assert fault.message.startswith("denied: GET /2015-03-31/functions/?X-Amz-Security-Token=***")
    for secret in ("token", "ASIAQWERTYUIOPASDFGH", "AKIDEXAMPLE", FAKE.secret_key):
        assert f"={secret}" not in fault.message and f" {secret}" not in fault.message
    assert "Signature=***" in fault.message and "Credential=***" in fault.message
    assert "\n" not in fault.message and len(fault.message) <= 300


def test_a_proxy_from_the_environment_carries_the_calls(monkeypatch: pytest.MonkeyPatch) -> None:
    """With HTTP_PROXY set (as botocore reads it), the calls go through the proxy (aiohttp sends them); the
    endpoint's host does not resolve, so only the proxy can have answered."""

    def script(_: int, request: Any) -> Reply:  # botocore may ask the instance metadata first, through it too
        lambda_call = request.headers.get("Host") == "lambda.proxied.invalid"
        return page(functions("via-proxy", 3)) if lambda_call else Reply(404)

    with HostileLambda(script) as proxy:
        clear_aws_environment(monkeypatch)
        monkeypatch.setenv("AWS_ENDPOINT_URL_LAMBDA", "http://lambda.proxied.invalid")
        monkeypatch.setenv("HTTP_PROXY", proxy.endpoint)

        async def one() -> Page:
            async with LambdaLister(botocore.session.Session(), botocore_config(2), 2) as lister:
                return await lister.page(REGION, FAKE, None)

        got = asyncio.run(one())
    assert [f["FunctionName"] for f in got.functions] == [f"via-proxy-{n:03d}" for n in range(3)]
    proxied = [r.path for r in proxy.requests if r.headers["Host"] == "lambda.proxied.invalid"]
    assert proxied == ["/2015-03-31/functions/"]


def test_an_endpoint_url_with_a_path_is_followed_and_signed_with_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """AWS_ENDPOINT_URL may carry a path (a gateway in front of AWS): the request's path follows it, and the
    signature covers that path, as botocore would sign it."""
    with HostileLambda(sequence(page(functions("behind-gateway", 2)))) as server:
        clear_aws_environment(monkeypatch)
        monkeypatch.setenv("AWS_ENDPOINT_URL_LAMBDA", f"{server.endpoint}/aws/lambda")

        async def one() -> Page:
            async with LambdaLister(botocore.session.Session(), botocore_config(2), 2) as lister:
                return await lister.page(REGION, FAKE, None)

        got = asyncio.run(one())
    assert [f["FunctionName"] for f in got.functions] == ["behind-gateway-000", "behind-gateway-001"]
    request = server.requests[0]
    assert request.path == "/aws/lambda/2015-03-31/functions/"
    sent = {"User-Agent": request.headers["User-Agent"], "Host": request.headers["Host"]}
    url = f"{server.endpoint}{request.path}?{request.raw_query}"  # the path as it arrived: prefix included
    signed = sign(FAKE, "GET", url, sent, region=REGION, service="lambda", when=request.headers["X-Amz-Date"])
    assert request.headers["Authorization"] == signed["Authorization"]  # sign() is botocore's (test_sigv4.py)


def test_a_server_that_never_answers_times_out_within_read_seconds(monkeypatch: pytest.MonkeyPatch) -> None:
    with HostileLambda(sequence(HANG)) as server:
        err, took = _hostile(monkeypatch, server, Timeouts(connect=5.0, read=0.5))
    fault = classify(err)
    assert (fault.kind, fault.code) == (FaultKind.UNANSWERED, "Timeout")
    assert "0.5s" in fault.message
    assert took < 10  # read_seconds is 0.5; generous slack for a loaded machine
