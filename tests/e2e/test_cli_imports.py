"""Each command imports what it uses: `--help`, `run --help` and `run` never import the report modules
(nor matplotlib or pandas), `report` and `diff` import them when they run, and `demo` imports the emulator
(moto) only when it runs. `--help` imports none of the libraries the job uses (pyarrow and numpy, aiohttp,
boto3, pydantic, PyYAML), `validate` only the config's (pydantic, PyYAML), and a run with nothing to list no
HTTP client. A behaviour test, not a timing one: the figures are in docs/performance.md.

Each case is a fresh interpreter that imports inventory.cli, runs `main(argv)` and then lists the modules
it holds, as a user's process would. pyarrow imports pandas by itself when it converts Python values and
pandas is installed (it is in the test extra, not in the image); the job hides it while it runs
(job/process_settings.py's pandas_hidden), so a run here, with pandas installed, must not load it either.
"""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import yaml
from conftest import admin_client, config_dict, ensure_organization, seed_members, subprocess_env

from inventory.demo.emulator import Emulator
from inventory.demo.seed import FunctionSpec, MemberSpec

ACCOUNT = "280000000001"  # only this module uses it
REPORTS = ("inventory.reports", "matplotlib", "pandas", "moto")
LIBRARIES = (
    "pyarrow",
    "numpy",
    "aiohttp",
    "httptools",
    "boto3",
    "s3transfer",
    "pydantic",
    "yaml",
    "pyiceberg",
    "sqlalchemy",
)
HEAVY = (*REPORTS, *LIBRARIES)

LIST_MODULES = """
import json, sys
BLOCKED = tuple(json.loads(%r))

class NotInstalled:  # these cannot be imported, as when they are not installed
    @staticmethod
    def find_spec(name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, NotInstalled)
from inventory.cli import main
try:
    code = main(sys.argv[1:])
except SystemExit as stop:
    code = stop.code
heavy = json.loads(%r)
loaded = sorted({name for name in sys.modules if name in heavy or name.startswith(tuple(h + "." for h in heavy))})
print(json.dumps({"code": code, "loaded": loaded}))
"""


def _modules_after(
    args: list[str], env: dict[str, str], cwd: Path, blocked: tuple[str, ...] = ()
) -> tuple[object, list[str]]:
    """(main's return value or exit code, the loaded modules that start with a HEAVY name)."""
    script = LIST_MODULES % (json.dumps(blocked), json.dumps(HEAVY))
    done = subprocess.run(
        [sys.executable, "-c", script, *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    found = json.loads(done.stdout.splitlines()[-1])
    return found["code"], [name for name in found["loaded"] if name not in blocked]


def _roots(loaded: list[str]) -> set[str]:
    """The HEAVY names among the loaded modules: `inventory.reports`, or a library's top-level package."""
    return {"inventory.reports" if name.startswith("inventory.reports") else name.split(".")[0] for name in loaded}


@pytest.mark.parametrize("args", [["--help"], ["run", "--help"], ["validate", "--help"], ["demo", "--help"]])
def test_help_imports_no_report_module_nor_the_jobs_libraries(tmp_path: Path, args: list[str]) -> None:
    code, loaded = _modules_after(args, subprocess_env(None), tmp_path)
    assert code == 0
    assert loaded == []


@pytest.mark.parametrize("args", [["report", "--help"], ["diff", "--help"]])
def test_report_and_diff_import_their_modules_when_parsed(tmp_path: Path, args: list[str]) -> None:
    code, loaded = _modules_after(args, subprocess_env(None), tmp_path)
    assert code == 0
    assert "inventory.reports" in loaded
    assert not {"matplotlib", "pandas", "moto"} & _roots(loaded)


def test_validate_imports_no_arrow_http_client_or_report_module(tmp_path: Path) -> None:
    config = tmp_path / "accounts.yaml"
    config.write_text(yaml.safe_dump(config_dict([{"account_id": ACCOUNT}], regions=["us-east-1"])), "utf-8")
    code, loaded = _modules_after(["validate", "--config", str(config)], subprocess_env(None), tmp_path)
    assert code == 0
    assert _roots(loaded) == {"pydantic", "yaml"}  # the config model and its reader; nothing the run itself needs


def test_a_run_imports_no_report_module_nor_pandas(emulator: Emulator, tmp_path: Path) -> None:
    seed_members(emulator, [MemberSpec(ACCOUNT, "imports", {"us-east-1": (FunctionSpec("fn", 3),)})])
    accounts = [{"account_id": ACCOUNT, "name": "imports"}]
    config = tmp_path / "accounts.yaml"
    config.write_text(yaml.safe_dump(config_dict(accounts, regions=["us-east-1"])), encoding="utf-8")
    args = ["run", "--config", str(config), "--output", str(tmp_path / "out.parquet")]
    code, loaded = _modules_after(args, subprocess_env(emulator.endpoint), tmp_path)
    assert code == 0
    assert (tmp_path / "out.parquet").is_file()
    assert not _roots(loaded) & set(REPORTS)  # pandas included: installed here, hidden while the job runs
    assert not _roots(loaded) & {"pyiceberg", "sqlalchemy"}, "a file output imports nothing of the lake"


def test_a_run_into_a_lake_imports_pyiceberg(emulator: Emulator, tmp_path: Path) -> None:
    """The other side of the test above: the module check would see pyiceberg if a run loaded it."""
    accounts = [{"account_id": ACCOUNT, "name": "imports"}]
    config = tmp_path / "accounts.yaml"
    config.write_text(yaml.safe_dump(config_dict(accounts, regions=["us-east-1"])), encoding="utf-8")
    args = ["run", "--config", str(config), "--output", str(tmp_path / "lake"), "--lake"]
    code, loaded = _modules_after(args, subprocess_env(emulator.endpoint), tmp_path)
    assert code == 0
    assert {"pyiceberg", "sqlalchemy"} <= _roots(loaded)
    assert not _roots(loaded) & set(REPORTS)


def _empty_organizational_unit(emulator: Emulator) -> str:
    """A new OU with no account in it, in the emulator's organisation: a run over it has nothing to list."""
    org = admin_client(emulator.endpoint, "organizations")
    root = ensure_organization(org)
    unit = org.create_organizational_unit(ParentId=root, Name=f"empty-{uuid.uuid4().hex[:6]}")
    return str(unit["OrganizationalUnit"]["Id"])


def test_a_run_over_an_empty_organisation_imports_no_http_client(emulator: Emulator, tmp_path: Path) -> None:
    config = tmp_path / "org.yaml"
    unit = _empty_organizational_unit(emulator)
    config.write_text(f"accounts_from: organization\norganizational_units: [{unit}]\nregions: all\n", "utf-8")
    args = ["run", "--config", str(config), "--output", str(tmp_path / "out.parquet")]
    code, loaded = _modules_after(args, subprocess_env(emulator.endpoint), tmp_path)
    assert code == 0
    assert (tmp_path / "out.parquet").is_file()  # the empty inventory and its status file, as for any run
    # none needed for a local output
    assert not _roots(loaded) & {*REPORTS, "aiohttp", "yarl", "boto3", "s3transfer", "pyiceberg", "sqlalchemy"}


HIDDEN = """
from inventory.job.process_settings import pandas_hidden
with pandas_hidden():
    try:
        import pandas
    except ModuleNotFoundError:
        print("hidden")
import pandas
print(pandas.__name__)
"""


def test_pandas_is_hidden_only_while_the_job_runs(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", HIDDEN], cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.split() == ["hidden", "pandas"]
