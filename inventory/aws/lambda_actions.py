"""The IAM actions a Lambda resource-based policy can grant, per kind of resource (ResourceKind), for the policy
evaluator (policy.py): a wildcard (`lambda:*`, `lambda:Get*`, `*`) or a NotAction is expanded against these.

FUNCTION_ACTIONS are the actions that act on a function, and so on its versions and aliases: one per API
operation of botocore's `lambda` model that names a function (a `FunctionName` member, or the `Resource` /
`ResourceArn` of the tagging and resource-policy operations), spelled as IAM spells it (the Service
Authorization Reference's "Actions defined by AWS Lambda"), plus `lambda:InvokeFunctionUrl`, which has no API
operation of its own. OPERATION_ACTIONS says which operations IAM authorises under another action's name, and
NOT_FUNCTION_ACTIONS which operations name a function without acting on one, and why.
tests/aws/test_lambda_actions.py walks the installed botocore model and fails on an operation that is in
neither, so a botocore upgrade that adds one surfaces here instead of as a grant the evaluator cannot expand.
"""

from __future__ import annotations

from dataclasses import dataclass

INVOKE_FUNCTION = "lambda:InvokeFunction"
INVOKE_FUNCTION_URL = "lambda:InvokeFunctionUrl"
INVOKE_ASYNC = "lambda:InvokeAsync"  # the deprecated asynchronous API, which still runs the function
GET_LAYER_VERSION = "lambda:GetLayerVersion"

# Operations IAM authorises under another action (the Service Authorization Reference).
OPERATION_ACTIONS = {
    "Invoke": INVOKE_FUNCTION,
    "InvokeWithResponseStream": INVOKE_FUNCTION,
}
# Operations with a FunctionName member whose action does not act on an existing function's resource.
NOT_FUNCTION_ACTIONS = {
    "CreateFunction": "creates the function: no policy exists yet to grant it",
    "CreateEventSourceMapping": "acts on an event source mapping (lambda:FunctionArn is only its condition key)",
    "ListEventSourceMappings": "lists event source mappings: resource `*`",
    "UpdateEventSourceMapping": "acts on an event source mapping (FunctionName is what it is pointed to)",
}

FUNCTION_ACTIONS: tuple[str, ...] = tuple(
    sorted(
        f"lambda:{name}"
        for name in (
            "AddPermission",
            "CreateAlias",
            "CreateFunctionUrlConfig",
            "DeleteAlias",
            "DeleteFunction",
            "DeleteFunctionCodeSigningConfig",
            "DeleteFunctionConcurrency",
            "DeleteFunctionEventInvokeConfig",
            "DeleteFunctionUrlConfig",
            "DeleteProvisionedConcurrencyConfig",
            "DeleteResourcePolicy",
            "GetAlias",
            "GetFunction",
            "GetFunctionCodeSigningConfig",
            "GetFunctionConcurrency",
            "GetFunctionConfiguration",
            "GetFunctionEventInvokeConfig",
            "GetFunctionRecursionConfig",
            "GetFunctionScalingConfig",
            "GetFunctionUrlConfig",
            "GetPolicy",
            "GetProvisionedConcurrencyConfig",
            "GetResourcePolicy",
            "GetRuntimeManagementConfig",
            "InvokeAsync",
            "InvokeFunction",
            "InvokeFunctionUrl",
            "ListAliases",
            "ListDurableExecutionsByFunction",
            "ListFunctionEventInvokeConfigs",
            "ListFunctionUrlConfigs",
            "ListProvisionedConcurrencyConfigs",
            "ListTags",
            "ListVersionsByFunction",
            "PublishVersion",
            "PutFunctionCodeSigningConfig",
            "PutFunctionConcurrency",
            "PutFunctionEventInvokeConfig",
            "PutFunctionRecursionConfig",
            "PutFunctionScalingConfig",
            "PutProvisionedConcurrencyConfig",
            "PutResourcePolicy",
            "PutRuntimeManagementConfig",
            "RemovePermission",
            "TagResource",
            "UntagResource",
            "UpdateAlias",
            "UpdateFunctionCode",
            "UpdateFunctionConfiguration",
            "UpdateFunctionEventInvokeConfig",
            "UpdateFunctionUrlConfig",
        )
    )
)


@dataclass(frozen=True)
class ResourceKind:
    """What a resource-based policy of one kind of Lambda resource can grant: `actions` (sorted), and the subset
    that counts as using it (`invoke`: a verdict's public_invoke and principals are about these)."""

    name: str
    actions: tuple[str, ...]
    invoke: frozenset[str]


# A function's policy, or one of its aliases' or versions' (GetPolicy with a Qualifier): the same actions.
FUNCTION = ResourceKind("function", FUNCTION_ACTIONS, frozenset({INVOKE_FUNCTION, INVOKE_FUNCTION_URL, INVOKE_ASYNC}))
# A layer version's policy (GetLayerVersionPolicy): AddLayerVersionPermission grants only GetLayerVersion.
LAYER_VERSION = ResourceKind("layer version", (GET_LAYER_VERSION,), frozenset({GET_LAYER_VERSION}))
