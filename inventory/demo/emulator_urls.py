"""Lambda function URL configs the way real Lambda keeps them, on top of moto's.

moto 5.2 keeps one URL config per function (it ignores `Qualifier`) and does not answer
ListFunctionUrlConfigs at all. Real Lambda keeps one per function ($LATEST) and one per alias, and lists
them all, paged. So the emulator answers ListFunctionUrlConfigs from moto's state for the calling account
and region (the function's own config) plus the alias configs it keeps itself: Create/Get/Update/Delete
FunctionUrlConfig with an alias `Qualifier` are answered here, the unqualified ones by moto.
"""

from __future__ import annotations

import json
import threading
import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

from moto.awslambda.exceptions import UnknownFunctionException
from moto.awslambda.models import LambdaFunction, lambda_backends
from moto.core.exceptions import JsonRESTError

from inventory.demo.emulator_extras import function_of
from inventory.demo.emulator_wire import StartResponse, json_error, json_reply, read_body

URLS_MARKER = "emulator-urls:"
URLS_PAGE_LIMIT = 50  # ListFunctionUrlConfigs' MaxItems: 1 to 50
_QUALIFIED = frozenset(
    {"CreateFunctionUrlConfig", "GetFunctionUrlConfig", "UpdateFunctionUrlConfig", "DeleteFunctionUrlConfig"}
)


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "+0000"


def _qualifier(environ: dict[str, Any]) -> str:
    found = parse_qs(environ.get("QUERY_STRING", "")).get("Qualifier", [""])[0]
    return "" if found == "$LATEST" else found


def _not_found(start_response: StartResponse, message: str) -> list[bytes]:
    return json_error(start_response, 404, "ResourceNotFoundException", message)


def _shown(config: dict[str, Any]) -> dict[str, Any]:
    """A config as ListFunctionUrlConfigs shows it: no null members, InvokeMode as real Lambda spells it."""
    shown = {key: value for key, value in config.items() if value is not None}
    shown["InvokeMode"] = str(shown.get("InvokeMode") or "BUFFERED").upper()
    return shown


class UrlConfigs:
    """The alias URL configs, per (account, region, function name), and ListFunctionUrlConfigs."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._aliases: dict[tuple[str, str, str], dict[str, dict[str, Any]]] = {}

    def answers(self, environ: dict[str, Any], operation: str) -> bool:
        """Whether this request is the emulator's to answer (the rest go to moto)."""
        return operation == "ListFunctionUrlConfigs" or (operation in _QUALIFIED and _qualifier(environ) != "")

    def handle(
        self,
        environ: dict[str, Any],
        start_response: StartResponse,
        where: tuple[str, str],
        operation: str,
        page_limit: int = URLS_PAGE_LIMIT,
    ) -> list[bytes]:
        """Answer ListFunctionUrlConfigs (at most `page_limit` configs a page, as at most MaxItems) or an alias's
        URL config operation, for the function in the path, in `where` (account, region)."""
        name = function_of(environ)
        try:
            function = lambda_backends[where[0]][where[1]].get_function(name)
        except UnknownFunctionException:
            arn = name if name.startswith("arn:") else f"arn:aws:lambda:{where[1]}:{where[0]}:function:{name}"
            return _not_found(start_response, f"Function not found: {arn}")
        key = (*where, function.function_name)
        if operation == "ListFunctionUrlConfigs":
            return self._list(environ, start_response, function, key, page_limit)
        return self._qualified(environ, start_response, function, key, operation)

    def _list(
        self,
        environ: dict[str, Any],
        start_response: StartResponse,
        function: LambdaFunction,
        key: tuple[str, str, str],
        page_limit: int,
    ) -> list[bytes]:
        query = parse_qs(environ.get("QUERY_STRING", ""))
        with self._lock:
            configs = [dict(config) for config in self._aliases.get(key, {}).values()]
        if function.url_config is not None:
            configs.append(function.url_config.to_dict())
        configs.sort(key=lambda config: str(config["FunctionArn"]))
        marker = query.get("Marker", [URLS_MARKER + "0"])[0]
        limit = query.get("MaxItems", [str(URLS_PAGE_LIMIT)])[0]
        if not limit.isdigit() or not 1 <= int(limit) <= URLS_PAGE_LIMIT:
            return json_error(start_response, 400, "InvalidParameterValueException", "MaxItems must be 1 to 50.")
        offset = marker.removeprefix(URLS_MARKER)
        if not marker.startswith(URLS_MARKER) or not offset.isdigit():
            return json_error(start_response, 400, "InvalidParameterValueException", "The Marker is not valid.")
        start, size = int(offset), min(int(limit), page_limit)
        page: dict[str, Any] = {"FunctionUrlConfigs": [_shown(c) for c in configs[start : start + size]]}
        if start + size < len(configs):
            page["NextMarker"] = f"{URLS_MARKER}{start + size}"
        return json_reply(start_response, "200 OK", page)

    def _qualified(
        self,
        environ: dict[str, Any],
        start_response: StartResponse,
        function: LambdaFunction,
        key: tuple[str, str, str],
        operation: str,
    ) -> list[bytes]:
        alias = _qualifier(environ)
        try:
            lambda_backends[key[0]][key[1]].get_alias(alias, function.function_name)
        except JsonRESTError:
            return _not_found(start_response, f"Alias not found: {function.function_arn}:{alias}")
        body = json.loads(read_body(environ) or b"{}")
        with self._lock:
            configs = self._aliases.setdefault(key, {})
            found = configs.get(alias)
            if operation == "CreateFunctionUrlConfig":
                if found is not None:
                    return json_error(start_response, 409, "ResourceConflictException", "URL config already exists")
                configs[alias] = found = _new_config(function, alias, key[1], body)
                return json_reply(start_response, "201 Created", _shown(found))
            if found is None:
                return _not_found(
                    start_response, f"The resource you requested does not exist: {function.function_arn}:{alias}"
                )
            if operation == "DeleteFunctionUrlConfig":
                del configs[alias]
                start_response("204 No Content", [("Content-Length", "0")])
                return [b""]
            if operation == "UpdateFunctionUrlConfig":
                found.update({k: body[k] for k in ("AuthType", "Cors", "InvokeMode") if k in body})
                found["LastModifiedTime"] = _now()
            return json_reply(start_response, "200 OK", _shown(found))


def _new_config(function: LambdaFunction, alias: str, region: str, body: dict[str, Any]) -> dict[str, Any]:
    created = _now()
    return {
        "FunctionUrl": f"https://{uuid.uuid4().hex}.lambda-url.{region}.on.aws/",
        "FunctionArn": f"{function.function_arn}:{alias}",
        "AuthType": body.get("AuthType"),
        "Cors": body.get("Cors"),
        "CreationTime": created,
        "LastModifiedTime": created,
        "InvokeMode": body.get("InvokeMode") or "BUFFERED",
    }
