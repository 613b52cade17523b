"""The Lambda estate around a region's functions: what the seeder is asked to create (EstateSpec, per member
and region) and what a correct read of it then returns (RegionEstate, in Seeded.estate: the seeded truth).

A spec names everything in its own account and region, so the same spec seeds any account id: a queue or a
stream as "sqs:<name>" / "kinesis:<name>", a function by name, a layer version as "<layer>" (its latest) or
"<layer>:<version>", a code signing config by its description. The truth is in the API's terms, ARNs
resolved: what ListEventSourceMappings, ListLayers / ListLayerVersions / GetLayerVersionPolicy,
ListCodeSigningConfigs / ListFunctionsByCodeSigningConfig and, per function, ListAliases, GetPolicy with an
alias Qualifier, ListFunctionEventInvokeConfigs and ListProvisionedConcurrencyConfigs answer (and
GetFunctionCodeSigningConfig, which the job no longer asks).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from inventory.demo.seed_extras import Grant


@dataclass(frozen=True)
class LayerShare:
    """AddLayerVersionPermission for lambda:GetLayerVersion to Principal "*": anyone, or with
    `organization_id`, only that organization's accounts."""

    version: int
    sid: str
    organization_id: str | None = None


@dataclass(frozen=True)
class LayerSpec:
    """A layer published `versions` times (versions 1 to `versions`) in its account and region."""

    name: str
    versions: int = 1
    runtimes: tuple[str, ...] = ()
    shares: tuple[LayerShare, ...] = ()


@dataclass(frozen=True)
class MappingSpec:
    """An event source mapping from a queue or stream of the same account and region to a function. Streams
    take a starting position, retries and an on-failure destination; SQS queues do not (as in real Lambda)."""

    function: str
    source: str  # "sqs:<queue>" or "kinesis:<stream>"
    batch_size: int
    batching_window: int | None = None  # MaximumBatchingWindowInSeconds
    filter_patterns: tuple[str, ...] = ()  # FilterCriteria patterns, JSON text
    starting_position: str | None = None
    retry_attempts: int | None = None
    on_failure: str | None = None  # "sqs:<queue>"


@dataclass(frozen=True)
class SigningSpec:
    """A code signing config: `description` names it; signing profile versions as "<profile>/<version>"."""

    description: str
    profiles: tuple[str, ...]
    untrusted: str = "Warn"  # UntrustedArtifactOnDeployment: Warn or Enforce


@dataclass(frozen=True)
class AliasSpec:
    """An alias to a published version (or $LATEST), with the share of invocations other versions get, its
    own resource policy (AddPermission with the alias as Qualifier) and provisioned concurrency."""

    name: str
    version: str
    weights: Mapping[str, float] = field(default_factory=dict)
    grants: tuple[Grant, ...] = ()
    provisioned: int | None = None


@dataclass(frozen=True)
class InvokeSpec:
    """An event invoke config (asynchronous invocation) of $LATEST (qualifier "") or an alias."""

    qualifier: str = ""
    retry_attempts: int | None = None
    max_event_age: int | None = None
    on_success: str | None = None  # "sqs:<queue>"
    on_failure: str | None = None


@dataclass(frozen=True)
class FunctionEstateSpec:
    """One function's estate: `versions` published (1 to `versions`), aliases, event invoke configs and the
    code signing config it uses (by description)."""

    versions: int = 0
    aliases: tuple[AliasSpec, ...] = ()
    invoke: tuple[InvokeSpec, ...] = ()
    signing: str | None = None


@dataclass(frozen=True)
class EstateSpec:
    """What one region holds around its functions; queues and streams named anywhere in it are created."""

    layers: tuple[LayerSpec, ...] = ()
    mappings: tuple[MappingSpec, ...] = ()
    signing: tuple[SigningSpec, ...] = ()
    functions: Mapping[str, FunctionEstateSpec] = field(default_factory=dict)  # function name -> its estate


NO_ESTATE = EstateSpec()
NO_FUNCTION_ESTATE = FunctionEstateSpec()


@dataclass(frozen=True)
class SeededMapping:
    """An event source mapping as ListEventSourceMappings shows it."""

    uuid: str
    function_arn: str
    event_source_arn: str
    batch_size: int
    batching_window: int | None = None
    filter_patterns: tuple[str, ...] = ()
    starting_position: str | None = None
    retry_attempts: int | None = None
    on_failure: str | None = None


@dataclass(frozen=True)
class SeededSigning:
    """A code signing config as ListCodeSigningConfigs shows it (its ARN is the key it is kept under)."""

    description: str
    profile_arns: tuple[str, ...]
    untrusted: str


@dataclass(frozen=True)
class SeededAlias:
    version: str
    weights: Mapping[str, float] = field(default_factory=dict)  # RoutingConfig.AdditionalVersionWeights


@dataclass(frozen=True)
class SeededInvoke:
    retry_attempts: int | None = None
    max_event_age: int | None = None
    on_success: str | None = None  # destination ARN
    on_failure: str | None = None


@dataclass(frozen=True)
class FunctionEstate:
    """What the per-function reads return for one function ({} / (): nothing, "": no code signing config)."""

    layers: tuple[str, ...] = ()  # layer version ARNs in its configuration, in order
    aliases: Mapping[str, SeededAlias] = field(default_factory=dict)  # alias name -> ...
    alias_grants: Mapping[str, tuple[Grant, ...]] = field(default_factory=dict)  # alias name -> its own policy
    invoke_configs: Mapping[str, SeededInvoke] = field(default_factory=dict)  # qualified function ARN -> ...
    provisioned: Mapping[str, int] = field(default_factory=dict)  # qualified function ARN -> executions
    code_signing_config_arn: str = ""


@dataclass(frozen=True)
class RegionEstate:
    """What the per-account-region reads return, and each function's estate (every function of the region)."""

    mappings: tuple[SeededMapping, ...] = ()
    layers: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # layer name -> version ARNs, oldest first
    layer_shares: Mapping[str, tuple[LayerShare, ...]] = field(default_factory=dict)  # layer version ARN -> shares
    code_signing_configs: Mapping[str, SeededSigning] = field(default_factory=dict)  # ARN -> ...
    functions: Mapping[str, FunctionEstate] = field(default_factory=dict)  # function ARN -> ...


def resource_arn(reference: str, account: str, region: str) -> str:
    """The ARN of a queue ("sqs:<name>") or a stream ("kinesis:<name>") of the account and region."""
    kind, _, name = reference.partition(":")
    if kind == "sqs":
        return f"arn:aws:sqs:{region}:{account}:{name}"
    if kind == "kinesis":
        return f"arn:aws:kinesis:{region}:{account}:stream/{name}"
    raise ValueError(f"not a queue or stream reference: {reference!r}")


def references(spec: EstateSpec) -> frozenset[str]:
    """Every queue and stream the region's estate names (the seeder creates them first)."""
    named = {m.source for m in spec.mappings} | {m.on_failure for m in spec.mappings if m.on_failure}
    for function in spec.functions.values():
        named |= {d for i in function.invoke for d in (i.on_success, i.on_failure) if d}
    return frozenset(named)


def check_estate(
    region: str,
    spec: EstateSpec,
    functions: frozenset[str],
    url_aliases: Mapping[str, set[str]],
    layer_references: Iterable[str],
) -> None:
    """Everything a region's estate names exists in it, before anything is created (`functions`: its
    function names; `url_aliases`: the aliases its URL extras create, per function, which the estate must not
    create again; `layer_references`: the layer versions its functions name)."""
    problems = [f"mapping to {m.function}" for m in spec.mappings if m.function not in functions]
    problems += [f"estate of {name}" for name in spec.functions if name not in functions]
    signing = {s.description for s in spec.signing}
    for name, function in spec.functions.items():
        problems += _function_problems(name, function, signing, url_aliases.get(name, set()))
    versions = {layer.name: layer.versions for layer in spec.layers}
    for reference in layer_references:
        name, _, version = reference.partition(":")
        if version and not (version.isdigit() and 1 <= int(version) <= versions.get(name, 1)):
            problems.append(f"layer version {reference}")
    problems += [
        f"share of {layer.name}:{s.version}"
        for layer in spec.layers
        for s in layer.shares
        if s.version > layer.versions
    ]
    if problems:
        raise ValueError(f"{region}: the estate names what it does not seed: {problems}")


def _function_problems(name: str, function: FunctionEstateSpec, signing: set[str], url_aliases: set[str]) -> list[str]:
    aliases = {a.name for a in function.aliases}
    problems = [
        f"{name}: alias {a.name} to version {a.version}" for a in function.aliases if not _published(a, function)
    ]
    problems += [f"{name}: alias {a} also made for a URL" for a in sorted(aliases & url_aliases)]
    problems += [
        f"{name}: invoke config of {i.qualifier}" for i in function.invoke if i.qualifier not in {"", *aliases}
    ]
    if function.signing is not None and function.signing not in signing:
        problems.append(f"{name}: code signing config {function.signing}")
    return problems


def _published(alias: AliasSpec, function: FunctionEstateSpec) -> bool:
    versions = {alias.version, *alias.weights}
    return all(v == "$LATEST" or (v.isdigit() and 1 <= int(v) <= function.versions) for v in versions)
