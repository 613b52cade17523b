"""Regions, from data alone (no AWS call, no profile): which regions Lambda has in each partition, which
partition a region is in, and which regions are opt-in.

botocore's endpoint data answers the first two (read once per AWS_DATA_PATH: a ~1 MB JSON file), so
`regions: all`, role ARNs and the hub's region check agree with every boto3 tool. Opt-in regions:

Lambda answers `UnrecognizedClientException` both in an opt-in region the account has not enabled and, in any
region, to a bad or revoked token. Only the first is "not enabled" (skipped); telling them apart needs data,
never the error alone: `inventory/data/regions.yaml` (the partition's default-enabled regions, sourced in the
file's comment), or the account's own ListRegions answer where the run has it (job/collect.py).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from typing import Any

import botocore.loaders
import yaml
from botocore.regions import EndpointResolver

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


def endpoint_resolver() -> EndpointResolver:
    """botocore's endpoint data, read without the AWS profile: a missing profile must not stop `validate`.
    Read once per AWS_DATA_PATH (a run asks for it several times; each read parses a ~1 MB JSON file)."""
    return _endpoint_resolver(os.environ.get("AWS_DATA_PATH"))


@cache
def _endpoint_resolver(data_path: str | None) -> EndpointResolver:
    loader = botocore.loaders.create_loader(data_path)
    endpoints, path = loader.load_data_with_path("endpoints")
    return EndpointResolver(endpoints, uses_builtin_data=loader.is_builtin_path(path))


def lambda_regions(partition: str | None = None) -> frozenset[str]:
    """Every region botocore's endpoint data lists for Lambda, in one partition or all."""
    resolver = endpoint_resolver()
    names: set[str] = set()
    for name in [partition] if partition else resolver.get_available_partitions():
        names.update(resolver.get_available_endpoints("lambda", name))
    return frozenset(names)


def partition_of(region: str) -> str:
    """aws, aws-cn, ... for a region (memoised); raises UnknownRegionError or ValueError for one no partition
    can hold."""
    return _partition_of(os.environ.get("AWS_DATA_PATH"), region)


@cache
def _partition_of(data_path: str | None, region: str) -> str:
    return str(_endpoint_resolver(data_path).get_partition_for_region(region))


def is_opt_in(region: str, partition: str | None = None) -> bool:
    """True when accounts do not have `region` enabled unless they opted in (per the packaged data)."""
    try:
        partition = partition or partition_of(region)
    except Exception:  # noqa: BLE001 - a region botocore cannot place: assume the commercial partition
        partition = "aws"
    entry = packaged_region_data().get(partition)
    if entry is None:
        return False
    if entry.default_enabled is not None and region not in entry.default_enabled:
        return True
    return region in entry.opt_in
