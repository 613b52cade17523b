"""The run manifest: one small JSON document per run that says what was written, by what, and how it went.

It is built from the run's facts (RunInfo) and the targets' status fields only: never from the config
itself (only its sha256), function rows, environment variables or credentials. Error messages come from
AWS; any access key id in one is masked all the same. Published after the run's inventory and status files,
so its presence means they are complete. The sink adds `files` (each file's sha256, bytes, rows) and, for a
partitioned dataset, `superseded`: the objects of another run layout it found in its partition and removes
right after publishing this manifest (supersede.py; [] when there were none).
"""

from __future__ import annotations

import base64
import json
import math
import platform
import re
import secrets
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from hashlib import sha256
from importlib import metadata
from typing import Any

import botocore
import pyarrow
from pydantic import TypeAdapter

from inventory import __version__
from inventory.output.destination import Destination, location_text
from inventory.output.status import Status, TargetOutcome, enrichment_counts

MANIFEST_VERSION = 1
# An AWS access key id (long-term AKIA, temporary ASIA) or a long unbroken base64 run such as a session token.
_CREDENTIAL = re.compile(r"\b(?:AKIA|ASIA)[A-Z0-9]{16}\b|[A-Za-z0-9+/=]{100,}")


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def config_sha256(config: object) -> str:
    """sha256 of the validated config (job/config.py's RunConfig, a pydantic dataclass) as canonical JSON
    (sorted keys): the same config, the same digest.

    Never raises: `vars` is free-form (c7n-org), so any value in it (bytes, a date, a non-string key, NaN)
    is given a stable text form rather than trusted to be JSON."""
    data = _canonical(TypeAdapter(type(config)).dump_python(config, mode="python"))
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=repr)
    return sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()


def _canonical(value: object) -> object:
    """JSON-ready data: string keys, lists for tuples and sets (sets sorted), text for anything else."""
    if isinstance(value, dict):
        return {k if isinstance(k, str) else f"{type(k).__name__}:{k!r}": _canonical(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_canonical(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return sorted((_canonical(v) for v in value), key=repr)
    if value is None or isinstance(value, (str, bool, int, float)):
        return value if not isinstance(value, float) or math.isfinite(value) else repr(value)
    if isinstance(value, bytes):
        return {"bytes": base64.b64encode(value).decode()}
    return f"{type(value).__name__}:{value!s}"


@dataclass(frozen=True)
class RunInfo:
    """What identifies a run: made once at its start, before the destination is resolved."""

    run_id: str
    started_at: datetime  # UTC; use it as the run's snapshot_time too
    config_sha256: str
    shard: tuple[int, int] | None = None  # (index, count), 0-based

    @property
    def snapshot_date(self) -> date:
        """The UTC date of the start: the run's partition (snapshot_date=YYYY-MM-DD)."""
        return self.started_at.astimezone(UTC).date()

    @classmethod
    def start(cls, config: object, shard: tuple[int, int] | None = None, now: datetime | None = None) -> RunInfo:
        started = (now or datetime.now(UTC)).astimezone(UTC)
        run_id = f"{started:%Y%m%dT%H%M%SZ}-{secrets.token_hex(4)}"
        return cls(run_id, started, config_sha256(config), shard)


def build_manifest(
    info: RunInfo, results: Sequence[TargetOutcome], destination: Destination, finished_at: datetime
) -> dict[str, Any]:
    """The manifest of a finished run, as JSON-ready data (see render_manifest)."""
    return {
        "manifest_version": MANIFEST_VERSION,
        "run_id": info.run_id,
        "started_at": _utc(info.started_at),
        "finished_at": _utc(finished_at),
        "snapshot_date": info.snapshot_date.isoformat(),
        "config_sha256": info.config_sha256,
        "shard": None if info.shard is None else {"index": info.shard[0], "count": info.shard[1]},
        "counts": _counts(results),
        "functions_by_account": _functions_by_account(results),
        "errors": _errors(results),
        "enrichments": enrichment_counts(results),
        "outputs": {
            "format": destination.fmt.value,
            "inventory": location_text(destination.inventory),
            "status": location_text(destination.status),
        },
        "versions": versions(),
    }


def render_manifest(manifest: Mapping[str, Any]) -> bytes:
    """Pretty-printed, sorted keys, UTF-8, trailing newline."""
    return (json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()


def versions() -> dict[str, str]:
    return {
        "lambda-inventory": __version__,
        "boto3": metadata.version("boto3"),  # not imported: boto3 pulls in s3transfer (~30 ms)
        "botocore": botocore.__version__,
        "pyarrow": pyarrow.__version__,
        "python": platform.python_version(),
    }


def _counts(results: Sequence[TargetOutcome]) -> dict[str, int]:
    statuses = Counter(r.status for r in results)
    return {
        "targets": len(results),
        "ok": statuses[Status.OK],
        "skipped": statuses[Status.SKIPPED],
        "failed": statuses[Status.FAILED],
        "accounts": len({r.target.account.account_id for r in results}),
        "functions": sum(r.function_count or 0 for r in results),
    }


def _functions_by_account(results: Sequence[TargetOutcome]) -> dict[str, dict[str, int | None]]:
    """{account_id: {region: count}}; null where the target was skipped or failed (unknown, not zero)."""
    out: dict[str, dict[str, int | None]] = {}
    for r in results:
        count = r.function_count if r.status is Status.OK else None
        out.setdefault(r.target.account.account_id, {})[r.target.region] = count
    return out


def _errors(results: Sequence[TargetOutcome]) -> list[dict[str, str | None]]:
    not_ok = [r for r in results if r.status is not Status.OK]
    return [
        {
            "account_id": r.target.account.account_id,
            "account_name": r.target.account.name,
            "region": r.target.region,
            "status": r.status.value,
            "error_code": r.error_code,
            "error_message": None if r.error_message is None else mask_credentials(r.error_message),
        }
        for r in sorted(not_ok, key=lambda r: (r.target.account.account_id, r.target.region))
    ]


def mask_credentials(text: str) -> str:
    """Defence in depth: AWS error messages carry ARNs and request ids, not keys; mask any key anyway."""
    return _CREDENTIAL.sub("[masked]", text)
