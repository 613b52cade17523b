"""Who owns a function: the value of one of its tags (`report --owner-tag team`), and the report's groupings.

A function's owner is never silently blank: the tag's value; `(untagged)` when the tags were read and it has
no such tag; `(empty value)` when it has the tag with an empty value; `(tags not read)` when its target's
tags were not read (the `tags` enrichment not asked, or failed: `tags` null, `enriched` without `tags`).
Tag keys are matched exactly, as AWS does (case-sensitive).
"""

from __future__ import annotations

from enum import StrEnum

import pyarrow as pa
import pyarrow.compute as pc

from inventory.errors import ConfigError
from inventory.reports.coverage import Reading, read_mask

TAGS = "tags"  # the enrichment and the column
UNTAGGED = "(untagged)"
EMPTY_VALUE = "(empty value)"
TAGS_NOT_READ = "(tags not read)"
_PLACEHOLDERS = (EMPTY_VALUE, UNTAGGED, TAGS_NOT_READ)  # listed after the owners, in this order


class Grouping(StrEnum):
    """`--group-by`: the table of counts per group that the report shows (and charts)."""

    ACCOUNT = "account"  # per account and region (the default, as before)
    OWNER = "owner"  # per owner (needs an owner tag)
    RUNTIME = "runtime"  # per runtime (the runtime table, with the schedule's dates)


def check_grouping(group_by: Grouping, owner_tag: str | None) -> None:
    """ConfigError (one line, exit 2) when the grouping needs an owner tag it was not given."""
    if group_by is Grouping.OWNER and not owner_tag:
        raise ConfigError("--group-by owner needs --owner-tag KEY (the tag whose value names a function's owner)")


def owner_column(functions: pa.Table, key: str) -> pa.Array:
    """One owner label per row (never null), as the module docstring says."""
    tags = functions.column(TAGS).combine_chunks()
    read = pc.and_(read_mask(functions, TAGS), pc.is_valid(tags))
    value = pc.map_lookup(tags, pa.scalar(key, pa.string()), "first")
    named = pc.if_else(pc.equal(value, ""), EMPTY_VALUE, value)
    labelled = pc.if_else(pc.is_null(value), UNTAGGED, named)
    return pc.if_else(read, labelled, TAGS_NOT_READ)


def owner_order(label: str) -> tuple[int, str]:
    """Owners by name, then the placeholders (empty value, untagged, tags not read)."""
    return (_PLACEHOLDERS.index(label) + 1 if label in _PLACEHOLDERS else 0, label)


def owner_notes(key: str, tags: Reading) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(paragraphs for the owner table, warnings for the top of the report). When the tags were read
    nowhere, that is said once, as a warning, and not repeated under the table."""
    meaning = (
        f"Owner: the function's tag {key!r}; {UNTAGGED}: it has no such tag; {EMPTY_VALUE}: the tag is empty; "
        f"{TAGS_NOT_READ}: the tags of its account and region were not read."
    )
    if not tags.collected:
        warning = f"Owners (tag {key!r}): {tags.line}; every function's owner is {TAGS_NOT_READ}."
        return (meaning,), (warning,)
    rest = "" if tags.complete else f"; the others' functions are {TAGS_NOT_READ}"
    return (meaning, f"{tags.line}{rest}."), ()
