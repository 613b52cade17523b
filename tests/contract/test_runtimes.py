"""The runtime lifecycle model (contract/runtimes.py) and the packaged schedule (inventory/data/runtimes.yaml).

Dates are UTC days and a status applies from its day on: the day before a boundary is the previous status,
the day of and the day after are the new one. `deprecation_soon` is inclusive of as_of + within.
"""

from __future__ import annotations

import functools
from datetime import date, timedelta
from importlib.resources import files
from pathlib import Path

import pytest
import yaml

from inventory.contract.runtimes import Lifecycle, Runtime, RuntimeCatalog, load_catalog
from inventory.errors import ConfigError
from inventory.exits import ExitCode, for_error

DAY = timedelta(days=1)
NONE = timedelta(0)
DEPRECATION, BLOCK_CREATE, BLOCK_UPDATE = date(2026, 1, 10), date(2026, 2, 10), date(2026, 3, 10)
SCHEDULED = Runtime("python3.x", "Python 3.x", DEPRECATION, BLOCK_CREATE, BLOCK_UPDATE)
UNSCHEDULED = Runtime("python4.0", "Python 4.0", None, None, None)

# Every runtime AWS has listed that the issue names, supported and retired (the file may list more).
EXPECTED_RUNTIMES = frozenset(
    {
        *("python2.7", "python3.6", "python3.7", "python3.8", "python3.9"),
        *("python3.10", "python3.11", "python3.12", "python3.13", "python3.14"),
        *("nodejs", "nodejs4.3", "nodejs4.3-edge", "nodejs6.10", "nodejs8.10", "nodejs10.x", "nodejs12.x"),
        *("nodejs14.x", "nodejs16.x", "nodejs18.x", "nodejs20.x", "nodejs22.x", "nodejs24.x"),
        *("java8", "java8.al2", "java11", "java17", "java21", "java25"),
        *("dotnetcore1.0", "dotnetcore2.0", "dotnetcore2.1", "dotnetcore3.1"),
        *("dotnet5.0", "dotnet6", "dotnet7", "dotnet8", "dotnet9", "dotnet10"),
        "go1.x",
        *("ruby2.5", "ruby2.7", "ruby3.2", "ruby3.3", "ruby3.4"),
        *("provided", "provided.al2", "provided.al2023"),
    }
)
# AWS's own data has its dates out of order here (see the comment in runtimes.yaml): deprecation 2020-03-05,
# but Lambda@Edge functions on it were blocked from 2019-04-30.
OUT_OF_ORDER = {"nodejs4.3-edge"}
CONTAINER_ONLY = {"dotnet5.0", "dotnet7", "dotnet9"}  # AWS lists no block dates ("N/A", "Not scheduled")


@functools.cache
def packaged() -> RuntimeCatalog:
    return load_catalog()


def raw_entries() -> list[dict[str, object]]:
    data = yaml.safe_load((files("inventory.data") / "runtimes.yaml").read_text("utf-8"))
    entries: list[dict[str, object]] = data["runtimes"]
    return entries


# ---- the boundaries ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("as_of", "expected"),
    [
        (DEPRECATION - DAY, Lifecycle.SUPPORTED),
        (DEPRECATION, Lifecycle.DEPRECATED),
        (DEPRECATION + DAY, Lifecycle.DEPRECATED),
        (BLOCK_CREATE - DAY, Lifecycle.DEPRECATED),
        (BLOCK_CREATE, Lifecycle.CREATE_BLOCKED),
        (BLOCK_CREATE + DAY, Lifecycle.CREATE_BLOCKED),
        (BLOCK_UPDATE - DAY, Lifecycle.CREATE_BLOCKED),
        (BLOCK_UPDATE, Lifecycle.UPDATE_BLOCKED),
        (BLOCK_UPDATE + DAY, Lifecycle.UPDATE_BLOCKED),
        (date(2100, 1, 1), Lifecycle.UPDATE_BLOCKED),
    ],
    ids=str,
)
def test_each_date_applies_from_its_own_day(as_of: date, expected: Lifecycle) -> None:
    assert SCHEDULED.status(as_of, NONE) is expected


@pytest.mark.parametrize(
    ("days_before_deprecation", "expected"),
    [
        (31, Lifecycle.SUPPORTED),  # deprecation is one day past the window
        (30, Lifecycle.DEPRECATION_SOON),  # exactly at as_of + within: inside (inclusive)
        (29, Lifecycle.DEPRECATION_SOON),
        (1, Lifecycle.DEPRECATION_SOON),
        (0, Lifecycle.DEPRECATED),  # the day itself is deprecated, not "soon"
    ],
)
def test_deprecation_soon_within_the_window(days_before_deprecation: int, expected: Lifecycle) -> None:
    as_of = DEPRECATION - timedelta(days=days_before_deprecation)
    assert SCHEDULED.status(as_of, timedelta(days=30)) is expected


def test_a_zero_window_never_says_soon() -> None:
    assert SCHEDULED.status(DEPRECATION - DAY, NONE) is Lifecycle.SUPPORTED
    assert SCHEDULED.status(DEPRECATION, NONE) is Lifecycle.DEPRECATED


def test_soon_is_about_deprecation_only() -> None:
    """A block date inside the window does not make an already deprecated runtime anything else."""
    assert SCHEDULED.status(BLOCK_CREATE - DAY, timedelta(days=365)) is Lifecycle.DEPRECATED


def test_a_negative_window_is_refused() -> None:
    with pytest.raises(ValueError, match="cannot be negative"):
        SCHEDULED.status(DEPRECATION, -DAY)


@pytest.mark.parametrize("as_of", [date.min, date(2026, 11, 28), date(9999, 1, 1)], ids=str)
def test_a_runtime_with_no_dates_is_supported_forever(as_of: date) -> None:
    assert UNSCHEDULED.status(as_of, timedelta(days=3650)) is Lifecycle.SUPPORTED


def test_a_block_date_without_a_deprecation_date_still_applies() -> None:
    runtime = Runtime("nodejs0", "old", None, None, BLOCK_UPDATE)
    assert runtime.status(BLOCK_UPDATE - DAY, timedelta(days=365)) is Lifecycle.SUPPORTED
    assert runtime.status(BLOCK_UPDATE, NONE) is Lifecycle.UPDATE_BLOCKED


def test_severity_is_the_declared_order_most_severe_first() -> None:
    assert [status.severity for status in Lifecycle] == list(range(len(Lifecycle)))
    assert Lifecycle.UPDATE_BLOCKED.severity < Lifecycle.DEPRECATED.severity < Lifecycle.SUPPORTED.severity


# ---- the catalog: unknown and image ----------------------------------------------------------------

CATALOG = RuntimeCatalog(date(2026, 11, 28), "test", {SCHEDULED.runtime: SCHEDULED})


def test_an_unknown_runtime_is_unknown_not_supported() -> None:
    assert CATALOG.status("cobol85", "Zip", DEPRECATION, NONE) is Lifecycle.UNKNOWN


def test_a_zip_function_without_a_runtime_is_unknown() -> None:
    assert CATALOG.status(None, "Zip", DEPRECATION, NONE) is Lifecycle.UNKNOWN


@pytest.mark.parametrize(("runtime", "package_type"), [(None, "Image"), (None, None), ("python3.x", "Image")])
def test_a_container_image_has_no_managed_runtime(runtime: str | None, package_type: str | None) -> None:
    assert CATALOG.status(runtime, package_type, BLOCK_UPDATE, NONE) is Lifecycle.IMAGE


def test_a_known_zip_runtime_gets_its_schedule() -> None:
    assert CATALOG.status("python3.x", "Zip", BLOCK_CREATE, NONE) is Lifecycle.CREATE_BLOCKED
    assert CATALOG.status("python3.x", None, DEPRECATION - DAY, timedelta(days=1)) is Lifecycle.DEPRECATION_SOON


# ---- the packaged schedule --------------------------------------------------------------------------


def test_the_packaged_file_loads_with_its_checked_date_and_sources() -> None:
    catalog = packaged()
    assert catalog.checked == date(2026, 11, 28)
    assert "https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtimes.html" in catalog.source.split()
    assert all(url.startswith("https://") for url in catalog.source.split())


def test_the_packaged_file_lists_every_runtime_aws_has_listed() -> None:
    missing = EXPECTED_RUNTIMES - packaged().runtimes.keys()
    assert not missing, f"runtimes.yaml lacks {sorted(missing)}"


def test_no_runtime_is_listed_twice() -> None:
    ids = [entry["id"] for entry in raw_entries()]
    assert len(ids) == len(set(ids)) == len(packaged().runtimes)


def test_every_entry_names_all_three_dates_even_when_null() -> None:
    for entry in raw_entries():
        assert set(entry) == {"id", "name", "deprecation", "block_create", "block_update"}, entry


def test_dates_are_in_order_except_where_aws_data_is_not() -> None:
    """deprecation <= block_create <= block_update wherever the dates are given."""
    unordered = set()
    for runtime in packaged().runtimes.values():
        given = [d for d in (runtime.deprecation, runtime.block_create, runtime.block_update) if d is not None]
        if given != sorted(given):
            unordered.add(runtime.runtime)
    assert unordered == OUT_OF_ORDER


def test_the_out_of_order_entry_is_as_aws_published_it() -> None:
    edge = packaged().runtimes["nodejs4.3-edge"]
    assert edge.block_create == date(2019, 4, 30) < date(2020, 3, 5) == edge.deprecation
    assert edge.block_update == date(2020, 4, 30)
    # The model still answers by severity: blocked for creation before it was deprecated.
    assert edge.status(date(2019, 6, 1), NONE) is Lifecycle.CREATE_BLOCKED


def test_dates_fall_within_lambdas_lifetime() -> None:
    for runtime in packaged().runtimes.values():
        for day in (runtime.deprecation, runtime.block_create, runtime.block_update):
            assert day is None or date(2016, 1, 1) <= day <= date(2030, 12, 31), runtime


def test_every_retired_runtime_has_a_deprecation_date() -> None:
    retired = EXPECTED_RUNTIMES - {"nodejs22.x", "nodejs24.x", "python3.12", "python3.13", "python3.14"}
    for name in retired:
        assert packaged().runtimes[name].deprecation is not None, name


def test_container_only_runtimes_have_no_block_dates() -> None:
    for name in CONTAINER_ONLY:
        runtime = packaged().runtimes[name]
        assert runtime.deprecation is not None
        assert (runtime.block_create, runtime.block_update) == (None, None)


@pytest.mark.parametrize(
    ("runtime", "as_of", "expected"),
    [
        ("python2.7", date(2026, 11, 28), Lifecycle.UPDATE_BLOCKED),
        ("python3.8", date(2026, 11, 28), Lifecycle.DEPRECATED),
        ("python3.8", date(2027, 2, 1), Lifecycle.CREATE_BLOCKED),
        ("python3.8", date(2027, 3, 3), Lifecycle.UPDATE_BLOCKED),
        ("python3.10", date(2026, 10, 30), Lifecycle.DEPRECATION_SOON),
        ("python3.10", date(2026, 10, 31), Lifecycle.DEPRECATED),
        ("nodejs24.x", date(2026, 11, 28), Lifecycle.SUPPORTED),
        ("nodejs22.x", date(2027, 4, 1), Lifecycle.DEPRECATION_SOON),
        ("dotnet8", date(2026, 11, 10), Lifecycle.DEPRECATED),
    ],
)
def test_the_packaged_schedule_answers(runtime: str, as_of: date, expected: Lifecycle) -> None:
    assert packaged().status(runtime, "Zip", as_of, timedelta(days=30)) is expected


# ---- malformed files: ConfigError, one line ---------------------------------------------------------

GOOD_ENTRY = "{id: python3.8, name: Python 3.8, deprecation: 2024-10-14, block_create: null, block_update: null}"


def _file(body: str, checked: str = "2026-11-28", source: str = "https://example.com") -> str:
    return f"checked: {checked}\nsource: {source}\nruntimes:\n{body}\n"


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("checked: [2026-11-28\nsource: x\n", "while parsing"),  # not YAML at all: YAML's multi-line message
        ("- just\n- a list\n", "expected a mapping"),
        ("", "expected a mapping, got NoneType"),
        ("source: x\nruntimes: []\n", "missing checked"),
        (_file(f"  - {GOOD_ENTRY}") + "extra: 1\n", "unknown key extra"),
        (_file("  []"), "runtimes: expected a non-empty list"),
        (_file("  - python3.8"), "runtimes[0]: expected a mapping"),
        (_file(f"  - {GOOD_ENTRY.replace('block_update', 'block_updte')}"), "block_update"),
        (_file(f"  - {GOOD_ENTRY.replace('2024-10-14', '2024-13-01')}"), "'2024-13-01' is not a YYYY-MM-DD"),
        (_file("  - " + GOOD_ENTRY.replace("2024-10-14", '"Oct 14, 2024"')), "(python3.8).deprecation"),
        (_file(f"  - {GOOD_ENTRY.replace('2024-10-14', '2024-10-14T00:00:00')}"), "is not a YYYY-MM-DD"),
        (_file(f"  - {GOOD_ENTRY.replace('2024-10-14', '20241014')}"), "20241014"),
        (_file(f"  - {GOOD_ENTRY}\n  - {GOOD_ENTRY}"), "runtimes[1].id: 'python3.8' is listed twice"),
        (_file(f"  - {GOOD_ENTRY.replace('id: python3.8', 'id: python 3.8')}"), "is not a runtime identifier"),
        (_file(f"  - {GOOD_ENTRY.replace('name: Python 3.8', 'name: null')}"), ".name: expected a non-empty"),
        (_file(f"  - {GOOD_ENTRY}", checked="null"), "checked: expected the YYYY-MM-DD date"),
        (_file(f"  - {GOOD_ENTRY}", source="[]"), "source: expected a non-empty string"),
    ],
)
def test_a_malformed_file_is_one_config_error_line(tmp_path: Path, text: str, names: str) -> None:
    path = tmp_path / "runtimes.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as raised:
        load_catalog(path)
    message = str(raised.value)
    assert "\n" not in message
    assert message.startswith(f"{path}: not a runtime schedule: ")
    assert names in message
    assert for_error(raised.value) is ExitCode.USAGE


def test_a_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"runtimes\.yaml: not a runtime schedule: .*No such file"):
        load_catalog(tmp_path / "runtimes.yaml")


def test_a_file_in_the_same_format_loads(tmp_path: Path) -> None:
    path = tmp_path / "runtimes.yaml"
    path.write_text(_file(f"  - {GOOD_ENTRY}", source="[https://a.example, https://b.example]"), encoding="utf-8")
    catalog = load_catalog(path)
    assert catalog.source == "https://a.example https://b.example"
    assert catalog.runtimes["python3.8"] == Runtime("python3.8", "Python 3.8", date(2024, 10, 14), None, None)
