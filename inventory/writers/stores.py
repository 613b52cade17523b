"""Where finished files are published: `LocalStore` renames them into place, `S3Store` uploads them.

A `Store` is checked first (`preflight`), gives the directory for each file's temporary file (`temp_dir`),
then publishes the finished files. An S3 upload is
multipart for large files, and a failed multipart upload is aborted, so no half object ever appears; a
local file is renamed over its destination, so no torn file ever does.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from inventory.aws.retry import RetryPolicy
from inventory.errors import OutputError
from inventory.redact import one_line
from inventory.tempfiles import stage_bytes
from inventory.writers.destination import Destination, Location, S3Object, local_path, s3_object

if TYPE_CHECKING:  # boto3's transfer module pulls in s3transfer and multiprocessing: imported on upload
    from boto3.s3.transfer import TransferConfig


class Store(Protocol):
    """Where finished files are published: checked first, written to temp files, then published."""

    def preflight(self, destination: Destination) -> None: ...
    def temp_dir(self, location: Location) -> Path: ...
    def publish_file(self, tmp: Path, location: Location, content_type: str) -> None: ...
    def publish_bytes(self, data: bytes, location: Location, content_type: str) -> None: ...
    def discard_created(self) -> None: ...


@dataclass(frozen=True)
class LocalStore:
    """Temporary files beside their destination, renamed over it: a crash never leaves a torn file.

    Missing folders are made when the destination is checked, and removed again by `discard_created` if
    the run ends without publishing (a run that stops before its first file leaves nothing behind)."""

    created: list[Path] = field(default_factory=list)  # folders this store made, deepest first

    def preflight(self, destination: Destination) -> None:
        for location in destination.locations:
            self.temp_dir(location)

    def discard_created(self) -> None:
        """Remove the folders this store made that are still empty."""
        for folder in self.created:
            try:
                folder.rmdir()
            except OSError:
                continue  # not empty (something was published, or put there by someone else), or gone

    def temp_dir(self, location: Location) -> Path:
        path = local_path(location)
        missing = [] if path.parent.is_dir() else [p for p in (path.parent, *path.parent.parents) if not p.exists()]
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self.created.extend(missing)
        except OSError as err:
            raise OutputError(f"{path}: cannot write output: {err.strerror or err}") from err
        if path.is_dir():
            raise OutputError(f"{path}: is a directory")
        return path.parent

    def publish_file(self, tmp: Path, location: Location, content_type: str) -> None:
        path = local_path(location)
        try:
            os.replace(tmp, path)
        except OSError as err:
            raise OutputError(f"{path}: cannot write output: {err.strerror or err}") from err

    def publish_bytes(self, data: bytes, location: Location, content_type: str) -> None:
        tmp = self.stage_bytes(data, location)
        try:
            self.publish_file(tmp, location, content_type)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise

    def stage_bytes(self, data: bytes, location: Location) -> Path:
        """`data` in a new temporary file beside `location`, on disk (fsynced), not yet published."""
        path = local_path(location)
        try:
            return stage_bytes(data, path)
        except OSError as err:
            raise OutputError(f"{path}: cannot write output: {err.strerror or err}") from err


@dataclass(frozen=True)
class S3Store:
    """Temporary files in the system temp directory, uploaded on publish. `client` is a boto3 S3 client
    (botocore retries off: every call goes through `policy`, the job's one retry layer)."""

    client: Any
    policy: RetryPolicy
    transfer: TransferConfig | None = None  # None: boto3's defaults (multipart above 8 MiB)

    def discard_created(self) -> None:
        """Nothing to remove: S3 has no folders, and nothing is uploaded before the run's end."""

    def preflight(self, destination: Destination) -> None:
        """One ListObjectsV2 on the destination's prefix: the bucket exists and the job may use it.

        Not HeadBucket: this answers the same NoSuchBucket / AccessDenied, works where s3:ListBucket is
        granted with a plain StringLike on s3:prefix (which denies HeadBucket: it names no prefix), and
        checks the prefix the job will really write under."""
        bucket, prefix = destination.bucket, destination.s3_prefix
        try:
            self.policy.call(lambda: self.client.list_objects_v2(Bucket=bucket, Prefix=prefix, MaxKeys=1))
        except (ClientError, BotoCoreError) as err:
            raise OutputError(_bucket_problem(destination.output, bucket or "", err)) from err

    def temp_dir(self, location: Location) -> Path:
        return Path(tempfile.gettempdir())

    def publish_file(self, tmp: Path, location: Location, content_type: str) -> None:
        """Upload through s3transfer (what boto3's upload_file uses, but without its wrapping of
        ClientError, which would hide throttling from the retry layer). Multipart above 8 MiB."""
        target = s3_object(location)

        from boto3.s3.transfer import TransferConfig, create_transfer_manager  # noqa: PLC0415 - see above

        def upload() -> None:
            with create_transfer_manager(self.client, self.transfer or TransferConfig()) as manager:
                extra = {"ContentType": content_type}
                manager.upload(str(tmp), target.bucket, target.key, extra_args=extra).result()

        self._call(target, upload)
        tmp.unlink(missing_ok=True)

    def publish_bytes(self, data: bytes, location: Location, content_type: str) -> None:
        target = s3_object(location)
        self._call(
            target,
            lambda: self.client.put_object(Bucket=target.bucket, Key=target.key, Body=data, ContentType=content_type),
        )

    def _call(self, target: S3Object, fn: Callable[[], Any], what: str = "upload") -> Any:
        try:
            return self.policy.call(fn)
        except (ClientError, BotoCoreError) as err:
            raise OutputError(f"{target}: {what} failed: {one_line(str(err))}") from err


def _bucket_problem(output: str, bucket: str, err: ClientError | BotoCoreError) -> str:
    if isinstance(err, ClientError):
        code = str(err.response.get("Error", {}).get("Code") or "")
        status = int(err.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
        if code in {"NoSuchBucket", "NotFound", "404"}:
            return f"{output}: bucket '{bucket}' does not exist"
        if code.startswith("AccessDenied") or code in {"AllAccessDisabled", "403"} or status == 403:
            return f"{output}: access to bucket '{bucket}' denied (the job needs s3:ListBucket and s3:PutObject)"
    return f"{output}: cannot use bucket '{bucket}': {one_line(str(err))}"
