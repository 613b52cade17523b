"""What each estate enrichment reads for one listed target (contract/estate.py's tables; job/enrich.py runs them
as it runs the others): its calls, how far their pages may go, and the rows each answer gives.

Account-region lists (event source mappings, layers and their versions, code signing configs) are read even
where the listing found no function: a layer or a code signing config lives without one. Per-function lists
(aliases, event invoke configs, provisioned concurrency) are read for every listed function, a few at a time
(enrichments.py's per_function); a function deleted since the listing is `gone`, as for the other enrichments.
Which code signing config each function uses is read per config (ListFunctionsByCodeSigningConfig), not per
function: `code_signing` has no `gone`.

Not believed: a mapping whose FunctionArn is not a function of this account-region, a code signing config that
names a function of another account or region, or a function named by two configs (InvalidResponse); and a
page sequence longer than the bound (TooManyPages) or that repeats a token (RepeatedMarker).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import replace
from functools import partial
from typing import Any

from inventory.aws import enrichment_calls as enrichment_api
from inventory.aws import estate_calls as region_api
from inventory.aws import function_calls as function_api
from inventory.aws.enrichment_calls import Paged, Scope, invalid
from inventory.aws.lambda_actions import LAYER_VERSION
from inventory.aws.policy import PolicyVerdict, evaluate_policy
from inventory.aws.retry import classify
from inventory.contract.results import EnrichmentOutcome, EstateRow, Status
from inventory.job.enrichments import Read, Reading, function_arn, is_gone, page_bound, paged, per_function

LISTED_BOUND = 100_000  # items one account-region's list may hold before its pages are not believed
PER_FUNCTION_BOUND = 10_000  # items one function's list may hold (aliases, configs per version or alias)
Page = Callable[[Scope, str | None], Awaitable[Paged]]
ALWAYS_READ = frozenset({"event_source_mappings", "layers", "layer_policies", "code_signing"})  # with no function
EARLY = frozenset({"event_source_mappings", "layers", "code_signing"})  # read beside the listing (Reading.listed)
SIGNED_FUNCTIONS = "ListFunctionsByCodeSigningConfig"
CONFIG_NOT_FOUND = frozenset({"ResourceNotFoundException", "CodeSigningConfigNotFoundException"})  # its 404s


async def _all(job: Reading, page: Page, operation: str, size: int, bound: int = LISTED_BOUND) -> list[Any]:
    pages = await paged(job.calls, page, operation, page_bound(bound, size, f"items of one {operation} list"))
    return [item for items in pages for item in items]


async def event_source_mappings(job: Reading) -> Read:
    items = await _all(
        job, region_api.event_source_mappings_page, "ListEventSourceMappings", region_api.EVENT_SOURCE_MAPPING_PAGE_SIZE
    )
    rows = tuple(EstateRow((_function_name(job, item.get("FunctionArn")),), item) for item in items)
    return Read({}, tables={"event_source_mappings": rows})


def _function_name(job: Reading, arn: object) -> str:
    """The function a mapping invokes, from its FunctionArn (an alias's or a version's too)."""
    parts = arn.split(":") if isinstance(arn, str) else []
    target = job.target
    if len(parts) < 7 or parts[2:6] != ["lambda", target.region, target.account.account_id, "function"] or not parts[6]:
        raise invalid(
            "ListEventSourceMappings", f"a mapping whose FunctionArn {str(arn)[-80:]!r} is not a function here"
        )
    return parts[6]


async def layers(job: Reading) -> Read:
    """Each layer and each of its versions (who may use a version is `layer_policies`')."""
    found = await _all(job, region_api.layers_page, "ListLayers", region_api.LAYER_PAGE_SIZE)
    names = sorted({item["LayerName"] for item in found})

    async def versions(layer: str) -> list[EstateRow]:
        page = partial(region_api.layer_versions_page, layer=layer)
        items = await _all(job, page, "ListLayerVersions", region_api.LAYER_VERSION_PAGE_SIZE, PER_FUNCTION_BOUND)
        return [EstateRow((layer,), item) for item in items]

    by_layer, _ = await per_function(names, versions, "ListLayerVersions")  # a layer deleted meanwhile: none
    tables = {
        "layers": tuple(EstateRow((), item) for item in found),
        "layer_versions": tuple(row for name in names for row in by_layer.get(name, [])),
    }
    return Read({}, tables=tables)


async def layer_policies(job: Reading) -> Read:
    """Who may use each layer version `layers` read (GetLayerVersionPolicy, one call per version): its rows
    again, judged. judge_layers puts them in place of the unjudged ones."""
    rows = job.earlier["layers"].tables.get("layer_versions", ())

    async def judged(index: int) -> EstateRow:
        row = rows[index]
        policy = partial(region_api.layer_version_policy, layer=row.keys[0], version=row.item["Version"])
        verdict = evaluate_policy(await job.calls(policy), _account(job), LAYER_VERSION)
        return replace(row, judged=_judged(verdict))

    found, _ = await per_function(range(len(rows)), judged, "GetLayerVersionPolicy")
    return Read({}, tables={"layer_versions": tuple(found[index] for index in range(len(rows)))})


def judge_layers(outcomes: Sequence[EnrichmentOutcome]) -> tuple[EnrichmentOutcome, ...]:
    """The target's outcomes, with `layers`' layer versions replaced by `layer_policies`' judged ones when both
    were read; `layer_policies` itself then holds no table (each table has one outcome's rows)."""
    found = {outcome.name: outcome for outcome in outcomes if outcome.status is Status.OK}
    read, judged = found.get("layers"), found.get("layer_policies")
    if read is None or judged is None:
        return tuple(outcomes)
    tables = {**read.tables, "layer_versions": judged.tables["layer_versions"]}
    swapped = {read.name: replace(read, tables=tables), judged.name: replace(judged, tables={})}
    return tuple(swapped.get(outcome.name, outcome) for outcome in outcomes)


def _account(job: Reading) -> str:
    return job.target.account.account_id


def _judged(verdict: PolicyVerdict, invoke: bool = False) -> dict[str, Any]:
    """A policy's verdict as an estate table's judged columns (estate_columns.py)."""
    if invoke:
        return {
            "public_actions": list(verdict.public_actions),
            "public_invoke": verdict.public_invoke,
            "invoke_principals": list(verdict.principals),
        }
    return {"public_actions": list(verdict.public_actions), "principals": list(verdict.principals)}


async def _per_function(
    job: Reading, table: str, page: Callable[..., Awaitable[Paged]], operation: str, size: int
) -> Read:
    async def read(name: str) -> list[Any]:
        return await _all(job, partial(page, name=name), operation, size, PER_FUNCTION_BOUND)

    found, gone = await per_function(job.functions, read, operation)
    rows = tuple(EstateRow((name,), item) for name in job.functions for item in found.get(name, []))
    return Read({}, gone, tables={table: rows})


async def aliases(job: Reading) -> Read:
    """Each function's aliases, and who may do what to each alias by its own policy (GetPolicy, Qualifier)."""

    async def read(name: str) -> list[EstateRow]:
        page = partial(function_api.aliases_page, name=name)
        items = await _all(job, page, "ListAliases", function_api.ALIAS_PAGE_SIZE, PER_FUNCTION_BOUND)
        rows = []
        for item in items:
            text = await _alias_policy(job, name, item["Name"])
            rows.append(EstateRow((name,), item, _judged(evaluate_policy(text, _account(job)), invoke=True)))
        return rows

    found, gone = await per_function(job.functions, read, "ListAliases")
    return Read({}, gone, tables={"aliases": tuple(row for name in job.functions for row in found.get(name, []))})


async def _alias_policy(job: Reading, name: str, alias: str) -> str | None:
    """The alias's own policy; None when it has none (GetPolicy's 404 that is not "Function not found")."""
    try:
        return await job.calls(lambda scope: enrichment_api.policy_text(scope, name, alias))
    except Exception as err:
        if classify(err).code == "ResourceNotFoundException" and not is_gone(err, "GetPolicy"):
            return None
        raise


async def event_invoke_configs(job: Reading) -> Read:
    page, size = function_api.event_invoke_configs_page, function_api.EVENT_INVOKE_CONFIG_PAGE_SIZE
    return await _per_function(job, "event_invoke_configs", page, "ListFunctionEventInvokeConfigs", size)


async def provisioned_concurrency(job: Reading) -> Read:
    page, size = function_api.provisioned_concurrency_configs_page, function_api.PROVISIONED_CONCURRENCY_PAGE_SIZE
    return await _per_function(job, "provisioned_concurrency", page, "ListProvisionedConcurrencyConfigs", size)


async def code_signing(job: Reading) -> Read:
    """The account-region's code signing configs (ListCodeSigningConfigs), and which one each listed function
    uses: each config's ListFunctionsByCodeSigningConfig names its functions by ARN (a few configs at a time).

    A listed function no config names has none (None). A function not listed (created since the listing) is
    ignored; a function of another account, region or partition, or one named by two configs, is refused
    (InvalidResponse: a function has at most one config, and which would be its?). A config deleted since
    ListCodeSigningConfigs (404) names no function: Lambda deletes only a config no function uses. Without a
    listed function there is nothing to assign: the configs are listed, their functions are not asked."""
    configs = await _all(
        job, region_api.code_signing_configs_page, "ListCodeSigningConfigs", region_api.CODE_SIGNING_CONFIG_PAGE_SIZE
    )
    tables = {"code_signing_configs": tuple(EstateRow((), item) for item in configs)}
    functions = await job.listed()  # read beside the listing: its functions, once it ends
    arns = list(dict.fromkeys(item["CodeSigningConfigArn"] for item in configs)) if functions else []

    async def functions_of(config: str) -> list[str]:
        page = partial(region_api.functions_by_code_signing_config_page, config=config)
        size = region_api.FUNCTIONS_BY_CODE_SIGNING_CONFIG_PAGE_SIZE
        try:
            return await _all(job, page, SIGNED_FUNCTIONS, size)
        except Exception as err:
            if classify(err).code in CONFIG_NOT_FOUND:
                return []  # deleted since it was listed: no function used it then
            raise

    named, _ = await per_function(arns, functions_of, SIGNED_FUNCTIONS)
    listed = set(functions)
    uses: dict[str, str] = {}
    for config in arns:
        for arn in named.get(config, []):
            name = _signed_function(job, arn)
            if name in listed and uses.setdefault(name, config) != config:
                both = f"{uses[name].rsplit(':', 1)[-1]} and {config.rsplit(':', 1)[-1]}"[:80]
                raise invalid(SIGNED_FUNCTIONS, f"the function {name[:64]} named by two code signing configs, {both}")
    return Read({"code_signing_config_arn": {name: uses.get(name) for name in functions}}, tables=tables)


def _signed_function(job: Reading, arn: str) -> str:
    """The function a code signing config's FunctionArns entry names (a qualified ARN's function too), which must
    be one of this account-region's: `arn:<partition>:lambda:<region>:<account>:function:<name>[:<qualifier>]`."""
    here = function_arn(job.target, "")
    parts = arn[len(here) :].split(":") if arn.startswith(here) else []
    if not 1 <= len(parts) <= 2 or not all(parts):
        raise invalid(SIGNED_FUNCTIONS, f"a FunctionArns entry {arn[-80:]!r} that is not a function here")
    return parts[0]


ESTATE_READERS: Mapping[str, Callable[[Reading], Awaitable[Read]]] = {
    "event_source_mappings": event_source_mappings,
    "layers": layers,
    "layer_policies": layer_policies,
    "aliases": aliases,
    "event_invoke_configs": event_invoke_configs,
    "provisioned_concurrency": provisioned_concurrency,
    "code_signing": code_signing,
}
