"""Seed the estate around a region's functions (estate.EstateSpec) through the emulator's APIs, as a member
account would create it, and say what a correct read of it returns (estate.RegionEstate).

Two steps, around the functions' creation (seed.py): `publish_layers` first (functions name layer
versions), `seed_estate` after (the rest names functions): the queues and streams the estate names, code
signing configs, each function's published versions, aliases (with their own policies and provisioned
concurrency), event invoke configs and code signing config, and last the event source mappings.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import boto3

from inventory.demo.estate import (
    NO_FUNCTION_ESTATE,
    EstateSpec,
    FunctionEstate,
    FunctionEstateSpec,
    InvokeSpec,
    LayerShare,
    LayerSpec,
    MappingSpec,
    RegionEstate,
    SeededAlias,
    SeededInvoke,
    SeededMapping,
    SeededSigning,
    SigningSpec,
    references,
    resource_arn,
)


def region_layers(spec: EstateSpec, used: Iterable[str]) -> tuple[LayerSpec, ...]:
    """The region's declared layers, then one version of each other layer its functions name."""
    declared = {layer.name for layer in spec.layers}
    named = dict.fromkeys(reference.partition(":")[0] for reference in used)  # in first use order
    return spec.layers + tuple(LayerSpec(name) for name in named if name not in declared)


def publish_layers(client: Any, layers: tuple[LayerSpec, ...], code: bytes) -> dict[str, tuple[str, ...]]:
    """Publish every version of every layer, and share the versions the specs share -> name -> version ARNs."""
    published: dict[str, tuple[str, ...]] = {}
    for layer in layers:
        arns = []
        for _ in range(layer.versions):
            args: dict[str, Any] = {"LayerName": layer.name, "Content": {"ZipFile": code}}
            if layer.runtimes:
                args["CompatibleRuntimes"] = list(layer.runtimes)
            arns.append(client.publish_layer_version(**args)["LayerVersionArn"])
        published[layer.name] = tuple(arns)
        for share in layer.shares:
            grant = {"OrganizationId": share.organization_id} if share.organization_id else {}
            client.add_layer_version_permission(
                LayerName=layer.name,
                VersionNumber=share.version,
                StatementId=share.sid,
                Action="lambda:GetLayerVersion",
                Principal="*",
                **grant,
            )
    return published


def layer_arn(published: Mapping[str, tuple[str, ...]], reference: str) -> str:
    """The version ARN a function's layer reference ("<layer>": the latest, "<layer>:<version>") names."""
    name, _, version = reference.partition(":")
    return published[name][int(version) - 1 if version else -1]


@dataclass(frozen=True)
class Region:
    """Where the estate is seeded, and the member's clients there."""

    session: boto3.Session
    endpoint: str
    account: str
    region: str

    def client(self, service: str) -> Any:
        return self.session.client(service, endpoint_url=self.endpoint, region_name=self.region)

    def arn(self, reference: str | None) -> str | None:
        return None if reference is None else resource_arn(reference, self.account, self.region)


def seed_estate(
    where: Region,
    spec: EstateSpec,
    layers: tuple[LayerSpec, ...],
    published: Mapping[str, tuple[str, ...]],
    functions: Mapping[str, tuple[str, tuple[str, ...], frozenset[str]]],
) -> RegionEstate:
    """Everything but the layers, once the functions exist (`functions`: name -> its ARN, its layer version
    ARNs and the aliases its URLs made) -> what a correct read of the region then returns."""
    _create_sources(where, references(spec))
    client = where.client("lambda")
    signing = dict(_create_signing(client, where, s) for s in spec.signing)
    by_description = {seeded.description: arn for arn, seeded in signing.items()}
    estates = {}
    for name, (arn, layer_arns, url_aliases) in functions.items():
        function = spec.functions.get(name, NO_FUNCTION_ESTATE)
        signing_arn = by_description[function.signing] if function.signing else ""
        _seed_function(client, where, name, function, signing_arn)
        estates[arn] = _function_estate(
            where, arn, function, layer_arns=layer_arns, url_aliases=url_aliases, signing_arn=signing_arn
        )
    shares: dict[str, tuple[LayerShare, ...]] = {}
    for layer in layers:
        for share in layer.shares:
            version_arn = published[layer.name][share.version - 1]
            shares[version_arn] = (*shares.get(version_arn, ()), share)
    return RegionEstate(
        mappings=tuple(_create_mapping(client, where, m, functions[m.function][0]) for m in spec.mappings),
        layers=dict(published),
        layer_shares=shares,
        code_signing_configs=signing,
        functions=estates,
    )


def _create_sources(where: Region, named: Iterable[str]) -> None:
    for reference in sorted(named):
        kind, _, name = reference.partition(":")
        if kind == "sqs":
            where.client("sqs").create_queue(QueueName=name)
        else:
            where.client("kinesis").create_stream(StreamName=name, ShardCount=1)


def _create_signing(client: Any, where: Region, spec: SigningSpec) -> tuple[str, SeededSigning]:
    profiles = tuple(f"arn:aws:signer:{where.region}:{where.account}:/signing-profiles/{p}" for p in spec.profiles)
    created = client.create_code_signing_config(
        Description=spec.description,
        AllowedPublishers={"SigningProfileVersionArns": list(profiles)},
        CodeSigningPolicies={"UntrustedArtifactOnDeployment": spec.untrusted},
    )
    return created["CodeSigningConfig"]["CodeSigningConfigArn"], SeededSigning(
        spec.description, profiles, spec.untrusted
    )


def _seed_function(client: Any, where: Region, name: str, spec: FunctionEstateSpec, signing_arn: str) -> None:
    for version in range(1, spec.versions + 1):
        if version > 1:  # Lambda publishes a version only when the function changed since the last one
            client.update_function_configuration(FunctionName=name, Description=f"{name}, release {version}")
        client.publish_version(FunctionName=name)
    for alias in spec.aliases:
        args: dict[str, Any] = {"FunctionName": name, "Name": alias.name, "FunctionVersion": alias.version}
        if alias.weights:
            args["RoutingConfig"] = {"AdditionalVersionWeights": dict(alias.weights)}
        client.create_alias(**args)
        for grant in alias.grants:
            client.add_permission(**grant.permission(name), Qualifier=alias.name)
        if alias.provisioned is not None:
            client.put_provisioned_concurrency_config(
                FunctionName=name, Qualifier=alias.name, ProvisionedConcurrentExecutions=alias.provisioned
            )
    for invoke in spec.invoke:
        client.put_function_event_invoke_config(**_invoke_args(where, name, invoke))
    if signing_arn:
        client.put_function_code_signing_config(FunctionName=name, CodeSigningConfigArn=signing_arn)


def _invoke_args(where: Region, name: str, spec: InvokeSpec) -> dict[str, Any]:
    args: dict[str, Any] = {"FunctionName": name}
    if spec.qualifier:
        args["Qualifier"] = spec.qualifier
    if spec.retry_attempts is not None:
        args["MaximumRetryAttempts"] = spec.retry_attempts
    if spec.max_event_age is not None:
        args["MaximumEventAgeInSeconds"] = spec.max_event_age
    destinations = {"OnSuccess": where.arn(spec.on_success), "OnFailure": where.arn(spec.on_failure)}
    if any(destinations.values()):
        args["DestinationConfig"] = {k: {"Destination": v} for k, v in destinations.items() if v}
    return args


def _function_estate(
    where: Region,
    arn: str,
    spec: FunctionEstateSpec,
    *,
    layer_arns: tuple[str, ...],
    url_aliases: frozenset[str],
    signing_arn: str,
) -> FunctionEstate:
    aliases = {name: SeededAlias("$LATEST") for name in url_aliases}
    aliases.update({a.name: SeededAlias(a.version, dict(a.weights)) for a in spec.aliases})
    invoke = {
        f"{arn}:{i.qualifier or '$LATEST'}": SeededInvoke(
            i.retry_attempts, i.max_event_age, where.arn(i.on_success), where.arn(i.on_failure)
        )
        for i in spec.invoke
    }
    return FunctionEstate(
        layers=layer_arns,
        aliases=aliases,
        alias_grants={a.name: a.grants for a in spec.aliases if a.grants},
        invoke_configs=invoke,
        provisioned={f"{arn}:{a.name}": a.provisioned for a in spec.aliases if a.provisioned is not None},
        code_signing_config_arn=signing_arn,
    )


def _create_mapping(client: Any, where: Region, spec: MappingSpec, function_arn: str) -> SeededMapping:
    source, on_failure = where.arn(spec.source), where.arn(spec.on_failure)
    args: dict[str, Any] = {"FunctionName": spec.function, "EventSourceArn": source, "BatchSize": spec.batch_size}
    if spec.batching_window is not None:
        args["MaximumBatchingWindowInSeconds"] = spec.batching_window
    if spec.filter_patterns:
        args["FilterCriteria"] = {"Filters": [{"Pattern": pattern} for pattern in spec.filter_patterns]}
    if spec.starting_position is not None:
        args["StartingPosition"] = spec.starting_position
    if spec.retry_attempts is not None:
        args["MaximumRetryAttempts"] = spec.retry_attempts
    if on_failure is not None:
        args["DestinationConfig"] = {"OnFailure": {"Destination": on_failure}}
    created = client.create_event_source_mapping(**args)
    return SeededMapping(
        created["UUID"],
        function_arn,
        str(source),
        spec.batch_size,
        spec.batching_window,
        spec.filter_patterns,
        spec.starting_position,
        spec.retry_attempts,
        on_failure,
    )
