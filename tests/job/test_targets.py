"""Expanding a config into (account, region) targets."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from inventory.aws.organization import OrgAccount
from inventory.aws.regions import lambda_regions
from inventory.contract.target import Account, Target
from inventory.errors import ConfigError
from inventory.job.config import DEFAULT_ROLE_NAME, AccountConfig, RunConfig, parse_config
from inventory.job.targets import Shard, build_targets, role_arn

REGIONS = lambda_regions()
A1, A2, A3 = "111111111111", "222222222222", "333333333333"


def partition_of(region: str) -> str:
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


def _config(**top: Any) -> RunConfig:
    return parse_config(top, REGIONS)


def _targets(**top: Any) -> tuple[Target, ...]:
    return build_targets(_config(**top), partition_of)


def test_grouped_by_account_in_config_order() -> None:
    targets = _targets(
        regions=["us-east-1", "eu-west-1"],
        accounts=[
            {"account_id": A3},
            {"account_id": A1, "regions": ["ap-southeast-2", "us-west-2", "eu-central-1"]},
            {"account_id": A2},
        ],
    )
    assert [t.label for t in targets] == [
        f"{A3}/us-east-1",
        f"{A3}/eu-west-1",
        f"{A1}/ap-southeast-2",
        f"{A1}/us-west-2",
        f"{A1}/eu-central-1",
        f"{A2}/us-east-1",
        f"{A2}/eu-west-1",
    ]


def test_targets_of_one_account_share_one_account_object() -> None:
    targets = _targets(regions=["us-east-1", "eu-west-1"], accounts=[{"account_id": A1}, {"account_id": A2}])
    assert targets[0].account is targets[1].account
    assert targets[0].account != targets[2].account


@pytest.mark.parametrize(
    ("top_regions", "account_regions", "expected"),
    [
        (["us-east-1"], None, ["us-east-1"]),
        (["us-east-1", "eu-west-1"], None, ["us-east-1", "eu-west-1"]),
        (["us-east-1"], ["eu-west-1"], ["eu-west-1"]),
        (["us-east-1", "eu-west-1"], ["ap-east-1", "us-east-1"], ["ap-east-1", "us-east-1"]),
        (None, ["sa-east-1"], ["sa-east-1"]),
    ],
)
def test_region_defaulting(
    top_regions: list[str] | None, account_regions: list[str] | None, expected: list[str]
) -> None:
    account: dict[str, Any] = {"account_id": A1}
    if account_regions is not None:
        account["regions"] = account_regions
    top: dict[str, Any] = {"accounts": [account]}
    if top_regions is not None:
        top["regions"] = top_regions
    targets = _targets(**top)
    assert [t.region for t in targets] == expected
    assert all(t.account.account_id == A1 for t in targets)


def test_account_fields_carried() -> None:
    (target,) = _targets(
        regions=["us-east-1"], accounts=[{"account_id": A1, "name": "prod", "tags": ["env:prod", "team:x"]}]
    )
    assert target == Target(
        Account(
            account_id=A1,
            name="prod",
            tags=("env:prod", "team:x"),
            role_arn=f"arn:aws:iam::{A1}:role/{DEFAULT_ROLE_NAME}",
            external_id=None,
        ),
        "us-east-1",
    )
    assert target.label == f"{A1}/us-east-1"


def test_name_defaults_to_account_id() -> None:
    (target,) = _targets(regions=["us-east-1"], accounts=[{"account_id": A1}])
    assert target.account.name == A1
    assert target.account.tags == ()


@pytest.mark.parametrize(
    ("role_name", "account_role", "region", "expected"),
    [
        (None, None, "us-east-1", f"arn:aws:iam::{A1}:role/{DEFAULT_ROLE_NAME}"),
        ("OrgLister", None, "eu-west-1", f"arn:aws:iam::{A1}:role/OrgLister"),
        ("OrgLister", "Mine", "us-east-1", f"arn:aws:iam::{A1}:role/Mine"),
        (None, "team/Mine", "us-east-1", f"arn:aws:iam::{A1}:role/team/Mine"),
        (None, "/team/Mine/", "us-east-1", f"arn:aws:iam::{A1}:role/team/Mine"),
        ("/org/Lister/", None, "us-east-1", f"arn:aws:iam::{A1}:role/org/Lister"),
        (None, None, "cn-north-1", f"arn:aws-cn:iam::{A1}:role/{DEFAULT_ROLE_NAME}"),
        ("OrgLister", "Mine", "cn-northwest-1", f"arn:aws-cn:iam::{A1}:role/Mine"),
        (None, None, "us-gov-west-1", f"arn:aws-us-gov:iam::{A1}:role/{DEFAULT_ROLE_NAME}"),
    ],
)
def test_role_arn_built_from_name_and_partition(
    role_name: str | None, account_role: str | None, region: str, expected: str
) -> None:
    account: dict[str, Any] = {"account_id": A1, "regions": [region]}
    if account_role is not None:
        account["role"] = account_role
    top: dict[str, Any] = {"accounts": [account]}
    if role_name is not None:
        top["role_name"] = role_name
    (target,) = _targets(**top)
    assert target.account.role_arn == expected


def test_partition_taken_from_the_accounts_regions() -> None:
    seen: list[str] = []

    def recording(region: str) -> str:
        seen.append(region)
        return partition_of(region)

    config = _config(
        regions=["us-east-1"],
        accounts=[{"account_id": A1}, {"account_id": A2, "regions": ["cn-north-1", "cn-northwest-1"]}],
    )
    targets = build_targets(config, recording)
    assert [t.account.role_arn.split(":")[1] for t in targets] == ["aws", "aws-cn", "aws-cn"]
    assert "cn-north-1" in seen and "us-east-1" in seen


@pytest.mark.parametrize(
    "arn",
    [
        f"arn:aws:iam::{A1}:role/Explicit",
        f"arn:aws:iam::{A1}:role/path/to/Explicit",
        f"arn:aws-cn:iam::{A1}:role/CnRole",  # passthrough: the partition of the ARN is kept as written
    ],
)
def test_full_arn_passthrough(arn: str) -> None:
    (target,) = _targets(regions=["us-east-1"], role_name="Ignored", accounts=[{"account_id": A1, "role": arn}])
    assert target.account.role_arn == arn


@pytest.mark.parametrize(
    ("top", "per_account", "expected"),
    [
        (None, None, None),
        ("org-ext", None, "org-ext"),
        (None, "acct-ext", "acct-ext"),
        ("org-ext", "acct-ext", "acct-ext"),
        ("org-ext", "", ""),  # an explicit empty string still overrides (and AssumeRole then sends none)
    ],
)
def test_external_id_per_account_overrides_top_level(
    top: str | None, per_account: str | None, expected: str | None
) -> None:
    account: dict[str, Any] = {"account_id": A1}
    if per_account is not None:
        account["external_id"] = per_account
    (target,) = _targets(regions=["us-east-1"], external_id=top, accounts=[account])
    assert target.account.external_id == expected


def test_external_id_mixed_accounts() -> None:
    targets = _targets(
        regions=["us-east-1", "eu-west-1"],
        external_id="org-ext",
        accounts=[{"account_id": A1}, {"account_id": A2, "external_id": "acct-ext"}],
    )
    assert [t.account.external_id for t in targets] == ["org-ext", "org-ext", "acct-ext", "acct-ext"]


def test_role_arn_helper_directly() -> None:
    assert role_arn(AccountConfig(account_id=A1), "R", "aws") == f"arn:aws:iam::{A1}:role/R"
    assert role_arn(AccountConfig(account_id=A1, role="X"), "R", "aws-cn") == f"arn:aws-cn:iam::{A1}:role/X"
    arn = f"arn:aws:iam::{A1}:role/Y"
    assert role_arn(AccountConfig(account_id=A1, role=arn), "R", "aws-cn") == arn


def test_many_accounts_count() -> None:
    accounts = [{"account_id": f"{i:012d}"} for i in range(1, 51)]
    targets = _targets(regions=["us-east-1", "eu-west-1", "ap-south-1"], accounts=accounts)
    assert len(targets) == 150
    assert len({t.label for t in targets}) == 150
    assert [t.account.account_id for t in targets[:4]] == ["000000000001"] * 3 + ["000000000002"]


def test_targets_are_hashable_and_frozen() -> None:
    (target,) = _targets(regions=["us-east-1"], accounts=[{"account_id": A1}])
    assert {target: 1}[target] == 1
    with pytest.raises(AttributeError):
        target.region = "eu-west-1"  # type: ignore[misc]


# --- accounts from AWS Organizations, `regions: all`, shards ---------------------------------------


def member(account_id: str, name: str, status: str = "ACTIVE") -> OrgAccount:
    return OrgAccount(account_id, name, f"{name}@example.com", status)


ORG = [member(A1, "one"), member(A2, "two", "SUSPENDED"), member(A3, "three"), member("444444444444", "four")]


def _org_targets(members: list[OrgAccount] = ORG, **top: Any) -> tuple[Target, ...]:
    config = _config(accounts_from="organization", **{"regions": ["us-east-1"], **top})
    return build_targets(config, partition_of, members)


def test_organization_accounts_are_the_active_ones_with_their_names() -> None:
    targets = _org_targets()
    assert [(t.account.account_id, t.account.name) for t in targets] == [
        (A1, "one"),
        (A3, "three"),
        ("444444444444", "four"),
    ]


def test_file_entries_override_organization_accounts_and_extra_file_accounts_stay() -> None:
    outside = "555555555555"  # not in the organization: still an explicit target
    targets = _org_targets(
        accounts=[
            {"account_id": A3, "regions": ["eu-west-1", "eu-central-1"], "tags": ["prod"], "role": "Other"},
            {"account_id": A2},  # suspended in the organization: not a target even though listed
            {"account_id": outside, "name": "outside"},
        ]
    )
    by_account: dict[str, list[Target]] = {}
    for target in targets:
        by_account.setdefault(target.account.account_id, []).append(target)
    assert list(by_account) == [A1, A3, "444444444444", outside]
    assert [t.region for t in by_account[A3]] == ["eu-west-1", "eu-central-1"]
    assert by_account[A3][0].account.name == "three"  # the organization's name when the file has none
    assert by_account[A3][0].account.tags == ("prod",)
    assert by_account[A3][0].account.role_arn == f"arn:aws:iam::{A3}:role/Other"
    assert by_account[outside][0].account.name == "outside"


def test_include_and_exclude_accounts() -> None:
    assert {t.account.account_id for t in _org_targets(include_accounts=[A1, A2, A3])} == {A1, A3}
    assert {t.account.account_id for t in _org_targets(exclude_accounts=[A1])} == {A3, "444444444444"}
    both = _org_targets(include_accounts=[A1, A3], exclude_accounts=[A3])
    assert {t.account.account_id for t in both} == {A1}


def test_exclude_applies_to_file_accounts_too() -> None:
    targets = _targets(regions=["us-east-1"], accounts=[{"account_id": A1}, {"account_id": A2}], exclude_accounts=[A2])
    assert [t.account.account_id for t in targets] == [A1]


def test_regions_all_expands_to_the_given_regions_and_marks_the_account() -> None:
    config = _config(regions="all", accounts=[{"account_id": A1}, {"account_id": A2, "regions": ["eu-west-1"]}])
    targets = build_targets(config, partition_of, all_regions=("us-east-1", "af-south-1"))
    assert [(t.label, t.account.all_regions) for t in targets] == [
        (f"{A1}/us-east-1", True),
        (f"{A1}/af-south-1", True),
        (f"{A2}/eu-west-1", False),
    ]


@pytest.mark.parametrize("count", [1, 2, 3, 7])
def test_shards_cover_every_account_exactly_once(count: int) -> None:
    accounts = [{"account_id": f"{100000000000 + i}"} for i in range(200)]
    config = _config(regions=["us-east-1", "eu-west-1"], accounts=accounts)
    everything = build_targets(config, partition_of)
    shards = [build_targets(config, partition_of, shard=Shard(i, count)) for i in range(count)]
    owners: dict[str, int] = {}
    for index, targets in enumerate(shards):
        for target in targets:
            assert owners.setdefault(target.account.account_id, index) == index, "an account is in two shards"
    assert sorted(t.label for s in shards for t in s) == sorted(t.label for t in everything)
    if count > 1:
        assert all(shards), "200 accounts leave no shard empty"


def test_shard_assignment_is_stable() -> None:
    # sha256-based: the same in every process and Python release (hash() is randomised per process)
    assert [Shard(i, 4).holds("123456789012") for i in range(4)].count(True) == 1
    assert Shard(0, 1).holds("000000000000")
    assert [i for i in range(4) if Shard(i, 4).holds("123456789012")] == [
        int.from_bytes(hashlib.sha256(b"123456789012").digest()[:8], "big") % 4
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [("1/0", "0 <= INDEX < COUNT"), ("4/4", "0 <= INDEX < COUNT"), ("x", "INDEX/COUNT"), ("-1/2", "INDEX/COUNT")],
)
def test_bad_shard_is_one_config_error(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        Shard.parse(text)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)
    assert Shard.parse(" 2 / 5 ") == Shard(2, 5)
