"""The comparison programs and run.py's ratios: the straightforward reference (reference.py) and the sequential
baseline (baseline.py) list the whole population against the fake, one AssumeRole per account and one Lambda
client per account-region, measured as the job is; a program that loses a function voids the comparison; the
ratios are the job's median figures over theirs. Behaviour, not timings. Run with `pytest benchmarks/`."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import compare
import pytest
import run
from children import ChildResult, child_env, run_measured
from fake_process import Fake, write_config
from run_args import parse_args

SIZE = ["--accounts", "4", "--regions", "3", "--latency-ms", "0", "--jitter-ms", "0", "--total-functions", "260"]


class Org:
    """A tiny fake organisation with its accounts file, and run.py's way of measuring a program against it."""

    def __init__(self, tmp: Path) -> None:
        self.args = parse_args(SIZE)
        self.workdir = tmp
        self.fake = Fake(self.args, tmp)
        self.population: dict[str, dict[str, int]] = self.fake.get("/__population")
        self.config = tmp / "accounts.yaml"
        write_config(self.config, self.population, self.fake.get("/__stats")["regions"])

    def measure(self, cmd: list[str], name: str) -> ChildResult:
        return run_measured(cmd, child_env(self.fake.url), self.workdir, name, 120)

    def program(self, name: str, *extra: str, population: dict[str, dict[str, int]] | None = None) -> dict[str, Any]:
        script = compare.REFERENCE if name == "reference" else compare.BASELINE
        cmd = [self.args.python, str(script), "--config", str(self.config), *extra]
        return compare.measure_program(name, cmd, self.fake, self.measure, population or self.population)


@pytest.fixture
def org(tmp_path: Path) -> Iterator[Org]:
    made = Org(tmp_path)
    try:
        yield made
    finally:
        made.fake.stop()


@pytest.mark.parametrize("name", ["reference", "baseline"])
def test_program_lists_the_whole_population_once(org: Org, name: str) -> None:
    result = org.program(name)
    stats = org.fake.get("/__stats")
    assert result["problems"] == []
    assert result["functions"] == 260 == sum(n for regions in org.population.values() for n in regions.values())
    assert result["clients"] == 12  # one Lambda client per (account, region)
    assert result["assume_role_calls"] == 4 and result["assume_role_per_account_max"] == 1
    assert result["calls"] == stats["min_calls"] == stats["requests_total"]  # counted from the fake, no extra page
    assert not result["scaled"] and result["wall_s"] == result["process_wall_s"]
    assert result["cpu_s"] > 0 and result["cpu_per_call_ms"] == pytest.approx(1000 * result["cpu_s"] / result["calls"])
    assert result["peak_rss_mib"] > 0


def test_reference_runs_16_threads_and_assumes_each_role_once(org: Org) -> None:
    org.fake.reset()
    child = org.measure([org.args.python, str(compare.REFERENCE), "--config", str(org.config)], "reference")
    printed = json.loads(child.stdout)
    assert printed["threads"] == 16 and printed["assume_role_calls"] == 4
    assert org.fake.get("/__stats")["requests_by_op"]["AssumeRole"] == 4
    assert printed["per_target"] == {f"{a}/{r}": n for a, regions in org.population.items() for r, n in regions.items()}
    assert printed["per_target_arns"] == printed["per_target"]


def test_sampled_baseline_lists_only_its_accounts_and_is_scaled(org: Org) -> None:
    result = org.program("baseline", "--sample-accounts", "2")
    assert result["problems"] == [] and result["accounts"] == 2 and result["clients"] == 6
    assert result["scaled"] and result["full_min_calls"] > result["own_min_calls"] == result["calls"]


def test_a_program_that_misses_functions_voids_the_comparison(org: Org) -> None:
    account, regions = next(iter(org.population.items()))
    region = next(r for r, n in regions.items() if n > 0)
    bigger = {a: dict(rs) for a, rs in org.population.items()}
    bigger[account][region] += 1  # the program now finds one function fewer than the population holds
    result = org.program("reference", population=bigger)
    (problem,) = result["problems"]
    assert problem.startswith("reference: 1 account-regions counted wrong (1 functions lost)")
    assert f"{account}/{region}" in problem
    assert compare.problems_of({"reference": result, "baseline": None}) == [problem]
    ratios = compare.ratios({"wall_s": 1.0, "cpu_per_call_ms": 1.0}, {"reference": result})
    assert ratios["cpu_per_call_job_over_reference"] is None


def test_check_counts_names_duplicates_extra_assumes_and_clients() -> None:
    population = {"1": {"r1": 2, "r2": 0}}
    result = {"per_target": {"1/r1": 2, "1/r2": 0}, "per_target_arns": {"1/r1": 1, "1/r2": 0}}
    stats = {"assume_role_per_account_max": 2}
    problems = compare.check_counts("x", {**result, "assume_role_calls": 2, "clients": 1}, ["1"], population, stats)
    assert problems == [
        "x: an ARN listed twice in 1 account-regions, e.g. ['1/r1']",
        "x: 2 AssumeRoles for 1 accounts",
        "x: 1 Lambda clients for 2 account-regions",
    ]


def test_ratios_are_the_jobs_median_over_each_program() -> None:
    job = {"wall_s": 10.0, "cpu_per_call_ms": 1.5}
    reference = {"program": "reference", "wall_s": 120.0, "cpu_per_call_ms": 11.0, "problems": []}
    baseline = {"program": "baseline", "wall_s": 400.0, "cpu_per_call_ms": 20.0, "problems": []}
    got = compare.ratios(job, {"reference": reference, "baseline": baseline})
    assert got == {
        "wall_sequential_over_job": 40.0,
        "wall_reference_over_job": 12.0,
        "cpu_per_call_job_over_reference": pytest.approx(1.5 / 11.0),
    }
    assert compare.ratios(job, {"reference": None, "baseline": None}) == dict.fromkeys(got)


def test_render_leads_with_the_ratios_and_says_whether_each_target_is_met() -> None:
    job = {"wall_s": 10.0, "cpu_per_call_ms": 1.5}
    common: dict[str, Any] = {"process_wall_s": 0.0, "cpu_s": 0.0, "peak_rss_mib": 0.0, "calls": 1, "functions": 1}
    common |= {"accounts": 1, "assume_role_calls": 1, "clients": 1, "problems": [], "scaled": False}
    reference = {**common, "program": "reference", "wall_s": 120.0, "cpu_per_call_ms": 11.0}
    baseline = {**common, "program": "baseline", "wall_s": 250.0, "cpu_per_call_ms": 20.0}
    lines = compare.render(job, {"reference": reference, "baseline": baseline}, runs=3, cpu_model="CPU X, 2 CPUs")
    assert lines[1].startswith("ratios, measured in this invocation") and "CPU X, 2 CPUs" in lines[1]
    assert "median of 3 runs" in lines[1] and "1 run each" in lines[1]
    assert "25.0x" in lines[2] and "target >= 30x: NOT met" in lines[2]
    assert "12.0x" in lines[3]
    assert lines[4].startswith("  job CPU per call = 1/7.3 of the reference's") and "<= 1/6: met" in lines[4]
    assert compare.render(job, {"reference": None, "baseline": None}, runs=1, cpu_model="") == []


def test_run_py_reports_the_ratios_of_one_invocation(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    assert run.main([*SIZE, "--workdir", str(tmp_path / "work"), "--json", str(out)]) == 0
    document = json.loads(out.read_text())
    assert set(document["ratios"]) == {
        "wall_sequential_over_job",
        "wall_reference_over_job",
        "cpu_per_call_job_over_reference",
    }
    assert all(isinstance(v, float) and v > 0 for v in document["ratios"].values())
    for name in ("reference", "baseline"):
        assert document[name]["problems"] == [] and document[name]["functions"] == 260
        assert document[name]["clients"] == 12 and not document[name]["scaled"]


@pytest.mark.parametrize("flags", [["--enrich", "tags"], ["--enrich-matrix"], ["--container", "image:tag"]])
def test_programs_are_not_run_beside_enrichments_or_a_container(flags: list[str], tmp_path: Path) -> None:
    def measure(cmd: list[str], name: str) -> ChildResult:
        raise AssertionError(f"{name} run")

    args = parse_args([*SIZE, *flags])
    assert compare.run_programs(args, None, measure, tmp_path / "accounts.yaml", {}) == {  # type: ignore[arg-type]
        "reference": None,
        "baseline": None,
    }


def test_a_childs_peak_rss_is_its_own_not_run_pys(tmp_path: Path) -> None:
    held = bytearray(200 * 2**20)  # run.py after reading an inventory: the child must not report this
    held[:: 2**12] = b"\1" * len(held[:: 2**12])
    grow = "import sys; b = bytearray(80 * 2**20); b[::4096] = bytes(len(b[::4096])) ; sys.exit(3)"
    child = run_measured([sys.executable, "-c", grow], {}, tmp_path, "child", 60)
    assert child.returncode == 3
    assert 80 < child.maxrss_mib < 150 and len(held) == 200 * 2**20
    assert child.cpu_s > 0 and child.wall_s > 0


def test_a_child_past_its_timeout_is_killed_with_its_launcher(tmp_path: Path) -> None:
    child = run_measured(["sleep", "30"], {"PATH": "/usr/bin:/bin"}, tmp_path, "slow", 0.5)
    assert child.returncode == -9 and child.wall_s < 10
