"""`demo --serve`: the emulator stays up for another process (a shell, the container image) to run the job;
the demo prints the command to run, then checks the run that command writes.

`job_command` is one shell line that works as printed: `env` without the variables that would send the job
elsewhere (a profile, a session token, per-service endpoints, LAMBDA_INVENTORY_* stand-ins for flags), with
the environment the demo's own run uses (`emulator_environment`: the emulator's endpoint and the test
credentials it accepts, no AWS config files), then `lambda-inventory run` with absolute paths.

`wait_for_run` waits for a run written *after the serve started*. Manifests are published last (after the
inventory and status files, writers/sink.py), so it looks for `*.manifest.json` in the output's folder whose
write id was not there when the serve started and whose run started after it. A sharded run (`--shard I/N`,
files `shard-I-of-N.*`) is found once a new write of each of its N shards is there. Files left by an
earlier run are never read as the run's.
"""

from __future__ import annotations

import os
import shlex
import shutil
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from inventory.contract.layout import UNSHARDED, Format
from inventory.contract.record import RecordError, RunRecord, parse_record

MANIFEST_SUFFIX = ".manifest.json"
UNSET = ("AWS_PROFILE", "AWS_SESSION_TOKEN")  # another identity than the emulator's test keys
STEERING_PREFIXES = ("AWS_ENDPOINT_URL_", "LAMBDA_INVENTORY_")  # another endpoint; flags the line does not show


def emulator_environment(endpoint: str) -> dict[str, str]:
    """The variables that point the AWS SDK at the emulator, with the credentials it accepts, and nowhere else."""
    return {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    }


def steering(environ: Mapping[str, str]) -> list[str]:
    """The variables to remove for the job: those that would change where it goes or what it is told."""
    return [*UNSET, *sorted(name for name in environ if name.startswith(STEERING_PREFIXES))]


def job_command(endpoint: str, config: Path, output: Path, fmt: Format, environ: Mapping[str, str]) -> str:
    """One shell line that runs the job against the emulator, writing where the demo looks."""
    unset = [f"-u {name}" for name in steering(environ)]
    assign = [f"{name}={shlex.quote(value)}" for name, value in emulator_environment(endpoint).items()]
    where = f"{output.parent.resolve()}/" if output.stem == UNSHARDED else str(output.resolve())
    flags = ["run", "--config", str(config.resolve()), "--output", where, "--format", fmt.value]
    return " ".join(["env", *unset, *assign, program(), *map(shlex.quote, flags)])


def program() -> str:
    """How to call this installation's CLI from a shell: its name when that is what PATH finds."""
    beside = Path(sys.executable).parent / "lambda-inventory"
    if not beside.is_file():
        return f"{shlex.quote(sys.executable)} -m inventory"
    on_path = shutil.which("lambda-inventory")
    if on_path is not None and Path(on_path).resolve() == beside.resolve():
        return "lambda-inventory"
    return shlex.quote(str(beside))


@dataclass(frozen=True)
class Watch:
    """A folder watched for a new run: when the watch began and the write ids already there."""

    folder: Path
    since: datetime
    before: frozenset[str]

    @classmethod
    def start(cls, folder: Path) -> Watch:
        since = datetime.now(UTC).replace(microsecond=0)
        return cls(folder, since, frozenset(record.write_id for _, record in manifests(folder)))


def manifests(folder: Path) -> list[tuple[Path, RunRecord]]:
    """The run records in `folder`, each with its manifest's path (unreadable ones left out)."""
    found = []
    for path in sorted(folder.glob(f"*{MANIFEST_SUFFIX}")):
        try:
            found.append((path, parse_record(path.read_bytes(), str(path))))
        except (OSError, RecordError):
            continue  # being replaced, or not a run's record: not the run this waits for
    return found


def new_run(watch: Watch) -> list[tuple[Path, RunRecord]] | None:
    """A run written since the watch began, one (manifest, record) per shard in shard order; None if none yet."""
    shapes: dict[tuple[str, int], dict[int, tuple[Path, RunRecord]]] = {}
    for path, record in manifests(watch.folder):
        if record.write_id not in watch.before and record.started_at >= watch.since:
            shapes.setdefault((record.config_sha256, record.shard_count), {})[record.shard_index] = (path, record)
    for (_, count), shards in sorted(shapes.items()):
        if set(shards) == set(range(count)):
            return [shards[index] for index in range(count)]
    return None


def wait_for_run(watch: Watch, timeout: float, poll: float = 0.2) -> list[tuple[Path, RunRecord]] | None:
    deadline = time.monotonic() + timeout
    while (found := new_run(watch)) is None:
        if time.monotonic() > deadline:
            return None
        time.sleep(poll)
    return found


def inventory_of(manifest: Path, record: RunRecord) -> tuple[Path, Format]:
    """The inventory file a manifest describes: beside it, with the manifest's stem and the run's format
    (the manifest's own paths are the writer's, e.g. /data/ in a container)."""
    try:
        fmt = Format(record.outputs.get("format", Format.PARQUET.value))
    except ValueError:
        fmt = Format.PARQUET
    return manifest.with_name(f"{manifest.name.removesuffix(MANIFEST_SUFFIX)}.{fmt.value}"), fmt
