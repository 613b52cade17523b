"""Flag values: the LAMBDA_INVENTORY_* environment variables that stand in for flags (the container's way
to set them), and the parsers of the flags argparse cannot check by itself (days, look-ahead windows, tag
keys).

argparse checks a flag's value but not a default taken from the environment, so those flags default to
None and `apply_environment` fills them after parsing, checking each variable exactly as its flag is
checked: a bad value is one line naming the variable (ConfigError, exit 2), never a crash later. An empty
variable counts as unset.

Only the standard library is imported here at first: the output formats and the shard parser are imported
when a command that takes them (run, demo) is parsed, so `--help` stays cheap.
"""

from __future__ import annotations

import argparse
import os
import re
from collections.abc import Sequence
from datetime import date, timedelta
from typing import TYPE_CHECKING

from inventory.errors import ConfigError, shown

if TYPE_CHECKING:
    from inventory.job.targets import Shard

ENV = "LAMBDA_INVENTORY_"
LOG_LEVELS = ("debug", "info", "warning", "error")
LOG_FORMATS = ("auto", "json", "text")
ACCOUNT_SOURCES = ("file", "organization")
_TRUE, _FALSE = ("1", "true", "yes"), ("0", "false", "no")
_WITHIN = re.compile(r"^(\d{1,5})d?$")
TAG_KEY_MAX = 128


def env(name: str, default: str | None = None) -> str | None:
    return os.environ.get(ENV + name, default)


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 1 <= value <= 1024:
        raise argparse.ArgumentTypeError(f"{shown(text)} is not a whole number from 1 to 1024")
    return value


def parse_day(text: str, flag: str) -> date:
    """A YYYY-MM-DD flag (report's --as-of and --snapshot-date, diff's --old-date and --new-date)."""
    try:
        return date.fromisoformat(text)
    except ValueError as err:
        raise ConfigError(f"{flag}: {text!r} is not a date (YYYY-MM-DD)") from err


def parse_within(text: str) -> timedelta:
    """report's --within: '90d' or '90' -> 90 days."""
    match = _WITHIN.match(text.strip())
    if not match:
        raise ConfigError(f"--within: {text!r} is not a number of days (e.g. 90d or 90)")
    return timedelta(days=int(match.group(1)))


def parse_tag_key(text: str, flag: str = "--owner-tag") -> str:
    """report's --owner-tag: a tag key as AWS allows one (1 to 128 characters, no control character)."""
    if not 1 <= len(text) <= TAG_KEY_MAX or not text.strip() or any(ord(c) < 32 or ord(c) == 127 for c in text):
        raise ConfigError(
            f"{flag}: {shown(text)} is not a tag key (1 to {TAG_KEY_MAX} characters, no control character)"
        )
    return text


def _choice(name: str, choices: Sequence[str], default: str | None) -> str | None:
    text = env(name)
    if not text:
        return default
    if text not in choices:
        raise ConfigError(f"{ENV}{name}: {shown(text)} is not one of {', '.join(choices)}")
    return text


def _switch(name: str) -> bool:
    text = (env(name) or "").strip().lower()
    if text and text not in _TRUE + _FALSE:
        raise ConfigError(f"{ENV}{name}: {shown(env(name))} is not one of {', '.join(_TRUE + _FALSE)} (or empty)")
    return text in _TRUE


def _workers() -> int | None:
    text = env("MAX_WORKERS")
    if not text:
        return None
    try:
        return positive_int(text)
    except argparse.ArgumentTypeError as err:
        raise ConfigError(f"{ENV}MAX_WORKERS: {err}") from err


def apply_environment(args: argparse.Namespace) -> None:
    """Fill the flags that were not given from their environment variables, each checked like its flag."""
    args.log_level = args.log_level or _choice("LOG_LEVEL", LOG_LEVELS, "info")
    args.log_format = args.log_format or _choice("LOG_FORMAT", LOG_FORMATS, "auto")
    if hasattr(args, "database"):
        given = args.database is not None
        args.database = lake_database(args.database if given else env("LAKE_DATABASE"), given)
    if args.command not in ("run", "demo"):
        return
    from inventory.contract.layout import Format  # noqa: PLC0415 - only run and demo write output

    args.format = args.format or _choice("FORMAT", [f.value for f in Format], None)
    if args.max_workers is None:
        args.max_workers = _workers()
    if args.command == "run":
        args.accounts_from = args.accounts_from or _choice("ACCOUNTS_FROM", ACCOUNT_SOURCES, None)
        args.enrich_source = "--enrich" if args.enrich is not None else f"{ENV}ENRICH"
        args.enrich = args.enrich if args.enrich is not None else env("ENRICH")
        args.lake = bool(args.lake) or _switch("LAKE")
        args.shard = shard_of(args.shard)
        args.run_id = parse_run_id(args.run_id, "--run-id") if args.run_id else run_id_of_environment()


def shard_of(flag: str | None) -> Shard | None:
    """--shard, else LAMBDA_INVENTORY_SHARD, else an AWS Batch array index with LAMBDA_INVENTORY_SHARD_COUNT."""
    from inventory.job.targets import Shard  # noqa: PLC0415 - only run shards; targets imports the config model

    if flag is not None:
        return Shard.parse(flag)
    if text := env("SHARD"):
        return Shard.parse(text, f"{ENV}SHARD")
    index, count = os.environ.get("AWS_BATCH_JOB_ARRAY_INDEX"), env("SHARD_COUNT")
    if count is None:
        return None
    if index is None:
        raise ConfigError(f"{ENV}SHARD_COUNT is set but AWS_BATCH_JOB_ARRAY_INDEX is not (or use {ENV}SHARD=I/N)")
    return Shard.parse(f"{index}/{count}", f"AWS_BATCH_JOB_ARRAY_INDEX/{ENV}SHARD_COUNT")


_RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$")
_DATABASE = re.compile(r"^[a-z0-9_]{1,255}$")


def parse_run_id(text: str, flag: str) -> str:
    """A run id: 1-128 of letters, digits, '.', '_', ':' and '-'. An ECS task ARN stands for its id (the
    last segment), the run id of a task that ran with none given."""
    if text.startswith("arn:") and ":task/" in text:
        text = text.rsplit("/", 1)[-1]
    if not _RUN_ID.match(text):
        raise ConfigError(f"{flag}: {shown(text)} is not a run id (1-128 letters, digits, '.', '_', ':', '-')")
    return text


def lake_database(text: str | None, flag: bool = True) -> str | None:
    """--database (or LAMBDA_INVENTORY_LAKE_DATABASE): a Glue database name as Athena can query it."""
    if text is None:
        return None
    if not _DATABASE.match(text):
        name = "--database" if flag else f"{ENV}LAKE_DATABASE"
        raise ConfigError(f"{name}: {shown(text)} is not a Glue database name (lowercase letters, digits, '_')")
    return text


def run_id_of_environment() -> str | None:
    """LAMBDA_INVENTORY_RUN_ID; else AWS Batch's job id (an array child's 'PARENT:INDEX' -> PARENT, so the
    shards of one array job share it); else the ECS task's id (aws/task.py); else None (a new one)."""
    if text := env("RUN_ID"):
        return parse_run_id(text, f"{ENV}RUN_ID")
    if batch := os.environ.get("AWS_BATCH_JOB_ID"):
        return parse_run_id(batch.split(":", 1)[0], "AWS_BATCH_JOB_ID")
    from inventory.aws.task import ecs_task_id  # noqa: PLC0415 - only on ECS

    task = ecs_task_id(os.environ)
    return parse_run_id(task, "the ECS task's ARN") if task else None
