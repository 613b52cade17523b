"""Temporary files: unpredictable names, locked while their run lives, swept when it died; atomic writes.

A run writes `.<name>.<random>.tmp` beside each local output (`lambda-inventory-<name>.<random>.tmp` in
the system temp directory for S3) with `mkstemp` (O_EXCL, mode 0600: a planted file or symlink is never
followed) and holds an exclusive `flock` on it until it is published or deleted. SIGTERM and SIGINT
delete them (signals.py); SIGKILL or a power cut cannot. So before creating its own, a run deletes the
temporary files of *its own* output names that no live process holds locked: the leftovers of a killed
run. A run still writing the same destination keeps its lock, so it is never swept.

`write_atomic` replaces a file whole the same way (a report written with `--output`); `stage_bytes` is its
first half, for the sink's manifest, which is renamed into place together with the run's other files.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import os
import stat
import tempfile
from pathlib import Path

__all__ = ["file_digest", "new_file_mode", "open_temp", "stage_bytes", "sweep_stale", "write_atomic"]


log = logging.getLogger(__name__)
_CHUNK = 1 << 20


def new_file_mode() -> int:
    """The mode a new file gets under the process umask (mkstemp makes 0600)."""
    current = os.umask(0o022)
    os.umask(current)
    return 0o666 & ~current


def _try_lock(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    return True


def sweep_stale(directory: Path, prefix: str) -> int:
    """Delete `<prefix>*.tmp` regular files in `directory` that no process holds locked; how many."""
    removed = 0
    for path in directory.glob(f"{prefix}*.tmp"):
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        except OSError:
            continue  # gone already, a symlink, or not ours to read: leave it
        try:
            info = os.fstat(fd)
            if stat.S_ISREG(info.st_mode) and os.path.samestat(info, path.lstat()) and _try_lock(fd):
                path.unlink()
                removed += 1
        except OSError:
            continue
        finally:
            os.close(fd)
    if removed:
        log.info("removed %d temporary file(s) left by an earlier run that was killed", removed, extra={})
    return removed


def open_temp(directory: Path, prefix: str) -> tuple[int, Path]:
    """Sweep `prefix`'s stale files, then create a new locked temporary file: (fd, path). Raises OSError."""
    with contextlib.suppress(OSError):
        sweep_stale(directory, prefix)
    fd, name = tempfile.mkstemp(prefix=prefix, suffix=".tmp", dir=directory)
    try:
        _try_lock(fd)  # best effort: a file system without flock still gets the file, only unprotected
        os.chmod(fd, new_file_mode())  # mkstemp makes 0600; the final file gets the usual mode
    except BaseException:
        os.close(fd)
        Path(name).unlink(missing_ok=True)
        raise
    return fd, Path(name)


def stage_bytes(data: bytes, path: Path) -> Path:
    """`data` in a new temporary file beside `path`, on disk (fsynced), not yet renamed. Raises OSError."""
    fd, tmp = open_temp(path.parent, f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return tmp


def write_atomic(data: bytes, path: Path) -> None:
    """Replace `path` whole with `data`: a temporary file beside it, renamed over it, removed on failure.
    Raises OSError."""
    tmp = stage_bytes(data, path)
    try:
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def file_digest(path: Path) -> tuple[str, int]:
    """(sha256 hex, size in bytes) of a file."""
    digest, size = hashlib.sha256(), 0
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size
