"""Accounts from AWS Organizations, against the emulator's (moto's) Organizations over real HTTP.

moto's organisation is shared by the whole session (another module may have created it, and may have added
accounts of its own), so this module creates its accounts and OUs once and recognises them by the ids it got
back; it never assumes how many accounts the organisation holds in all.

Organizations never throttles in moto, so the throttling tests answer chosen calls with a 429 from botocore's
documented `before-send` event on the client: the request is signed and the answer parsed by botocore as any
other, only the network round trip is replaced. Nothing of the package is mocked.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from botocore.awsrequest import AWSRequest, AWSResponse
from botocore.exceptions import ClientError
from conftest import FAST_RETRY, admin_client, ensure_organization

from inventory.aws.clients import ClientFactory
from inventory.aws.organization import OrgAccount, OrganizationError, active, list_organization_accounts
from inventory.aws.retry import RetryPolicy
from inventory.demo.emulator import Emulator
from inventory.errors import InventoryError
from inventory.exits import ExitCode, for_error

OPERATIONS = ("ListAccounts", "ListAccountsForParent", "ListOrganizationalUnitsForParent")
MISSING_OU = "ou-abcd-12345678"


@dataclass(frozen=True)
class Tree:
    """What this module created: root > parent OU (> child OU > grandchild OU, and an empty OU), outside OU."""

    root: str
    parent_ou: str
    child_ou: str
    grandchild_ou: str
    outside_ou: str
    in_parent: tuple[str, ...]
    in_child: tuple[str, ...]
    in_grandchild: tuple[str, ...]
    outside: tuple[str, ...]
    in_root: tuple[str, ...]
    suspended: str  # in the parent OU

    @property
    def under_parent(self) -> frozenset[str]:
        return frozenset(self.in_parent + self.in_child + self.in_grandchild + (self.suspended,))

    @property
    def mine(self) -> frozenset[str]:
        return self.under_parent | frozenset(self.outside + self.in_root)


def _new_accounts(org: Any, label: str, count: int, parent: str, root: str) -> tuple[str, ...]:
    ids = []
    for i in range(count):
        name = f"org-test-{label}-{i}"
        status = org.create_account(Email=f"{name}@example.com", AccountName=name)["CreateAccountStatus"]
        ids.append(status["AccountId"])
        if parent != root:
            org.move_account(AccountId=status["AccountId"], SourceParentId=root, DestinationParentId=parent)
    return tuple(ids)


def _new_ou(org: Any, parent: str, name: str) -> str:
    ou_id: str = org.create_organizational_unit(ParentId=parent, Name=name)["OrganizationalUnit"]["Id"]
    return ou_id


@pytest.fixture(scope="module")
def tree(emulator: Emulator) -> Tree:
    org = admin_client(emulator.endpoint, "organizations")
    root = ensure_organization(org)
    parent_ou = _new_ou(org, root, "org-test-parent")
    child_ou = _new_ou(org, parent_ou, "org-test-child")
    grandchild_ou = _new_ou(org, child_ou, "org-test-grandchild")
    _new_ou(org, parent_ou, "org-test-empty")
    outside_ou = _new_ou(org, root, "org-test-outside")
    (suspended,) = _new_accounts(org, "suspended", 1, parent_ou, root)
    org.close_account(AccountId=suspended)
    return Tree(
        root=root,
        parent_ou=parent_ou,
        child_ou=child_ou,
        grandchild_ou=grandchild_ou,
        outside_ou=outside_ou,
        in_parent=_new_accounts(org, "parent", 3, parent_ou, root),
        in_child=_new_accounts(org, "child", 4, child_ou, root),
        in_grandchild=_new_accounts(org, "grandchild", 2, grandchild_ou, root),
        outside=_new_accounts(org, "outside", 2, outside_ou, root),
        in_root=_new_accounts(org, "root", 12, root, root),  # with the rest: > 20, more than one page
        suspended=suspended,
    )


def _policy(**overrides: Any) -> RetryPolicy:
    settings = {**FAST_RETRY, **overrides}
    return RetryPolicy(settings["max_attempts"], settings["base_delay"], settings["max_delay"])


@pytest.fixture
def org(emu: Emulator) -> Any:
    """An Organizations client made the way the job makes clients (hub credentials, botocore retries off)."""
    return ClientFactory.from_environment(4).client("organizations", "us-east-1")


@pytest.fixture
def calls(org: Any) -> Iterator[Counter[str]]:
    """Counts the requests the client sends, per operation (observation only)."""
    counted: Counter[str] = Counter()

    def count(model: Any, **_: Any) -> None:
        counted[model.name] += 1

    for operation in OPERATIONS:
        org.meta.events.register(f"before-call.organizations.{operation}", count)
    yield counted


def _ids(accounts: tuple[OrgAccount, ...]) -> list[str]:
    return [account.account_id for account in accounts]


def test_whole_organization_over_several_pages(tree: Tree, org: Any, calls: Counter[str]) -> None:
    accounts = list_organization_accounts(org, (), _policy())

    ids = _ids(accounts)
    assert tree.mine <= set(ids)
    assert ids == sorted(set(ids)), "each account once, sorted by account id"
    assert len(ids) > 20  # more than one page of the maximum page size (20)
    assert calls["ListAccounts"] >= 2
    assert set(calls) == {"ListAccounts"}


def test_small_pages_still_return_every_account_once(tree: Tree, org: Any, calls: Counter[str]) -> None:
    everything = list_organization_accounts(org, (), _policy())
    before = calls["ListAccounts"]
    paged = list_organization_accounts(org, (), _policy(), page_size=3)

    assert paged == everything
    assert calls["ListAccounts"] - before >= -(-len(everything) // 3)  # ceil(accounts / 3) pages at least


def test_account_fields_and_suspended_status(tree: Tree, org: Any) -> None:
    by_id = {a.account_id: a for a in list_organization_accounts(org, (), _policy())}

    first = by_id[tree.in_parent[0]]
    assert first == OrgAccount(first.account_id, "org-test-parent-0", "org-test-parent-0@example.com", "ACTIVE")
    assert by_id[tree.suspended].status == "SUSPENDED"
    kept = {a.account_id for a in active(by_id.values())}
    assert tree.suspended not in kept
    assert tree.mine - {tree.suspended} <= kept
    assert all(a.status == "ACTIVE" for a in active(by_id.values()))


def test_ou_includes_nested_child_ous_and_nothing_outside(tree: Tree, org: Any, calls: Counter[str]) -> None:
    accounts = list_organization_accounts(org, (tree.parent_ou,), _policy(), page_size=1)

    assert set(_ids(accounts)) == tree.under_parent
    assert {a.status for a in accounts if a.account_id == tree.suspended} == {"SUSPENDED"}
    # One account / OU per page: parent, child, grandchild and the empty OU are each walked, page by page.
    assert calls["ListAccountsForParent"] >= len(tree.under_parent) + 1  # + the empty OU's one call
    assert calls["ListOrganizationalUnitsForParent"] >= 2 + 1 + 1 + 1  # parent has 2 child OUs, child 1
    assert calls["ListAccounts"] == 0


def test_several_ous_and_an_overlap_list_each_account_once(tree: Tree, org: Any) -> None:
    units = (tree.child_ou, tree.outside_ou, tree.grandchild_ou, tree.child_ou)
    accounts = list_organization_accounts(org, units, _policy())

    ids = _ids(accounts)
    assert ids == sorted(set(ids))
    assert set(ids) == set(tree.in_child + tree.in_grandchild + tree.outside)


def test_a_root_id_walks_the_whole_tree(tree: Tree, org: Any) -> None:
    from_root = list_organization_accounts(org, (tree.root,), _policy())

    assert tree.mine <= set(_ids(from_root))
    assert from_root == list_organization_accounts(org, (), _policy())


def test_unknown_ou_is_one_line_organization_error(tree: Tree, org: Any) -> None:
    with pytest.raises(OrganizationError) as caught:
        list_organization_accounts(org, (tree.parent_ou, MISSING_OU), _policy())

    message = str(caught.value)
    assert message.startswith(f"organizations:ListAccountsForParent {MISSING_OU}: ParentNotFoundException: ")
    assert "\n" not in message
    assert "attempts" not in message  # not retried
    assert isinstance(caught.value.__cause__, ClientError)
    assert isinstance(caught.value, InventoryError)
    assert for_error(caught.value) is ExitCode.ENVIRONMENT
    assert int(for_error(caught.value)) == 3


# ---------------------------------------------------------------- answers moto never gives


def _error_response(request: AWSRequest, status: int, code: str, message: str) -> AWSResponse:
    body = json.dumps({"__type": code, "message": message}).encode()

    class Raw:
        def stream(self, **_: Any) -> Iterator[bytes]:
            yield body

    headers = {"x-amzn-ErrorType": code, "Content-Type": "application/x-amz-json-1.1"}
    return AWSResponse(request.url, status, headers, Raw())


def _answer_first(org: Any, operation: str, count: int, status: int, code: str) -> Counter[str]:
    """The first `count` requests of `operation` get an error answer; returns the counts of what happened."""
    seen: Counter[str] = Counter()

    def before_send(request: AWSRequest, **_: Any) -> AWSResponse | None:
        seen["sent"] += 1
        if seen["sent"] > count:
            return None  # on to the emulator
        seen["answered"] += 1
        return _error_response(request, status, code, "Rate exceeded" if status == 429 else "not allowed")

    org.meta.events.register(f"before-send.organizations.{operation}", before_send)
    return seen


def test_throttled_pages_are_retried_and_nothing_is_lost(tree: Tree, org: Any) -> None:
    expected = list_organization_accounts(org, (tree.parent_ou,), _policy())
    throttled = _answer_first(org, "ListAccountsForParent", 3, 429, "TooManyRequestsException")
    waits: list[float] = []
    policy = RetryPolicy(8, 0.01, 0.05, sleep=waits.append)

    accounts = list_organization_accounts(org, (tree.parent_ou,), policy, page_size=2)

    assert accounts == expected
    assert throttled["answered"] == 3
    assert len(waits) == 3  # one backoff per throttled answer, from our retry layer only


def test_throttled_page_resumes_after_the_last_good_page(tree: Tree, org: Any, calls: Counter[str]) -> None:
    """A retry fetches only the failed page again, not the pages before it."""
    baseline = list_organization_accounts(org, (), _policy(), page_size=5)
    pages = calls["ListAccounts"]
    seen: Counter[str] = Counter()

    def throttle_third(request: AWSRequest, **_: Any) -> AWSResponse | None:
        seen["sent"] += 1
        if seen["sent"] == 3:
            return _error_response(request, 429, "TooManyRequestsException", "Rate exceeded")
        return None

    org.meta.events.register("before-send.organizations.ListAccounts", throttle_third)
    assert list_organization_accounts(org, (), _policy(), page_size=5) == baseline
    assert seen["sent"] == pages + 1


def test_retries_exhausted_is_organization_error(tree: Tree, org: Any) -> None:
    throttled = _answer_first(org, "ListAccounts", 100, 429, "TooManyRequestsException")

    with pytest.raises(OrganizationError) as caught:
        list_organization_accounts(org, (), _policy(max_attempts=3))

    assert str(caught.value) == (
        "organizations:ListAccounts: TooManyRequestsException: Rate exceeded (after 3 attempts)"
    )
    assert throttled["sent"] == 3


def test_access_denied_is_not_retried(tree: Tree, org: Any) -> None:
    denied = _answer_first(org, "ListOrganizationalUnitsForParent", 100, 400, "AccessDeniedException")

    with pytest.raises(OrganizationError) as caught:
        list_organization_accounts(org, (tree.child_ou,), _policy())

    assert str(caught.value) == (
        f"organizations:ListOrganizationalUnitsForParent {tree.child_ou}: AccessDeniedException: not allowed"
    )
    assert denied["sent"] == 1


def test_active_keeps_only_active_accounts() -> None:
    accounts = [
        OrgAccount("111111111111", "a", "a@example.com", "ACTIVE"),
        OrgAccount("222222222222", "b", "b@example.com", "SUSPENDED"),
        OrgAccount("333333333333", "c", "c@example.com", "PENDING_CLOSURE"),
        OrgAccount("444444444444", "d", "d@example.com", "CLOSED"),
    ]

    assert active(accounts) == (accounts[0],)
    assert active(()) == ()
