"""What anyone may do to a Lambda resource, read from its resource-based policy (GetPolicy's `Policy` text): the
`policy` enrichment's `public_actions`, `public_invoke` and `invoke_principals`, and whether a function URL
answers anyone (`url_is_public`, for `public_url`).

`evaluate_policy` is a pure function of one document: the enrichment calls it for each function's policy, and
an alias's or a layer version's policy (a ResourceKind: lambda_actions.py) is judged the same way. It is a
static reading, never a full IAM evaluation: each rule, with the AWS documentation it follows, is in
docs/policy-evaluation.md, and so is the table of policies and verdicts that tests/aws/test_policy.py runs.
Where the document leaves room, the verdict leans towards "public".
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from inventory.aws.lambda_actions import FUNCTION, INVOKE_FUNCTION_URL, ResourceKind
from inventory.aws.policy_document import WILDCARDS, Actions, Clause, PolicyUnreadable, Statement, statements
from inventory.errors import shown

__all__ = ["NO_POLICY", "PUBLIC_URL_AUTH", "PolicyUnreadable", "PolicyVerdict", "evaluate_policy", "url_is_public"]

PUBLIC_URL_AUTH = "NONE"  # the AuthType of a function URL that does not authenticate its callers
# Operators that apply a statement only when the request's value matches one of the listed ones, and their
# negations (a Deny applies to every caller whose value matches none). The flag: whether `*` and `?` in a value
# are wildcards (the String*Equals operators compare literally).
MATCHING_OPERATORS = {
    "stringequals": False,
    "stringequalsignorecase": False,
    "stringlike": True,
    "arnequals": True,
    "arnlike": True,
}
NEGATED_OPERATORS = {
    "stringnotequals": False,
    "stringnotequalsignorecase": False,
    "stringnotlike": True,
    "arnnotequals": True,
    "arnnotlike": True,
}
ACCOUNT_ID = re.compile(r"\d{12}")


@dataclass(frozen=True)
class PolicyVerdict:
    public_actions: tuple[str, ...]  # sorted: what anyone may do (an Allow to anyone, unconfined, not denied)
    public_invoke: bool  # public_actions include one of the kind's invoke actions
    principals: tuple[str, ...]  # sorted, unique: the principals Allow statements grant an invoke action


NO_POLICY = PolicyVerdict((), False, ())  # GetPolicy's 404: the resource has no policy


def evaluate_policy(text: str | None, own_account: str, kind: ResourceKind = FUNCTION) -> PolicyVerdict:
    """The verdict on one resource's policy; None (no policy) is NO_POLICY. PolicyUnreadable if it is not one.

    `own_account` (the resource's account) must be a 12-digit id; the verdict does not depend on it, since only
    principals with a wildcard count as anyone (docs/policy-evaluation.md)."""
    if not ACCOUNT_ID.fullmatch(own_account):
        raise ValueError(f"own_account must be a 12-digit account id, got {shown(own_account)}")
    if text is None:
        return NO_POLICY
    read = statements(text)
    allows = [statement for statement in read if statement.allow]
    denies = [statement for statement in read if not statement.allow]
    public = _public_actions(allows, denies, kind)
    return PolicyVerdict(public, bool(kind.invoke.intersection(public)), _invoke_principals(allows, denies, kind))


def url_is_public(auth_type: str, public_actions: Collection[str]) -> bool:
    """Whether a function URL answers anyone: its AuthType is NONE and the policy of what it is on (the function,
    or the alias it is for) lets anyone perform lambda:InvokeFunctionUrl. A URL created since October 2025 also
    needs lambda:InvokeFunction, which is not required here (docs/policy-evaluation.md: it leans public)."""
    return auth_type == PUBLIC_URL_AUTH and INVOKE_FUNCTION_URL in public_actions


def _public_actions(allows: Sequence[Statement], denies: Sequence[Statement], kind: ResourceKind) -> tuple[str, ...]:
    """What Allow statements grant anyone without a confining condition, less what a Deny provably takes from
    anyone: a Deny of everyone whose conditions (if any) all hold for every caller outside named accounts."""
    granted = {
        action
        for statement in allows
        if statement.everyone and not any(_confines(clause) for clause in statement.clauses)
        for action in statement.actions.granted(kind)
    }
    barred = [deny.actions for deny in denies if deny.denies_everyone and all(_excludes(c) for c in deny.clauses)]
    return tuple(sorted(action for action in granted if not _denied(action, barred)))


def _invoke_principals(allows: Sequence[Statement], denies: Sequence[Statement], kind: ResourceKind) -> tuple[str, ...]:
    """The principals of Allow statements that grant an invoke action, unless every such action is denied to
    that principal by an unconditional Deny of `*` or of that very principal value."""
    found: set[str] = set()
    for statement in allows:
        invoke = statement.actions.granted(kind) & kind.invoke
        for principal in statement.principals:
            barred = [
                deny.actions
                for deny in denies
                if not deny.clauses and not deny.negated and {"*", principal} & set(deny.principals)
            ]
            if any(not _denied(action, barred) for action in invoke):
                found.add(principal)
    return tuple(sorted(found))


def _denied(action: str, barred: Sequence[Actions]) -> bool:
    return any(actions.covers(action) for actions in barred)


def _confines(clause: Clause) -> bool:
    """Whether an Allow's clause applies it only to callers matching named accounts, organisations or sources: a
    matching operator (or its ForAnyValue: form) on a limiting key whose every value is specific."""
    wildcards = MATCHING_OPERATORS.get(clause.operator.removeprefix("foranyvalue:"))
    return wildcards is not None and _all_specific(clause, wildcards)


def _excludes(clause: Clause) -> bool:
    """Whether a Deny's clause holds for every caller outside named accounts, organisations or sources: a negated
    operator (or its ...IfExists form: both hold when the key is absent) on a limiting key, every value specific."""
    wildcards = NEGATED_OPERATORS.get(clause.operator.removesuffix("ifexists"))
    return wildcards is not None and _all_specific(clause, wildcards)


def _all_specific(clause: Clause, wildcards: bool) -> bool:
    kind = clause.kind
    return kind is not None and all(not wildcards or _specific(kind, value) for value in clause.values)


def _specific(kind: str, pattern: str) -> bool:
    """Whether a wildcard pattern for a limiting key names something specific (cannot match anyone's value)."""
    if kind == "id":  # an account or organisation id: only the whole id names one
        return not WILDCARDS & set(pattern)
    if kind == "path":  # o-xxxx/r-xxxx/ou-...: the organisation id (first segment) must be whole
        first = pattern.split("/", 1)[0]
        return bool(first) and not WILDCARDS & set(first)
    fields = pattern.split(":", 5)  # arn:partition:service:region:account:resource
    if len(fields) < 6:
        return not WILDCARDS & set(pattern)
    account, resource = fields[4], fields[5]
    if account:  # the account field, whole
        return not WILDCARDS & set(account)
    first = re.split(r"[/:]", resource, maxsplit=1)[0]  # no account (S3): the resource's name, whole
    return bool(first) and not WILDCARDS & set(first)
