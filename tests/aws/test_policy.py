"""policy.py: the verdict on a function's resource-based policy, for real-world policy shapes and broken ones."""

from __future__ import annotations

import json
from typing import Any

import pytest

from inventory.aws.policy import PolicyUnreadable, PolicyVerdict, evaluate_policy

OWN = "111111111111"
OTHER = "222222222222"
FUNCTION = f"arn:aws:lambda:eu-west-1:{OWN}:function:orders"
API_ARN = f"arn:aws:execute-api:eu-west-1:{OWN}:a1b2c3d4e5/*/GET/orders"
URL_NONE = {"StringEquals": {"lambda:FunctionUrlAuthType": "NONE"}}
ORG = {"StringEquals": {"aws:PrincipalOrgID": "o-a1b2c3d4e5"}}


def statement(
    principal: Any = "*", action: Any = "lambda:InvokeFunction", condition: Any = None, effect: str = "Allow"
) -> dict[str, Any]:
    """One statement as GetPolicy returns it (AddPermission writes the Sid and the Resource)."""
    found = {"Sid": "s", "Effect": effect, "Principal": principal, "Action": action, "Resource": FUNCTION}
    return found if condition is None else {**found, "Condition": condition}


def policy(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Id": "default", "Statement": list(statements)})


def like(key: str, *values: str, operator: str = "StringLike") -> dict[str, Any]:
    return {operator: {key: list(values) if len(values) > 1 else values[0]}}


PUBLIC = PolicyVerdict(True, ("*",))
STAR_LIMITED = PolicyVerdict(False, ("*",))
NOTHING = PolicyVerdict(False, ())

CASES: dict[str, tuple[str | None, PolicyVerdict]] = {
    "no policy (GetPolicy 404)": (None, NOTHING),
    "no statements": (policy(), NOTHING),
    "API Gateway with its SourceArn (as Lambda writes it, AWS: upper case)": (
        policy(statement({"Service": "apigateway.amazonaws.com"}, condition={"ArnLike": {"AWS:SourceArn": API_ARN}})),
        PolicyVerdict(False, ("apigateway.amazonaws.com",)),
    ),
    "S3 with SourceAccount and SourceArn": (
        policy(
            statement(
                {"Service": "s3.amazonaws.com"},
                condition={
                    "StringEquals": {"AWS:SourceAccount": OWN},
                    "ArnLike": {"AWS:SourceArn": "arn:aws:s3:::orders-uploads"},
                },
            )
        ),
        PolicyVerdict(False, ("s3.amazonaws.com",)),
    ),
    "service without a source condition: listed, not public": (
        policy(statement({"Service": "s3.amazonaws.com"})),
        PolicyVerdict(False, ("s3.amazonaws.com",)),
    ),
    "public function URL statement (AuthType NONE)": (
        policy(statement("*", "lambda:InvokeFunctionUrl", URL_NONE)),
        PUBLIC,
    ),
    "public URL's InvokeFunction statement (InvokedViaFunctionUrl)": (
        policy(statement("*", condition={"Bool": {"lambda:InvokedViaFunctionUrl": "true"}})),
        PUBLIC,
    ),
    "URL statement with AuthType AWS_IAM and principal *: every AWS account": (
        policy(statement("*", "lambda:InvokeFunctionUrl", {"StringEquals": {"lambda:FunctionUrlAuthType": "AWS_IAM"}})),
        PUBLIC,
    ),
    "{AWS: *} with no condition": (policy(statement({"AWS": "*"})), PUBLIC),
    "{AWS: *} limited to the organisation": (policy(statement({"AWS": "*"}, condition=ORG)), STAR_LIMITED),
    "* limited to an OU path (ForAnyValue:StringLike)": (
        policy(
            statement(
                "*",
                condition=like("aws:PrincipalOrgPaths", "o-a1b2c3d4e5/r-ab12/ou-*", operator="ForAnyValue:StringLike"),
            )
        ),
        STAR_LIMITED,
    ),
    "an OU path in any organisation limits nothing": (
        policy(statement("*", condition=like("aws:PrincipalOrgPaths", "o-*/r-ab12/*"))),
        PUBLIC,
    ),
    "a partial wildcard principal is read as anyone": (
        policy(statement({"AWS": "arn:aws:iam::*:root"})),
        PolicyVerdict(True, ("arn:aws:iam::*:root",)),
    ),
    "a Deny statement grants nothing": (policy(statement("*", effect="Deny")), NOTHING),
    "a Deny is not subtracted from an Allow": (
        policy(statement("*"), statement("*", effect="Deny", condition={"StringNotEquals": ORG["StringEquals"]})),
        PUBLIC,
    ),
    "multiple statements: principals sorted and unique": (
        policy(
            statement(
                {"Service": "sns.amazonaws.com"},
                condition={"ArnLike": {"AWS:SourceArn": f"arn:aws:sns:eu-west-1:{OWN}:t"}},
            ),
            statement({"AWS": f"arn:aws:iam::{OTHER}:root"}),
            statement({"AWS": [OTHER, f"arn:aws:iam::{OTHER}:root"]}, "lambda:InvokeFunctionUrl"),
        ),
        PolicyVerdict(False, (OTHER, f"arn:aws:iam::{OTHER}:root", "sns.amazonaws.com")),
    ),
    "another account: listed, not public": (policy(statement({"AWS": OTHER})), PolicyVerdict(False, (OTHER,))),
    "{AWS: [*, account]}": (policy(statement({"AWS": ["*", OTHER]})), PolicyVerdict(True, ("*", OTHER))),
    "Federated principals listed": (
        policy(statement({"Federated": ["cognito-identity.amazonaws.com", "accounts.google.com"]})),
        PolicyVerdict(False, ("accounts.google.com", "cognito-identity.amazonaws.com")),
    ),
    "action list with invoke": (policy(statement("*", ["lambda:GetFunction", "lambda:InvokeFunction"])), PUBLIC),
    "action list without invoke: principals not listed": (
        policy(statement("*", ["lambda:GetFunction", "lambda:GetPolicy"])),
        NOTHING,
    ),
    "lower-case action": (policy(statement("*", "LAMBDA:invokefunction")), PUBLIC),
    "lambda:Invoke*": (policy(statement("*", "lambda:Invoke*")), PUBLIC),
    "lambda:*": (policy(statement("*", "lambda:*")), PUBLIC),
    "action *": (policy(statement({"AWS": "*"}, "*")), PUBLIC),
    "? wildcard in an action": (policy(statement("*", "lambda:Invoke?unction")), PUBLIC),
    "deprecated InvokeAsync": (policy(statement("*", "lambda:InvokeAsync")), PUBLIC),
    "lambda:Get* does not invoke": (policy(statement("*", "lambda:Get*")), NOTHING),
    "StringLike SourceAccount * limits nothing": (
        policy(statement("*", condition=like("aws:SourceAccount", "*"))),
        PUBLIC,
    ),
    "StringLike SourceAccount ???????????? limits nothing": (
        policy(statement("*", condition=like("aws:SourceAccount", "?" * 12))),
        PUBLIC,
    ),
    "one open value among several limits nothing": (
        policy(statement("*", condition=like("aws:SourceAccount", OWN, "*"))),
        PUBLIC,
    ),
    "StringEquals compares * literally: limits": (
        policy(statement("*", condition=like("aws:SourceAccount", "*", operator="StringEquals"))),
        STAR_LIMITED,
    ),
    "IfExists limits nothing (true when the key is absent)": (
        policy(statement("*", condition=like("aws:SourceAccount", OWN, operator="StringEqualsIfExists"))),
        PUBLIC,
    ),
    "ForAllValues limits nothing (true when the key is absent)": (
        policy(
            statement("*", condition=like("aws:PrincipalOrgID", "o-a1b2c3d4e5", operator="ForAllValues:StringEquals"))
        ),
        PUBLIC,
    ),
    "a negated operator limits nothing": (
        policy(statement("*", condition=like("aws:PrincipalAccount", OTHER, operator="StringNotEquals"))),
        PUBLIC,
    ),
    "SourceArn with a whole account: limits": (
        policy(statement("*", condition=like("aws:SourceArn", API_ARN, operator="ArnLike"))),
        STAR_LIMITED,
    ),
    "SourceArn any account: limits nothing": (
        policy(statement("*", condition=like("aws:SourceArn", "arn:aws:execute-api:*:*:*", operator="ArnLike"))),
        PUBLIC,
    ),
    "SourceArn any bucket: limits nothing": (
        policy(statement("*", condition=like("aws:SourceArn", "arn:aws:s3:::*", operator="ArnEquals"))),
        PUBLIC,
    ),
    "SourceArn of a named bucket: limits": (
        policy(statement("*", condition=like("aws:SourceArn", "arn:aws:s3:::orders-uploads", operator="ArnLike"))),
        STAR_LIMITED,
    ),
    "PrincipalArn in any account: limits nothing": (
        policy(statement("*", condition=like("aws:PrincipalArn", "arn:aws:iam::*:role/deploy", operator="ArnLike"))),
        PUBLIC,
    ),
    "upper-case key and lower-case operator still limit": (
        policy(statement("*", condition=like("AWS:PRINCIPALACCOUNT", OWN, operator="stringequals"))),
        STAR_LIMITED,
    ),
    "a limiting condition next to a non-limiting one (all must hold)": (
        policy(statement("*", condition={**URL_NONE, **like("aws:SourceOwner", OWN, operator="StringEquals")})),
        STAR_LIMITED,
    ),
    "NotAction not listing invoke grants invoke": (
        policy({"Effect": "Allow", "Principal": "*", "NotAction": "lambda:GetPolicy"}),
        PUBLIC,
    ),
    "NotAction excluding only InvokeFunction still grants the URL": (
        policy({"Effect": "Allow", "Principal": "*", "NotAction": "lambda:InvokeFunction"}),
        PUBLIC,
    ),
    "NotAction excluding every invoke action": (
        policy({"Effect": "Allow", "Principal": "*", "NotAction": "lambda:invoke*"}),
        NOTHING,
    ),
    "NotPrincipal with Allow covers everyone else": (
        policy({"Effect": "Allow", "NotPrincipal": {"AWS": OTHER}, "Action": "lambda:InvokeFunction"}),
        PUBLIC,
    ),
    "Statement as a single object": (
        json.dumps({"Version": "2012-10-17", "Statement": statement({"AWS": "*"})}),
        PUBLIC,
    ),
}


@pytest.mark.parametrize(("text", "expected"), list(CASES.values()), ids=list(CASES))
def test_verdict(text: str | None, expected: PolicyVerdict) -> None:
    assert evaluate_policy(text, OWN) == expected


BROKEN: dict[str, tuple[str, str]] = {
    "malformed JSON": ('{"Statement": [', "policy is not JSON"),
    "empty text": ("", "policy is not JSON"),
    "a JSON list": ("[]", "policy must be a JSON object, got list"),
    "a JSON string": ('"Allow"', "policy must be a JSON object, got str"),
    "no Statement": ('{"Version": "2012-10-17"}', "policy has no Statement"),
    "a statement that is not an object": ('{"Statement": ["Allow"]}', "Statement 1 must be an object"),
    "missing Principal": (
        json.dumps({"Statement": [{"Effect": "Allow", "Action": "lambda:InvokeFunction"}]}),
        "Statement 1 needs exactly one of Principal and NotPrincipal",
    ),
    "a principal that is neither * nor an object": (
        policy(statement(OTHER)),
        "Statement 1 Principal must be '*' or a non-empty object, got '222222222222'",
    ),
    "Action and NotAction together": (
        policy({**statement(), "NotAction": "lambda:GetPolicy"}),
        "Statement 1 needs exactly one of Action and NotAction",
    ),
    "an action that is a number": (policy(statement(action=7)), "Statement 1 Action must be a string or a list"),
    "an unknown Effect": (policy(statement(), statement(effect="allow")), "Statement 2: Effect must be"),
    "a Condition that is a list": (policy(statement(condition=["x"])), "Statement 1 Condition must map operators"),
}


@pytest.mark.parametrize(("text", "message"), list(BROKEN.values()), ids=list(BROKEN))
def test_unreadable_policy(text: str, message: str) -> None:
    with pytest.raises(PolicyUnreadable) as caught:
        evaluate_policy(text, OWN)
    assert str(caught.value).startswith("policy ")
    assert message in str(caught.value)
    assert isinstance(caught.value, ValueError)


def test_the_message_is_one_line_and_never_echoes_much_of_the_policy() -> None:
    long_value = "secret-" + "x" * 500
    for text in (policy(statement({"AWS": {"nested": long_value}})), "{" + long_value, policy(statement(long_value))):
        with pytest.raises(PolicyUnreadable) as caught:
            evaluate_policy(text, OWN)
        message = str(caught.value)
        assert "\n" not in message
        assert len(message) < 160
        assert "x" * 61 not in message


def test_own_account_must_be_an_account_id() -> None:
    with pytest.raises(ValueError, match="12-digit"):
        evaluate_policy(None, "eu-west-1")
