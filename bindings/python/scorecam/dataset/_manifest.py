"""The manifest: one JSON line per image, the source of truth of a dataset run.

A row is appended (by the one process that drives the run) only after that image's files are
renamed into place, so a row always describes files that exist. At the start of a run the
manifest is read, a torn last line (a run killed while writing it) is dropped, and the rows of the
images about to be redone are removed (the file is rewritten atomically): every image then has at
most one row, whatever was killed when.

A row is written whole or not at all: a short write is continued, and a write that fails (a full
disk) is rolled back by truncating the file to its length before the row, then raised (DiskFull
for a full disk: the run stops). Rows that do not validate (hand-edited, planted: not an object,
files that are not names inside OUT) are ignored with one warning and their images redone.
"""
from __future__ import annotations

import json
import os
import pathlib
from typing import Callable, Iterable, Optional

from ._files import DiskFull, disk_full, full_error, write_bytes

NAME = "manifest.jsonl"


def _valid(row) -> bool:
    """The shape every row this runner writes has (what a resumed run relies on)."""
    if not isinstance(row, dict) or not isinstance(row.get("key"), str) or not row["key"]:
        return False
    if row.get("status") not in ("ok", "error") or not isinstance(row.get("config"), str):
        return False
    files = row.get("files", [])
    if not isinstance(files, list) or not all(isinstance(name, str) and name for name in files):
        return False
    metrics = row.get("metrics", {})  # summed into summary.json
    return isinstance(metrics, dict) and all(
        isinstance(values, list) and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)
        for values in metrics.values())


def read_rows(path: pathlib.Path, warn: Optional[Callable[[str], None]] = None) -> list[dict]:
    """The complete, valid rows of a manifest (none if it does not exist). A torn last line (a run
    killed while writing it) is dropped silently; any other line that does not validate is
    dropped with one warning through `warn`."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return []
    lines = data.split(b"\n")
    rows, invalid = [], 0
    for number, line in enumerate(lines):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except (ValueError, RecursionError):  # RecursionError: a line nested thousands deep
            row = None
        if _valid(row):
            rows.append(row)
        elif number != len(lines) - 1:  # the last line has no newline: torn, not invalid
            invalid += 1
    if invalid and warn is not None:
        warn(f"{path}: {invalid} line{'s' if invalid != 1 else ''} that are not rows of this runner "
             f"ignored; {'their images are' if invalid != 1 else 'its image is'} redone")
    return rows


def _inside(out_dir: pathlib.Path, name: str) -> bool:
    """`name` is a regular file inside `out_dir`: no absolute path, no `..`, no symlink out."""
    if os.path.isabs(name) or ".." in pathlib.PurePath(name).parts:
        return False
    root = os.path.realpath(out_dir)
    real = os.path.realpath(out_dir / name)
    return real.startswith(root + os.sep) and os.path.isfile(real)


def is_done(row: dict, out_dir: pathlib.Path, config_id: str) -> bool:
    """An `ok` row, made with the same settings, whose files all exist inside out_dir."""
    return (row.get("status") == "ok" and row.get("config") == config_id
            and all(_inside(out_dir, name) for name in row.get("files", [])))


class Manifest:
    """The manifest of one output directory, opened for a run."""

    def __init__(self, out_dir: pathlib.Path):
        self.out_dir = out_dir
        self.path = out_dir / NAME
        self._fd: int | None = None

    def prepare(self, keys: Iterable[str], config_id: str, overwrite: bool,
                warn: Optional[Callable[[str], None]] = None) -> tuple[set[str], list[dict]]:
        """(keys already done, the rows kept); rewrites the manifest without the rows of the
        images this run will (re)do and without torn or invalid lines."""
        wanted = set(keys)
        rows = read_rows(self.path, warn)
        data = self.path.read_bytes() if self.path.exists() else b""
        latest: dict[str, dict] = {}
        for row in rows:
            latest[row["key"]] = row
        done = {key for key, row in latest.items()
                if key in wanted and not overwrite and is_done(row, self.out_dir, config_id)}
        kept = [row for key, row in latest.items() if key not in wanted or key in done]
        # Rewritten when a row goes, or a line was dropped (torn, invalid, blank).
        if data and (len(kept) != len(rows) or data.count(b"\n") != len(rows) or not data.endswith(b"\n")):
            write_bytes(self.path, b"".join(_line(row) for row in kept))
        return done, kept

    def append(self, row: dict) -> None:
        """One row, whole or not at all, flushed to the disk before returning (module docstring)."""
        try:
            if self._fd is None:
                self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        except OSError as error:
            raise full_error(self.path) if disk_full(error) else error from None
        data = _line(row)
        before = os.fstat(self._fd).st_size  # this run is the only writer (the output lock)
        written = 0
        try:
            while written < len(data):
                count = os.write(self._fd, data[written:])
                if count <= 0:  # no progress: the disk is full
                    raise full_error(self.path)
                written += count
            os.fsync(self._fd)
        except BaseException as error:
            if written == len(data) and not isinstance(error, OSError):
                raise  # Ctrl-C during fsync: the row is whole; it stays
            try:
                os.ftruncate(self._fd, before)
            except OSError:
                pass  # the torn row has no newline: the next run drops it
            if isinstance(error, OSError) and not isinstance(error, DiskFull) and disk_full(error):
                raise full_error(self.path) from None
            raise

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def _line(row: dict) -> bytes:
    return (json.dumps(row, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8")
