"""Who may invoke a function, read from its resource-based policy (GetPolicy's `Policy` text), for the `policy`
enrichment: `public_invoke` and `invoke_principals`.

A static reading of one document, never a full IAM evaluation: what counts and what is not judged is in
docs/policy-evaluation.md. Where the document leaves room, the verdict leans towards "public".
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from typing import Any

from inventory.errors import shown

# What `invoke` means: a statement covers invocation when its actions match one of these (IAM matches actions
# case-insensitively, with `*` and `?` wildcards). InvokeAsync is the deprecated API, which still invokes.
INVOKE_ACTIONS = ("lambda:invokefunction", "lambda:invokefunctionurl", "lambda:invokeasync")
# Condition keys that limit who can invoke, by the shape of their values (lower case: IAM keys are case-insensitive).
# `lambda:FunctionUrlAuthType` is deliberately absent: AWS_IAM authenticates the caller but, with principal `*`,
# lets any AWS account's principals in (see the docs page).
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
# Operators that grant only when the request's value matches one of the listed ones. The flag: whether `*` and
# `?` in a value are wildcards (the String*Equals operators compare literally). The negated operators
# (StringNotEquals, ...), `...IfExists` (true when the key is absent) and `ForAllValues:` (true when the key is
# absent) never limit.
MATCHING_OPERATORS = {
    "stringequals": False,
    "stringequalsignorecase": False,
    "stringlike": True,
    "arnequals": True,
    "arnlike": True,
}
ACCOUNT_ID = re.compile(r"\d{12}")
_WILDCARDS = frozenset("*?")


class PolicyUnreadable(ValueError):
    """The policy text is not JSON, or not shaped like an IAM policy. The message is one line."""


@dataclass(frozen=True)
class PolicyVerdict:
    public_invoke: bool  # grants invoke to anyone without a limiting condition
    principals: tuple[str, ...]  # sorted, unique principals named by Allow statements that grant invoke


def evaluate_policy(text: str | None, own_account: str) -> PolicyVerdict:
    """The verdict on one function's policy; None (GetPolicy's 404: no policy) is (False, ()).

    `own_account` (the function's account) must be a 12-digit id; the verdict does not depend on it, since only
    `*` principals count as public (docs/policy-evaluation.md)."""
    if not ACCOUNT_ID.fullmatch(own_account):
        raise ValueError(f"own_account must be a 12-digit account id, got {shown(own_account)}")
    if text is None:
        return PolicyVerdict(False, ())
    public = False
    principals: set[str] = set()
    for index, statement in enumerate(_statements(_parse(text)), start=1):
        where = f"Statement {index}"
        effect = statement.get("Effect")
        if effect not in ("Allow", "Deny"):
            raise PolicyUnreadable(f"policy {where}: Effect must be 'Allow' or 'Deny', got {shown(effect)}")
        granted = _covers_invoke(statement, where)
        named = _principals(statement, where)
        limited = _is_limited(statement.get("Condition"), where)
        if effect == "Allow" and granted:
            principals.update(named)
            public = public or (_anyone(named) and not limited)
    return PolicyVerdict(public, tuple(sorted(principals)))


def _parse(text: str) -> Any:
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as exc:
        detail = exc.msg if isinstance(exc, json.JSONDecodeError) else type(exc).__name__
        raise PolicyUnreadable(f"policy is not JSON: {detail} ({len(text)} characters)") from None


def _statements(document: Any) -> list[dict[str, Any]]:
    if not isinstance(document, dict):
        raise PolicyUnreadable(f"policy must be a JSON object, got {type(document).__name__}")
    if "Statement" not in document:
        raise PolicyUnreadable("policy has no Statement")
    found = document["Statement"]
    statements = found if isinstance(found, list) else [found]  # IAM accepts a single statement object
    for index, statement in enumerate(statements, start=1):
        if not isinstance(statement, dict):
            raise PolicyUnreadable(f"policy Statement {index} must be an object, got {type(statement).__name__}")
    return statements


def _strings(value: Any, where: str) -> tuple[str, ...]:
    """A policy element that is a string or a list of strings, as a tuple."""
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return tuple(value)
    raise PolicyUnreadable(f"policy {where} must be a string or a list of strings, got {shown(value)}")


def _one_of(statement: dict[str, Any], names: tuple[str, str], where: str) -> str:
    """Which of two exclusive elements (Action/NotAction, Principal/NotPrincipal) the statement has."""
    present = [name for name in names if name in statement]
    if len(present) != 1:
        raise PolicyUnreadable(f"policy {where} needs exactly one of {names[0]} and {names[1]}")
    return present[0]


def _covers_invoke(statement: dict[str, Any], where: str) -> bool:
    """Whether the statement's actions include invocation. NotAction covers every action it does not list."""
    name = _one_of(statement, ("Action", "NotAction"), where)
    patterns = [_action_pattern(action) for action in _strings(statement[name], f"{where} {name}")]
    listed = [any(pattern.fullmatch(action) for pattern in patterns) for action in INVOKE_ACTIONS]
    return any(listed) if name == "Action" else not all(listed)


@cache
def _action_pattern(action: str) -> re.Pattern[str]:
    parts = (".*" if char == "*" else "." if char == "?" else re.escape(char) for char in action.lower())
    return re.compile("".join(parts), re.DOTALL)


def _principals(statement: dict[str, Any], where: str) -> tuple[str, ...]:
    """The principal values the statement names; a NotPrincipal statement covers everyone else: ("*",)."""
    name = _one_of(statement, ("Principal", "NotPrincipal"), where)
    value = statement[name]
    if value == "*":
        return ("*",)
    if not isinstance(value, dict) or not value:
        raise PolicyUnreadable(f"policy {where} {name} must be '*' or a non-empty object, got {shown(value)}")
    named = [item for kind, items in value.items() for item in _strings(items, f"{where} {name}.{kind}")]
    return ("*",) if name == "NotPrincipal" else tuple(named)


def _anyone(principals: tuple[str, ...]) -> bool:
    """Whether the principals include everyone: `*` under any key, or any value with a wildcard in it (IAM
    accepts only a whole `*`; a partial wildcard is read as the widest it could mean)."""
    return any(_WILDCARDS & set(principal) for principal in principals)


def _is_limited(condition: Any, where: str) -> bool:
    """Whether one of the statement's conditions (all of which must hold) confines the grant to named accounts,
    organisations or sources: a matching operator on a limiting key whose every value is specific."""
    if condition is None:
        return False
    if not isinstance(condition, dict) or not all(isinstance(keys, dict) for keys in condition.values()):
        raise PolicyUnreadable(f"policy {where} Condition must map operators to objects of keys")
    for operator, keys in condition.items():
        wildcards = _matching(str(operator))
        if wildcards is None:
            continue
        for key, values in keys.items():
            kind = LIMITING_KEYS.get(str(key).lower())
            if kind is None:
                continue
            given = _strings(values, f"{where} Condition {operator}.{key}")
            if all(not wildcards or _specific(kind, value) for value in given):
                return True
    return False


def _matching(operator: str) -> bool | None:
    """For an operator that can limit: whether its values take wildcards. None: it cannot limit (not in the table:
    the ...IfExists, ForAllValues: and negated forms among them)."""
    return MATCHING_OPERATORS.get(operator.lower().removeprefix("foranyvalue:"))


def _specific(kind: str, pattern: str) -> bool:
    """Whether a wildcard pattern for a limiting key names something specific (cannot match anyone's value)."""
    if kind == "id":  # an account or organisation id: only the whole id names one
        return not _WILDCARDS & set(pattern)
    if kind == "path":  # o-xxxx/r-xxxx/ou-...: the organisation id (first segment) must be whole
        first = pattern.split("/", 1)[0]
        return bool(first) and not _WILDCARDS & set(first)
    fields = pattern.split(":", 5)  # arn:partition:service:region:account:resource
    if len(fields) < 6:
        return not _WILDCARDS & set(pattern)
    account, resource = fields[4], fields[5]
    if account:  # the account field, whole
        return not _WILDCARDS & set(account)
    first = re.split(r"[/:]", resource, maxsplit=1)[0]  # no account (S3): the resource's name, whole
    return bool(first) and not _WILDCARDS & set(first)
