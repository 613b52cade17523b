"""Runtime lifecycle: which functions run on runtimes AWS has deprecated, or soon will.

The schedule is data, not code: `inventory/data/runtimes.yaml` (see docs/runtimes.md for how to update it).
A runtime the file does not list is `unknown`, never assumed supported; a function packaged as a container
image has no managed runtime and is `image`.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from importlib.resources import files
from pathlib import Path

import yaml

from inventory.errors import ConfigError
from inventory.redact import one_line

DATA_FILE = "runtimes.yaml"
TOP_KEYS = frozenset({"checked", "source", "runtimes"})
ENTRY_KEYS = frozenset({"id", "name", "deprecation", "block_create", "block_update"})
ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


class Lifecycle(StrEnum):
    """A function's runtime status on a given date, most severe first."""

    UPDATE_BLOCKED = "update_blocked"  # the function can no longer be updated
    CREATE_BLOCKED = "create_blocked"  # no new functions on this runtime
    DEPRECATED = "deprecated"  # no more security patches or support
    DEPRECATION_SOON = "deprecation_soon"  # deprecated within the look-ahead window
    SUPPORTED = "supported"
    UNKNOWN = "unknown"  # a runtime the data file does not list
    IMAGE = "image"  # a container image: no Lambda-managed runtime

    @property
    def severity(self) -> int:
        return list(Lifecycle).index(self)


@dataclass(frozen=True)
class Runtime:
    runtime: str  # the identifier in Lambda's API, e.g. python3.8
    name: str  # e.g. "Python 3.8"
    deprecation: date | None
    block_create: date | None
    block_update: date | None

    def status(self, as_of: date, within: timedelta) -> Lifecycle:
        """On the day a date is reached the status applies (dates are UTC days, as AWS publishes them).

        `deprecation_soon` when the deprecation date falls within `within` of `as_of` (inclusive).
        """
        if within < timedelta(0):
            raise ValueError(f"the look-ahead window cannot be negative: {within}")
        for when, status in (
            (self.block_update, Lifecycle.UPDATE_BLOCKED),
            (self.block_create, Lifecycle.CREATE_BLOCKED),
            (self.deprecation, Lifecycle.DEPRECATED),
        ):
            if when is not None and when <= as_of:
                return status
        if self.deprecation is not None and self.deprecation <= as_of + within:
            return Lifecycle.DEPRECATION_SOON
        return Lifecycle.SUPPORTED


@dataclass(frozen=True)
class RuntimeCatalog:
    checked: date  # when the file was last checked against AWS's documentation
    source: str
    runtimes: Mapping[str, Runtime]

    def status(self, runtime: str | None, package_type: str | None, as_of: date, within: timedelta) -> Lifecycle:
        if package_type == "Image" or (runtime is None and package_type != "Zip"):
            return Lifecycle.IMAGE
        known = self.runtimes.get(runtime or "")
        return known.status(as_of, within) if known is not None else Lifecycle.UNKNOWN


def load_catalog(path: Path | None = None) -> RuntimeCatalog:
    """The packaged schedule, or another file in the same format (raises ConfigError naming the problem)."""
    where = str(path) if path else f"inventory/data/{DATA_FILE}"
    try:
        text = path.read_text(encoding="utf-8") if path else (files("inventory.data") / DATA_FILE).read_text("utf-8")
        return _parse(yaml.load(text, Loader=_TextDates))
    except (OSError, UnicodeDecodeError, yaml.YAMLError, ValueError) as err:
        # YAML's messages span lines (with a caret under the column); the error is one line on stderr, uncut
        raise ConfigError(f"{where}: not a runtime schedule: {one_line(str(err), sys.maxsize)}") from err


class _TextDates(yaml.SafeLoader):
    """SafeLoader that leaves dates as text, so that an impossible one (2024-13-01) is reported with its place
    in the file by `_date` rather than as YAML's bare "month must be in 1..12"."""


def _date_as_text(loader: yaml.SafeLoader, node: yaml.Node) -> str:
    return str(loader.construct_scalar(node)) if isinstance(node, yaml.ScalarNode) else str(node.value)


_TextDates.add_constructor("tag:yaml.org,2002:timestamp", _date_as_text)


def _parse(data: object) -> RuntimeCatalog:
    top = _mapping(data, "the file", TOP_KEYS)
    entries = top["runtimes"]
    if not isinstance(entries, list) or not entries:
        raise ValueError("runtimes: expected a non-empty list of runtimes")
    runtimes: dict[str, Runtime] = {}
    for index, entry in enumerate(entries):
        runtime = _runtime(entry, f"runtimes[{index}]")
        if runtime.runtime in runtimes:
            raise ValueError(f"runtimes[{index}].id: {runtime.runtime!r} is listed twice")
        runtimes[runtime.runtime] = runtime
    checked = _date(top["checked"], "checked")
    if checked is None:
        raise ValueError("checked: expected the YYYY-MM-DD date the file was last compared with AWS's page")
    return RuntimeCatalog(checked, _source(top["source"]), runtimes)


def _mapping(value: object, where: str, keys: frozenset[str]) -> Mapping[str, object]:
    """A mapping with exactly `keys`: a misspelt key would otherwise read as a date AWS never scheduled."""
    if not isinstance(value, Mapping):
        raise ValueError(f"{where}: expected a mapping, got {type(value).__name__}")
    if missing := sorted(keys - value.keys()):
        raise ValueError(f"{where}: missing {', '.join(missing)}")
    if unknown := sorted(str(key) for key in value.keys() - keys):
        raise ValueError(f"{where}: unknown key {', '.join(unknown)}")
    return value


def _runtime(entry: object, where: str) -> Runtime:
    fields = _mapping(entry, where, ENTRY_KEYS)
    ident = _text(fields["id"], f"{where}.id")
    where = f"{where} ({ident})"
    if any(c.isspace() for c in ident):
        raise ValueError(f"{where}.id: {ident!r} is not a runtime identifier")
    return Runtime(
        ident,
        _text(fields["name"], f"{where}.name"),
        _date(fields["deprecation"], f"{where}.deprecation"),
        _date(fields["block_create"], f"{where}.block_create"),
        _date(fields["block_update"], f"{where}.block_update"),
    )


def _text(value: object, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{where}: expected a non-empty string, got {value!r}")
    return value


def _source(value: object) -> str:
    """One URL, or a list of them (joined with a space)."""
    if isinstance(value, list) and value:
        return " ".join(_text(item, f"source[{index}]") for index, item in enumerate(value))
    return _text(value, "source")


def _date(value: object, where: str) -> date | None:
    """A YYYY-MM-DD day (text from `_TextDates`, or a date from a caller) or null; a time of day is refused."""
    if value is None or (isinstance(value, date) and not isinstance(value, datetime)):
        return value
    if isinstance(value, str) and ISO_DAY.fullmatch(value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise ValueError(f"{where}: {value!r} is not a YYYY-MM-DD date or null")
