"""Signed HTTP from the event loop: botocore resolves and signs, aws/http1.py sends (aiohttp through a proxy). The
one transport for every call the job makes to a member account's data plane (ListFunctions, the enrichments').

Profiled at 300 accounts x 17 regions, botocore's generic per-request path (event hooks, parameter
validation, serialisation, endpoint rules, the model-driven response walk) and then 32 threads handing
the GIL around were most of the job's CPU (docs/performance.md). The job's calls are a GET with a few query
parameters or a small JSON POST, so they are sent from one asyncio loop over keep-alive connections (llhttp's C
parser, no thread per request; aws/http1.py, which replaced aiohttp's general client here: ~36 us of CPU a
request, not ~84: benchmarks/http_cost.py), keeping from botocore everything that is easy to get wrong:

* the endpoint, resolved once per (service, region) by a real botocore client, so AWS_ENDPOINT_URL(_<SERVICE>),
  FIPS, dual-stack and partitions behave exactly as in every boto3 tool, and the service's signing name;
* SigV4 signing, with the member account's credentials: byte for byte what `botocore.auth.SigV4Auth`
  signs (aws/sigv4.py, proven against it), without its generic per-request work;
* the CA bundle botocore would use (AWS_CA_BUNDLE / ca_bundle, REQUESTS_CA_BUNDLE, then certifi's) and
  the proxy it would pick from HTTP(S)_PROXY / NO_PROXY, once per endpoint (aiohttp's own `trust_env`
  would look them up, and read ~/.netrc, in a thread on every request);
* errors as `botocore.exceptions.ClientError`, with the code normalised as botocore's JSON parsers
  do (`x-amzn-ErrorType` or the body's `__type`/`code`, `ns#Code:uri` -> `Code`), so retry
  classification is the same as for any client.

Timeouts (config `timeouts`): `connect_seconds` to get a connection (TCP and TLS), `read_seconds` both
between reads and as the cap on one whole request (connect included), so a server that accepts and never
answers, or trickles its answer, raises `Timeout` (unanswered: retried on its own small budget) within
read_seconds.

The signed path and query are sent byte for byte (through a proxy as `yarl.URL(..., encoded=True)`): re-quoting
them would break the signature. aiohttp (~0.3 s of CPU to import) and its yarl are imported only for the first
request through a proxy.
"""

from __future__ import annotations

import json
import os
import re
import ssl
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Self
from urllib.parse import urlsplit

import botocore.session
from botocore.config import Config
from botocore.credentials import ReadOnlyCredentials
from botocore.exceptions import ClientError
from botocore.httpsession import get_cert_path
from botocore.utils import get_environ_proxies

from inventory import __version__
from inventory.aws.retry import Fault, FaultError, FaultKind, normalise_code
from inventory.aws.sigv4 import sign

if TYPE_CHECKING:
    import aiohttp

    from inventory.aws.http1 import Http1Pool

_MESSAGE_BYTES = 4096  # of an error body read for its message (which is then masked and cut to one line)
_XML_FIELD = re.compile(r"<(Code|Message|message|title)>\s*([^<]*?)\s*</\1>", re.IGNORECASE)
_TAG = re.compile(r"<[^>]*>")


@dataclass(frozen=True)
class Timeouts:
    """Per-request limits in seconds (the config's `timeouts` block, less the per-target deadline)."""

    connect: float = 10.0
    read: float = 30.0


@dataclass(frozen=True)
class Endpoint:
    url: str  # e.g. https://lambda.eu-west-1.amazonaws.com
    host: str  # the Host header botocore would sign
    proxy: str | None
    signing_name: str  # lambda, tagging, monitoring
    region: str


class SignedHttp:
    """Signed requests to AWS services as a given account, from one event loop (no locks).

    One per run. `async with` it, or call close(): it owns the HTTP connection pool, which is opened on the
    first request.
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
        self._endpoints: dict[tuple[str, str], Endpoint] = {}
        self._http: aiohttp.ClientSession | None = None
        self._http1: Http1Pool | None = None
        self._addresses: dict[str, tuple[str, str, int, str]] = {}
        self.user_agent = f"lambda-inventory/{__version__} {session.user_agent()}"

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        if self._http1 is not None:
            self._http1.close()
            self._http1 = None
        if self._http is not None:
            await self._http.close()
            self._http = None

    def endpoint(self, service: str, region: str) -> Endpoint:
        """The endpoint botocore would use for `service` (a boto3 service name) in `region`, resolved once."""
        key = (service, region)
        if key not in self._endpoints:
            from yarl import URL  # noqa: PLC0415 - see the module's docstring

            client = self._session.create_client(service, region_name=region, config=self._config)
            url = URL(client.meta.endpoint_url.rstrip("/"))
            proxy = get_environ_proxies(str(url)).get(url.scheme or "https")
            signing = client.meta.service_model.signing_name
            self._endpoints[key] = Endpoint(str(url), url.host_port_subcomponent or "", proxy, signing, region)
        return self._endpoints[key]

    def _pool(self) -> Http1Pool:
        if self._http1 is None:
            from inventory.aws.http1 import Http1Pool  # noqa: PLC0415 - llhttp's parser: loaded by the first request

            limits = self.timeouts
            tls = self._ssl_context()
            self._http1 = Http1Pool(self._max_connections, tls, connect_timeout=limits.connect, timeout=limits.read)
        return self._http1

    def _address(self, endpoint: Endpoint) -> tuple[str, str, int, str]:
        """(scheme, host, port, path prefix) of the endpoint: an endpoint URL may carry a path
        (AWS_ENDPOINT_URL=https://gateway/aws), which the request's path follows, as signed."""
        address = self._addresses.get(endpoint.url)
        if address is None:
            parts = urlsplit(endpoint.url)
            scheme = parts.scheme or "https"
            port = parts.port or (443 if scheme == "https" else 80)
            address = self._addresses[endpoint.url] = (scheme, parts.hostname or "", port, parts.path)
        return address

    def _client(self) -> aiohttp.ClientSession:
        if self._http is None:
            import aiohttp  # noqa: PLC0415 - see the module's docstring

            self._http = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._max_connections, ssl=self._ssl_context()),
                timeout=self._client_timeout(),
                cookie_jar=aiohttp.DummyCookieJar(),
            )
        return self._http

    def _client_timeout(self) -> aiohttp.ClientTimeout:
        """connect: a new connection (TCP and TLS); read: the whole request (connect included), and so also any
        wait between reads. `sock_connect`, not `connect`, and no `sock_read`: each arms one more timer on every
        request (sock_read re-arms it on every chunk read), for nothing `total` does not already bound."""
        import aiohttp  # noqa: PLC0415 - see the module's docstring

        limits = self.timeouts
        return aiohttp.ClientTimeout(total=limits.read, sock_connect=limits.connect)

    def _ssl_context(self) -> ssl.SSLContext:
        # as botocore's endpoint does: AWS_CA_BUNDLE / ca_bundle, then REQUESTS_CA_BUNDLE, then certifi's
        bundle = self._session.get_config_variable("ca_bundle") or os.environ.get("REQUESTS_CA_BUNDLE")
        return ssl.create_default_context(cafile=get_cert_path(bundle or True))

    async def send(
        self,
        endpoint: Endpoint,
        credentials: ReadOnlyCredentials,
        operation: str,
        path_and_query: str,
        *,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> bytes:
        """One signed request (GET, or POST with `body`); the 200's body. Raises ClientError (any other
        status, code and message found as botocore finds them), HttpFailure (aiohttp.ClientError through a proxy),
        or FaultError(Timeout)."""
        url = f"{endpoint.url}{path_and_query}"
        method = "POST" if body is not None else "GET"
        sent = {"User-Agent": self.user_agent, "Host": endpoint.host, **(headers or {})}
        signed = sign(credentials, method, url, sent, region=endpoint.region, service=endpoint.signing_name, body=body)
        try:
            if endpoint.proxy is None:
                scheme, host, port, prefix = self._address(endpoint)
                answer = await self._pool().request(
                    method, (scheme, host, port, prefix + path_and_query), signed, body or b""
                )
                status, answer_headers, content = answer.status, answer.headers, answer.body
            else:
                status, answer_headers, content = await self._through_proxy(endpoint, method, url, signed, body)
        except TimeoutError as err:
            limits = self.timeouts
            detail = str(err) or type(err).__name__
            message = f"no complete answer from {endpoint.host} within {limits.read:g}s "
            message += f"(timeouts: connect {limits.connect:g}s, read {limits.read:g}s): {detail}"
            raise FaultError(Fault(FaultKind.UNANSWERED, "Timeout", message)) from err
        if status != 200:
            raise error_from(status, answer_headers, content, operation)
        return content

    async def _through_proxy(
        self, endpoint: Endpoint, method: str, url: str, signed: dict[str, str], body: bytes | None
    ) -> tuple[int, Any, bytes]:
        """A request through the endpoint's proxy (HTTP(S)_PROXY), sent by aiohttp: status, headers and body."""
        from yarl import URL  # noqa: PLC0415 - see the module's docstring

        async with self._client().request(
            method, URL(url, encoded=True), data=body, headers=signed, proxy=endpoint.proxy
        ) as response:
            return response.status, response.headers, await response.read()


def error_from(status: int, headers: Any, content: bytes, operation: str = "ListFunctions") -> ClientError:
    """An error response as botocore's ClientError (code and message found as botocore finds them)."""
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
    return ClientError({"Error": {"Code": code, "Message": message}, "ResponseMetadata": metadata}, operation)


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
