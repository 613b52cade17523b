"""What a run sets for the process while it lasts (job/process_settings.py), and gives back when it ends."""

from __future__ import annotations

import gc

import pytest

from inventory.job.process_settings import GC_THRESHOLD, fewer_collections


def test_fewer_collections_while_the_job_runs_then_the_settings_before() -> None:
    before = gc.get_threshold()
    with fewer_collections():
        assert gc.get_threshold() == (GC_THRESHOLD, *before[1:])
    assert gc.get_threshold() == before


def test_the_settings_come_back_after_an_error_too() -> None:
    before = gc.get_threshold()
    with pytest.raises(RuntimeError), fewer_collections():
        raise RuntimeError("the job failed")
    assert gc.get_threshold() == before
