"""ListFunctions, one page per call, from the event loop: botocore signs, aiohttp sends.

Profiled at 300 accounts x 17 regions, botocore's generic per-request path (event hooks, parameter
validation, serialisation, endpoint rules, the model-driven response walk) and then 32 threads handing
the GIL around were most of the job's CPU (docs/performance.md). ListFunctions is one GET with two query
parameters, so this module sends it from one asyncio loop with aiohttp (C HTTP parser, no thread per
request) and keeps from botocore everything that is easy to get wrong:

* the endpoint, resolved once per region by a real botocore client, so AWS_ENDPOINT_URL(_LAMBDA), FIPS,
  dual-stack and partitions behave exactly as in every boto3 tool;
* SigV4 signing (`botocore.auth.SigV4Auth`), with the member account's credentials;
* the CA bundle botocore would use (AWS_CA_BUNDLE / ca_bundle, REQUESTS_CA_BUNDLE, then certifi's) and
  the proxy it would pick from HTTP(S)_PROXY / NO_PROXY, once per region (aiohttp's own `trust_env`
  would look them up, and read ~/.netrc, in a thread on every request);
* errors as `botocore.exceptions.ClientError`, with the code normalised as botocore's rest-json parser
  does (`x-amzn-ErrorType` or the body's `__type`/`code`, `ns#Code:uri` -> `Code`), so retry
  classification is the same as for any client.

Every 200 is checked before it is believed: a body that is empty, not JSON, not an object, or without a
`Functions` list raises `InvalidResponse` (transient: retried, then the target fails), never "0 functions".
The check is one isinstance on the object and one on the list, so orjson's fast path stays cheap.

Timeouts (config `timeouts`): `connect_seconds` to get a connection (TCP and TLS), `read_seconds` both
between reads and as the cap on one whole request (connect included), so a server that accepts and never
answers, or trickles its answer, raises `Timeout` (transient, retried) within read_seconds.

The signed URL is sent byte for byte (`yarl.URL(..., encoded=True)`): re-quoting it would break the
signature. Paging is Lambda's own: `MaxItems`/`Marker` in, `NextMarker` out.
"""

from __future__ import annotations

import json
import os
import re
import ssl
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import aiohttp
import botocore.session
import orjson
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import ReadOnlyCredentials
from botocore.exceptions import ClientError
from botocore.httpsession import get_cert_path
from botocore.utils import get_environ_proxies
from yarl import URL

from inventory import __version__
from inventory.aws.retry import Fault, FaultError, FaultKind, normalise_code

PAGE_SIZE = 50  # the most Lambda returns per page
_PATH = "/2015-03-31/functions/"
_MESSAGE_BYTES = 4096  # of an error body read for its message (which is then masked and cut to one line)
_XML_FIELD = re.compile(r"<(Code|Message|message|title)>\s*([^<]*?)\s*</\1>", re.IGNORECASE)
_TAG = re.compile(r"<[^>]*>")


@dataclass(frozen=True)
class Timeouts:
    """Per-request limits in seconds (the config's `timeouts` block, less the per-target deadline)."""

    connect: float = 10.0
    read: float = 30.0


@dataclass(frozen=True)
class Page:
    functions: list[dict[str, Any]]
    next_marker: str | None


@dataclass(frozen=True)
class _Endpoint:
    url: str  # e.g. https://lambda.eu-west-1.amazonaws.com
    host: str  # the Host header botocore would sign
    proxy: str | None


class LambdaLister:
    """Lists one page of functions in a region as a given account.

    One per run, used from one event loop (no locks). `async with` it, or call close(): it owns the
    HTTP connection pool, which is opened on the first request.
    """

    def __init__(
        self,
        session: botocore.session.Session,
        config: Config,
        max_connections: int,
        timeouts: Timeouts | None = None,
    ) -> None:
        self._session = session
        self._config = config
        self._max_connections = max_connections
        self.timeouts = timeouts or Timeouts(float(config.connect_timeout), float(config.read_timeout))
        self._endpoints: dict[str, _Endpoint] = {}
        self._http: aiohttp.ClientSession | None = None
        self._user_agent = f"lambda-inventory/{__version__} {session.user_agent()}"

    async def __aenter__(self) -> LambdaLister:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        if self._http is not None:
            await self._http.close()
            self._http = None

    def _endpoint(self, region: str) -> _Endpoint:
        if region not in self._endpoints:
            client = self._session.create_client("lambda", region_name=region, config=self._config)
            url = URL(client.meta.endpoint_url.rstrip("/"))
            proxy = get_environ_proxies(str(url)).get(url.scheme or "https")
            self._endpoints[region] = _Endpoint(str(url), url.host_port_subcomponent or "", proxy)
        return self._endpoints[region]

    def _client(self) -> aiohttp.ClientSession:
        if self._http is None:
            self._http = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._max_connections, ssl=self._ssl_context()),
                timeout=self._client_timeout(),
                cookie_jar=aiohttp.DummyCookieJar(),
            )
        return self._http

    def _client_timeout(self) -> aiohttp.ClientTimeout:
        """connect: a new connection (TCP and TLS); read: between reads, and the whole request (connect
        included). `sock_connect`, not `connect`: the latter arms one more timer on every request."""
        limits = self.timeouts
        return aiohttp.ClientTimeout(total=limits.read, sock_connect=limits.connect, sock_read=limits.read)

    def _ssl_context(self) -> ssl.SSLContext:
        # as botocore's endpoint does: AWS_CA_BUNDLE / ca_bundle, then REQUESTS_CA_BUNDLE, then certifi's
        bundle = self._session.get_config_variable("ca_bundle") or os.environ.get("REQUESTS_CA_BUNDLE")
        return ssl.create_default_context(cafile=get_cert_path(bundle or True))

    async def page(
        self, region: str, credentials: ReadOnlyCredentials, marker: str | None, all_versions: bool = False
    ) -> Page:
        """One ListFunctions page; raises ClientError, aiohttp.ClientError or FaultError (InvalidResponse, Timeout)."""
        query = [("MaxItems", str(PAGE_SIZE))]
        if marker:
            query.append(("Marker", marker))
        if all_versions:
            query.append(("FunctionVersion", "ALL"))
        endpoint = self._endpoint(region)
        url = f"{endpoint.url}{_PATH}?{urlencode(query)}"
        # Host given up front: botocore would otherwise parse it out of the URL twice per signature.
        request = AWSRequest("GET", url, headers={"User-Agent": self._user_agent, "Host": endpoint.host})
        SigV4Auth(credentials, "lambda", region).add_auth(request)
        headers = dict(request.headers.items())
        try:
            async with self._client().get(URL(url, encoded=True), headers=headers, proxy=endpoint.proxy) as response:
                content = await response.read()
                status, response_headers = response.status, response.headers
        except TimeoutError as err:
            limits = self.timeouts
            detail = str(err) or type(err).__name__
            message = f"no complete answer from {endpoint.host} within {limits.read:g}s "
            message += f"(timeouts: connect {limits.connect:g}s, read {limits.read:g}s): {detail}"
            raise FaultError(Fault(FaultKind.TRANSIENT, "Timeout", message)) from err
        if status != 200:
            raise error_from(status, response_headers, content)
        return parse_page(content)


def parse_page(content: bytes) -> Page:
    """A 200's body as a Page, or InvalidResponse (transient) saying what was wrong with it."""
    try:
        body = orjson.loads(content)  # ~2x faster than json on 50-function pages
    except orjson.JSONDecodeError as err:
        raise _invalid("an empty body" if not content.strip() else "a body that is not JSON") from err
    if not isinstance(body, dict):
        raise _invalid(f"a JSON {type(body).__name__}, not an object")
    functions = body.get("Functions")
    if not isinstance(functions, list):
        what = "no Functions list" if functions is None else f"Functions as a {type(functions).__name__}"
        raise _invalid(f"{what} ({len(body)} keys)")
    marker = body.get("NextMarker")
    if marker is not None and not isinstance(marker, str):
        raise _invalid(f"NextMarker as a {type(marker).__name__}")
    return Page(functions, marker or None)


def _invalid(what: str) -> FaultError:
    return FaultError(Fault(FaultKind.TRANSIENT, "InvalidResponse", f"ListFunctions answered HTTP 200 with {what}"))


def error_from(status: int, headers: Any, content: bytes) -> ClientError:
    """A Lambda error response as botocore's ClientError (code and message found as botocore finds them)."""
    try:
        parsed = json.loads(content) if content else None
    except ValueError:
        parsed = None
    body = parsed if isinstance(parsed, dict) else {}
    markup = _markup_fields(content) if content and not isinstance(parsed, dict) else {}
    code = str(headers.get("x-amzn-ErrorType") or body.get("__type") or body.get("code") or body.get("Code") or "")
    code = normalise_code(code) or markup.get("code") or f"HTTP{status}"
    message = body.get("message") or body.get("Message")
    if not isinstance(message, str) or not message:
        text = _text(content) if parsed is None else ""
        message = markup.get("message") or markup.get("title") or text or f"HTTP {status}"
    metadata = {"HTTPStatusCode": status, "RequestId": headers.get("x-amzn-RequestId")}
    return ClientError({"Error": {"Code": code, "Message": message}, "ResponseMetadata": metadata}, "ListFunctions")


def _markup_fields(content: bytes) -> dict[str, str]:
    """`<Code>`, `<Message>` and `<title>` of an XML or HTML error page (a proxy's 403, a 500 page)."""
    text = content[:_MESSAGE_BYTES].decode("utf-8", "replace")
    fields: dict[str, str] = {}
    for name, value in _XML_FIELD.findall(text):
        fields.setdefault(name.lower(), value)
    return {key: value for key, value in fields.items() if value}


def _text(content: bytes) -> str:
    """The readable text of a body (tags dropped); the caller's Fault makes it one masked line."""
    return _TAG.sub(" ", content[:_MESSAGE_BYTES].decode("utf-8", "replace")).strip()
