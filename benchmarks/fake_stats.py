"""What the fake counts (its /__stats): requests by operation and by account-region with their arrival times,
in-flight peaks, AssumeRoles per account, throttles and errors, its own lag and CPU. Standard library only."""

from __future__ import annotations

import argparse
import collections
import resource
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any

from fake_population import PAGE_LIMIT, Population


@dataclass
class TargetStats:
    requests: int = 0
    in_flight: int = 0
    peak_in_flight: int = 0
    peak_rps: int = 0
    window: deque[float] | None = None
    arrivals: list[float] = field(default_factory=list)

    def arrive(self, now: float) -> int:
        """Count one arrival (any service); return how many arrived in the last second (this one included)."""
        self.requests += 1
        self.in_flight += 1
        self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
        self.arrivals.append(now)
        if self.window is None:
            self.window = deque()
        window = self.window
        window.append(now)
        while window[0] <= now - 1.0:
            window.popleft()
        self.peak_rps = max(self.peak_rps, len(window))
        return len(window)


def peak_in_window(times: list[float], width: float = 1.0) -> int:
    """The most arrivals within any window of `width` seconds: (t - width, t] slid over the sorted times."""
    ordered = sorted(times)
    best, lo = 0, 0
    for hi, now in enumerate(ordered):
        while ordered[lo] <= now - width:
            lo += 1
        best = max(best, hi - lo + 1)
    return best


class Stats:
    def __init__(self) -> None:
        self.started = time.time()
        self.ops: Counter[str] = Counter()
        self.targets: dict[tuple[str, str], TargetStats] = collections.defaultdict(TargetStats)
        self.assume_role: Counter[str] = Counter()
        self.throttles: Counter[str] = Counter()
        self.errors: Counter[str] = Counter()
        self.attempts: Counter[tuple[str, str, str, object]] = Counter()  # (op, account, region, part) -> tries
        self.in_flight = 0
        self.peak_in_flight = 0
        self.lag: list[float] = []  # per member call: seconds beyond the injected latency (the fake's own delay)
        self.connections = 0
        self.first_request: float | None = None
        self.last_response: float | None = None


def snapshot(
    s: Stats, pop: Population, args: argparse.Namespace, min_calls_by_enrichment: dict[str, int] | None
) -> dict[str, Any]:
    """/__stats: the counts since the last reset, the population's figures, the fake's own CPU and its flags."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {
        **_traffic(s, pop.accounts),
        "total_functions": pop.total,
        "accounts": len(pop.accounts),
        "regions": list(pop.regions),
        "account_regions": len(pop.accounts) * len(pop.regions),
        "min_calls": pop.min_calls,
        "min_calls_by_enrichment": min_calls_by_enrichment,  # None until /__enrichment_min_calls or --enrichments
        "page_limit": PAGE_LIMIT,
        "bytes_per_function": round(pop.bytes_per_function, 1),
        "pages_prebuilt": pop.prebuilt,
        "pages_built": pop.pages_built,
        "fake_cpu_s": round(usage.ru_utime + usage.ru_stime, 3),
        "fake_maxrss_mib": round(usage.ru_maxrss / 1024, 1),
        "config": {
            "latency_ms": args.latency_ms,
            "jitter_ms": args.jitter_ms,
            "throttle_rate": args.throttle_rate,
            "sts_throttle_rate": args.sts_throttle_rate,
            "enforce_rps": args.enforce_rps,
            "metric_points_per_page": args.metric_points_per_page,
            "estate_page_items": args.estate_page_items,
            "seed": args.seed,
        },
    }


def _traffic(s: Stats, accounts: list[str]) -> dict[str, Any]:
    """The requests since the last reset: by operation, by account-region, their peaks, AssumeRoles, lag."""
    per_target = {f"{a}/{r}": t for (a, r), t in sorted(s.targets.items())}
    rps = {k: peak_in_window(t.arrivals) for k, t in per_target.items()}  # all services together
    peak_rps = max(rps.items(), key=lambda kv: kv[1], default=(None, 0))
    peak_conc = max(per_target.items(), key=lambda kv: kv[1].peak_in_flight, default=(None, TargetStats()))
    assume = dict(sorted(s.assume_role.items()))
    return {
        "requests_total": sum(s.ops.values()),
        "requests_by_op": dict(s.ops),
        "throttles": dict(s.throttles),
        "throttles_total": sum(s.throttles.values()),
        "errors": dict(s.errors),
        "assume_role_by_account": assume,
        "assume_role_per_account_max": max((assume.get(a, 0) for a in accounts), default=0),
        "assume_role_per_account_min": min((assume.get(a, 0) for a in accounts), default=0),
        "requests_by_target": {k: t.requests for k, t in per_target.items()},
        "peak_concurrency_by_target": {k: t.peak_in_flight for k, t in per_target.items()},
        "peak_rps_by_target": rps,
        "max_peak_rps": {"target": peak_rps[0], "rps": peak_rps[1]},
        "max_peak_concurrency": {"target": peak_conc[0], "in_flight": peak_conc[1].peak_in_flight},
        "last_target": _last_target(per_target, s.first_request),
        "peak_in_flight_overall": s.peak_in_flight,
        "fake_lag_ms": _percentiles(s.lag),
        "connections": s.connections,
        "busy_seconds": (s.last_response - s.first_request) if s.first_request and s.last_response else 0.0,
    }


def _last_target(per_target: dict[str, TargetStats], origin: float | None) -> dict[str, Any] | None:
    """The account-region whose last request came last: when its first and last requests arrived (seconds
    after the first request of the run) and how many it got. What a long run waits for at its end."""
    busy = [(t.arrivals[-1], key, t) for key, t in per_target.items() if t.arrivals]
    if not busy or origin is None:
        return None
    _, key, t = max(busy)
    first, last = t.arrivals[0] - origin, t.arrivals[-1] - origin
    return {"target": key, "first_s": round(first, 2), "last_s": round(last, 2), "requests": t.requests}


def _percentiles(values: list[float]) -> dict[str, float]:
    """p50 / p99 / max of seconds, in ms."""
    if not values:
        return {"p50": 0.0, "p99": 0.0, "max": 0.0}
    ordered = sorted(values)

    def pick(q: float) -> float:
        return round(1000 * ordered[min(len(ordered) - 1, int(q * len(ordered)))], 1)

    return {"p50": pick(0.5), "p99": pick(0.99), "max": round(1000 * ordered[-1], 1)}
