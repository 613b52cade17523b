"""The emulator's replies on the wire: JSON bodies, AWS-shaped errors (JSON, CBOR or XML), and request bodies.

An error is shaped for the protocol the client spoke: boto3 talks Smithy RPC v2 CBOR to CloudWatch and the
tagging API (it reads the error code from `__type` in a CBOR body), the job talks JSON 1.0/1.1 to them, and
Lambda is REST-JSON (error code in the `x-amzn-ErrorType` header). Each reply carries what all of them read.
"""

from __future__ import annotations

import io
import json
import struct
from collections.abc import Callable, Iterable, Mapping
from typing import Any

StartResponse = Callable[..., Any]
REASONS = {
    400: "Bad Request",
    403: "Forbidden",
    404: "Not Found",
    409: "Conflict",
    429: "Too Many Requests",
    500: "Internal Server Error",
}


def read_body(environ: dict[str, Any]) -> bytes:
    """The request body, left readable again for whoever handles the request next."""
    size = int(environ.get("CONTENT_LENGTH") or 0)
    body: bytes = environ["wsgi.input"].read(size) if size else b""
    environ["wsgi.input"] = io.BytesIO(body)
    return body


def json_reply(
    start_response: StartResponse, status: str, payload: Mapping[str, Any], extra: Iterable[tuple[str, str]] = ()
) -> list[bytes]:
    data = json.dumps(payload).encode()
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(data))), *extra])
    return [data]


def json_error(start_response: StartResponse, code: int, error_type: str, message: str) -> list[bytes]:
    """A REST-JSON error (Lambda, the Account API): the code in x-amzn-ErrorType and `__type`."""
    payload = {"Type": "User", "__type": error_type, "message": message}
    return json_reply(start_response, _status(code), payload, [("x-amzn-ErrorType", error_type)])


def error_for(
    environ: dict[str, Any], start_response: StartResponse, code: int, error_type: str, message: str
) -> list[bytes]:
    """An error in the protocol the request spoke: CBOR for an RPC v2 CBOR request, JSON otherwise."""
    if environ.get("HTTP_SMITHY_PROTOCOL") != "rpc-v2-cbor":
        return json_error(start_response, code, error_type, message)
    data = cbor_map({"__type": error_type, "message": message})
    headers = [
        ("Content-Type", "application/cbor"),
        ("Content-Length", str(len(data))),
        ("smithy-protocol", "rpc-v2-cbor"),
        ("x-amzn-ErrorType", error_type),
    ]
    start_response(_status(code), headers)
    return [data]


def xml_error(start_response: StartResponse, code: str, message: str) -> list[bytes]:
    data = (
        '<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type>'
        f"<Code>{code}</Code><Message>{message}</Message></Error><RequestId>emulator</RequestId></ErrorResponse>"
    ).encode()
    start_response("403 Forbidden", [("Content-Type", "text/xml"), ("Content-Length", str(len(data)))])
    return [data]


def cbor_map(values: Mapping[str, str]) -> bytes:
    """A CBOR map of text strings (RFC 8949: major type 5 of major type 3 items): all an error body needs."""
    out = bytearray(_cbor_head(5, len(values)))
    for key, value in values.items():
        for text in (key, value):
            raw = text.encode()
            out += _cbor_head(3, len(raw)) + raw
    return bytes(out)


def _cbor_head(major: int, length: int) -> bytes:
    if length < 24:
        return bytes([major << 5 | length])
    for extra, fmt in ((24, ">B"), (25, ">H"), (26, ">I")):
        if length < 1 << (8 * struct.calcsize(fmt)):
            return bytes([major << 5 | extra]) + struct.pack(fmt, length)
    raise ValueError("too long for an error body")


def _status(code: int) -> str:
    return f"{code} {REASONS.get(code, 'Error')}"
