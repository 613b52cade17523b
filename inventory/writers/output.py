"""The run's output, opened in one place: the lake that --output names, or the run's files (sink.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from inventory.aws.retry import RetryPolicy
from inventory.contract.lake import Lake
from inventory.contract.record import RunInfo
from inventory.contract.schema import STATUS_SCHEMA
from inventory.writers.destination import Destination
from inventory.writers.sink import RunSink, open_sink

if TYPE_CHECKING:
    from inventory.writers.lake import LakeSink


def open_output(
    output: Lake | Destination, info: RunInfo, *, s3: Any = None, policy: RetryPolicy | None = None
) -> RunSink | LakeSink:
    """The run's sink, checked and opened before any call to a member account: `s3` (a boto3 S3 client) and
    `policy` for files in S3."""
    if isinstance(output, Destination):
        return open_sink(output, STATUS_SCHEMA, s3=s3, policy=policy)
    from inventory.writers.lake import open_lake_sink  # noqa: PLC0415 - pyiceberg only for a lake

    return open_lake_sink(output, info)
