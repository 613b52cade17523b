"""What the emulator's own Lambda answers share: paging as real Lambda pages, answers shaped by botocore's
service model, the request's parameters, the function a path names and Lambda's errors.

Paging: MaxItems is checked against the bounds botocore's model gives the operation (400
InvalidParameterValueException outside them), a page holds at most MaxItems items and never more than the
operation's own cap (50, or 100 for ListEventSourceMappings, as real Lambda caps them whatever MaxItems asks),
and NextMarker is an opaque marker, present only while items remain. A marker the emulator did not give is
refused like a bad MaxItems.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import parse_qs, unquote

import botocore.session
from moto.awslambda.exceptions import UnknownFunctionException
from moto.awslambda.models import LambdaBackend, LambdaFunction, lambda_backends

from inventory.demo.emulator_extras import function_of
from inventory.demo.emulator_wire import StartResponse, json_error, json_reply, read_body

Where = tuple[str, str]  # (account id, region)
PAGE_CAP = 50  # most items a page of a Lambda list holds, whatever MaxItems asks
PAGE_CAPS = {"ListEventSourceMappings": 100}  # real Lambda's own cap where it differs
_MARKER = "emulator-{operation}:"


@functools.cache
def _model() -> Any:
    return botocore.session.get_session().get_service_model("lambda")


@functools.cache
def _members(shape: str) -> frozenset[str]:
    return frozenset(_model().shape_for(shape).members)


def shaped(item: Mapping[str, Any], shape: str) -> dict[str, Any]:
    """`item` with only the members botocore's model gives `shape`, and none that is null."""
    members = _members(shape)
    return {key: value for key, value in item.items() if key in members and value is not None}


def backend(where: Where) -> LambdaBackend:
    return lambda_backends[where[0]][where[1]]


def params(environ: dict[str, Any]) -> dict[str, str]:
    """The query string's parameters, the first value of each."""
    return {key: values[0] for key, values in parse_qs(environ.get("QUERY_STRING", "")).items()}


def body(environ: dict[str, Any]) -> dict[str, Any]:
    found = json.loads(read_body(environ) or b"{}")
    return found if isinstance(found, dict) else {}


def path_part(environ: dict[str, Any], index: int) -> str:
    """One segment of the request's path (0: the API date), decoded."""
    parts = environ.get("PATH_INFO", "").strip("/").split("/")
    return unquote(parts[index]) if index < len(parts) else ""


def split_name(name: str) -> tuple[str, str]:
    """(function name, qualifier or "") of a function name, qualified name, partial or full ARN."""
    tail = name.split("function:", 1)[1] if "function:" in name else name
    function, _, qualifier = tail.partition(":")
    return function, qualifier


def qualifier_of(environ: dict[str, Any]) -> str:
    """The version or alias a request qualifies its function with (Qualifier, or in the name); "" for $LATEST."""
    found = params(environ).get("Qualifier") or split_name(function_of(environ))[1]
    return "" if found == "$LATEST" else found


def function_arn(where: Where, name: str) -> str:
    """The unqualified ARN of the function `name` names in `where`."""
    return f"arn:aws:lambda:{where[1]}:{where[0]}:function:{split_name(name)[0]}"


def function_named(where: Where, environ: dict[str, Any]) -> LambdaFunction | None:
    """The function ($LATEST) the path names, by name or ARN, in `where`; None when there is none."""
    try:
        found: LambdaFunction = backend(where).get_function(split_name(function_of(environ))[0])
    except UnknownFunctionException:
        return None
    return found


def has_qualifier(where: Where, function: LambdaFunction, qualifier: str) -> bool:
    """Whether `qualifier` ("" for $LATEST) is one of the function's published versions or aliases."""
    if not qualifier:
        return True
    try:
        backend(where).get_function(function.function_name, qualifier)
    except UnknownFunctionException:
        return False
    return True


def not_found(start_response: StartResponse, message: str, code: str = "ResourceNotFoundException") -> list[bytes]:
    return json_error(start_response, 404, code, message)


def invalid(start_response: StartResponse, message: str) -> list[bytes]:
    return json_error(start_response, 400, "InvalidParameterValueException", message)


def conflict(start_response: StartResponse, message: str) -> list[bytes]:
    return json_error(start_response, 409, "ResourceConflictException", message)


def no_function(
    start_response: StartResponse, where: Where, environ: dict[str, Any], qualifier: str = ""
) -> list[bytes]:
    arn = function_arn(where, function_of(environ))
    return not_found(start_response, f"Function not found: {arn}{':' + qualifier if qualifier else ''}")


def no_content(start_response: StartResponse) -> list[bytes]:
    start_response("204 No Content", [("Content-Length", "0")])
    return [b""]


def page(
    environ: dict[str, Any], start_response: StartResponse, operation: str, member: str, items: Sequence[Any]
) -> list[bytes]:
    """One page of `items` (already in the order real Lambda lists them) as `member`, with NextMarker."""
    query = params(environ)
    bounds = _model().operation_model(operation).input_shape.members["MaxItems"].metadata
    limit = query.get("MaxItems", str(bounds["max"]))
    if not limit.isdigit() or not bounds["min"] <= int(limit) <= bounds["max"]:
        return invalid(start_response, f"MaxItems must be {bounds['min']} to {bounds['max']}.")
    prefix = _MARKER.format(operation=operation)
    marker = query.get("Marker", f"{prefix}0")
    offset = marker.removeprefix(prefix)
    if not marker.startswith(prefix) or not offset.isdigit():
        return invalid(start_response, "The Marker is not valid.")
    start, size = int(offset), min(int(limit), PAGE_CAPS.get(operation, PAGE_CAP))
    answer: dict[str, Any] = {member: list(items[start : start + size])}
    if start + size < len(items):
        answer["NextMarker"] = f"{prefix}{start + size}"
    return json_reply(start_response, "200 OK", answer)
