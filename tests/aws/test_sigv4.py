"""aws/sigv4.py signs byte for byte what botocore's SigV4Auth signs: thousands of generated requests, the kinds
the job sends and stranger ones (markers full of reserved characters, dot segments, session tokens or not,
bodies, header names in any case, headers SigV4 leaves unsigned), each signed both ways at the same instant."""

from __future__ import annotations

import random
import string
import time
from datetime import datetime
from urllib.parse import quote, urlencode

import pytest
from botocore import auth as botocore_auth
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import ReadOnlyCredentials

from inventory.aws.sigv4 import _signing_key, sign, timestamp

REGIONS = ("us-east-1", "eu-west-1", "ap-southeast-5", "cn-north-1", "us-gov-west-1", "il-central-1")
SERVICES = ("lambda", "tagging", "monitoring", "sts")
HOSTS = (
    "lambda.eu-west-1.amazonaws.com",
    "127.0.0.1:8080",
    "localhost:4566",
    "lambda-fips.us-gov-west-1.amazonaws.com",
    "lambda.cn-north-1.amazonaws.com.cn",
)
PATHS = (
    "/2015-03-31/functions/",
    "/2015-03-31/functions/{name}/policy",
    "/2021-10-31/functions/{name}/urls",
    "/2019-09-30/functions/{name}/concurrency",
    "/",
    "/a/./b/../c//d/",
    "/prefix/2015-03-31/functions/",
)
NAME_CHARS = string.ascii_letters + string.digits + "-_:.$%~ é/+="
MARKER_CHARS = string.ascii_letters + string.digits + "+/=-_.~*!'() &?#%é"


def _text(rng: random.Random, chars: str, low: int, high: int) -> str:
    return "".join(rng.choice(chars) for _ in range(rng.randint(low, high)))


def _url(rng: random.Random) -> str:
    path = rng.choice(PATHS).format(name=quote(_text(rng, NAME_CHARS, 1, 40), safe=rng.choice(("", "/:"))))
    query: list[tuple[str, str]] = []
    if rng.random() < 0.7:
        query.append(("MaxItems", str(rng.choice((50, 100, 1)))))
    if rng.random() < 0.6:
        query.append(("Marker", _text(rng, MARKER_CHARS, 0, 120)))
    if rng.random() < 0.3:
        query.append(("FunctionVersion", "ALL"))
    if rng.random() < 0.2:
        query.append((_text(rng, string.ascii_letters + "~-", 1, 8), _text(rng, MARKER_CHARS, 0, 10)))
    rng.shuffle(query)
    text = urlencode(query) if rng.random() < 0.8 else "&".join(f"{k}={quote(v, safe='')}" for k, v in query)
    if rng.random() < 0.05:
        text += "&Flag"  # a key without a value
    scheme = rng.choice(("https", "http"))
    return f"{scheme}://{rng.choice(HOSTS)}{path}" + (f"?{text}" if text else "")


def _headers(rng: random.Random, url: str) -> dict[str, str]:
    host = url.split("://", 1)[1].split("/", 1)[0]
    headers = {rng.choice(("Host", "host", "HOST")): host}
    if rng.random() < 0.9:
        headers["User-Agent"] = "lambda-inventory/0.1.0 Botocore/1.44.8  ua/2.1 os/linux#6.1"
    if rng.random() < 0.4:
        headers["Content-Type"] = rng.choice(("application/x-amz-json-1.1", "application/x-amz-json-1.0"))
        headers[rng.choice(("X-Amz-Target", "x-amz-target"))] = rng.choice(
            ("ResourceGroupsTaggingAPI_20170126.GetResources", "GraniteServiceVersion20100801.GetMetricData")
        )
    if rng.random() < 0.1:
        headers["X-Custom"] = "  spaced   out\tvalue  "
    if rng.random() < 0.1:
        headers[rng.choice(("Expect", "X-Amzn-Trace-Id", "traceparent"))] = "100-continue"  # never signed
    if rng.random() < 0.05:
        headers["x-custom"] = "same name, other case"
    return headers


def _credentials(rng: random.Random) -> ReadOnlyCredentials:
    key = rng.choice(("AKIA", "ASIA")) + _text(rng, string.ascii_uppercase + string.digits, 16, 16)
    secret = _text(rng, string.ascii_letters + string.digits + "/+", 40, 40)
    token = _text(rng, string.ascii_letters + string.digits + "/+=", 100, 400) if rng.random() < 0.8 else None
    return ReadOnlyCredentials(key, secret, token)


def _botocore(
    credentials: ReadOnlyCredentials,
    method: str,
    url: str,
    headers: dict[str, str],
    *,
    region: str,
    service: str,
    body: bytes | None = None,
) -> dict[str, str]:
    request = AWSRequest(method, url, data=body, headers=headers)
    SigV4Auth(credentials, service, region).add_auth(request)
    return dict(request.headers.items())


@pytest.fixture
def instant(monkeypatch: pytest.MonkeyPatch) -> datetime:
    """botocore's clock, stopped (our signer takes the same instant as its `when`)."""
    moment = datetime(2026, 11, 30, 23, 59, 59)
    monkeypatch.setattr(botocore_auth, "get_current_datetime", lambda: moment)
    return moment


def test_generated_requests_are_signed_exactly_as_botocore_signs_them(instant: datetime) -> None:
    rng = random.Random(13)
    when = instant.strftime("%Y%m%dT%H%M%SZ")
    tokens = 0
    for _ in range(3000):
        credentials = _credentials(rng)
        tokens += credentials.token is not None
        region, service = rng.choice(REGIONS), rng.choice(SERVICES)
        url = _url(rng)
        headers = _headers(rng, url)
        method = rng.choice(("GET", "GET", "POST", "get"))
        body = rng.choice((None, b"", b'{"ResourceTypeFilters":["lambda:function"],"ResourcesPerPage":100}'))
        ours = sign(credentials, method, url, headers, region=region, service=service, body=body, when=when)
        theirs = _botocore(credentials, method, url, headers, region=region, service=service, body=body)
        assert ours == theirs, (method, url, headers)
    assert 2000 < tokens < 3000  # both kinds of credentials were tried


def test_the_job_s_own_requests_match_botocore_at_the_current_time() -> None:
    credentials = ReadOnlyCredentials("ASIAEXAMPLEEXAMPLE01", "secret/with+chars" * 2, "token==")
    url = "https://lambda.eu-west-1.amazonaws.com/2015-03-31/functions/?MaxItems=50&Marker=v1.50.3f%2Bx%2F%3D"
    headers = {"User-Agent": "lambda-inventory/test", "Host": "lambda.eu-west-1.amazonaws.com"}
    for _ in range(3):  # retried if the second changed between the two signatures
        before = timestamp()
        ours = sign(credentials, "GET", url, headers, region="eu-west-1", service="lambda")
        theirs = _botocore(credentials, "GET", url, headers, region="eu-west-1", service="lambda")
        if before == timestamp():
            break
    assert ours == theirs
    assert list(ours) == ["User-Agent", "Host", "X-Amz-Date", "X-Amz-Security-Token", "Authorization"]


def test_aws_s_published_example_get_vanilla() -> None:
    """The AWS SigV4 test suite's `get-vanilla` case (its example credentials, not a secret)."""
    credentials = ReadOnlyCredentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", None)
    url, headers = "https://example.amazonaws.com/", {"Host": "example.amazonaws.com"}
    signed = sign(credentials, "GET", url, headers, region="us-east-1", service="service", when="20150830T123600Z")
    assert signed["Authorization"] == (
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
        "SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
    )


def test_the_signing_key_is_derived_once_per_secret_day_region_and_service() -> None:
    _signing_key.cache_clear()
    credentials = ReadOnlyCredentials("AKIAEXAMPLE", "secret-a", None)
    url = "https://lambda.us-east-1.amazonaws.com/2015-03-31/functions/?MaxItems=50"
    host = {"Host": "lambda.us-east-1.amazonaws.com"}
    for marker in range(5):  # the pages of one target
        sign(
            credentials,
            "GET",
            f"{url}&Marker={marker}",
            host,
            region="us-east-1",
            service="lambda",
            when="20261130T000000Z",
        )
    sign(credentials, "GET", url, host, region="eu-west-1", service="lambda", when="20261130T000001Z")  # new region
    sign(credentials, "GET", url, host, region="eu-west-1", service="lambda", when="20261201T000000Z")  # new day
    info = _signing_key.cache_info()
    assert (info.misses, info.hits) == (3, 4)


@pytest.mark.parametrize(
    "name", ["Authorization", "x-amz-date", "Date", "X-Amz-Security-Token", "X-Amz-Content-SHA256"]
)
def test_headers_the_signer_sets_are_refused(name: str) -> None:
    credentials = ReadOnlyCredentials("AKIAEXAMPLE", "secret", None)
    with pytest.raises(ValueError, match="headers the signer sets"):
        sign(credentials, "GET", "https://h/", {"Host": "h", name: "x"}, region="us-east-1", service="lambda")


def test_a_request_without_host_is_refused() -> None:
    credentials = ReadOnlyCredentials("AKIAEXAMPLE", "secret", None)
    with pytest.raises(ValueError, match="Host"):
        sign(credentials, "GET", "https://h/", {}, region="us-east-1", service="lambda")


def test_the_timestamp_is_now_in_utc_to_the_second() -> None:
    before = time.time()
    stamp = timestamp()
    after = time.time()
    seconds = {time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(t)) for t in (before, after)}
    assert stamp in seconds
