"""The fake's functions: realistic ListFunctions items, a pure function of (account, region, index).

Every function carries an environment variable whose value contains ENV_SECRET, so a test can check that
no environment variable value reaches any output.
"""

from __future__ import annotations

import base64
from typing import Any

PAGE = 50  # the most Lambda returns per page
ENV_SECRET = "FAKEENVSECRET"


def function_name(region: str, index: int) -> str:
    return f"fn-{region}-{index:03d}"


def function_arn(account: str, region: str, index: int) -> str:
    return f"arn:aws:lambda:{region}:{account}:function:{function_name(region, index)}"


def function_item(account: str, region: str, index: int) -> dict[str, Any]:
    name = function_name(region, index)
    return {
        "FunctionName": name,
        "FunctionArn": function_arn(account, region, index),
        "Runtime": "python3.12",
        "Role": f"arn:aws:iam::{account}:role/service-role/{name}-role",
        "Handler": "app.handler",
        "CodeSize": 1024 + index,
        "Description": "fault-injection fixture",
        "Timeout": 30,
        "MemorySize": 128,
        "LastModified": "2024-05-01T12:00:00.000+0000",
        "CodeSha256": base64.b64encode(f"{account}{region}{index}".encode()).decode(),
        "Version": "$LATEST",
        "Environment": {"Variables": {"STAGE": "test", "API_KEY": f"{ENV_SECRET}-{account}-{index}"}},
        "TracingConfig": {"Mode": "PassThrough"},
        "RevisionId": f"00000000-0000-4000-8000-{index:012d}",
        "PackageType": "Zip",
        "Architectures": ["x86_64"],
        "EphemeralStorage": {"Size": 512},
    }


def marker_for(offset: int) -> str:
    """An opaque-looking NextMarker for the page starting at `offset`."""
    return base64.b64encode(f"v1|{offset}".encode()).decode()


def offset_of(marker: str | None) -> int:
    """The offset a marker stands for; 0 for no marker or one this fake did not hand out."""
    if not marker:
        return 0
    try:
        version, offset = base64.b64decode(marker).decode().split("|")
        return int(offset) if version == "v1" else 0
    except ValueError:
        return 0


def page(account: str, region: str, functions: int, offset: int) -> tuple[list[dict[str, Any]], str | None]:
    """The items of the page at `offset` and its NextMarker (None on the last page)."""
    end = min(functions, offset + PAGE)
    items = [function_item(account, region, i) for i in range(offset, end)]
    return items, marker_for(end) if end < functions else None


def arns(account: str, region: str, functions: int) -> set[str]:
    return {function_arn(account, region, i) for i in range(functions)}
