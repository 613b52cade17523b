"""Minimal stand-in for slice A's redact module (same API); the merge takes slice A's version.

`one_line` collapses whitespace and cuts to `limit` characters; `mask` replaces AWS credentials.
"""

from __future__ import annotations

import re

_SECRETS = re.compile(
    r"\b(?:AKIA|ASIA)[A-Z0-9]{16}\b"
    r"|(?<=X-Amz-Security-Token=)[^&\s]+|(?<=X-Amz-Signature=)[^&\s]+|(?<=Signature=)[^,&\s]+|(?<=Credential=)[^,&\s]+"
    r"|[A-Za-z0-9+/=]{40,}"
)


def one_line(text: str, limit: int = 300) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: max(0, limit - 3)] + "..."


def mask(text: str) -> str:
    return _SECRETS.sub("***", text)


def clean(text: str) -> str:
    return one_line(mask(text))
