"""run.py's comparisons: the job against two boto3 programs, measured in the same invocation against the same fake.

* the straightforward reference (reference.py): a 16-thread pool, one boto3 client per (account, region);
* the sequential seed-style baseline (baseline.py): in full by default, or scaled from K accounts.

Each runs once, as a child process measured exactly like the job (children.py's run_measured: os.wait4 for wall,
user + sys CPU and peak RSS; calls from the fake's /__stats after a reset). Each must find exactly the
population's function count (and as many distinct ARNs) in every account-region it lists, with one AssumeRole
per account; otherwise the comparison is void and run.py fails. The ratios (ratios()) are printed first.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

HERE = Path(__file__).resolve().parent
REFERENCE = HERE / "reference.py"
BASELINE = HERE / "baseline.py"
PAGE_LIMIT = 50
WALL_TARGET = 30.0  # wall: the sequential baseline / the job, at least (issue 13, 300 x 17)
CPU_TARGET = 1 / 6  # CPU per call: the job / the reference, at most

Population = dict[str, dict[str, int]]


class Measured(Protocol):
    returncode: int
    wall_s: float
    maxrss_mib: float
    stdout: str
    stderr: str

    @property
    def cpu_s(self) -> float: ...


class FakeLike(Protocol):
    def reset(self) -> None: ...
    def get(self, path: str) -> Any: ...


Measure = Callable[[list[str], str], Measured]  # (command, name for its log files) -> the measured child


def run_programs(
    args: argparse.Namespace, fake: FakeLike, measure: Measure, config: Path, population: Population
) -> dict[str, dict[str, Any] | None]:
    """The reference and the baseline, once each, as args asks; None for one not run. Not run when the job is
    asked for enrichments (they only list: unlike calls) nor in a container (the job's CPU is capped there,
    theirs would not be: unlike machines)."""
    programs: dict[str, dict[str, Any] | None] = {"reference": None, "baseline": None}
    if args.enrich_matrix or args.enrichments or args.container:
        if args.reference or args.baseline:
            print("reference and baseline not run: they list only, on the host (no enrichments, no container)")
        return programs
    if args.reference:
        print("reference (boto3, 16 threads, one client per account-region) ...", flush=True)
        cmd = [args.python, str(REFERENCE), "--config", str(config)]
        programs["reference"] = measure_program("reference", cmd, fake, measure, population)
    if args.baseline:
        k = args.baseline_sample_accounts
        sampled = bool(k) and k < len(population)
        print(f"baseline (sequential{f', {k} accounts' if sampled else ', in full'}) ...", flush=True)
        cmd = [args.python, str(BASELINE), "--config", str(config)]
        cmd += ["--sample-accounts", str(k)] if sampled else []
        programs["baseline"] = measure_program("baseline", cmd, fake, measure, population)
    return programs


def measure_program(
    name: str, cmd: list[str], fake: FakeLike, measure: Measure, population: Population
) -> dict[str, Any]:
    """Run one program as the job is run, and check what it found against the population."""
    fake.reset()
    child = measure(cmd, name)
    if child.returncode != 0:
        tail = " | ".join(child.stderr.strip().splitlines()[-3:])
        return {"program": name, "problems": [f"{name} exited {child.returncode}: {tail}"]}
    result = json.loads(child.stdout)
    stats = fake.get("/__stats")
    accounts = result.get("account_ids") or list(population)
    calls = stats["requests_total"]
    full_min = stats["min_calls"]
    own_min = len(accounts) + sum(max(1, -(-n // PAGE_LIMIT)) for a in accounts for n in population[a].values())
    scale = full_min / own_min
    fixed = max(0.0, child.wall_s - result["wall_s"])  # interpreter start and imports: not scaled
    return {
        "program": name,
        "accounts": len(accounts),
        "scaled": scale != 1,
        "wall_s": fixed + result["wall_s"] * scale,  # the process's wall when not scaled
        "process_wall_s": child.wall_s,
        "loop_wall_s": result["wall_s"],
        "cpu_s": child.cpu_s,
        "cpu_per_call_ms": 1000 * child.cpu_s / calls if calls else None,
        "peak_rss_mib": child.maxrss_mib,
        "calls": calls,
        "own_min_calls": own_min,
        "full_min_calls": full_min,
        "assume_role_calls": stats["requests_by_op"].get("AssumeRole", 0),
        "assume_role_per_account_max": stats["assume_role_per_account_max"],
        "clients": result["clients"],
        "functions": result["functions"],
        "max_rps_per_target": stats["max_peak_rps"]["rps"],
        "problems": check_counts(name, result, accounts, population, stats),
    }


def check_counts(
    name: str, result: dict[str, Any], accounts: list[str], population: Population, stats: dict[str, Any]
) -> list[str]:
    """The comparison is void unless the program found every function of every account-region it listed, each
    ARN once, assumed each account's role once and made one client per account-region."""
    expected = {f"{a}/{r}": n for a in accounts for r, n in population[a].items()}
    found, arns = result["per_target"], result["per_target_arns"]
    wrong = [f"{k}: {found.get(k, 'missing')} != {n}" for k, n in expected.items() if found.get(k) != n]
    wrong += [f"{k}: not in the population" for k in found if k not in expected]
    duplicated = [k for k, n in arns.items() if n != found.get(k)]
    problems = []
    if wrong:
        lost = sum(n - found.get(k, 0) for k, n in expected.items())
        problems.append(f"{name}: {len(wrong)} account-regions counted wrong ({lost} functions lost), e.g. {wrong[:3]}")
    if duplicated:
        problems.append(f"{name}: an ARN listed twice in {len(duplicated)} account-regions, e.g. {duplicated[:3]}")
    if stats["assume_role_per_account_max"] != 1 or result["assume_role_calls"] != len(accounts):
        problems.append(f"{name}: {result['assume_role_calls']} AssumeRoles for {len(accounts)} accounts")
    if result["clients"] != len(expected):
        problems.append(f"{name}: {result['clients']} Lambda clients for {len(expected)} account-regions")
    return problems


def ratios(job: dict[str, Any], programs: dict[str, dict[str, Any] | None]) -> dict[str, float | None]:
    """The job's median figures against each program's: wall (program / job, higher is better for the job) and
    CPU per call (job / reference, lower is better). None where a program was not run or failed."""
    reference, baseline = programs.get("reference"), programs.get("baseline")

    def usable(program: dict[str, Any] | None) -> dict[str, Any] | None:
        return program if program and not program["problems"] else None

    reference, baseline = usable(reference), usable(baseline)
    job_cpu = job.get("cpu_per_call_ms")
    return {
        "wall_sequential_over_job": baseline["wall_s"] / job["wall_s"] if baseline else None,
        "wall_reference_over_job": reference["wall_s"] / job["wall_s"] if reference else None,
        "cpu_per_call_job_over_reference": (
            job_cpu / reference["cpu_per_call_ms"] if reference and job_cpu and reference["cpu_per_call_ms"] else None
        ),
    }


def problems_of(programs: dict[str, dict[str, Any] | None]) -> list[str]:
    return [p for program in programs.values() if program for p in program["problems"]]


def _met(ok: bool) -> str:
    return "met" if ok else "NOT met"


def render(job: dict[str, Any], programs: dict[str, dict[str, Any] | None], *, runs: int, cpu_model: str) -> list[str]:
    """The ratio lines, to be printed before everything else, then one line of absolutes per program."""
    r = ratios(job, programs)
    reference, baseline = programs.get("reference"), programs.get("baseline")
    if not reference and not baseline:
        return []
    job_label = f"median of {runs} runs" if runs > 1 else "1 run"
    lines = [
        "",
        f"ratios, measured in this invocation against the same fake ({cpu_model}; the job: {job_label}; "
        "the reference and the baseline: 1 run each)",
    ]
    seq, ref_wall = r["wall_sequential_over_job"], r["wall_reference_over_job"]
    cpu = r["cpu_per_call_job_over_reference"]
    if seq is not None and baseline:
        how = f"SCALED ESTIMATE from {baseline['accounts']} accounts" if baseline["scaled"] else "in full"
        lines.append(
            f"  wall, sequential / job     {seq:7.1f}x   (target >= {WALL_TARGET:g}x: {_met(seq >= WALL_TARGET)}; "
            f"sequential {baseline['wall_s']:.1f} s ({how}) / job {job['wall_s']:.2f} s)"
        )
    if ref_wall is not None and reference:
        lines.append(
            f"  wall, reference / job      {ref_wall:7.1f}x   (reference {reference['wall_s']:.1f} s / job "
            f"{job['wall_s']:.2f} s)"
        )
    if cpu is not None and reference:
        lines.append(
            f"  job CPU per call = 1/{1 / cpu:.1f} of the reference's   ({cpu:.3f}; target <= 1/{1 / CPU_TARGET:g}: "
            f"{_met(cpu <= CPU_TARGET)}; job {job['cpu_per_call_ms']:.2f} ms / reference "
            f"{reference['cpu_per_call_ms']:.2f} ms)"
        )
    for program in (reference, baseline):
        lines += _absolutes(program)
    return lines


def _absolutes(program: dict[str, Any] | None) -> list[str]:
    if not program:
        return []
    name = program["program"]
    if "wall_s" not in program:
        return [f"  {name}: FAILED, {'; '.join(program['problems'])}"]
    lost = "0 lost" if not program["problems"] else "VOID: " + "; ".join(program["problems"])
    return [
        f"  {name:<10} wall {program['process_wall_s']:7.1f} s, CPU {program['cpu_s']:6.1f} s "
        f"({program['cpu_per_call_ms']:.2f} ms per call), peak RSS {program['peak_rss_mib']:.0f} MiB, "
        f"{program['calls']:,} calls, {program['functions']:,} functions in {program['accounts']} accounts "
        f"({program['assume_role_calls']} AssumeRoles, {program['clients']:,} clients), {lost}"
    ]
