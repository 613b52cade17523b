"""What a run sets for the whole process while it lasts: Arrow's allocator, pandas out of pyarrow's way, and
fewer garbage collections. Each was measured (docs/performance.md); the last two are undone when the run ends,
so a process that goes on (a test, the demo) gets its settings back.
"""

from __future__ import annotations

import gc
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import pyarrow as pa

GC_THRESHOLD = 100_000  # new container objects between young-generation collections (CPython's default: 700)


def use_system_allocator() -> None:
    """Arrow's default allocator (mimalloc) held ~80 MiB more at peak than the system allocator for this
    job's many small batches. ARROW_DEFAULT_MEMORY_POOL still wins when set."""
    if "ARROW_DEFAULT_MEMORY_POOL" not in os.environ:
        pa.set_memory_pool(pa.system_memory_pool())


class _NoPandas:
    """A meta path finder for which pandas is not installed."""

    @staticmethod
    def find_spec(name: str, path: object = None, target: object = None) -> None:
        if name.partition(".")[0] == "pandas":
            raise ModuleNotFoundError(f"No module named {name!r} (hidden while the job runs)", name=name)


@contextmanager
def pandas_hidden() -> Iterator[None]:
    """While the job runs, pandas cannot be imported, as in the image (it is only a test dependency).

    pyarrow imports pandas on its first conversion of Python values whenever it is installed (~0.45 s of
    CPU at start-up), and then checks every value it converts against pandas' types (~18 us more per
    `pa.array` call): all to recognise pandas objects, which the job never hands it. Once the job is done,
    pandas imports again (pyarrow's `to_pandas` then imports it as usual)."""
    if "pandas" in sys.modules:  # already imported (a test process): nothing to save
        yield
        return
    sys.meta_path.insert(0, _NoPandas)
    try:
        yield
    finally:
        sys.meta_path.remove(_NoPandas)


@contextmanager
def fewer_collections() -> Iterator[None]:
    """While the job runs, the garbage collector looks at young objects every GC_THRESHOLD allocations.

    With CPython's 700, the objects of the 64 listings in flight (a target's parsed items, the HTTP
    requests' state) outlived two young collections, were promoted to the oldest generation and set off a full
    collection of the whole heap every ~1,000 calls: 17% of the job's CPU at 2,000 accounts x 17 regions, 3%
    at 10,000. At 10,000 the per-account-region tables' items (alive until their account-region ends) still
    survived young collections: 1.2-1.7 s of a 300 x 17 estate run's ~9 s of CPU went to the collector,
    0.2-0.3 s at 100,000 (docs/performance.md). The job makes almost no reference cycles, so what a collection
    would free is freed at once anyway; peak RSS was unchanged (327 MiB both ways)."""
    before = gc.get_threshold()
    gc.set_threshold(GC_THRESHOLD, *before[1:])
    try:
        yield
    finally:
        gc.set_threshold(*before)
