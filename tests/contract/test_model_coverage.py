"""The schema follows AWS's model: every member of botocore's FunctionConfiguration (the items of ListFunctions'
output) is read into a column (FUNCTION_COLUMNS) or deliberately excluded with a reason (EXCLUDED_MEMBERS).

The model is the installed botocore's, so upgrading botocore surfaces a member AWS added as a failure here
instead of a field the inventory silently drops. Structures are walked member by member (`VpcConfig.VpcId`),
lists of structures element field by element field (`Layers[].CodeSize`); a list of scalars is one member, a
map two: its keys and its values (`Environment.Variables.<keys>` is read, `.<values>` excluded: secrets). An
exclusion covers everything under it (`RuntimeVersionConfig`).
"""

from __future__ import annotations

from functools import cache

import botocore.session
import pytest
from botocore.model import Shape
from support.model_walk import mapped_paths, model_leaves, model_members, uncovered

from inventory.contract.columns import EXCLUDED_MEMBERS, FUNCTION_COLUMNS, leaf_paths


@cache
def function_configuration() -> Shape:
    model = botocore.session.get_session().get_service_model("lambda")
    functions = model.operation_model("ListFunctions").output_shape.members["Functions"]
    assert functions.type_name == "list"
    shape: Shape = functions.member
    assert shape.name == "FunctionConfiguration"
    return shape


def test_every_function_configuration_member_is_a_column_or_excluded() -> None:
    missing = uncovered(model_leaves(function_configuration()), mapped_paths(FUNCTION_COLUMNS), EXCLUDED_MEMBERS)
    assert missing == [], (
        f"botocore's FunctionConfiguration has members the inventory neither reads nor excludes: {missing}. "
        "Add a typed column to FUNCTION_COLUMNS (and docs/schema.md, the Glue table, the diff if meaningful) "
        "or list the member in EXCLUDED_MEMBERS with the reason."
    )


def test_every_mapped_or_excluded_path_is_in_the_model() -> None:
    """No typo, and no column for a member the model dropped: each path names a real member."""
    members = set(model_members(function_configuration()))
    assert sorted(mapped_paths(FUNCTION_COLUMNS) - members) == []
    assert sorted(set(EXCLUDED_MEMBERS) - members) == []
    assert all(reason.strip() for reason in EXCLUDED_MEMBERS.values())


def test_no_member_is_both_mapped_and_excluded() -> None:
    mapped = mapped_paths(FUNCTION_COLUMNS)
    assert [key for key in EXCLUDED_MEMBERS if key in mapped] == []


@pytest.mark.parametrize(
    "dropped",
    [
        "memory_size",
        "layers",
        "image_working_directory",
        "capacity_provider_memory_gib_per_vcpu",
        "tenant_isolation_mode",
    ],
)
def test_the_check_fails_when_a_member_is_removed_from_the_mapping(dropped: str) -> None:
    columns = [column for column in FUNCTION_COLUMNS if column[0] != dropped]
    assert len(columns) == len(FUNCTION_COLUMNS) - 1
    (removed,) = (path for name, _, path in FUNCTION_COLUMNS if name == dropped)
    missing = uncovered(model_leaves(function_configuration()), mapped_paths(columns), EXCLUDED_MEMBERS)
    expected = set(leaf_paths(removed))
    if dropped == "layers":  # layer_arns still reads Layers[].Arn
        expected.discard("Layers[].Arn")
    assert set(missing) == expected and missing


def test_the_check_fails_when_an_exclusion_is_removed() -> None:
    excluded = {key: reason for key, reason in EXCLUDED_MEMBERS.items() if key != "RuntimeVersionConfig"}
    missing = uncovered(model_leaves(function_configuration()), mapped_paths(FUNCTION_COLUMNS), excluded)
    assert missing and all(path.startswith("RuntimeVersionConfig.") for path in missing)


def test_the_check_fails_for_a_member_the_model_gains() -> None:
    """What a botocore upgrade adding a member looks like."""
    leaves = [*model_leaves(function_configuration()), "SomeNewBlock.Setting"]
    assert uncovered(leaves, mapped_paths(FUNCTION_COLUMNS), EXCLUDED_MEMBERS) == ["SomeNewBlock.Setting"]
