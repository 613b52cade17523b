"""The run record: what one run (or one shard of it) wrote, by what, and how it went. Declared once here.

`RunRecord` is one frozen type with one JSON form (`to_json` / `from_json`). The single-file outputs write
it beside the inventory as `<stem>.manifest.json` (after the inventory and status files, so its presence
means they are complete, and its `files` says their sha256, bytes and rows); the lake writes it as the
`runs` table's row (contract/lake.py), its JSON form in the `record` column, as the run's last commit. The
readers rebuild it from either with `from_json`.

It is built from the run's facts (RunInfo) and the targets' status fields only: never from the config itself
(only its sha256), function rows, environment variables or credentials. Error messages come from AWS; any
access key id in one is masked all the same.
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
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from hashlib import sha256
from importlib import metadata
from typing import Any

from pydantic import TypeAdapter

from inventory import __version__
from inventory.contract.results import Status, TargetResult
from inventory.contract.status import enrichment_counts

MANIFEST_VERSION = 2  # 2: run_id shared by the shards of one run, write_id per shard attempt
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


class RecordError(ValueError):
    """A document that cannot be read as a run record; the message is one line."""


@dataclass(frozen=True)
class RunInfo:
    """What identifies a run: made once at its start, before anything is written.

    `run_id` names the run and is shared by its shards (an AWS Batch array job's id); `write_id` names this
    process's write, unique per shard attempt, so a retried shard never mixes its rows with an attempt
    that died."""

    run_id: str
    started_at: datetime  # UTC; use it as the run's snapshot_time too
    config_sha256: str
    shard: tuple[int, int] | None = None  # (index, count), 0-based
    write_id: str = ""

    @property
    def snapshot_date(self) -> date:
        """The UTC date of the start: the day whose inventory this run is."""
        return self.started_at.astimezone(UTC).date()

    @classmethod
    def start(
        cls,
        config: object,
        shard: tuple[int, int] | None = None,
        now: datetime | None = None,
        run_id: str | None = None,
    ) -> RunInfo:
        started = (now or datetime.now(UTC)).astimezone(UTC)
        write_id = f"{started:%Y%m%dT%H%M%SZ}-{secrets.token_hex(6)}"
        return cls(run_id or write_id, started, config_sha256(config), shard, write_id)


@dataclass(frozen=True)
class Counts:
    targets: int = 0
    accounts: int = 0
    functions: int = 0
    ok: int = 0
    skipped: int = 0
    failed: int = 0


@dataclass(frozen=True)
class RunRecord:
    """One run's (one shard attempt's) record. `to_json()` is the manifest document."""

    run_id: str
    write_id: str
    started_at: datetime
    finished_at: datetime
    config_sha256: str
    shard: tuple[int, int] | None
    counts: Counts
    functions_by_account: Mapping[str, Mapping[str, int | None]] = field(default_factory=dict)
    errors: tuple[Mapping[str, str | None], ...] = ()
    enrichments: Mapping[str, Any] = field(default_factory=dict)
    outputs: Mapping[str, str] = field(default_factory=dict)  # format and where (files, or the lake)
    versions: Mapping[str, str] = field(default_factory=dict)
    files: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # inventory/status: sha256, bytes, rows

    @property
    def snapshot_date(self) -> date:
        return self.started_at.astimezone(UTC).date()

    @property
    def shard_index(self) -> int:
        return 0 if self.shard is None else self.shard[0]

    @property
    def shard_count(self) -> int:
        return 1 if self.shard is None else self.shard[1]

    def with_files(self, files: Mapping[str, Mapping[str, Any]]) -> RunRecord:
        return replace(self, files=files)

    def to_json(self) -> dict[str, Any]:
        """The record as JSON-ready data (the manifest; see render_manifest)."""
        return {
            "manifest_version": MANIFEST_VERSION,
            "run_id": self.run_id,
            "write_id": self.write_id,
            "started_at": _utc(self.started_at),
            "finished_at": _utc(self.finished_at),
            "snapshot_date": self.snapshot_date.isoformat(),
            "config_sha256": self.config_sha256,
            "shard": None if self.shard is None else {"index": self.shard[0], "count": self.shard[1]},
            "counts": vars(self.counts).copy(),
            "functions_by_account": {a: dict(r) for a, r in self.functions_by_account.items()},
            "errors": [dict(e) for e in self.errors],
            "enrichments": dict(self.enrichments),
            "outputs": dict(self.outputs),
            "versions": dict(self.versions),
            **({"files": {k: dict(v) for k, v in self.files.items()}} if self.files else {}),
        }

    @classmethod
    def from_json(cls, doc: object) -> RunRecord:
        """A record's JSON form (a manifest, or a `runs` row's `record`) -> RunRecord; RecordError if not one."""
        if not isinstance(doc, dict):
            raise RecordError("not a run record: not a JSON object")
        counts = doc.get("counts")
        if not isinstance(counts, dict) or not all(isinstance(counts.get(k), int) for k in vars(Counts())):
            raise RecordError(f"not a run record: counts lacks one of {', '.join(vars(Counts()))}")
        run_id = _text(doc, "run_id")
        return cls(
            run_id=run_id,
            write_id=str(doc["write_id"]) if isinstance(doc.get("write_id"), str) else run_id,
            started_at=_moment(doc, "started_at"),
            finished_at=_moment(doc, "finished_at"),
            config_sha256=_text(doc, "config_sha256"),
            shard=_shard(doc.get("shard")),
            counts=Counts(**{k: int(counts[k]) for k in vars(Counts())}),
            functions_by_account=_mapping(doc, "functions_by_account"),
            errors=_errors_of(doc),
            enrichments=_mapping(doc, "enrichments"),
            outputs=_mapping(doc, "outputs"),
            versions=_mapping(doc, "versions"),
            files={k: v for k, v in _mapping(doc, "files").items() if isinstance(v, dict)},
        )


def build_record(
    info: RunInfo, results: Sequence[TargetResult], outputs: Mapping[str, str], finished_at: datetime
) -> RunRecord:
    """The record of a finished run (or shard attempt)."""
    return RunRecord(
        run_id=info.run_id,
        write_id=info.write_id or info.run_id,
        started_at=info.started_at,
        finished_at=finished_at.astimezone(UTC),
        config_sha256=info.config_sha256,
        shard=info.shard,
        counts=_counts(results),
        functions_by_account=_functions_by_account(results),
        errors=tuple(_errors(results)),
        enrichments=enrichment_counts(results),
        outputs=dict(outputs),
        versions=versions(),
    )


def parse_record(data: bytes, where: str) -> RunRecord:
    """A manifest file's bytes -> RunRecord; RecordError (one line, naming `where`) when it is not one."""
    try:
        doc = json.loads(data)
    except (ValueError, UnicodeDecodeError) as err:
        raise RecordError(f"{where}: not a run record: not JSON") from err
    try:
        return RunRecord.from_json(doc)
    except RecordError as err:
        raise RecordError(f"{where}: {err}") from err


def render_manifest(manifest: Mapping[str, Any]) -> bytes:
    """Pretty-printed, sorted keys, UTF-8, trailing newline."""
    return (json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()


def versions() -> dict[str, str]:
    """The versions that wrote a run (read from package metadata: nothing imported for it)."""
    return {
        "lambda-inventory": __version__,
        **{name: metadata.version(name) for name in ("boto3", "botocore", "pyarrow")},
        "python": platform.python_version(),
    }


def _counts(results: Sequence[TargetResult]) -> Counts:
    statuses = Counter(r.status for r in results)
    return Counts(
        targets=len(results),
        accounts=len({r.target.account.account_id for r in results}),
        functions=sum(r.function_count or 0 for r in results),
        ok=statuses[Status.OK],
        skipped=statuses[Status.SKIPPED],
        failed=statuses[Status.FAILED],
    )


def _functions_by_account(results: Sequence[TargetResult]) -> dict[str, dict[str, int | None]]:
    """{account_id: {region: count}}; null where the target was skipped or failed (unknown, not zero)."""
    out: dict[str, dict[str, int | None]] = {}
    for r in results:
        count = r.function_count if r.status is Status.OK else None
        out.setdefault(r.target.account.account_id, {})[r.target.region] = count
    return out


def _errors(results: Sequence[TargetResult]) -> list[dict[str, str | None]]:
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


def _text(doc: Mapping[str, Any], key: str) -> str:
    value = doc.get(key)
    if not isinstance(value, str) or not value:
        raise RecordError(f"not a run record: no {key}")
    return value


def _errors_of(doc: Mapping[str, Any]) -> tuple[Mapping[str, str | None], ...]:
    errors = doc.get("errors")
    if errors is None:
        return ()
    if not isinstance(errors, list) or not all(isinstance(e, dict) for e in errors):
        raise RecordError("not a run record: errors is not a list of objects")
    return tuple(errors)


def _moment(doc: Mapping[str, Any], key: str) -> datetime:
    text = _text(doc, key)
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as err:
        raise RecordError(f"not a run record: {key} is not a time") from err
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)


def _shard(value: object) -> tuple[int, int] | None:
    if value is None:
        return None
    index = value.get("index") if isinstance(value, dict) else None
    count = value.get("count") if isinstance(value, dict) else None
    if not isinstance(index, int) or not isinstance(count, int) or not 0 <= index < count:
        raise RecordError("not a run record: shard is not {index, count} with 0 <= index < count")
    return index, count


def _mapping(doc: Mapping[str, Any], key: str) -> dict[str, Any]:
    value = doc.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise RecordError(f"not a run record: {key} is not an object")
    return value
