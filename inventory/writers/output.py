"""The run's output, opened in one place: the lake that --output names, or the run's files (sink.py)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from inventory.aws.retry import RetryPolicy
from inventory.contract.lake import Lake
from inventory.contract.record import RunInfo
from inventory.contract.runtime_table import RUNTIMES, runtimes_table
from inventory.contract.runtimes import load_catalog
from inventory.contract.schema import STATUS_SCHEMA
from inventory.writers.destination import Destination
from inventory.writers.sink import RunSink, open_sink

if TYPE_CHECKING:
    from inventory.writers.lake import LakeSink


def open_output(
    output: Lake | Destination,
    info: RunInfo,
    tables: Mapping[str, pa.Schema],
    *,
    s3: Any = None,
    policy: RetryPolicy | None = None,
) -> RunSink | LakeSink:
    """The run's sink, checked and opened before any call to a member account, with the run's other `tables`
    (contract/estate.py's run_tables) and the runtime schedule's rows already in: `s3` (a boto3 S3 client) and
    `policy` for files in S3."""
    runtimes = runtimes_table(load_catalog(), info.started_at)  # read before any file is opened
    sink: RunSink | LakeSink
    if isinstance(output, Destination):
        sink = open_sink(output, STATUS_SCHEMA, s3=s3, policy=policy, tables=tables)
    else:
        from inventory.writers.lake import open_lake_sink  # noqa: PLC0415 - pyiceberg only for a lake

        sink = open_lake_sink(output, info)
    try:
        sink.write_table(RUNTIMES, runtimes)
    except BaseException:
        sink.abort()
        raise
    return sink
