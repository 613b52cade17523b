"""exits.py: every outcome -> its exit code, in one table, used by the command line only."""

from __future__ import annotations

import inspect
import re
import signal
from pathlib import Path

import pytest
from botocore import exceptions as boto_errors

import inventory
from inventory import errors
from inventory.contract.current import Verdict
from inventory.contract.results import Status, TargetResult
from inventory.contract.target import Account, Target
from inventory.exits import BY_ERROR, ExitCode, for_demo, for_error, for_gate, for_run, for_signal, for_verify

PACKAGE = Path(inventory.__file__).parent


def _result(status: Status, account_id: str = "111111111111", region: str = "us-east-1") -> TargetResult:
    account = Account(account_id, "name", (), f"arn:aws:iam::{account_id}:role/R", None)
    count = 3 if status is Status.OK else None
    return TargetResult(Target(account, region), status, count, (), 0, 0, 0.1)


OK, SKIPPED, FAILED = (_result(s) for s in (Status.OK, Status.SKIPPED, Status.FAILED))


def test_the_documented_codes() -> None:
    assert {code.name: int(code) for code in ExitCode} == {
        "OK": 0,
        "PARTIAL": 1,
        "USAGE": 2,
        "ENVIRONMENT": 3,
        "GATE": 4,
        "INTERNAL": 5,
        "INCOMPLETE": 6,
        "INTERRUPTED": 130,
        "TERMINATED": 143,
    }
    assert all(code.meaning and "\n" not in code.meaning for code in ExitCode)
    assert "demo: its check failed" in ExitCode.PARTIAL.meaning


@pytest.mark.parametrize(
    ("results", "code"),
    [
        ([], ExitCode.OK),
        ([OK], ExitCode.OK),
        ([SKIPPED], ExitCode.OK),
        ([OK, SKIPPED], ExitCode.OK),
        ([FAILED], ExitCode.PARTIAL),
        ([OK, FAILED], ExitCode.PARTIAL),
        ([SKIPPED, FAILED], ExitCode.PARTIAL),
        ([OK, FAILED, SKIPPED, OK], ExitCode.PARTIAL),
    ],
)
def test_a_run_is_partial_when_any_target_failed(results: list[TargetResult], code: ExitCode) -> None:
    assert for_run(results) is code


@pytest.mark.parametrize(
    ("err", "code"),
    [
        (errors.ConfigError("x"), ExitCode.USAGE),
        (errors.OutputError("x"), ExitCode.USAGE),
        (errors.SnapshotError("x"), ExitCode.USAGE),
        (errors.CredentialsError("x"), ExitCode.ENVIRONMENT),
        (errors.OrganizationError("x"), ExitCode.ENVIRONMENT),
        (errors.InventoryError("x"), ExitCode.ENVIRONMENT),
        (boto_errors.NoCredentialsError(), ExitCode.ENVIRONMENT),
        (boto_errors.NoRegionError(), ExitCode.ENVIRONMENT),
        (boto_errors.ProfileNotFound(profile="p"), ExitCode.ENVIRONMENT),
        (boto_errors.EndpointConnectionError(endpoint_url="http://x"), ExitCode.ENVIRONMENT),
        (boto_errors.CredentialRetrievalError(provider="p", error_msg="m"), ExitCode.ENVIRONMENT),
        (boto_errors.UnknownRegionError(region_name="mars-1", error_msg="m"), ExitCode.ENVIRONMENT),
        (RuntimeError("a bug"), ExitCode.INTERNAL),
        (KeyError("a bug"), ExitCode.INTERNAL),
    ],
)
def test_each_error_class_has_its_code(err: Exception, code: ExitCode) -> None:
    assert for_error(err) is code


def test_a_new_inventory_error_without_a_row_is_environment() -> None:
    class NewError(errors.InventoryError):
        pass

    assert for_error(NewError("x")) is ExitCode.ENVIRONMENT


def test_one_flat_exception_tree_whose_classes_carry_no_exit_code() -> None:
    classes = [c for _, c in inspect.getmembers(errors, inspect.isclass) if issubclass(c, Exception)]
    assert {c.__name__ for c in classes} == {
        "InventoryError",
        "ConfigError",
        "OutputError",
        "SnapshotError",
        "CredentialsError",
        "OrganizationError",
    }
    for cls in classes:
        assert cls is errors.InventoryError or cls.__bases__ == (errors.InventoryError,)
        assert not hasattr(cls, "exit_code")
        assert cls in dict(BY_ERROR)


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_signals(signum: int, code: int) -> None:
    assert for_signal(signum) == code
    assert for_signal(int(signum)) == code


def test_the_demo_check_and_the_gates() -> None:
    assert for_demo(()) is ExitCode.OK
    assert for_demo(("('222222222222', 'us-east-1'): expected ok with 120 functions, got failed with 0",)) == 1
    assert for_gate(False) is ExitCode.OK
    assert for_gate(True) is ExitCode.GATE == 4


def test_verify_is_ok_only_when_the_run_is_complete_and_no_target_failed() -> None:
    assert for_verify(Verdict.COMPLETE.value) is ExitCode.OK
    assert for_verify(Verdict.COMPLETE_WITH_FAILURES.value) is ExitCode.PARTIAL == 1
    assert for_verify(Verdict.INCOMPLETE.value) is ExitCode.INCOMPLETE == 6
    assert for_verify(Verdict.MISSING.value) is ExitCode.INCOMPLETE
    assert {for_verify(v.value) for v in Verdict} == {ExitCode.OK, ExitCode.PARTIAL, ExitCode.INCOMPLETE}
    assert "verify" in ExitCode.INCOMPLETE.meaning and "verify" in ExitCode.PARTIAL.meaning


def test_only_the_command_line_decides_an_exit_code() -> None:
    """No module but cli*.py uses the exit codes; the only other os._exit (the signal watchdog's) is given its
    code by cli.main; and no module of the package calls sys.exit."""
    users, exits = set(), set()
    for path in PACKAGE.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        name = path.relative_to(PACKAGE).as_posix()
        if re.search(r"\bExitCode\b|inventory\.exits|\bexit_code\b", text):
            users.add(name)
        if re.search(r"\bsys\.exit\(|os\._exit\(", text):
            exits.add(name)
    assert users == {"exits.py", "cli.py", "cli_parser.py"}
    assert exits == {"cli.py", "signals.py", "__main__.py"}
    assert "os._exit(self.exit_code_of(stop.signum))" in (PACKAGE / "signals.py").read_text(encoding="utf-8")
