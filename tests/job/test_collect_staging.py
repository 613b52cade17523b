"""Listings staged together (job/collect.py's Stager): each gets exactly its own rows, or its own InvalidItem."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from inventory.contract.items import InvalidItem
from inventory.contract.staged import staged_batch
from inventory.job.collect import Stager

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def _items(name: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = json.loads((FIXTURES / name).read_text(encoding="utf-8"))["Functions"]
    return items


async def _stage_all(stager: Stager, *listings: list[Any]) -> list[pa.RecordBatch | BaseException]:
    return await asyncio.gather(*(stager.stage(items) for items in listings), return_exceptions=True)


def test_listings_that_end_together_each_get_their_own_rows() -> None:
    first, second = _items("list_functions_page1.json"), _items("list_functions_page2.json")
    staged = asyncio.run(_stage_all(Stager(window_s=0.01), first, second, first))
    assert staged == [staged_batch(first), staged_batch(second), staged_batch(first)]


def test_an_invalid_item_fails_only_its_own_listing() -> None:
    good = _items("list_functions_page1.json")
    bad = [*good[:1], {**good[1], "MemorySize": "lots"}]
    staged = asyncio.run(_stage_all(Stager(window_s=0.01), good, bad, good))
    assert staged[0] == staged_batch(good)
    assert isinstance(staged[1], InvalidItem)
    assert "MemorySize" in str(staged[1])
    assert staged[2] == staged_batch(good)


def test_enough_waiting_items_are_staged_without_waiting_for_the_window() -> None:
    items = _items("list_functions_page1.json")

    async def staged_before_the_window_ends() -> pa.RecordBatch:
        stager = Stager(window_s=3600, max_items=len(items))
        return await asyncio.wait_for(stager.stage(items), timeout=60)

    assert asyncio.run(staged_before_the_window_ends()) == staged_batch(items)


def test_a_listing_cancelled_while_it_waits_does_not_stop_the_others() -> None:
    items = _items("list_functions_page1.json")

    async def one_cancelled() -> pa.RecordBatch:
        stager = Stager(window_s=0.01)
        cancelled = asyncio.ensure_future(stager.stage(items))
        kept = asyncio.ensure_future(stager.stage(items))
        await asyncio.sleep(0)
        cancelled.cancel()
        with pytest.raises(asyncio.CancelledError):
            await cancelled
        return await kept

    assert asyncio.run(one_cancelled()) == staged_batch(items)
