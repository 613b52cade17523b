"""Config: read and validate config/accounts.yaml into frozen dataclasses, before any AWS call.

Field names follow c7n-org's accounts.yml where they overlap. Every problem becomes one `ConfigError`
line naming the YAML path, e.g. `accounts[3].account_id: '12345' is not a 12-digit account id`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, Literal, get_args

from pydantic import ConfigDict, StrictFloat, StrictInt, StrictStr, TypeAdapter, ValidationError, field_validator
from pydantic.dataclasses import dataclass

from inventory.aws.lambda_api import Timeouts
from inventory.errors import ConfigError, shown, shown_text
from inventory.job.yaml_load import YamlInt, read_yaml_file

DEFAULT_ROLE_NAME = "CrossAccountListFunctionsRole"
_ACCOUNT_ID = re.compile(r"^\d{12}$")
_SESSION_NAME = re.compile(r"^[\w+=,.@-]{2,64}$")
_ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::(\d{12}):role/[\w+=,.@/-]+$")
_ROLE_NAME = re.compile(r"^[\w+=,.@/-]{1,512}$")
_PARENT_ID = re.compile(r"^(r-[0-9a-z]{4,32}|ou-[0-9a-z]{4,32}-[a-z0-9]{8,32})$")
_EXTERNAL_ID = re.compile(r"^[\w+=,.@:/-]{2,1224}$")
ALL_REGIONS = "all"  # `regions: all`: every region the account has enabled (asked per account)
Regions = tuple[StrictStr, ...] | Literal["all"]
Enrichment = Literal[  # contract/estate.py's ENRICHMENT_ORDER
    "tags",
    "urls",
    "policy",
    "concurrency",
    "usage",
    "event_source_mappings",
    "layers",
    "layer_policies",
    "aliases",
    "event_invoke_configs",
    "provisioned_concurrency",
    "code_signing",
]
_ENRICHMENTS: tuple[str, ...] = get_args(Enrichment)  # not imported from there: `validate` needs no pyarrow
_NEEDS = {"layer_policies": "layers"}  # contract/estate.py's NEEDS: it judges what the other one reads
_STRICT = ConfigDict(extra="forbid")


def _account_id_before(value: object) -> object:
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        return value
    if isinstance(value, YamlInt) and value.octal:
        raise ValueError(f'{shown_text(value.text)} was read by YAML as an octal number; quote it: "{value.text}"')
    if isinstance(value, int):
        text = shown_text(value.text if isinstance(value, YamlInt) else str(value))
        raise ValueError(f'{text} is a YAML number, not a string; quote it: "{text}"')
    if not _ACCOUNT_ID.match(value):
        raise ValueError(f"{shown(value)} is not a 12-digit account id")
    return value


def _regions_before(value: object) -> object:
    if value is None or value == ALL_REGIONS or isinstance(value, (list, tuple)):
        return value
    raise ValueError(f"must be a list of regions, or all; got {shown(value)}")


@dataclass(frozen=True, config=_STRICT)
class RetryConfig:
    """The one retry layer: bounded attempts, exponential backoff with full jitter (seconds)."""

    max_attempts: StrictInt = 12  # at 30% throttling a page is lost with p = 0.3**12 = 5e-7
    base_delay: StrictFloat = 0.5  # StrictFloat takes ints too, but not "1", true or null
    max_delay: StrictFloat = 20.0
    max_unanswered: StrictInt = 3  # of them timed out or not connected (botocore's standard mode: 3 in all)


@dataclass(frozen=True, config=_STRICT)
class TimeoutsConfig:
    """Seconds. connect/read are per request (read also caps a whole request); target is the deadline for
    listing one (account, region), retries and backoff included: past it the target fails DeadlineExceeded."""

    connect_seconds: StrictFloat = 10.0
    read_seconds: StrictFloat = 30.0
    target_seconds: StrictFloat = 1800.0

    def per_request(self) -> Timeouts:
        """The per-request limits every client and lister of the run is made with (aws/clients.py)."""
        return Timeouts(float(self.connect_seconds), float(self.read_seconds))


@dataclass(frozen=True, config=_STRICT)
class AccountConfig:
    account_id: StrictStr
    name: StrictStr | None = None
    role: StrictStr | None = None  # a role name, or a full role ARN
    external_id: StrictStr | None = None
    regions: Regions | None = None
    tags: tuple[StrictStr, ...] = ()
    vars: dict[StrictStr, Any] | None = None  # accepted for c7n-org compatibility, unused
    email: StrictStr | None = None  # accepted for c7n-org compatibility, unused

    _check_id = field_validator("account_id", mode="before")(_account_id_before)
    _check_regions = field_validator("regions", mode="before")(_regions_before)

    @property
    def display_name(self) -> str:
        return self.name or self.account_id


@dataclass(frozen=True, config=_STRICT)
class RunConfig:
    accounts: tuple[AccountConfig, ...] = ()
    accounts_from: Literal["file", "organization"] = "file"
    organizational_units: tuple[StrictStr, ...] = ()  # with accounts_from: organization; children included
    include_accounts: tuple[StrictStr, ...] = ()  # only these of the organization's accounts
    exclude_accounts: tuple[StrictStr, ...] = ()  # never these, from the organization or the file
    role_name: StrictStr = DEFAULT_ROLE_NAME
    session_name: StrictStr = "lambda-inventory"
    external_id: StrictStr | None = None
    duration_seconds: StrictInt = 3600
    regions: Regions | None = None
    function_version: Literal["LATEST", "ALL"] = "LATEST"
    max_workers: StrictInt = 64
    max_requests_per_second: StrictFloat = 10.0  # to one account-region; Lambda's quota is shared with users
    sts_region: StrictStr | None = None  # default: the hub's region, else us-east-1
    retry: RetryConfig = RetryConfig()
    timeouts: TimeoutsConfig = TimeoutsConfig()
    enrich: tuple[Enrichment, ...] = ()  # opt-in reads beyond ListFunctions (docs/enrichments.md)

    _check_regions = field_validator("regions", mode="before")(_regions_before)
    _check_ids = field_validator("include_accounts", "exclude_accounts", mode="before")(
        lambda value: tuple(_account_id_before(v) for v in value) if isinstance(value, (list, tuple)) else value
    )

    @property
    def from_organization(self) -> bool:
        return self.accounts_from == "organization"


def yaml_path(loc: Iterable[int | str]) -> str:
    """('accounts', 3, 'account_id') -> 'accounts[3].account_id'."""
    out = ""
    for part in loc:
        if isinstance(part, str) and "[" in part:  # pydantic's tag for a branch of a union, not a key
            continue
        if isinstance(part, int):
            out += f"[{part}]"
            continue
        name = str(part) if re.fullmatch(r"[\w-]+", str(part)) else repr(str(part))  # keep it on one line
        out += f".{name}" if out else name
    return out or "(top level)"


def _describe(error: Any) -> str:
    kind, msg = error["type"], error["msg"]
    if kind == "unexpected_keyword_argument":
        return "unknown key"
    if kind == "missing":
        return "is required"
    if kind == "dataclass_type":
        return f"must be a mapping, got {type(error['input']).__name__}"
    if kind == "value_error":
        return str(msg).removeprefix("Value error, ")
    text = str(msg)
    text = text[:1].lower() + text[1:]  # "Input should be 'LATEST' or 'ALL'" keeps the values' case
    return f"{text}, got {shown(error['input'])}" if "input" in error else text


def parse_config(data: object, known_regions: frozenset[str]) -> RunConfig:
    """Validate already-parsed YAML. `known_regions` are the region names botocore knows for lambda."""
    if not isinstance(data, dict):
        raise ConfigError(f"(top level): must be a mapping with an 'accounts' list, got {shown(data)}")
    try:
        config = TypeAdapter(RunConfig).validate_python(data)
    except ValidationError as err:
        errors = err.errors()
        # pydantic reports the branches of a union separately; the first error is the clearest one
        first = errors[0]
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise ConfigError(f"{yaml_path(first['loc'])}: {_describe(first)}{more}") from err
    _check_semantics(config, known_regions)
    return config


def _check_semantics(config: RunConfig, known_regions: frozenset[str]) -> None:
    _check_ranges(config)
    _check_organization(config)
    _check_regions("regions", config.regions, known_regions)
    if config.sts_region is not None and config.sts_region not in known_regions:
        raise ConfigError(f"sts_region: {shown(config.sts_region)} is not a known AWS region")
    _check_external_id("external_id", config.external_id)
    _check_enrich("enrich", config.enrich)
    seen: dict[str, int] = {}
    for i, account in enumerate(config.accounts):
        where = f"accounts[{i}]"
        if account.account_id in seen:
            raise ConfigError(
                f"{where}.account_id: {shown(account.account_id)} duplicates accounts[{seen[account.account_id]}]"
            )
        seen[account.account_id] = i
        _check_regions(f"{where}.regions", account.regions, known_regions)
        if account.regions is None and config.regions is None:
            raise ConfigError(f"{where}.regions: no regions here and no top-level default 'regions'")
        _check_role(where, account)
        _check_external_id(f"{where}.external_id", account.external_id)


def _check_external_id(path: str, value: str | None) -> None:
    """STS's rule for ExternalId (an empty one means none). Never echoed: it is shared with the member's trust."""
    if value and not _EXTERNAL_ID.match(value):
        raise ConfigError(f"{path}: must be 2-1224 characters of letters, digits and _+=,.@:/- (value not shown)")


def _check_organization(config: RunConfig) -> None:
    if not config.from_organization:
        if not config.accounts:
            raise ConfigError("accounts: must list at least one account (or set accounts_from: organization)")
        for key in ("organizational_units", "include_accounts"):
            if getattr(config, key):
                raise ConfigError(f"{key}: only applies with accounts_from: organization")
        return
    if config.regions is None:
        raise ConfigError("regions: accounts_from: organization needs a top-level 'regions' (a list, or all)")
    for j, parent in enumerate(config.organizational_units):
        if not _PARENT_ID.match(parent):
            raise ConfigError(f"organizational_units[{j}]: {shown(parent)} is not an OU id (ou-...) or root id (r-...)")
    for key in ("organizational_units", "include_accounts", "exclude_accounts"):
        _check_unique(key, getattr(config, key))


def _check_enrich(path: str, names: Sequence[str]) -> None:
    """No enrichment twice, and none without the one whose rows it judges (`layer_policies` needs `layers`)."""
    _check_unique(path, names)
    for name in names:
        if name in _NEEDS and _NEEDS[name] not in names:
            raise ConfigError(f"{path}: {name} needs {_NEEDS[name]} too (it judges the rows {_NEEDS[name]} reads)")


def _check_unique(path: str, values: Sequence[str]) -> None:
    """No value twice (a set, not a scan of the earlier values: lists can have 200,000 entries)."""
    seen: set[str] = set()
    for j, value in enumerate(values):
        if value in seen:
            raise ConfigError(f"{path}[{j}]: {shown(value)} is listed twice")
        seen.add(value)


CHAINED_SESSION_MAX = 3600  # AWS caps a role session assumed with a role's credentials (role chaining) at 1 h


def _check_duration(seconds: int) -> None:
    """duration_seconds: 900 to 3,600. The hub assumes the member role with its task role's credentials (ECS,
    AWS Batch), which AWS caps at one hour (role chaining): a longer one fails every account at run time, so
    it is refused here. A run that outlives its credentials renews them."""
    if seconds < 900:
        raise ConfigError(f"duration_seconds: {seconds} is out of range [900, {CHAINED_SESSION_MAX}]")
    if seconds > CHAINED_SESSION_MAX:
        raise ConfigError(
            f"duration_seconds: {seconds} is over {CHAINED_SESSION_MAX}: AssumeRole from a task role (ECS, AWS Batch) "
            "is role chaining, which AWS caps at one hour; credentials are renewed when a run outlives them"
        )


def _check_ranges(config: RunConfig) -> None:
    checks = [
        ("max_workers", config.max_workers, 1, 1024),
        ("max_requests_per_second", config.max_requests_per_second, 0.1, 15),
        ("retry.max_attempts", config.retry.max_attempts, 1, 50),
        ("retry.max_unanswered", config.retry.max_unanswered, 1, 50),
        ("retry.base_delay", config.retry.base_delay, 0, 60),
        ("retry.max_delay", config.retry.max_delay, 0, 600),
        ("timeouts.connect_seconds", config.timeouts.connect_seconds, 0.1, 300),
        ("timeouts.read_seconds", config.timeouts.read_seconds, 0.1, 300),
        ("timeouts.target_seconds", config.timeouts.target_seconds, 1, 86400),
    ]
    for path, value, low, high in checks:
        if not low <= value <= high:
            raise ConfigError(f"{path}: {value} is out of range [{low}, {high}]")
    _check_duration(config.duration_seconds)
    if not _SESSION_NAME.match(config.session_name):
        raise ConfigError(f"session_name: {shown(config.session_name)} must be 2-64 of [A-Za-z0-9+=,.@_-]")
    if not _ROLE_NAME.match(config.role_name) or config.role_name.startswith("arn:"):
        raise ConfigError(f"role_name: {shown(config.role_name)} is not a role name (use an account's 'role' for ARNs)")


def _check_regions(path: str, regions: tuple[str, ...] | str | None, known: frozenset[str]) -> None:
    if regions is None or regions == ALL_REGIONS:
        return
    if not regions:
        raise ConfigError(f"{path}: must not be empty")
    for j, region in enumerate(regions):
        if region not in known:
            raise ConfigError(f"{path}[{j}]: {shown(region)} is not a region where AWS Lambda is available")
    _check_unique(path, regions)


def _check_role(where: str, account: AccountConfig) -> None:
    role = account.role
    if role is None:
        return
    if role.startswith("arn:"):
        match = _ROLE_ARN.match(role)
        if not match:
            raise ConfigError(f"{where}.role: {shown(role)} is not an IAM role ARN")
        if match.group(1) != account.account_id:
            raise ConfigError(f"{where}.role: {shown(role)} is in account {match.group(1)}, not {account.account_id}")
    elif not _ROLE_NAME.match(role):
        raise ConfigError(f"{where}.role: {shown(role)} is not a role name or ARN")


def load_config(path: Path, known_regions: frozenset[str]) -> RunConfig:
    """Read a YAML file and validate it. Raises ConfigError with one line naming the problem."""
    data = read_yaml_file(path)
    try:
        return parse_config(data, known_regions)
    except ConfigError as err:
        raise ConfigError(f"{path}: {err}") from err


def with_accounts_from(config: RunConfig, source: str | None) -> RunConfig:
    """The config with `accounts_from` overridden by a flag (or its environment variable), re-checked."""
    if source is None or source == config.accounts_from:
        return config
    if source not in ("file", "organization"):
        raise ConfigError(f"--accounts-from: {shown(source)} is not one of file, organization")
    changed = replace(config, accounts_from=source)  # type: ignore[arg-type]
    try:
        _check_organization(changed)
    except ConfigError as err:
        raise ConfigError(f"--accounts-from {source}: {err}") from err
    return changed


def with_enrich(config: RunConfig, flag: str | None, source: str = "--enrich") -> RunConfig:
    """The config with `enrich` replaced by a flag's comma-separated list (or its environment variable, named
    by `source`); `none` switches every enrichment off. Raises ConfigError naming the bad name."""
    if flag is None:
        return config
    names = [] if flag.strip() == "none" else [name.strip() for name in flag.split(",")]
    try:
        enrich = TypeAdapter(tuple[Enrichment, ...]).validate_python(tuple(names))
    except ValidationError as err:
        bad = next((name for name in names if name not in _ENRICHMENTS), flag)
        raise ConfigError(f"{source}: {shown(bad)} is not one of {', '.join(_ENRICHMENTS)} (or none)") from err
    _check_enrich(source, enrich)
    return replace(config, enrich=enrich)
