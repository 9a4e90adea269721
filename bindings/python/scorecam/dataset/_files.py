"""Atomic writes: every output of a run is written to a hidden temporary file in its final
directory, then renamed over the final name, so a reader (or a resumed run) sees the whole file or
none of it. A killed run's temporaries are recognised by TEMP_MARK and removed by the next run.
"""
from __future__ import annotations

import os
import pathlib
import tempfile

import numpy as np

TEMP_MARK = ".scorecam-tmp"
# mkstemp makes 0600 files; outputs get the usual 0666 & ~umask (read once: umask() also sets it).
_UMASK = os.umask(0o022)
os.umask(_UMASK)


def atomic(path: pathlib.Path, write) -> None:
    """Calls write(binary file) on a temporary file beside `path`, then renames it to `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=TEMP_MARK)
    try:
        os.fchmod(fd, 0o666 & ~_UMASK)
        with os.fdopen(fd, "wb") as handle:
            write(handle)
        os.replace(temp, path)
    except BaseException:
        try:
            os.unlink(temp)
        except FileNotFoundError:
            pass
        raise


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
