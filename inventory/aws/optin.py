"""Opt-in regions: which regions an account has not enabled unless it opted in, from packaged data.

Lambda answers `UnrecognizedClientException` both in an opt-in region the account has not enabled and, in any
region, to a bad or revoked token. Only the first is "not enabled" (skipped); telling them apart needs data,
never the error alone: `inventory/data/regions.yaml` (the partition's default-enabled regions, sourced in the
file's comment), or the account's own ListRegions answer where the run has it (job/collect.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from typing import Any

import botocore.session
import yaml

DATA_FILE = "regions.yaml"


@dataclass(frozen=True)
class PartitionRegions:
    default_enabled: frozenset[str] | None  # when set, every other region of the partition is opt-in
    opt_in: frozenset[str] = frozenset()


def parse_region_data(data: Any) -> dict[str, PartitionRegions]:
    """The `partitions` mapping of regions.yaml; raises ValueError naming what is wrong."""
    partitions = data.get("partitions") if isinstance(data, dict) else None
    if not isinstance(partitions, dict):
        raise ValueError(f"{DATA_FILE}: needs a 'partitions' mapping")
    out: dict[str, PartitionRegions] = {}
    for name, entry in partitions.items():
        if not isinstance(entry, dict) or not set(entry) <= {"default_enabled", "opt_in"}:
            raise ValueError(f"{DATA_FILE}: partitions.{name}: expected default_enabled and/or opt_in lists")
        lists = {key: entry.get(key) for key in ("default_enabled", "opt_in")}
        for key, value in lists.items():
            if value is not None and not (isinstance(value, list) and all(isinstance(r, str) for r in value)):
                raise ValueError(f"{DATA_FILE}: partitions.{name}.{key}: must be a list of region names")
        default = lists["default_enabled"]
        out[str(name)] = PartitionRegions(
            None if default is None else frozenset(default), frozenset(lists["opt_in"] or ())
        )
    return out


@cache
def packaged_region_data() -> dict[str, PartitionRegions]:
    """regions.yaml as shipped with the package (read once, on first use)."""
    return parse_region_data(yaml.safe_load((files("inventory.data") / DATA_FILE).read_text("utf-8")))


@cache
def _partition_of(region: str) -> str:
    partition: str | None = botocore.session.Session().get_partition_for_region(region)
    return partition or "aws"


def is_opt_in(region: str, partition: str | None = None) -> bool:
    """True when accounts do not have `region` enabled unless they opted in (per the packaged data)."""
    try:
        partition = partition or _partition_of(region)
    except Exception:  # noqa: BLE001 - a region botocore cannot place: assume the commercial partition
        partition = "aws"
    entry = packaged_region_data().get(partition)
    if entry is None:
        return False
    if entry.default_enabled is not None and region not in entry.default_enabled:
        return True
    return region in entry.opt_in
