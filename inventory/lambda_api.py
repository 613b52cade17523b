"""ListFunctions, one page per call, over botocore's signer and HTTP session but not its client pipeline.

Profiled at 300 accounts x 17 regions, botocore's generic per-request path (event hooks, parameter
validation, serialisation, endpoint rules, the model-driven response walk) was the largest block of the
job's CPU, ~0.5 ms of every page. ListFunctions is one GET with two query parameters, so this module sends
it directly and keeps from botocore everything that is easy to get wrong:

* the endpoint, resolved once per region by a real botocore client, so AWS_ENDPOINT_URL(_LAMBDA), FIPS,
  dual-stack and partitions behave exactly as in every boto3 tool;
* SigV4 signing (`botocore.auth.SigV4Auth`), with the member account's credentials;
* the HTTP session (`botocore.httpsession.URLLib3Session`: pooling, CA bundle, proxies, timeouts) and its
  exception types for connection trouble;
* errors as `botocore.exceptions.ClientError`, so retry classification is the same as for any client.

Paging is Lambda's own: `MaxItems`/`Marker` in, `NextMarker` out.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import botocore.session
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import ReadOnlyCredentials
from botocore.exceptions import ClientError
from botocore.httpsession import URLLib3Session
from botocore.utils import get_environ_proxies

from inventory import __version__

PAGE_SIZE = 50  # the most Lambda returns per page
_PATH = "/2015-03-31/functions/"


@dataclass(frozen=True)
class Page:
    functions: list[dict[str, Any]]
    next_marker: str | None


class LambdaLister:
    """Lists one page of functions in a region as a given account. Thread-safe; one per run."""

    def __init__(self, session: botocore.session.Session, config: Config, max_pool_connections: int) -> None:
        self._session = session
        self._config = config
        self._pool_size = max_pool_connections
        self._lock = threading.Lock()
        self._regions: dict[str, tuple[str, URLLib3Session]] = {}
        self._user_agent = f"lambda-inventory/{__version__} {session.user_agent()}"

    def _endpoint(self, region: str) -> tuple[str, URLLib3Session]:
        with self._lock:
            if region not in self._regions:
                client = self._session.create_client("lambda", region_name=region, config=self._config)
                url = client.meta.endpoint_url.rstrip("/")
                http = URLLib3Session(
                    # as botocore's endpoint does: AWS_CA_BUNDLE / ca_bundle, then REQUESTS_CA_BUNDLE
                    verify=self._session.get_config_variable("ca_bundle")
                    or os.environ.get("REQUESTS_CA_BUNDLE")
                    or True,
                    proxies=get_environ_proxies(url),
                    timeout=(self._config.connect_timeout, self._config.read_timeout),
                    max_pool_connections=self._pool_size,
                )
                self._regions[region] = (url, http)
            return self._regions[region]

    def page(
        self, region: str, credentials: ReadOnlyCredentials, marker: str | None, all_versions: bool = False
    ) -> Page:
        """One ListFunctions page; raises ClientError or a botocore connection error on failure."""
        url, http = self._endpoint(region)
        query = [("MaxItems", str(PAGE_SIZE))]
        if marker:
            query.append(("Marker", marker))
        if all_versions:
            query.append(("FunctionVersion", "ALL"))
        request = AWSRequest("GET", f"{url}{_PATH}?{urlencode(query)}", headers={"User-Agent": self._user_agent})
        SigV4Auth(credentials, "lambda", region).add_auth(request)
        response = http.send(request.prepare())
        if response.status_code != 200:
            raise error_from(response.status_code, response.headers, response.content)
        body = json.loads(response.content) if response.content else {}
        return Page(body.get("Functions") or [], body.get("NextMarker") or None)


def error_from(status: int, headers: Any, content: bytes) -> ClientError:
    """A Lambda error response as botocore's ClientError (code from x-amzn-ErrorType, as botocore does)."""
    try:
        body = json.loads(content) if content else {}
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    code = (headers.get("x-amzn-ErrorType") or "").split(":")[0]
    code = code or str(body.get("__type") or body.get("code") or "").split("#")[-1] or f"HTTP{status}"
    text = content[:200].decode("utf-8", "replace") if content else ""
    message = str(body.get("message") or body.get("Message") or text or f"HTTP {status}")
    metadata = {"HTTPStatusCode": status, "RequestId": headers.get("x-amzn-RequestId")}
    return ClientError({"Error": {"Code": code, "Message": message}, "ResponseMetadata": metadata}, "ListFunctions")
