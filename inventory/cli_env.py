"""The LAMBDA_INVENTORY_* environment variables that stand in for flags (the container's way to set them).

argparse checks a flag's value but not a default taken from the environment, so those flags default to
None and `apply_environment` fills them after parsing, checking each variable exactly as its flag is
checked: a bad value is one line naming the variable (ConfigError, exit 2), never a crash later. An empty
variable counts as unset.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence

from inventory.errors import ConfigError, shown
from inventory.job.targets import Shard
from inventory.output.layout import Format

ENV = "LAMBDA_INVENTORY_"
LOG_LEVELS = ("debug", "info", "warning", "error")
LOG_FORMATS = ("auto", "json", "text")
ACCOUNT_SOURCES = ("file", "organization")
_TRUE, _FALSE = ("1", "true", "yes"), ("0", "false", "no")


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
    if args.command not in ("run", "demo"):
        return
    args.format = args.format or _choice("FORMAT", [f.value for f in Format], None)
    if args.max_workers is None:
        args.max_workers = _workers()
    if args.command == "run":
        args.accounts_from = args.accounts_from or _choice("ACCOUNTS_FROM", ACCOUNT_SOURCES, None)
        args.partitioned = bool(args.partitioned) or _switch("PARTITIONED")
        args.shard = shard_of(args.shard)


def shard_of(flag: str | None) -> Shard | None:
    """--shard, else LAMBDA_INVENTORY_SHARD, else an AWS Batch array index with LAMBDA_INVENTORY_SHARD_COUNT."""
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
