"""The fake's organisation, a pure function of --seed: how many functions each account-region holds, and the
ListFunctions pages of each (prebuilt at start-up, or above --prebuild-max-functions built on first use into a
bounded LRU cache); and the seeded draws (unit_hash) that decide which attempts are throttled.

Accounts are `--first-account + i` for i in 0..N-1; regions are the first R of fake_truth.REGIONS. About 75% of
account-regions are empty, most others hold 1-30 functions, a few hundreds; the counts are then scaled to exactly
--total-functions (default: --functions-per-account-region-mean x N x R). Standard library only.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import random
import time
from collections import OrderedDict

from fake_items import function_json
from fake_truth import REGIONS, mix64

PAGE_LIMIT = 50
DEFAULT_MEAN = 12.75  # functions per account-region: 65,025 for 300 x 17


def unit_hash(*parts: object) -> float:
    """A deterministic number in [0, 1) from any parts."""
    digest = hashlib.blake2b(repr(parts).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2.0**64


def generate_counts(
    accounts: int, regions: int, *, seed: int, total: int | None, mean: float, empty_share: float
) -> list[list[int]]:
    """counts[i][j]: functions in account i, region j. Shape: mostly empty, mostly small, a few heavy."""
    rng = random.Random(seed)
    counts = [[0] * regions for _ in range(accounts)]
    for row in counts:
        for j in range(regions):
            if rng.random() < empty_share:
                continue
            kind = rng.random()
            if kind < 0.85:
                row[j] = rng.randint(1, 30)
            elif kind < 0.97:
                row[j] = rng.randint(31, 200)
            else:
                row[j] = rng.randint(200, 800)
    if not any(any(row) for row in counts):
        counts[0][0] = 1
    target = total if total is not None else round(mean * accounts * regions)
    return _scale(counts, target)


def _scale(counts: list[list[int]], target: int) -> list[list[int]]:
    """Scale the non-empty cells to sum to exactly `target` (largest remainder; non-empty cells keep >= 1)."""
    cells = [(i, j) for i, row in enumerate(counts) for j, n in enumerate(row) if n]
    raw = sum(counts[i][j] for i, j in cells)
    if target <= 0:
        return [[0] * len(row) for row in counts]
    while len(cells) > target:  # fewer functions than non-empty cells: empty some
        i, j = cells.pop()
        counts[i][j] = 0
    factor = target / raw
    exact = {(i, j): counts[i][j] * factor for i, j in cells}
    for i, j in cells:
        counts[i][j] = max(1, math.floor(exact[(i, j)]))
    diff = target - sum(counts[i][j] for i, j in cells)
    by_remainder = sorted(cells, key=lambda c: exact[c] - math.floor(exact[c]), reverse=True)
    k = 0
    while diff > 0:
        i, j = by_remainder[k % len(by_remainder)]
        counts[i][j] += 1
        diff -= 1
        k += 1
    by_size = sorted(cells, key=lambda c: counts[c[0]][c[1]], reverse=True)
    k = 0
    while diff < 0:
        i, j = by_size[k % len(by_size)]
        if counts[i][j] > 1:
            counts[i][j] -= 1
            diff += 1
        k += 1
    return counts


def marker_for(offset: int) -> str:
    return f"v1.{offset}.{mix64(offset) & 0xFFFFFFFF:08x}"


def offset_of(marker: str) -> int | None:
    try:
        version, offset, _check = marker.split(".")
        return int(offset) if version == "v1" and int(offset) >= 0 else None
    except ValueError:
        return None


class Population:
    """The organisation: function counts, and page bodies (prebuilt, or built lazily into an LRU cache)."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.seed = args.seed
        self.regions = REGIONS[: args.regions]
        self.accounts = [f"{args.first_account + i:012d}" for i in range(args.accounts)]
        counts = generate_counts(
            args.accounts,
            len(self.regions),
            seed=args.seed,
            total=args.total_functions,
            mean=args.functions_per_account_region_mean,
            empty_share=args.empty_share,
        )
        self.counts: dict[str, dict[str, int]] = {
            account: dict(zip(self.regions, row, strict=True))
            for account, row in zip(self.accounts, counts, strict=True)
        }
        self.account_index = {a: i for i, a in enumerate(self.accounts)}
        self.total = sum(sum(row) for row in counts)
        self.min_calls = len(self.accounts) + sum(max(1, math.ceil(n / PAGE_LIMIT)) for row in counts for n in row)
        self.prebuilt = self.total <= args.prebuild_max_functions
        self._cache: OrderedDict[tuple[str, str, int, int], bytes] = OrderedDict()
        self._cache_bytes = 0
        self._cache_limit = args.cache_mb * 1024 * 1024
        self.pages_built = 0
        self.bytes_per_function = 0.0
        self.build_cpu_s = self._prebuild()
        self._sample()

    def _prebuild(self) -> float:
        """Every page of every account-region, when prebuilt: the CPU seconds it took."""
        started = time.process_time()
        if self.prebuilt:
            for account, row in self.counts.items():
                for region, n in row.items():
                    for offset in range(0, n, PAGE_LIMIT):
                        self.page(account, region, offset, PAGE_LIMIT)
        return time.process_time() - started

    def _sample(self) -> None:
        """bytes_per_function, from the first non-empty page (which must be valid JSON)."""
        sample = next(((a, r) for a, row in self.counts.items() for r, n in row.items() if n), None)
        if sample:
            body = self.page(sample[0], sample[1], 0, PAGE_LIMIT)
            items = json.loads(body)["Functions"]  # the template must produce valid JSON
            self.bytes_per_function = len(body) / max(1, len(items))

    def count(self, account: str, region: str) -> int:
        return self.counts.get(account, {}).get(region, 0)

    def page(self, account: str, region: str, offset: int, limit: int) -> bytes:
        key = (account, region, offset, limit)
        body = self._cache.get(key)
        if body is not None:
            if not self.prebuilt:
                self._cache.move_to_end(key)
            return body
        n = self.count(account, region)
        end = min(n, offset + limit)
        items = ",".join(function_json(account, region, k, self.seed) for k in range(offset, end))
        tail = f',"NextMarker":"{marker_for(end)}"}}' if end < n else "}"
        body = f'{{"Functions":[{items}]{tail}'.encode()
        self.pages_built += 1
        if self.prebuilt and limit == PAGE_LIMIT and offset % PAGE_LIMIT == 0:
            self._cache[key] = body
        elif not self.prebuilt:
            self._cache[key] = body
            self._cache_bytes += len(body)
            while self._cache_bytes > self._cache_limit and self._cache:
                _, old = self._cache.popitem(last=False)
                self._cache_bytes -= len(old)
        return body
