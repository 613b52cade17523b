"""Config validation: every bad config is one ConfigError line that names the YAML path."""

from __future__ import annotations

import dataclasses
import itertools
import re
from pathlib import Path
from typing import Any, get_args

import pytest

from inventory.aws.regions import lambda_regions
from inventory.contract.estate import ENRICHMENT_ORDER
from inventory.errors import ConfigError, InventoryError
from inventory.exits import ExitCode, for_error
from inventory.job.config import (
    DEFAULT_ROLE_NAME,
    AccountConfig,
    Enrichment,
    RetryConfig,
    RunConfig,
    TimeoutsConfig,
    load_config,
    parse_config,
    with_accounts_from,
    with_enrich,
    yaml_path,
)

REGIONS = lambda_regions()
EXAMPLE = Path(__file__).resolve().parent.parent.parent / "config" / "accounts.yaml"

A1 = "111111111111"
A2 = "222222222222"


def _acct(**fields: Any) -> dict[str, Any]:
    return {"account_id": A1, **fields}


def _base(**top: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"regions": ["us-east-1"], "accounts": [_acct()]}
    data.update(top)
    return data


def _config_error(data: object) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        parse_config(data, REGIONS)
    return info.value


def _assert_one_line(err: ConfigError) -> str:
    text = str(err)
    assert text
    assert "\n" not in text and "\r" not in text
    assert for_error(err) is ExitCode.USAGE
    assert int(for_error(err)) == 2
    return text


def _write(tmp_path: Path, text: str | bytes, name: str = "accounts.yaml") -> Path:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def _load_error(path: Path) -> str:
    with pytest.raises(ConfigError) as info:
        load_config(path, REGIONS)
    return _assert_one_line(info.value)


# --- the regions set ---------------------------------------------------------------------------------


def test_lambda_regions_is_a_real_region_set() -> None:
    assert isinstance(REGIONS, frozenset)
    assert {"us-east-1", "eu-west-1", "ap-east-1"} <= REGIONS
    assert "cn-north-1" in REGIONS  # other partitions too
    assert "mars-north-1" not in REGIONS


# --- bad configs: (data, exact path prefix, fragment of the reason) ----------------------------------

BAD_CONFIGS: list[tuple[str, object, str, str]] = [
    # account ids
    ("short id", _base(accounts=[_acct(account_id="12345")]), "accounts[0].account_id", "is not a 12-digit account id"),
    ("13 digits", _base(accounts=[_acct(account_id="1234567890123")]), "accounts[0].account_id", "12-digit"),
    ("letters in id", _base(accounts=[_acct(account_id="12345678901a")]), "accounts[0].account_id", "12-digit"),
    ("spaces in id", _base(accounts=[_acct(account_id=" 123456789012")]), "accounts[0].account_id", "12-digit"),
    ("dashed id", _base(accounts=[_acct(account_id="1234-5678-9012")]), "accounts[0].account_id", "12-digit"),
    ("empty id", _base(accounts=[_acct(account_id="")]), "accounts[0].account_id", "12-digit"),
    ("int id", _base(accounts=[_acct(account_id=123456789012)]), "accounts[0].account_id", "YAML number"),
    ("float id", _base(accounts=[_acct(account_id=12.0)]), "accounts[0].account_id", "valid string"),
    ("bool id", _base(accounts=[_acct(account_id=True)]), "accounts[0].account_id", "valid string"),
    ("null id", _base(accounts=[_acct(account_id=None)]), "accounts[0].account_id", "valid string"),
    ("missing id", _base(accounts=[{"name": "x"}]), "accounts[0].account_id", "is required"),
    (
        "bad id in 3rd",
        _base(accounts=[_acct(), _acct(account_id=A2), _acct(account_id="9")]),
        "accounts[2].account_id",
        "12-digit",
    ),
    (
        "duplicate id",
        _base(accounts=[_acct(), _acct(account_id=A2), _acct()]),
        "accounts[2].account_id",
        "duplicates accounts[0]",
    ),
    # unknown keys
    ("unknown top-level key", _base(bogus=1), "bogus", "unknown key"),
    (
        "misspelt regions",
        {"region": ["us-east-1"], "accounts": [_acct(regions=["us-east-1"])]},
        "region",
        "unknown key",
    ),
    ("unknown account key", _base(accounts=[_acct(foo="bar")]), "accounts[0].foo", "unknown key"),
    ("role_name inside account", _base(accounts=[_acct(role_name="x")]), "accounts[0].role_name", "unknown key"),
    ("unknown retry key", _base(retry={"attempts": 3}), "retry.attempts", "unknown key"),
    # regions
    ("unknown region", _base(regions=["us-east-1", "mars-north-1"]), "regions[1]", "not a region where AWS Lambda"),
    ("az not region", _base(regions=["us-east-1a"]), "regions[0]", "not a region where AWS Lambda"),
    ("uppercase region", _base(regions=["US-EAST-1"]), "regions[0]", "not a region where AWS Lambda"),
    (
        "unknown account region",
        _base(accounts=[_acct(regions=["eu-west-1", "eu-nowhere-9"])]),
        "accounts[0].regions[1]",
        "not a region where AWS Lambda",
    ),
    ("region twice", _base(regions=["us-east-1", "eu-west-1", "us-east-1"]), "regions[2]", "listed twice"),
    (
        "account region twice",
        _base(accounts=[_acct(regions=["eu-west-1", "eu-west-1"])]),
        "accounts[0].regions[1]",
        "listed twice",
    ),
    ("empty regions", _base(regions=[]), "regions", "must not be empty"),
    ("empty account regions", _base(accounts=[_acct(regions=[])]), "accounts[0].regions", "must not be empty"),
    ("regions as string", _base(regions="us-east-1"), "regions", "a list of regions, or all"),
    (
        "account regions as string",
        _base(accounts=[_acct(regions="us-east-1")]),
        "accounts[0].regions",
        "a list of regions, or all",
    ),
    ("region not a string", _base(regions=["us-east-1", 5]), "regions[1]", "valid string"),
    (
        "no regions anywhere",
        {"accounts": [_acct(regions=["us-east-1"]), _acct(account_id=A2)]},
        "accounts[1].regions",
        "no top-level default 'regions'",
    ),
    # accounts
    ("empty accounts", _base(accounts=[]), "accounts", "at least one account"),
    ("no accounts key", {"regions": ["us-east-1"]}, "accounts", "at least one account"),
    ("null accounts", _base(accounts=None), "accounts", "valid tuple"),
    ("accounts as mapping", _base(accounts={"account_id": A1}), "accounts", "valid tuple"),
    ("account as string", _base(accounts=[A1]), "accounts[0]", "must be a mapping, got str"),
    ("account as null", _base(accounts=[None]), "accounts[0]", "must be a mapping, got NoneType"),
    ("account as list", _base(accounts=[[A1]]), "accounts[0]", "must be a mapping, got list"),
    # wrong types
    ("string max_workers", _base(max_workers="8"), "max_workers", "valid integer"),
    ("float max_workers", _base(max_workers=1.5), "max_workers", "valid integer"),
    ("bool max_workers", _base(max_workers=True), "max_workers", "valid integer"),
    ("string duration", _base(duration_seconds="3600"), "duration_seconds", "valid integer"),
    ("int tag", _base(accounts=[_acct(tags=["env:prod", 1])]), "accounts[0].tags[1]", "valid string"),
    ("tags mapping", _base(accounts=[_acct(tags={"env": "prod"})]), "accounts[0].tags", "valid tuple"),
    ("tags string", _base(accounts=[_acct(tags="env:prod")]), "accounts[0].tags", "valid tuple"),
    ("int name", _base(accounts=[_acct(name=5)]), "accounts[0].name", "valid string"),
    ("int external_id", _base(external_id=12345), "external_id", "valid string"),
    ("int account external_id", _base(accounts=[_acct(external_id=12345)]), "accounts[0].external_id", "valid string"),
    ("int role", _base(accounts=[_acct(role=5)]), "accounts[0].role", "valid string"),
    ("vars list", _base(accounts=[_acct(vars=["a"])]), "accounts[0].vars", "valid dictionary"),
    ("int email", _base(accounts=[_acct(email=5)]), "accounts[0].email", "valid string"),
    ("int sts_region", _base(sts_region=1), "sts_region", "valid string"),
    ("retry not mapping", _base(retry=3), "retry", "must be a mapping, got int"),
    ("retry list", _base(retry=[1, 2]), "retry", "must be a mapping, got list"),
    ("string max_attempts", _base(retry={"max_attempts": "3"}), "retry.max_attempts", "valid integer"),
    ("float max_attempts", _base(retry={"max_attempts": 3.0}), "retry.max_attempts", "valid integer"),
    # base_delay/max_delay are unions (float | int): the path must not grow pydantic's branch tag (".float")
    ("string base_delay", _base(retry={"base_delay": "1"}), "retry.base_delay", "valid"),
    ("bool max_delay", _base(retry={"max_delay": True}), "retry.max_delay", "valid"),
    ("null max_delay", _base(retry={"max_delay": None}), "retry.max_delay", "valid"),
    ("int role_name", _base(role_name=5), "role_name", "valid string"),
    ("int session_name", _base(session_name=5), "session_name", "valid string"),
    # function_version
    ("function_version lower", _base(function_version="latest"), "function_version", "'latest'"),
    ("function_version other", _base(function_version="1"), "function_version", "'1'"),
    ("function_version int", _base(function_version=1), "function_version", "1"),
    # ranges
    ("max_workers 0", _base(max_workers=0), "max_workers", "out of range [1, 1024]"),
    ("max_workers negative", _base(max_workers=-4), "max_workers", "out of range"),
    ("max_workers huge", _base(max_workers=1025), "max_workers", "out of range [1, 1024]"),
    ("duration short", _base(duration_seconds=899), "duration_seconds", "out of range [900, 3600]"),
    ("duration chained", _base(duration_seconds=3601), "duration_seconds", "is over 3600: AssumeRole from a task"),
    ("duration long", _base(duration_seconds=43200), "duration_seconds", "role chaining, which AWS caps at one"),
    ("max_attempts 0", _base(retry={"max_attempts": 0}), "retry.max_attempts", "out of range [1, 50]"),
    ("max_attempts 51", _base(retry={"max_attempts": 51}), "retry.max_attempts", "out of range [1, 50]"),
    ("max_unanswered 0", _base(retry={"max_unanswered": 0}), "retry.max_unanswered", "out of range [1, 50]"),
    ("string max_unanswered", _base(retry={"max_unanswered": "3"}), "retry.max_unanswered", "valid integer"),
    ("base_delay negative", _base(retry={"base_delay": -0.1}), "retry.base_delay", "out of range [0, 60]"),
    ("base_delay huge", _base(retry={"base_delay": 61}), "retry.base_delay", "out of range [0, 60]"),
    ("max_delay negative", _base(retry={"max_delay": -1}), "retry.max_delay", "out of range [0, 600]"),
    ("max_delay huge", _base(retry={"max_delay": 601.5}), "retry.max_delay", "out of range [0, 600]"),
    # timeouts
    ("timeouts not mapping", _base(timeouts=30), "timeouts", "must be a mapping, got int"),
    ("timeouts unknown key", _base(timeouts={"total_seconds": 5}), "timeouts.total_seconds", "unknown key"),
    ("string read_seconds", _base(timeouts={"read_seconds": "30"}), "timeouts.read_seconds", "valid"),
    ("connect 0", _base(timeouts={"connect_seconds": 0}), "timeouts.connect_seconds", "out of range [0.1, 300]"),
    ("connect huge", _base(timeouts={"connect_seconds": 301}), "timeouts.connect_seconds", "out of range [0.1, 300]"),
    ("read tiny", _base(timeouts={"read_seconds": 0.05}), "timeouts.read_seconds", "out of range [0.1, 300]"),
    ("read huge", _base(timeouts={"read_seconds": 300.5}), "timeouts.read_seconds", "out of range [0.1, 300]"),
    ("target 0.5", _base(timeouts={"target_seconds": 0.5}), "timeouts.target_seconds", "out of range [1, 86400]"),
    ("target huge", _base(timeouts={"target_seconds": 86401}), "timeouts.target_seconds", "out of range [1, 86400]"),
    # session name
    ("session_name space", _base(session_name="a b"), "session_name", "2-64"),
    ("session_name short", _base(session_name="a"), "session_name", "2-64"),
    ("session_name long", _base(session_name="x" * 65), "session_name", "2-64"),
    ("session_name slash", _base(session_name="a/b"), "session_name", "2-64"),
    ("session_name empty", _base(session_name=""), "session_name", "2-64"),
    # roles
    ("role_name is ARN", _base(role_name=f"arn:aws:iam::{A1}:role/x"), "role_name", "not a role name"),
    ("role_name with space", _base(role_name="My Role"), "role_name", "not a role name"),
    ("role_name empty", _base(role_name=""), "role_name", "not a role name"),
    (
        "role ARN in another account",
        _base(accounts=[_acct(role=f"arn:aws:iam::{A2}:role/Lister")]),
        "accounts[0].role",
        f"is in account {A2}, not {A1}",
    ),
    (
        "user ARN",
        _base(accounts=[_acct(role=f"arn:aws:iam::{A1}:user/bob")]),
        "accounts[0].role",
        "not an IAM role ARN",
    ),
    (
        "short account in ARN",
        _base(accounts=[_acct(role="arn:aws:iam::1234:role/x")]),
        "accounts[0].role",
        "not an IAM role ARN",
    ),
    ("sts ARN", _base(accounts=[_acct(role=f"arn:aws:sts::{A1}:role/x")]), "accounts[0].role", "not an IAM role ARN"),
    (
        "ARN without name",
        _base(accounts=[_acct(role=f"arn:aws:iam::{A1}:role/")]),
        "accounts[0].role",
        "not an IAM role ARN",
    ),
    ("truncated ARN", _base(accounts=[_acct(role="arn:aws:iam")]), "accounts[0].role", "not an IAM role ARN"),
    ("role name with space", _base(accounts=[_acct(role="My Role")]), "accounts[0].role", "not a role name or ARN"),
    ("empty role", _base(accounts=[_acct(role="")]), "accounts[0].role", "not a role name or ARN"),
    (
        "bad role in 2nd account",
        _base(accounts=[_acct(), _acct(account_id=A2, role=f"arn:aws:iam::{A1}:role/x")]),
        "accounts[1].role",
        f"not {A2}",
    ),
]


@pytest.mark.parametrize(("data", "path", "reason"), [c[1:] for c in BAD_CONFIGS], ids=[c[0] for c in BAD_CONFIGS])
def test_bad_config_is_one_line_naming_the_path(data: object, path: str, reason: str) -> None:
    text = _assert_one_line(_config_error(data))
    assert text.startswith(f"{path}: "), text
    assert reason in text, text


def test_bad_account_id_message_quotes_the_value() -> None:
    text = str(_config_error(_base(accounts=[_acct(account_id="12345")])))
    assert text == "accounts[0].account_id: '12345' is not a 12-digit account id"


def test_int_account_id_tells_to_quote() -> None:
    text = str(_config_error(_base(accounts=[_acct(account_id=123456789012)])))
    assert text.startswith("accounts[0].account_id: 123456789012 is a YAML number")
    assert "quote" in text


def test_duplicate_id_names_both_entries() -> None:
    text = str(_config_error(_base(accounts=[_acct(account_id=A2), _acct(), _acct(account_id=A2)])))
    assert text == f"accounts[2].account_id: '{A2}' duplicates accounts[0]"


def test_function_version_message_names_the_allowed_values() -> None:
    # The allowed values are the upper-case literals; the message must not tell the user that 'latest' is valid.
    text = str(_config_error(_base(function_version="latest")))
    assert text.startswith("function_version: ")
    assert "'LATEST'" in text and "'ALL'" in text, text


def test_several_errors_report_the_first_and_count_the_rest() -> None:
    text = _assert_one_line(_config_error(_base(bogus=1, other=2, max_workers="x")))
    assert re.search(r"\(and \d+ more\)$", text), text


@pytest.mark.parametrize("data", [None, [], ["accounts"], "accounts", 3, 1.5, True])
def test_top_level_must_be_a_mapping(data: object) -> None:
    text = _assert_one_line(_config_error(data))
    assert text.startswith("(top level): must be a mapping")


def test_error_with_newline_in_value_stays_one_line() -> None:
    text = _assert_one_line(_config_error(_base(accounts=[_acct(account_id="1234\n5678")])))
    assert text.startswith("accounts[0].account_id: ")


def test_error_with_newline_in_key_stays_one_line() -> None:
    data = {"regions": ["us-east-1"], "accounts": [{"account_id": "111111111111", "bad\nkey": 1}]}
    with pytest.raises(ConfigError) as err:
        parse_config(data, REGIONS)
    assert "\n" not in str(err.value)
    assert str(err.value) == "accounts[0].'bad\\nkey': unknown key"


def test_config_error_is_an_inventory_error() -> None:
    assert issubclass(ConfigError, InventoryError)
    assert for_error(ConfigError("x")) == ExitCode.USAGE == 2


@pytest.mark.parametrize(
    ("loc", "expected"),
    [
        (("accounts", 3, "account_id"), "accounts[3].account_id"),
        (("regions", 0), "regions[0]"),
        (("retry", "max_delay"), "retry.max_delay"),
        (("max_workers",), "max_workers"),
        ((), "(top level)"),
    ],
)
def test_yaml_path(loc: tuple[int | str, ...], expected: str) -> None:
    assert yaml_path(loc) == expected


# --- good configs -------------------------------------------------------------------------------------


def test_minimal_config_gets_defaults() -> None:
    config = parse_config({"regions": ["us-east-1"], "accounts": [{"account_id": A1}]}, REGIONS)
    assert isinstance(config, RunConfig)
    assert config.role_name == DEFAULT_ROLE_NAME == "CrossAccountListFunctionsRole"
    assert config.session_name == "lambda-inventory"
    assert config.external_id is None
    assert config.duration_seconds == 3600
    assert config.regions == ("us-east-1",)
    assert config.function_version == "LATEST"
    assert config.max_workers == 64
    assert config.sts_region is None
    assert config.retry == RetryConfig(max_attempts=12, max_unanswered=3, base_delay=0.5, max_delay=20.0)
    assert config.timeouts == TimeoutsConfig(connect_seconds=10, read_seconds=30, target_seconds=1800)
    (account,) = config.accounts
    assert account == AccountConfig(account_id=A1)
    assert account.name is None and account.role is None and account.external_id is None
    assert account.regions is None
    assert account.tags == ()
    assert account.display_name == A1


def test_full_config_with_per_account_overrides() -> None:
    data = {
        "role_name": "OrgLister",
        "session_name": "inv.run@hub",
        "external_id": "top-secret-ext",
        "duration_seconds": 900,
        "regions": ["us-east-1", "eu-west-1"],
        "function_version": "ALL",
        "max_workers": 1024,
        "sts_region": "eu-west-1",
        "retry": {"max_attempts": 3, "base_delay": 0, "max_delay": 1.5},
        "accounts": [
            {"account_id": A1, "name": "prod", "tags": ["env:prod", "team:a"]},
            {"account_id": A2, "role": "team/Custom-Role", "regions": ["ap-east-1"], "external_id": "acct-ext"},
            {"account_id": "333333333333", "role": "arn:aws:iam::333333333333:role/path/Full"},
            {
                "account_id": "000000000001",
                "role": "arn:aws-cn:iam::000000000001:role/CnRole",
                "regions": ["cn-north-1"],
            },
        ],
    }
    config = parse_config(data, REGIONS)
    assert config.role_name == "OrgLister"
    assert config.session_name == "inv.run@hub"
    assert config.external_id == "top-secret-ext"
    assert config.duration_seconds == 900
    assert config.function_version == "ALL"
    assert config.max_workers == 1024
    assert config.sts_region == "eu-west-1"
    assert config.retry == RetryConfig(3, 0, 1.5)
    a, b, c, d = config.accounts
    assert a.display_name == "prod" and a.tags == ("env:prod", "team:a") and a.regions is None
    assert b.role == "team/Custom-Role" and b.regions == ("ap-east-1",) and b.external_id == "acct-ext"
    assert b.display_name == A2
    assert c.role == "arn:aws:iam::333333333333:role/path/Full"
    assert d.account_id == "000000000001" and d.regions == ("cn-north-1",)


def test_accounts_with_own_regions_need_no_default() -> None:
    config = parse_config(
        {"accounts": [_acct(regions=["eu-west-1"]), _acct(account_id=A2, regions=["us-west-2"])]}, REGIONS
    )
    assert config.regions is None
    assert [a.regions for a in config.accounts] == [("eu-west-1",), ("us-west-2",)]


def test_c7n_org_keys_accepted() -> None:
    data = _base(accounts=[_acct(name="x", email="owner@example.com", vars={"charge_code": "abc", "n": 3})])
    (account,) = parse_config(data, REGIONS).accounts
    assert account.email == "owner@example.com"
    assert account.vars == {"charge_code": "abc", "n": 3}


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("max_workers", 1),
        ("max_workers", 1024),
        ("duration_seconds", 900),
        ("duration_seconds", 3600),
        ("retry", {"max_attempts": 1}),
        ("retry", {"max_attempts": 50}),
        ("retry", {"base_delay": 0}),
        ("retry", {"base_delay": 60}),
        ("retry", {"max_delay": 0}),
        ("retry", {"max_delay": 600.0}),
        ("session_name", "ab"),
        ("session_name", "x" * 64),
        ("session_name", "a+b=c,d.e@f_g-h"),
        ("role_name", "path/to/Role"),
        ("function_version", "ALL"),
        ("function_version", "LATEST"),
    ],
)
def test_boundary_values_accepted(key: str, value: object) -> None:
    parse_config(_base(**{key: value}), REGIONS)


def test_config_is_frozen() -> None:
    config = parse_config(_base(), REGIONS)
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.max_workers = 3  # type: ignore[misc]


# --- load_config: real YAML text on disk --------------------------------------------------------------

GOOD_YAML = """\
# hub config
role_name: CrossAccountListFunctionsRole
external_id: org-wide
regions: [us-east-1, eu-west-1]
max_workers: 8
retry:
  max_attempts: 4
  base_delay: 0.25
  max_delay: 5
accounts:
  - account_id: "012345678901"   # quoted: leading zero kept
    name: prod
    tags: [env:prod]
    email: owner@example.com
    vars:
      cost_centre: "42"
  - account_id: '222222222222'
    role: arn:aws:iam::222222222222:role/OtherRole
    external_id: per-account
    regions:
      - ap-southeast-2
"""


def test_load_good_yaml(tmp_path: Path) -> None:
    config = load_config(_write(tmp_path, GOOD_YAML), REGIONS)
    assert config.external_id == "org-wide"
    assert config.regions == ("us-east-1", "eu-west-1")
    assert config.max_workers == 8
    assert config.retry == RetryConfig(4, 0.25, 5)
    first, second = config.accounts
    assert first.account_id == "012345678901"
    assert first.name == "prod" and first.tags == ("env:prod",) and first.vars == {"cost_centre": "42"}
    assert second.role == "arn:aws:iam::222222222222:role/OtherRole"
    assert second.external_id == "per-account"
    assert second.regions == ("ap-southeast-2",)


@pytest.mark.parametrize(
    ("yaml_id", "said"),
    [
        ("123456789012", 'is a YAML number, not a string; quote it: "123456789012"'),  # a plain YAML int
        # YAML 1.1 reads a leading 0 as octal: the id would silently change. Say so, with the text as written.
        ("011111111111", 'was read by YAML as an octal number; quote it: "011111111111"'),
        ("012345670123", 'was read by YAML as an octal number; quote it: "012345670123"'),
        ("0123_4567_0123", 'was read by YAML as an octal number; quote it: "0123_4567_0123"'),  # _ allowed
        ("0x1F", 'is a YAML number, not a string; quote it: "0x1F"'),
    ],
)
def test_unquoted_account_id_is_rejected(tmp_path: Path, yaml_id: str, said: str) -> None:
    text = f"regions: [us-east-1]\naccounts:\n  - account_id: {yaml_id}\n"
    path = _write(tmp_path, text)
    message = _load_error(path)
    assert message == f"{path}: accounts[0].account_id: {yaml_id} {said}", message
    assert "1227133513" not in message and str(0o12345670123) not in message  # not the octal's decimal value


@pytest.mark.parametrize(
    ("text", "path", "reason"),
    [
        ("regions: [us-east-1]\naccounts:\n  - account_id: '12345'\n", "accounts[0].account_id", "12-digit"),
        ("regions: [us-east-1]\naccounts:\n  - account_id: yes\n", "accounts[0].account_id", "valid string"),
        ("regions: [us-east-1]\naccounts: []\n", "accounts", "at least one account"),
        ("regions: [us-east-1]\naccounts:\n", "accounts", "valid tuple"),
        ("regions: []\naccounts:\n  - account_id: '111111111111'\n", "regions", "must not be empty"),
        ("regions: [us-east-1, us-east-1]\naccounts:\n  - account_id: '111111111111'\n", "regions[1]", "twice"),
        (
            "regions: [us-east-1]\nmax_workers: eight\naccounts:\n  - account_id: '111111111111'\n",
            "max_workers",
            "integer",
        ),
        (
            "regions: [us-east-1]\nmax_workers: '8'\naccounts:\n  - account_id: '111111111111'\n",
            "max_workers",
            "integer",
        ),
        (
            "regions: [us-east-1]\naccounts:\n  - account_id: '111111111111'\n    tags: [1, 2]\n",
            "accounts[0].tags[0]",
            "string",
        ),
        ("regions: [us-east-1]\naccounts:\n  account_id: '111111111111'\n", "accounts", "valid tuple"),
        (
            "regions: [us-east-1]\nfunction_version: all\naccounts:\n  - account_id: '111111111111'\n",
            "function_version",
            "'all'",
        ),
        ("regions: [us-east-1]\nfoo: 1\naccounts:\n  - account_id: '111111111111'\n", "foo", "unknown key"),
        (
            "regions: [us-east-1]\naccounts:\n  - account_id: '111111111111'\n    role: 1\n",
            "accounts[0].role",
            "string",
        ),
        ("accounts:\n  - account_id: '111111111111'\n", "accounts[0].regions", "no top-level default"),
        ("- account_id: '111111111111'\n", "(top level)", "must be a mapping"),
        ("just a string\n", "(top level)", "must be a mapping"),
        ("", "(top level)", "must be a mapping"),
        ("# only a comment\n", "(top level)", "must be a mapping"),
    ],
)
def test_load_bad_yaml_prefixes_the_file(tmp_path: Path, text: str, path: str, reason: str) -> None:
    config_path = _write(tmp_path, text)
    message = _load_error(config_path)
    assert message.startswith(f"{config_path}: {path}: "), message
    assert reason in message, message


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope" / "accounts.yaml"
    message = _load_error(path)
    assert message.startswith(f"{path}: cannot read config")
    assert "No such file" in message


def test_directory_instead_of_file(tmp_path: Path) -> None:
    message = _load_error(tmp_path)
    assert message.startswith(f"{tmp_path}: cannot read config")


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("regions: [us-east-1\naccounts:\n  - account_id: '111111111111'\n", None),
        ("accounts:\n  - account_id: '111111111111'\n bad: 1\n", 3),
        ("regions: a: b\n", 1),
        ("\tregions: [us-east-1]\n", 1),
        ("accounts:\n  - {account_id: '111111111111'\n", None),
        ("regions: [us-east-1]\naccounts: !!python/object:os.system x\n", 2),
        ('regions: [us-east-1]\naccounts:\n  - account_id: "111111111111\n', None),
    ],
)
def test_invalid_yaml_syntax_names_the_line(tmp_path: Path, text: str, line: int | None) -> None:
    path = _write(tmp_path, text)
    message = _load_error(path)
    match = re.match(rf"^{re.escape(str(path))}: line (\d+) column (\d+): \S", message)
    assert match, message
    if line is not None:
        assert int(match.group(1)) == line, message


@pytest.mark.parametrize(
    "raw",
    [
        b"regions: [us-east-1]\naccounts:\n  - account_id: '111111111111'\n    name: caf\xe9\n",  # latin-1
        b"\xff\xfer\x00e\x00g\x00",  # UTF-16 with BOM
        b"\x80\x81\x82",
    ],
)
def test_non_utf8_file(tmp_path: Path, raw: bytes) -> None:
    path = _write(tmp_path, raw)
    message = _load_error(path)
    assert message == f"{path}: config is not UTF-8 text"


def test_utf8_names_accepted(tmp_path: Path) -> None:
    text = "regions: [us-east-1]\naccounts:\n  - account_id: '111111111111'\n    name: café-prod ✓\n"
    (account,) = load_config(_write(tmp_path, text), REGIONS).accounts
    assert account.name == "café-prod ✓"


def test_example_config_file_is_valid() -> None:
    config = load_config(EXAMPLE, REGIONS)
    assert config.accounts
    ids = [a.account_id for a in config.accounts]
    assert len(set(ids)) == len(ids)
    assert all(len(i) == 12 and i.isdigit() for i in ids)


def test_demo_config_file_is_valid() -> None:
    demo = Path(__file__).resolve().parent.parent.parent / "inventory" / "demo" / "accounts.yaml"
    config = load_config(demo, REGIONS)
    assert [a.account_id for a in config.accounts][:1] == ["222222222222"]


@pytest.mark.parametrize("rate", [0, 0.05, 15.5, 100])
def test_max_requests_per_second_is_bounded_by_lambdas_quota(rate: float) -> None:
    data = {"regions": ["us-east-1"], "accounts": [{"account_id": "111111111111"}], "max_requests_per_second": rate}
    with pytest.raises(ConfigError, match=r"^max_requests_per_second: .* out of range \[0.1, 15\]$"):
        parse_config(data, REGIONS)


def test_max_requests_per_second_default_and_override() -> None:
    base = {"regions": ["us-east-1"], "accounts": [{"account_id": "111111111111"}]}
    assert parse_config(base, REGIONS).max_requests_per_second == 10
    assert parse_config({**base, "max_requests_per_second": 15}, REGIONS).max_requests_per_second == 15


# --- accounts_from: organization, include/exclude, regions: all -----------------------------------


def test_organization_config_needs_no_account_list() -> None:
    config = parse_config(
        {
            "accounts_from": "organization",
            "regions": "all",
            "organizational_units": ["ou-ab12-abcdefgh", "r-ab12"],
            "include_accounts": [A1],
            "exclude_accounts": ["123456789013"],
        },
        REGIONS,
    )
    assert config.from_organization
    assert config.accounts == ()
    assert config.regions == "all"
    assert config.organizational_units == ("ou-ab12-abcdefgh", "r-ab12")
    assert config.include_accounts == (A1,)


def test_regions_all_per_account() -> None:
    config = parse_config(_base(accounts=[_acct(regions="all")]), REGIONS)
    assert config.accounts[0].regions == "all"


def _org(**top: Any) -> dict[str, Any]:
    return {"accounts_from": "organization", "regions": "all", **top}


@pytest.mark.parametrize(
    ("data", "path", "message"),
    [
        ({"accounts_from": "organization"}, "regions", "needs a top-level 'regions'"),
        ({"accounts_from": "org", "regions": "all"}, "accounts_from", "'file' or 'organization'"),
        (
            _org(organizational_units=["ou-x"]),
            "organizational_units[0]",
            "not an OU id",
        ),
        (
            _org(include_accounts=[123]),
            "include_accounts",
            "YAML number",
        ),
        (
            _org(exclude_accounts=["12"]),
            "exclude_accounts",
            "12-digit",
        ),
        (
            _org(exclude_accounts=[A1, A1]),
            "exclude_accounts[1]",
            "listed twice",
        ),
        (_base(include_accounts=[A1]), "include_accounts", "only applies with accounts_from: organization"),
        (_base(organizational_units=["r-ab12"]), "organizational_units", "only applies with accounts_from"),
        (_base(regions="everywhere"), "regions", "a list of regions, or all"),
        (_base(regions=["all"]), "regions[0]", "not a region"),
        ({"accounts": []}, "accounts", "at least one account"),
    ],
)
def test_bad_organization_config(data: dict[str, Any], path: str, message: str) -> None:
    text = _assert_one_line(_config_error(data))
    assert text.startswith(f"{path}:"), text
    assert message in text


def test_accounts_from_flag_overrides_and_is_rechecked() -> None:
    config = parse_config(_base(), REGIONS)
    assert with_accounts_from(config, None) is config
    assert with_accounts_from(config, "organization").from_organization
    no_regions = parse_config({"accounts": [_acct(regions=["us-east-1"])]}, REGIONS)
    with pytest.raises(ConfigError) as caught:
        with_accounts_from(no_regions, "organization")
    assert str(caught.value).startswith("--accounts-from organization: regions:")


def test_enrich_defaults_to_none_and_reads_a_list() -> None:
    assert parse_config(_base(), REGIONS).enrich == ()
    assert parse_config(_base(enrich=["usage", "tags"]), REGIONS).enrich == ("usage", "tags")


@pytest.mark.parametrize(
    ("enrich", "message"),
    [
        (
            ["tags", "owners"],
            "enrich[1]: input should be 'tags', 'urls', 'policy', 'concurrency', 'usage', 'event_source_mappings', "
            "'layers', 'layer_policies', 'aliases', 'event_invoke_configs', 'provisioned_concurrency' or "
            "'code_signing'",
        ),
        (["tags", "tags"], "enrich[1]: 'tags' is listed twice"),
        (["layer_policies"], "enrich: layer_policies needs layers too (it judges the rows layers reads)"),
        ("tags", "enrich: input should be a valid tuple"),
    ],
)
def test_bad_enrich(enrich: object, message: str) -> None:
    assert _assert_one_line(_config_error(_base(enrich=enrich))).startswith(message)


def test_the_configs_enrichments_are_the_columns_ones_in_run_order() -> None:
    assert get_args(Enrichment) == ENRICHMENT_ORDER  # config.py spells them out: `validate` imports no pyarrow


def test_enrich_flag_replaces_the_configs_list() -> None:
    config = parse_config(_base(enrich=["tags"]), REGIONS)
    assert with_enrich(config, None) is config
    assert with_enrich(config, "policy, urls").enrich == ("policy", "urls")
    with pytest.raises(ConfigError, match=r"^--enrich: layer_policies needs layers too"):
        with_enrich(config, "layer_policies")
    assert with_enrich(config, "none").enrich == ()
    with pytest.raises(ConfigError) as caught:
        with_enrich(config, "tags,owner")
    assert (
        str(caught.value)
        == "--enrich: 'owner' is not one of tags, urls, policy, concurrency, usage, event_source_mappings, layers, "
        "layer_policies, aliases, event_invoke_configs, provisioned_concurrency, code_signing (or none)"
    )
    with pytest.raises(ConfigError) as caught:
        with_enrich(config, "tags,tags", "LAMBDA_INVENTORY_ENRICH")
    assert str(caught.value) == "LAMBDA_INVENTORY_ENRICH[1]: 'tags' is listed twice"


# --- hostile YAML: aliases, duplicate keys, tags, size; echoed values bounded ---------------------------

ACCOUNT = "regions: [us-east-1]\naccounts:\n  - account_id: '111111111111'\n"


def _laughs(indent: str = "") -> str:
    """A ~500-byte alias bomb: 9 levels of nine aliases each, 9**9 (387 million) values once expanded."""
    names = "abcdefghi"
    lines = [f"{indent}a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for prev, name in itertools.pairwise(names):
        lines.append(f"{indent}{name}: &{name} [{', '.join([f'*{prev}'] * 9)}]")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize(
    "text",
    [
        ACCOUNT + "    vars:\n" + _laughs("      ") + "    tags: *i\n",  # under tags (and vars)
        _laughs(),  # the whole document
        ACCOUNT + "    vars:\n" + _laughs("      "),  # only under vars: used to pass validate, then crash run
    ],
)
def test_alias_bomb_is_refused_naming_the_alias_line(tmp_path: Path, text: str) -> None:
    assert len(text) < 1000
    message = _load_error(_write(tmp_path, text))
    assert re.search(r": line \d+ column \d+: aliases expand the config by more than 2,000,000 values", message), (
        message
    )
    assert len(message) < 300


def test_aliases_are_bounded_not_banned(tmp_path: Path) -> None:
    bomb = ACCOUNT + "    vars:\n" + _laughs("      ")
    assert "aliases expand the config" in _load_error(_write(tmp_path, bomb, "bomb.yaml"))
    text = (
        "regions: &r [us-east-1]\n"
        "accounts:\n"
        "  - &first {account_id: '111111111111', role: Audit, regions: [eu-west-1], name: one}\n"
        "  - {<<: *first, account_id: '222222222222', regions: *r}\n"
    )
    first, second = load_config(_write(tmp_path, text), REGIONS).accounts
    assert (first.name, first.role, first.regions) == ("one", "Audit", ("eu-west-1",))
    # merged keys fill in; explicit keys win over merged ones, wherever they stand
    assert (second.account_id, second.name, second.role, second.regions) == (A2, "one", "Audit", ("us-east-1",))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (ACCOUNT + "regions: [eu-west-1]\n", "line 4 column 1: duplicate key 'regions'"),
        (ACCOUNT + "    name: a\n    name: b\n", "line 5 column 5: duplicate key 'name'"),
        (ACCOUNT + "    vars: {k: !!binary aGVsbG8=}\n", "line 4 column 15: tag !!binary is not allowed"),
        (ACCOUNT + "    vars: !!set {a, b}\n", "line 4 column 11: tag !!set is not allowed"),
        (ACCOUNT + "    name: !custom x\n", "line 4 column 11: tag !custom is not allowed"),
        ("x: &a [*a]\n", "line 1 column 8: alias *a has no finished anchor"),
        ("regions: [us-east-1]\n---\nregions: [us-east-1]\n", "line 2 column 1: more than one YAML document"),
        ("x: " + "[" * 70 + "]" * 70 + "\n", "nested deeper than 64 levels"),
    ],
)
def test_hostile_yaml_is_one_line_naming_the_line(tmp_path: Path, text: str, expected: str) -> None:
    path = _write(tmp_path, text)
    message = _load_error(path)
    assert message.startswith(f"{path}: ") and expected in message, message


def test_config_over_the_size_limit_is_refused_before_reading(tmp_path: Path) -> None:
    path = tmp_path / "accounts.yaml"
    with path.open("wb") as handle:  # sparse: 33 MiB of nothing, never parsed
        handle.truncate(33 * 1024 * 1024)
    assert _load_error(path) == f"{path}: config is 33.0 MiB, more than the 32 MiB limit"


def test_long_input_is_never_echoed_whole(tmp_path: Path) -> None:
    message = _load_error(_write(tmp_path, "x" * 100_000 + "\n"))  # e.g. a config symlinked to a big file
    assert message.endswith("... (100000 characters)"), message
    assert len(message) < len(str(tmp_path)) + 200
    long_name = {"regions": ["us-east-1"], "accounts": [{"account_id": "9" * 5000}]}
    text = str(_config_error(long_name))
    assert text.startswith("accounts[0].account_id: '9999") and "(5000 characters)" in text and len(text) < 200


@pytest.mark.parametrize("where", ["top", "account"])
@pytest.mark.parametrize("value", ["x", "has space", "s" * 1225])
def test_bad_external_id_is_refused_without_echoing_it(where: str, value: str) -> None:
    data = _base(external_id=value) if where == "top" else _base(accounts=[_acct(external_id=value)])
    text = str(_config_error(data))
    path = "external_id" if where == "top" else "accounts[0].external_id"
    assert text == f"{path}: must be 2-1224 characters of letters, digits and _+=,.@:/- (value not shown)"


def test_good_external_id_passes() -> None:
    assert parse_config(_base(accounts=[_acct(external_id="Ext-1:a/b@c.d")]), REGIONS).accounts[0].external_id


def test_unknown_sts_region_is_refused() -> None:
    assert str(_config_error(_base(sts_region="mars-1"))) == "sts_region: 'mars-1' is not a known AWS region"
    assert parse_config(_base(sts_region="eu-west-1"), REGIONS).sts_region == "eu-west-1"


def test_timeouts_are_read() -> None:
    data = {"regions": ["us-east-1"], "accounts": [{"account_id": A1}]}
    config = parse_config(
        {**data, "timeouts": {"connect_seconds": 2, "read_seconds": 0.5, "target_seconds": 60}}, REGIONS
    )
    assert config.timeouts == TimeoutsConfig(connect_seconds=2, read_seconds=0.5, target_seconds=60)
    partial = parse_config({**data, "timeouts": {"target_seconds": 5}}, REGIONS)
    assert partial.timeouts == TimeoutsConfig(10, 30, 5)
