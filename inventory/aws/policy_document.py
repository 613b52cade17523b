"""One resource-based policy document read into frozen statements, for policy.py to judge: its Effect, its
actions (Action or NotAction, as patterns), its principals (Principal or NotPrincipal) and its conditions.

Only shapes IAM itself refuses are refused (PolicyUnreadable, a one-line message that never echoes more than
~60 characters of the document): IAM accepts a JSON number or boolean wherever a condition takes a value (its
policy grammar: `<condition_value> = ("string" | "number" | "Boolean")`), and an account id written as a
number, so those are read as the text they stand for.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from typing import Any

from inventory.aws.lambda_actions import ResourceKind
from inventory.errors import shown

# Condition keys that can confine who a statement applies to, by the shape of their values (lower case: IAM keys
# are case-insensitive). `lambda:FunctionUrlAuthType` is deliberately absent: AWS_IAM authenticates the caller
# but, with principal `*`, lets any AWS account's principals in (docs/policy-evaluation.md).
LIMITING_KEYS = {
    "aws:sourceaccount": "id",
    "aws:sourceowner": "id",
    "aws:principalaccount": "id",
    "aws:principalorgid": "id",
    "aws:sourceorgid": "id",
    "aws:principalorgpaths": "path",
    "aws:sourceorgpaths": "path",
    "aws:sourcearn": "arn",
    "aws:principalarn": "arn",
}
WILDCARDS = frozenset("*?")


class PolicyUnreadable(ValueError):
    """The policy text is not JSON, or not shaped like an IAM policy. The message is one line."""


@dataclass(frozen=True)
class Actions:
    """A statement's Action (or, `negated`, NotAction) patterns, matched as IAM does: case-insensitively, with
    `*` (any run of characters) and `?` (one character)."""

    patterns: tuple[str, ...]
    negated: bool

    def covers(self, action: str) -> bool:
        return any(_action_pattern(pattern).fullmatch(action.lower()) for pattern in self.patterns) != self.negated

    def granted(self, kind: ResourceKind) -> frozenset[str]:
        """The actions of `kind` these cover, and (Action only) any other `lambda:` action named literally, as
        written: an action the list does not know yet still counts."""
        known = {action for action in kind.actions if self.covers(action)}
        if not self.negated:
            lower = {action.lower() for action in kind.actions}
            known.update(p for p in self.patterns if _literal_lambda(p) and p.lower() not in lower)
        return frozenset(known)


@dataclass(frozen=True)
class Clause:
    """One condition: an operator on one key. `kind` is the key's LIMITING_KEYS kind (None for any other key,
    whose values are not read); `values` are then its values as text."""

    operator: str  # lower case
    kind: str | None
    values: tuple[str, ...] = ()


@dataclass(frozen=True)
class Statement:
    allow: bool  # Effect Allow; else Deny
    actions: Actions
    principals: tuple[str, ...]  # the values named; an Allow's NotPrincipal is ("*",): everyone else
    wildcard: bool  # a principal value with a wildcard: `*` under any key, or a partial one (read as the widest)
    negated: bool  # NotPrincipal: everyone but the principals listed
    clauses: tuple[Clause, ...]  # all must hold

    @property
    def everyone(self) -> bool:
        """Whether an Allow applies to anyone (a wildcard principal, or everyone but some): read wide."""
        return self.wildcard or self.negated

    @property
    def denies_everyone(self) -> bool:
        """Whether a Deny applies to every principal but named ones: a whole `*` principal, or a NotPrincipal
        that lists no wildcard. Read narrow (a partial wildcard, which IAM refuses, is not everyone here), so
        that a Deny never takes more from the verdict than it provably does."""
        return not self.wildcard if self.negated else "*" in self.principals


def statements(text: str) -> list[Statement]:
    """The document's statements, in order; PolicyUnreadable when it is not a policy."""
    return [_statement(raw, f"Statement {index}") for index, raw in enumerate(_raw_statements(_parse(text)), 1)]


def _parse(text: str) -> Any:
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as exc:
        detail = exc.msg if isinstance(exc, json.JSONDecodeError) else type(exc).__name__
        raise PolicyUnreadable(f"policy is not JSON: {detail} ({len(text)} characters)") from None


def _raw_statements(document: Any) -> list[dict[str, Any]]:
    if not isinstance(document, dict):
        raise PolicyUnreadable(f"policy must be a JSON object, got {type(document).__name__}")
    if "Statement" not in document:
        raise PolicyUnreadable("policy has no Statement")
    found = document["Statement"]
    raw = found if isinstance(found, list) else [found]  # IAM accepts a single statement object
    for index, statement in enumerate(raw, start=1):
        if not isinstance(statement, dict):
            raise PolicyUnreadable(f"policy Statement {index} must be an object, got {type(statement).__name__}")
    return raw


def _statement(raw: dict[str, Any], where: str) -> Statement:
    effect = raw.get("Effect")
    if effect not in ("Allow", "Deny"):
        raise PolicyUnreadable(f"policy {where}: Effect must be 'Allow' or 'Deny', got {shown(effect)}")
    action = _one_of(raw, ("Action", "NotAction"), where)
    actions = Actions(_strings(raw[action], f"{where} {action}"), action == "NotAction")
    name = _one_of(raw, ("Principal", "NotPrincipal"), where)
    named = _principals(raw[name], f"{where} {name}")
    wildcard = any(WILDCARDS & set(value) for value in named)
    negated = name == "NotPrincipal"
    principals = ("*",) if negated and effect == "Allow" else named
    return Statement(effect == "Allow", actions, principals, wildcard, negated, _clauses(raw.get("Condition"), where))


def _one_of(statement: dict[str, Any], names: tuple[str, str], where: str) -> str:
    """Which of two exclusive elements (Action/NotAction, Principal/NotPrincipal) the statement has."""
    present = [name for name in names if name in statement]
    if len(present) != 1:
        raise PolicyUnreadable(f"policy {where} needs exactly one of {names[0]} and {names[1]}")
    return present[0]


def _strings(value: Any, where: str) -> tuple[str, ...]:
    """A policy element that is a string or a list of strings, as a tuple."""
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return tuple(value)
    raise PolicyUnreadable(f"policy {where} must be a string or a list of strings, got {shown(value)}")


def _principals(value: Any, where: str) -> tuple[str, ...]:
    """The principal values named: `*`, or every value under every key of the object (an account id may be a
    JSON number)."""
    if value == "*":
        return ("*",)
    if not isinstance(value, dict) or not value:
        raise PolicyUnreadable(f"policy {where} must be '*' or a non-empty object, got {shown(value)}")
    found: list[str] = []
    for kind, items in value.items():
        listed = items if isinstance(items, list) else [items]
        if not all(isinstance(item, str) or _is_integer(item) for item in listed):
            raise PolicyUnreadable(f"policy {where}.{kind} must be a string or a list of strings, got {shown(items)}")
        found.extend(item if isinstance(item, str) else str(item) for item in listed)
    return tuple(found)


def _clauses(condition: Any, where: str) -> tuple[Clause, ...]:
    if condition is None:
        return ()
    if not isinstance(condition, dict) or not all(isinstance(keys, dict) for keys in condition.values()):
        raise PolicyUnreadable(f"policy {where} Condition must map operators to objects of keys")
    found = []
    for operator, keys in condition.items():
        for key, values in keys.items():
            kind = LIMITING_KEYS.get(str(key).lower())
            read = _condition_values(values, f"{where} Condition {operator}.{key}") if kind else ()
            found.append(Clause(str(operator).lower(), kind, read))
    return tuple(found)


def _condition_values(value: Any, where: str) -> tuple[str, ...]:
    """A condition's values as text: a string, number or boolean, or a list of them (IAM's grammar). A number or a
    boolean is read as its JSON spelling: 123456789012, true."""
    listed = value if isinstance(value, list) else [value]
    if not all(isinstance(item, str | int | float) for item in listed):  # bool is an int
        raise PolicyUnreadable(f"policy {where} must be strings, numbers or booleans, got {shown(value)}")
    return tuple(item if isinstance(item, str) else json.dumps(item) for item in listed)


def _is_integer(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _literal_lambda(pattern: str) -> bool:
    return pattern.lower().startswith("lambda:") and not WILDCARDS & set(pattern)


@cache
def _action_pattern(action: str) -> re.Pattern[str]:
    parts = (".*" if char == "*" else "." if char == "?" else re.escape(char) for char in action.lower())
    return re.compile("".join(parts), re.DOTALL)
