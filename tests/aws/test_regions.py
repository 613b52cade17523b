"""optin.py: whether a region is opt-in (not enabled unless the account opted in) comes from packaged data."""

from __future__ import annotations

from typing import Any

import pytest

from inventory.aws.regions import PartitionRegions, is_opt_in, lambda_regions, packaged_region_data, parse_region_data
from inventory.demo.emulator import OPT_IN_REGIONS

DEFAULT_ENABLED = {
    "us-east-1", "us-east-2", "us-west-1", "us-west-2", "ap-south-1", "ap-northeast-1", "ap-northeast-2",
    "ap-northeast-3", "ap-southeast-1", "ap-southeast-2", "ca-central-1", "eu-central-1", "eu-west-1",
    "eu-west-2", "eu-west-3", "eu-north-1", "sa-east-1",
}  # fmt: skip


def test_the_17_pre_2019_regions_are_enabled_by_default() -> None:
    assert len(DEFAULT_ENABLED) == 17
    assert not any(is_opt_in(region) for region in DEFAULT_ENABLED)
    assert packaged_region_data()["aws"].default_enabled == DEFAULT_ENABLED


def test_every_other_aws_region_is_opt_in_including_ones_botocore_adds_later() -> None:
    others = lambda_regions("aws") - DEFAULT_ENABLED
    assert {"eu-south-1", "ap-east-1", "me-central-1", "af-south-1"} <= others
    assert all(is_opt_in(region) for region in others)
    assert all(is_opt_in(region) for region in OPT_IN_REGIONS)  # the emulator's list agrees
    assert is_opt_in("eu-future-9", "aws")


@pytest.mark.parametrize("region", ["cn-north-1", "cn-northwest-1", "us-gov-west-1", "us-gov-east-1"])
def test_regions_of_other_partitions_are_enabled_by_default(region: str) -> None:
    assert not is_opt_in(region)


def test_a_partition_the_data_does_not_know_is_enabled_by_default() -> None:
    assert not is_opt_in("eusc-de-east-1", "aws-eusc-future")


def test_parse_region_data_reads_both_forms() -> None:
    data = {"partitions": {"a": {"default_enabled": ["r1"]}, "b": {"opt_in": ["r2"]}, "c": {}}}
    assert parse_region_data(data) == {
        "a": PartitionRegions(frozenset({"r1"})),
        "b": PartitionRegions(None, frozenset({"r2"})),
        "c": PartitionRegions(None),
    }


@pytest.mark.parametrize(
    "data",
    [
        None,
        [],
        {"partitions": []},
        {"partitions": {"aws": ["us-east-1"]}},
        {"partitions": {"aws": {"opt_in": "x"}}},
        {"partitions": {"aws": {"default": []}}},
        {"partitions": {"aws": {"default_enabled": [1]}}},
    ],
)
def test_parse_region_data_rejects_a_malformed_file(data: Any) -> None:
    with pytest.raises(ValueError, match=r"^regions.yaml: "):
        parse_region_data(data)
