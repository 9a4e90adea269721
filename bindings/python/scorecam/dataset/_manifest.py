"""The manifest: one JSON line per image, the source of truth of a dataset run.

A row is appended (by the one process that drives the run) only after that image's files are
renamed into place, so a row always describes files that exist. At the start of a run the
manifest is read, a torn last line (a run killed while writing it) is dropped, and the rows of the
images about to be redone are removed (the file is rewritten atomically): every image then has at
most one row, whatever was killed when.
"""
from __future__ import annotations

import json
import os
import pathlib
from typing import Iterable

from ._files import write_bytes

NAME = "manifest.jsonl"


def read_rows(path: pathlib.Path) -> list[dict]:
    """The complete rows of a manifest (none if it does not exist); torn or foreign lines skipped."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return []
    rows = []
    for line in data.split(b"\n"):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError:
            continue
        if isinstance(row, dict) and isinstance(row.get("key"), str):
            rows.append(row)
    return rows


def is_done(row: dict, out_dir: pathlib.Path, config_id: str) -> bool:
    """An `ok` row, made with the same settings, whose files all exist."""
    return (row.get("status") == "ok" and row.get("config") == config_id
            and all((out_dir / name).is_file() for name in row.get("files", [])))


class Manifest:
    """The manifest of one output directory, opened for a run."""

    def __init__(self, out_dir: pathlib.Path):
        self.out_dir = out_dir
        self.path = out_dir / NAME
        self._fd: int | None = None

    def prepare(self, keys: Iterable[str], config_id: str, overwrite: bool) -> tuple[set[str], list[dict]]:
        """(keys already done, the rows kept); rewrites the manifest without the rows of the
        images this run will (re)do and without torn lines."""
        wanted = set(keys)
        rows = read_rows(self.path)
        latest: dict[str, dict] = {}
        for row in rows:
            latest[row["key"]] = row
        done = {key for key, row in latest.items()
                if key in wanted and not overwrite and is_done(row, self.out_dir, config_id)}
        kept = [row for key, row in latest.items() if key not in wanted or key in done]
        if self.path.exists() and (len(kept) != len(rows) or not self.path.read_bytes().endswith(b"\n")
                                   and self.path.stat().st_size > 0):
            write_bytes(self.path, b"".join(_line(row) for row in kept))
        return done, kept

    def append(self, row: dict) -> None:
        """One row, in one write, flushed to the disk before returning."""
        if self._fd is None:
            self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        os.write(self._fd, _line(row))
        os.fsync(self._fd)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def _line(row: dict) -> bytes:
    return (json.dumps(row, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8")
