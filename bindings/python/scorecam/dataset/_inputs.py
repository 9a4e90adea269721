"""Which images a dataset run covers: files, directories (recursive), glob patterns and list files,
expanded in a fixed order, each with a unique output key.

A key names an image's outputs inside the output directory: the file's stem for a file, a glob
match or a list entry; the path below the directory, without its extension, for a directory's
files (so `train/cat/1.jpg` and `train/dog/1.jpg` stay apart). Keys that still collide get `-2`,
`-3`... in input order, so the same command always gives the same keys (resume relies on it).

Each file is taken once, by its real path (symlinks resolved). Directories are walked following
symlinks, but never into a folder already searched or into one of the folder's own parents (a
symlink loop), with one warning per such link. Nothing inside the output directory is ever an
input, even when an input directory holds it (or is it).
"""
from __future__ import annotations

import dataclasses
import glob
import os
import pathlib
from typing import Iterable, Sequence

from ..errors import UsageError

# What a directory contributes; a file named explicitly is always tried, whatever its extension.
IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".jfif", ".png", ".bmp", ".gif", ".tif", ".tiff",
                              ".webp", ".ppm", ".pgm", ".pbm", ".pnm"})


@dataclasses.dataclass(frozen=True)
class Item:
    """One image of the run."""

    key: str    # unique within the run; names the outputs
    path: str   # as given (absolute paths stay absolute)


def _is_pattern(text: str) -> bool:
    return any(ch in text for ch in "*?[")


def _within(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def _directory_images(root: pathlib.Path, exclude: str | None, warn) -> list[tuple[str, pathlib.Path]]:
    found = []
    real_root = os.path.realpath(root)
    searched = {real_root}
    for folder, subfolders, files in os.walk(root, followlinks=True):
        keep = []
        for name in sorted(subfolders):
            real = os.path.realpath(os.path.join(folder, name))
            if exclude is not None and real == exclude:
                continue  # the run's own output directory (an input folder may hold it)
            if real in searched or _within(real_root, real):
                if warn is not None:
                    warn(f"{os.path.join(folder, name)}: a link to a folder already searched; skipped")
                continue
            searched.add(real)
            keep.append(name)
        subfolders[:] = keep
        for name in sorted(files):
            path = pathlib.Path(folder) / name
            if path.suffix.lower() in IMAGE_EXTENSIONS and not name.startswith("."):
                found.append((path.relative_to(root).with_suffix("").as_posix(), path))
    return found


def read_list(list_file: str | os.PathLike) -> list[str]:
    """One path per line; blank lines and lines starting with # are skipped. Relative paths are
    relative to the current directory, as for paths on the command line."""
    try:
        text = pathlib.Path(list_file).read_text(encoding="utf-8")
    except OSError as error:
        raise UsageError(f"cannot read the list file {list_file}: {error.strerror or error}") from None
    except UnicodeDecodeError:
        raise UsageError(f"the list file {list_file} is not UTF-8 text") from None
    return [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def expand(inputs: Iterable[str | os.PathLike] = (), list_file: str | os.PathLike | None = None,
           warn=None, exclude: str | os.PathLike | None = None) -> list[Item]:
    """The images of `inputs` (+ the lines of `list_file`), each once, with unique keys.

    A path that does not exist stays in the list (its image gets an error row, the run goes on);
    a pattern that matches nothing is reported through `warn(message)`. Directories are searched
    without descending into `exclude` (the output directory).
    """
    exclude = None if exclude is None else os.path.realpath(exclude)
    candidates: list[tuple[str, pathlib.Path]] = []
    entries: list[str] = [os.fspath(i) for i in inputs]
    if list_file is not None:
        entries += read_list(list_file)
    for entry in entries:
        path = pathlib.Path(entry)
        if path.is_dir():
            candidates += _directory_images(path, exclude, warn)
        elif not path.exists() and _is_pattern(entry):
            matches = sorted(glob.glob(entry, recursive=True))
            files = [pathlib.Path(m) for m in matches if not pathlib.Path(m).is_dir()]
            if not files and warn is not None:
                warn(f"{entry}: no file matches")
            candidates += [(f.stem, f) for f in files]
        else:
            candidates.append((path.stem or path.name or "image", path))
    if exclude is not None:
        inside = [c for c in candidates if _within(os.path.realpath(c[1]), exclude)]
        if inside:
            candidates = [c for c in candidates if not _within(os.path.realpath(c[1]), exclude)]
            if warn is not None:
                warn(f"{len(inside)} input{'s' if len(inside) != 1 else ''} inside the output directory "
                     f"{exclude} skipped (a run never explains its own outputs)")
    return _unique(candidates)


def _unique(candidates: Sequence[tuple[str, pathlib.Path]]) -> list[Item]:
    seen_paths: set[str] = set()
    used: set[str] = set()
    items = []
    for key, path in candidates:
        identity = os.path.normcase(os.path.realpath(path))
        if identity in seen_paths:
            continue
        seen_paths.add(identity)
        unique, n = key, 1
        while unique in used:
            n += 1
            unique = f"{key}-{n}"
        used.add(unique)
        items.append(Item(unique, os.fspath(path)))
    return items
