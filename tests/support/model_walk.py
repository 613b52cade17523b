"""Walking botocore's model of an API item member by member, for the model-coverage tests (function columns in
tests/contract/test_model_coverage.py, the estate's tables in test_estate_coverage.py)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping

from botocore.model import Shape

from inventory.contract.columns import leaf_paths


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
