"""Atomic writes and the output directory's lock.

Every output of a run is written to a hidden temporary file in its final directory, flushed to the
disk (fsync), then renamed over the final name, so a reader (or a resumed run) sees the whole file
or none of it, and a manifest row never names a file the disk may still lose. A killed run's
temporaries are recognised by TEMP_MARK and removed by the next run. A full disk (ENOSPC, EDQUOT)
is raised as DiskFull: the run stops instead of failing every following image.

One run per output directory: `lock_output` takes an flock on OUT/.scorecam.lock (the kernel
releases it when the holder exits, kill -9 included) and writes the holder's PID and host there.
"""
from __future__ import annotations

import errno
import fcntl
import os
import pathlib
import socket
import tempfile

from ..errors import UsageError

import numpy as np

TEMP_MARK = ".scorecam-tmp"
# mkstemp makes 0600 files; outputs get the usual 0666 & ~umask (read once: umask() also sets it).
_UMASK = os.umask(0o022)
os.umask(_UMASK)
LOCK_NAME = ".scorecam.lock"
_FULL = (errno.ENOSPC, errno.EDQUOT)


class DiskFull(OSError):
    """The output directory's file system has no room left (or the user's quota is used up)."""


def disk_full(error: OSError) -> bool:
    return isinstance(error, DiskFull) or getattr(error, "errno", None) in _FULL


def full_error(path: os.PathLike | str) -> DiskFull:
    return DiskFull(errno.ENOSPC, f"disk full: no space left to write {os.fspath(path)}")


def _sync_directory(folder: pathlib.Path) -> None:
    """Makes a rename in `folder` durable (the new name survives a power cut)."""
    try:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some file systems refuse fsync on a directory; the data itself was synced
    finally:
        os.close(fd)


def atomic(path: pathlib.Path, write) -> None:
    """Calls write(binary file) on a temporary file beside `path`, syncs it, then renames it to
    `path`. Raises DiskFull when the disk is full; nothing is left behind on any error."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=TEMP_MARK)
    except OSError as error:
        if disk_full(error):
            raise full_error(path) from None
        raise
    try:
        os.fchmod(fd, 0o666 & ~_UMASK)
        with os.fdopen(fd, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException as error:
        try:
            os.unlink(temp)
        except FileNotFoundError:
            pass
        if isinstance(error, OSError) and disk_full(error):
            raise full_error(path) from None
        raise
    _sync_directory(path.parent)


def write_maps(path: pathlib.Path, maps: np.ndarray, targets) -> None:
    """maps (T, h, w) float32 at the engine's map resolution, and their target classes."""
    atomic(path, lambda handle: np.savez(handle, maps=np.asarray(maps, np.float32),
                                         targets=np.asarray(targets, np.int64)))


def write_bytes(path: pathlib.Path, data: bytes) -> None:
    atomic(path, lambda handle: handle.write(data))


def remove_temporaries(root: pathlib.Path) -> int:
    """Deletes the temporary files a killed run may have left under root; returns how many."""
    count = 0
    for temp in root.rglob(f".*{TEMP_MARK}"):
        try:
            temp.unlink()
            count += 1
        except OSError:
            pass
    return count


class OutputLock:
    """The flock that keeps a second run out of an output directory (see the module docstring)."""

    def __init__(self, out_dir: pathlib.Path):
        path = out_dir / LOCK_NAME
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_holder(fd)
            os.close(fd)
            raise UsageError(f"another run is writing to {out_dir} ({holder}); wait for it to finish, "
                             f"or use another output directory") from None
        except OSError:
            os.close(fd)  # a file system without locks: nothing to hold
            self._fd = None
            return
        self._fd = fd
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()} {socket.gethostname()}\n".encode(), 0)
        except OSError:
            pass  # the lock holds even when the note cannot be written (disk full)

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the last descriptor releases the flock
            self._fd = None


def _read_holder(fd: int) -> str:
    try:
        pid, host = os.pread(fd, 300, 0).decode("utf-8", "replace").split()[:2]
    except (OSError, ValueError):
        return "held by another process"
    return f"pid {pid} on host {host}"
