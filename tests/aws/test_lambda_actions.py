"""lambda_actions.py follows AWS's model: every operation of the installed botocore's `lambda` model that names a
function (a FunctionName member, or the Resource / ResourceArn of the tagging and resource-policy operations)
is an action in FUNCTION_ACTIONS (under its own name, or OPERATION_ACTIONS') or excluded with a reason in
NOT_FUNCTION_ACTIONS, so that a botocore upgrade that adds one fails here instead of going unexpanded."""

from __future__ import annotations

import botocore.session

from inventory.aws.lambda_actions import (
    FUNCTION,
    FUNCTION_ACTIONS,
    INVOKE_FUNCTION_URL,
    NOT_FUNCTION_ACTIONS,
    OPERATION_ACTIONS,
)

NAMING_A_FUNCTION = frozenset({"FunctionName", "Resource", "ResourceArn"})
RESOURCE_ONLY = frozenset({"Resource", "ResourceArn"})  # ARNs of functions and of other Lambda resources alike


def _operations() -> dict[str, frozenset[str]]:
    model = botocore.session.get_session().get_service_model("lambda")
    found = {}
    for name in model.operation_names:
        shape = model.operation_model(name).input_shape
        found[name] = frozenset(shape.members) if shape is not None else frozenset()
    return found


def test_every_operation_naming_a_function_is_an_action_or_excluded() -> None:
    missing = [
        name
        for name, members in sorted(_operations().items())
        if members & NAMING_A_FUNCTION
        and name not in NOT_FUNCTION_ACTIONS
        and OPERATION_ACTIONS.get(name, f"lambda:{name}") not in FUNCTION_ACTIONS
    ]
    assert not missing, f"add to FUNCTION_ACTIONS or NOT_FUNCTION_ACTIONS (with the reason): {missing}"


def test_every_action_is_an_operation_naming_a_function() -> None:
    operations = _operations()
    named = {OPERATION_ACTIONS.get(name, f"lambda:{name}") for name, members in operations.items() if members}
    assert set(FUNCTION_ACTIONS) - named == {INVOKE_FUNCTION_URL}  # a function URL's invoke has no operation
    for action in FUNCTION_ACTIONS:
        name = action.removeprefix("lambda:")
        if name in operations:
            assert operations[name] & NAMING_A_FUNCTION, action
    assert set(NOT_FUNCTION_ACTIONS) <= set(operations)
    assert all(operations[name] & NAMING_A_FUNCTION - RESOURCE_ONLY for name in NOT_FUNCTION_ACTIONS)


def test_the_function_kind() -> None:
    assert list(FUNCTION_ACTIONS) == sorted(set(FUNCTION_ACTIONS)) and len(FUNCTION_ACTIONS) == 51
    assert FUNCTION.actions == FUNCTION_ACTIONS
    assert FUNCTION.invoke == {"lambda:InvokeFunction", "lambda:InvokeFunctionUrl", "lambda:InvokeAsync"}
    assert FUNCTION.invoke <= set(FUNCTION_ACTIONS)
