"""Lambda's reads of one function, one request each, checked as aws/estate_calls.py checks the account-region's
lists (its Listing and list_page): the items of a page are the JSON objects AWS sent, each an object carrying
its identifying member as text; anything else is `InvalidResponse`.

A 404 ResourceNotFoundException is raised as ClientError: for these calls it means the function does not exist
(deleted since the listing), which job/enrichments.py's `is_gone` reads. A function's resource policy, and an
alias's (`Qualifier`), is aws/enrichment_calls.py's `policy_text`.

| call | GET | list member: identified by |
|---|---|---|
| ListAliases | /2015-03-31/functions/<name>/aliases | Aliases: Name |
| ListFunctionEventInvokeConfigs | /2019-09-25/functions/<name>/event-invoke-config/list | (1) |
| ListProvisionedConcurrencyConfigs | /2019-09-30/functions/<name>/provisioned-concurrency?List=ALL | (2) |

(1) FunctionEventInvokeConfigs: FunctionArn; (2) ProvisionedConcurrencyConfigs: FunctionArn (each a version's or
an alias's qualified ARN).

Which code signing config a function uses is not read here, one call per function (GetFunctionCodeSigningConfig),
but per config, from aws/estate_calls.py's ListFunctionsByCodeSigningConfig.
"""

from __future__ import annotations

from inventory.aws.enrichment_calls import Paged, Scope
from inventory.aws.estate_calls import Listing, list_page

ALIAS_PAGE_SIZE = 50  # asked: the model allows up to 10,000 but documents no per-page cap
EVENT_INVOKE_CONFIG_PAGE_SIZE = 50  # the most MaxItems ListFunctionEventInvokeConfigs takes
PROVISIONED_CONCURRENCY_PAGE_SIZE = 50  # the most MaxItems ListProvisionedConcurrencyConfigs takes

ALIASES = Listing("ListAliases", "/2015-03-31/functions/{FunctionName}/aliases", "Aliases", "Name", ALIAS_PAGE_SIZE)
EVENT_INVOKE_CONFIGS = Listing(
    "ListFunctionEventInvokeConfigs",
    "/2019-09-25/functions/{FunctionName}/event-invoke-config/list",
    "FunctionEventInvokeConfigs",
    "FunctionArn",
    EVENT_INVOKE_CONFIG_PAGE_SIZE,
)
PROVISIONED_CONCURRENCY_CONFIGS = Listing(
    "ListProvisionedConcurrencyConfigs",
    "/2019-09-30/functions/{FunctionName}/provisioned-concurrency?List=ALL",
    "ProvisionedConcurrencyConfigs",
    "FunctionArn",
    PROVISIONED_CONCURRENCY_PAGE_SIZE,
)


async def aliases_page(scope: Scope, marker: str | None, *, name: str) -> Paged:
    """One ListAliases page of the function `name` (all its versions' aliases)."""
    return await list_page(scope, ALIASES, marker, {"FunctionName": name})


async def event_invoke_configs_page(scope: Scope, marker: str | None, *, name: str) -> Paged:
    """One ListFunctionEventInvokeConfigs page of the function `name` (one config per version or alias)."""
    return await list_page(scope, EVENT_INVOKE_CONFIGS, marker, {"FunctionName": name})


async def provisioned_concurrency_configs_page(scope: Scope, marker: str | None, *, name: str) -> Paged:
    """One ListProvisionedConcurrencyConfigs page of the function `name` (one config per version or alias)."""
    return await list_page(scope, PROVISIONED_CONCURRENCY_CONFIGS, marker, {"FunctionName": name})
