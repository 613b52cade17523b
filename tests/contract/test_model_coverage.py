"""The schema follows AWS's model: every member of botocore's FunctionConfiguration (the items of ListFunctions'
output) is read into a column (FUNCTION_COLUMNS) or deliberately excluded with a reason (EXCLUDED_MEMBERS).

The model is the installed botocore's, so upgrading botocore surfaces a member AWS added as a failure here
instead of a field the inventory silently drops. Structures are walked member by member (`VpcConfig.VpcId`),
lists of structures element field by element field (`Layers[].CodeSize`); a list of scalars is one member, a
map two: its keys and its values (`Environment.Variables.<keys>` is read, `.<values>` excluded: secrets). An
exclusion covers everything under it (`RuntimeVersionConfig`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from functools import cache

import botocore.session
import pytest
from botocore.model import Shape

from inventory.contract.columns import EXCLUDED_MEMBERS, FUNCTION_COLUMNS, leaf_paths


@cache
def function_configuration() -> Shape:
    model = botocore.session.get_session().get_service_model("lambda")
    functions = model.operation_model("ListFunctions").output_shape.members["Functions"]
    assert functions.type_name == "list"
    shape: Shape = functions.member
    assert shape.name == "FunctionConfiguration"
    return shape


def model_members(shape: Shape, prefix: str = "") -> Iterator[str]:
    """Every member path under `shape`, interior ones included (so an exclusion may name a structure)."""
    for name, member in shape.members.items():  # type: ignore[attr-defined]
        path = f"{prefix}{name}"
        yield path
        if member.type_name == "structure":
            yield from model_members(member, f"{path}.")
        elif member.type_name == "list" and member.member.type_name == "structure":
            yield from model_members(member.member, f"{path}[].")
        elif member.type_name == "map":
            yield from (f"{path}.<keys>", f"{path}.<values>")


def model_leaves(shape: Shape) -> list[str]:
    paths = list(model_members(shape))
    return [p for p in paths if not any(other.startswith((f"{p}.", f"{p}[].")) for other in paths)]


def mapped_paths(columns: Iterable[tuple[str, object, str]]) -> set[str]:
    return {leaf for _, _, path in columns for leaf in leaf_paths(path)}


def uncovered(leaves: Iterable[str], mapped: set[str], excluded: Mapping[str, str]) -> list[str]:
    """Model members neither read into a column nor under an excluded member."""

    def is_excluded(path: str) -> bool:
        return any(path == key or path.startswith((f"{key}.", f"{key}[].")) for key in excluded)

    return [leaf for leaf in leaves if leaf not in mapped and not is_excluded(leaf)]


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
