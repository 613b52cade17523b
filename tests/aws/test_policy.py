"""policy.py: the verdict on a resource-based policy, row by row of docs/policy-evaluation.md's table of policies
and verdicts (the table's one home: the docs state it, this runs it), and what the table cannot show."""

from __future__ import annotations

import fnmatch
import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from inventory.aws.lambda_actions import FUNCTION_ACTIONS, LAYER_VERSION
from inventory.aws.policy import NO_POLICY, PolicyUnreadable, PolicyVerdict, evaluate_policy, url_is_public

OWN = "111111111111"
DOCS = Path(__file__).parents[2] / "docs" / "policy-evaluation.md"
HEADING = "## Table of policies and verdicts"
COLUMNS = ("case", "policy", "public_actions", "public_invoke", "invoke_principals", "URL", "public_url")
EMPTY = "—"


@dataclass(frozen=True)
class Row:
    case: str
    policy: str | None  # None: no policy (GetPolicy's 404)
    verdict: PolicyVerdict | None  # None: unreadable, with `message`
    message: str
    url: str | None  # the function URL's AuthType; None: no URL in the row
    public_url: bool | None


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().removeprefix("|").removesuffix("|").split("|")]  # no cell has |


def _names(cell: str) -> tuple[str, ...]:
    return () if cell == EMPTY else tuple(name.strip().strip("`") for name in cell.split(","))


def _actions(cell: str) -> tuple[str, ...]:
    """A public_actions cell: — / `a`, `b` / all / all but `a`, `b` / matching `pattern`."""
    if cell == "all":
        return FUNCTION_ACTIONS
    if cell.startswith("all but "):
        left_out = set(_names(cell.removeprefix("all but ")))
        assert left_out <= set(FUNCTION_ACTIONS), cell
        return tuple(action for action in FUNCTION_ACTIONS if action not in left_out)
    if cell.startswith("matching "):
        pattern = cell.removeprefix("matching ").strip("`").lower()
        return tuple(action for action in FUNCTION_ACTIONS if fnmatch.fnmatchcase(action.lower(), pattern))
    return _names(cell)


def _yes(cell: str) -> bool:
    assert cell in ("yes", "no"), cell
    return cell == "yes"


def _row(line: str) -> Row:
    cells = _cells(line)
    assert len(cells) == len(COLUMNS), line
    case, text, actions, invoke, principals, url, public_url = cells
    policy = None if text == "(none)" else "" if text == "(empty)" else text.removeprefix("`").removesuffix("`")
    if actions.startswith("unreadable: "):
        return Row(case, policy, None, actions.removeprefix("unreadable: "), None, None)
    verdict = PolicyVerdict(_actions(actions), _yes(invoke), _names(principals))
    return Row(case, policy, verdict, "", None if url == EMPTY else url, None if url == EMPTY else _yes(public_url))


def table() -> list[Row]:
    text = DOCS.read_text(encoding="utf-8")
    section = text[text.index(HEADING) :].split("\n## ", 1)[0]
    lines = [line for line in section.splitlines() if line.startswith("|")]
    assert tuple(_cells(lines[0])) == COLUMNS
    return [_row(line) for line in lines[2:]]


ROWS = table()
VERDICTS = [row for row in ROWS if row.verdict is not None]
BROKEN = [row for row in ROWS if row.verdict is None]


def test_the_table_covers_what_the_issue_asks() -> None:
    cases = " / ".join(row.case for row in ROWS)
    for wanted in ("GetFunction", "GetFunctionConfiguration", "UpdateFunctionCode", "lambda:*", "Deny subtracts",
                   "conditional Deny", "numeric aws:SourceAccount", "NotAction", "URL NONE with", "URL NONE without",
                   "URL AWS_IAM", "malformed JSON"):  # fmt: skip
        assert wanted in cases, wanted
    assert len(ROWS) == len({row.case for row in ROWS}) > 70


@pytest.mark.parametrize("row", VERDICTS, ids=[row.case for row in VERDICTS])
def test_verdict(row: Row) -> None:
    verdict = evaluate_policy(row.policy, OWN)
    assert verdict == row.verdict
    assert list(verdict.public_actions) == sorted(set(verdict.public_actions))
    if row.url is not None:
        assert url_is_public(row.url, verdict.public_actions) is row.public_url


@pytest.mark.parametrize("row", BROKEN, ids=[row.case for row in BROKEN])
def test_unreadable_policy(row: Row) -> None:
    assert row.policy is not None
    with pytest.raises(PolicyUnreadable) as caught:
        evaluate_policy(row.policy, OWN)
    assert str(caught.value).startswith("policy ")
    assert row.message in str(caught.value)
    assert isinstance(caught.value, ValueError)


def test_no_policy_is_nothing_public() -> None:
    assert evaluate_policy(None, OWN) == NO_POLICY == PolicyVerdict((), False, ())


def test_the_verdict_is_frozen() -> None:
    verdict = evaluate_policy(None, OWN)
    with pytest.raises(AttributeError):
        verdict.public_invoke = True  # type: ignore[misc]


def _document(*statements: dict[str, object]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def test_a_layer_version_policy_is_judged_by_its_own_actions() -> None:
    anyone = {"Effect": "Allow", "Principal": "*", "Action": "lambda:GetLayerVersion"}
    org = {**anyone, "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-a1b2c3d4e5"}}}
    assert evaluate_policy(_document(anyone), OWN, LAYER_VERSION) == PolicyVerdict(
        ("lambda:GetLayerVersion",), True, ("*",)
    )
    assert evaluate_policy(_document(org), OWN, LAYER_VERSION) == PolicyVerdict((), False, ("*",))
    everything = {"Effect": "Allow", "Principal": "*", "Action": "lambda:*"}
    assert evaluate_policy(_document(everything), OWN, LAYER_VERSION).public_actions == ("lambda:GetLayerVersion",)


def test_url_is_public_needs_auth_type_none_and_the_url_action() -> None:
    assert url_is_public("NONE", ["lambda:InvokeFunctionUrl"])
    assert not url_is_public("NONE", ["lambda:InvokeFunction"])
    assert not url_is_public("AWS_IAM", ["lambda:InvokeFunctionUrl", "lambda:InvokeFunction"])
    assert not url_is_public("NONE", [])


def test_the_message_is_one_line_and_never_echoes_much_of_the_policy() -> None:
    long_value = "secret-" + "x" * 500
    for text in (
        _document({"Effect": "Allow", "Principal": {"AWS": {"nested": long_value}}, "Action": "lambda:*"}),
        "{" + long_value,
        _document({"Effect": "Allow", "Principal": long_value, "Action": "lambda:*"}),
        _document(
            {"Effect": "Allow", "Principal": "*", "Action": "*", "Condition": {"ArnLike": {"aws:SourceArn": [None]}}}
        ),
    ):
        with pytest.raises(PolicyUnreadable) as caught:
            evaluate_policy(text, OWN)
        message = str(caught.value)
        assert "\n" not in message
        assert len(message) < 160
        assert "x" * 61 not in message


def test_own_account_must_be_an_account_id() -> None:
    with pytest.raises(ValueError, match="12-digit"):
        evaluate_policy(None, "eu-west-1")
