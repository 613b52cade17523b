"""Text that leaves the job (status file, logs, summary, manifest) is masked and kept to one short line.

AWS error messages are not ours: a proxy's 403 page can echo the signed request (its `X-Amz-Security-Token`,
`X-Amz-Credential`, `X-Amz-Signature`), an error page can be many lines of HTML. `clean()` is applied to
every Fault and TargetResult message when it is made, and logs.py masks every record again on the way out.

* `mask(text)`: access key ids (AKIA/ASIA/...), secret access keys, session tokens, and the values of
  `X-Amz-Security-Token=`, `X-Amz-Signature=`, `X-Amz-Credential=`, `Signature=`, `Credential=`,
  `SessionToken`, `SecretAccessKey` ... become `***`.
* `one_line(text, limit)`: whitespace runs (newlines, tabs) become one space, control characters go, and
  the text is cut to `limit` characters (ending in `...` when cut).
"""

from __future__ import annotations

import re

MASK = "***"
MESSAGE_LIMIT = 300

# name=value / name: value / "name": "value" pairs whose value is a credential or a signature.
_SECRET_NAMES = (
    r"x-amz-security-token|x-amz-signature|x-amz-credential|signature|credential|"
    r"security[-_]?token|session[-_]?token|secret[-_]?access[-_]?key|aws[-_]secret[-_]access[-_]key|"
    r"aws[-_]session[-_]token|authorization"
)
_PAIR = re.compile(rf"(?i)\b({_SECRET_NAMES})(\\?[\"']?\s*[=:]\s*\\?[\"']?)(?!\*\*\*)([^\s&,;\"'<>\\]+)")
# Access key ids: AKIA (long-term), ASIA (temporary) and the other IAM unique-id prefixes of the same shape.
_KEY_ID = re.compile(r"(?<![A-Z0-9])(?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AIPA|ANPA|ANVA|APKA|AROA|ASCA)[A-Z0-9]{16}\b")
# STS session tokens (plain or URL-encoded) start with these; any long base64 run is treated as one too.
_TOKEN = re.compile(r"(?:IQoJb3JpZ2lu|FwoGZXIvYXdz|FQoGZXIvYXdz)[A-Za-z0-9/+=%]*|[A-Za-z0-9/+=%]{100,}")
# A secret access key: exactly 40 base64 characters with a digit, an upper and a lower case letter.
_B64 = "[A-Za-z0-9/+]"
_SECRET_KEY = re.compile(
    rf"(?<![A-Za-z0-9/+=])(?={_B64}{{0,39}}\d)(?={_B64}{{0,39}}[A-Z])(?={_B64}{{0,39}}[a-z]){_B64}{{40}}(?![A-Za-z0-9/+=])"
)
_SPACE = re.compile(r"\s+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def mask(text: str) -> str:
    """`text` with every credential, signature and token replaced by ***."""
    text = _PAIR.sub(lambda m: f"{m.group(1)}{m.group(2)}{MASK}", text)
    text = _TOKEN.sub(MASK, text)
    text = _KEY_ID.sub(MASK, text)
    return _SECRET_KEY.sub(MASK, text)


def one_line(text: str, limit: int = MESSAGE_LIMIT) -> str:
    """`text` on one line of at most `limit` characters."""
    text = _CONTROL.sub("", _SPACE.sub(" ", text)).strip()
    if len(text) <= limit:
        return text
    return text[: max(0, limit - 3)].rstrip() + "..."


def clean(text: str, limit: int = MESSAGE_LIMIT) -> str:
    """Masked, then one line: what any message from outside the job becomes before it is kept."""
    return one_line(mask(text), limit)
