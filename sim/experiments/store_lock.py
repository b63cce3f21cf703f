"""One writer per results folder: an exclusive ``flock`` on the folder's lock file.

Two sweeps writing into one folder at once would pick the same part numbers
and overwrite each other's parts, or mix two experiments. The first writer
takes an exclusive :func:`fcntl.flock` on ``<folder>/.writer.lock`` and keeps
it until the sweep ends; a second writer fails at once with
:class:`FolderLocked`, naming the holder (pid, host, start time) that the
first wrote into the file.

The kernel releases a ``flock`` when the last descriptor of it closes, also
when its process is killed with ``kill -9``, so a lock can never go stale: no
pid checks, no timeouts, no lock file to delete by hand. Forked children
(process-pool workers) close their inherited copy at once (an at-fork hook),
so a worker outliving a killed parent does not keep the folder locked.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
import sys
import weakref
from datetime import UTC, datetime
from pathlib import Path

LOCK_NAME = ".writer.lock"

_HELD: weakref.WeakSet[WriterLock] = weakref.WeakSet()


class FolderLocked(ValueError):
    """Another process is writing into the results folder (a user error: exit code 2)."""


class WriterLock:
    """The exclusive writer lock of one results folder."""

    def __init__(self, folder: Path):
        self.path = folder / LOCK_NAME
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        """Whether this object holds the lock."""
        return self._fd is not None

    def acquire(self) -> None:
        """Take the lock without waiting and record this process as its holder.

        Raises:
            FolderLocked: naming the folder and the holder if another process has it.
        """
        if self._fd is not None:
            return
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_holder(fd)
            os.close(fd)
            raise FolderLocked(
                f"{self.path.parent} is being written by another race process "
                f"({holder}); wait for it to finish or choose another --out"
            ) from None
        self._fd = fd
        _HELD.add(self)
        _write_holder(fd)

    def release(self) -> None:
        """Clear the holder record and let the lock go (safe to call twice)."""
        fd, self._fd = self._fd, None
        if fd is None:
            return
        _HELD.discard(self)
        with contextlib.suppress(OSError):
            os.ftruncate(fd, 0)
        os.close(fd)  # closing the last descriptor releases the flock

    def _forget_in_child(self) -> None:
        """Close the inherited descriptor in a forked child, without unlocking the parent."""
        fd, self._fd = self._fd, None
        if fd is not None:
            with contextlib.suppress(OSError):
                os.close(fd)


def _write_holder(fd: int) -> None:
    record = {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": " ".join(sys.argv[:3]),
    }
    os.ftruncate(fd, 0)
    os.pwrite(fd, (json.dumps(record) + "\n").encode(), 0)


def _read_holder(fd: int) -> str:
    """The holder as ``pid 123 on host h since <time>`` (or a note if not yet written)."""
    try:
        record = json.loads(os.pread(fd, 4096, 0).decode() or "{}")
    except (OSError, ValueError):
        record = {}
    if not isinstance(record, dict) or "pid" not in record:
        return "holder not recorded yet"
    host, started = record.get("host", "?"), record.get("started", "?")
    return f"pid {record['pid']} on host {host} since {started}"


def _close_inherited_locks() -> None:
    for lock in list(_HELD):
        lock._forget_in_child()


os.register_at_fork(after_in_child=_close_inherited_locks)
