"""Files scorecam caches for later processes (torch models exported to ONNX, the default model)
are code: a planted one runs as the model. Only what this user made is trusted: a cache folder is
created 0700, and a cached file is read only when it and its folder belong to this user and no one
else can write them. Everything else is ignored, with a warning, and rebuilt in memory."""
from __future__ import annotations

import os
import pathlib
import stat
import warnings
from typing import Optional


def _why_untrusted(info: os.stat_result, what: str) -> Optional[str]:
    if hasattr(os, "geteuid") and info.st_uid != os.geteuid():
        return f"{what} belongs to another user (uid {info.st_uid})"
    if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        return f"{what} is writable by others (mode {stat.S_IMODE(info.st_mode):o})"
    return None


def private_folder(folder: pathlib.Path) -> Optional[str]:
    """Creates `folder` (mode 0700) when missing; None when it is trusted, else why not."""
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        info = os.lstat(folder)
    except OSError as error:
        return f"cannot use the cache folder {folder}: {error.strerror or error}"
    if not stat.S_ISDIR(info.st_mode):
        return f"the cache folder {folder} is not a folder"
    why = _why_untrusted(info, f"the cache folder {folder}")
    return why


def read_trusted(path: pathlib.Path) -> tuple[Optional[bytes], Optional[str]]:
    """(the cached file's bytes or None, why it was not used or None). Missing: (None, None)."""
    why = private_folder(path.parent)
    if why is not None:
        return None, why
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except FileNotFoundError:
        return None, None
    except OSError as error:  # a symlink (ELOOP) or unreadable
        return None, f"the cached file {path} cannot be opened safely: {error.strerror or error}"
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        why = (f"the cached file {path} is not a regular file" if not stat.S_ISREG(info.st_mode)
               else _why_untrusted(info, f"the cached file {path}"))
        return (None, why) if why else (handle.read(), None)


def warn_untrusted(why: str, stacklevel: int = 3) -> None:
    warnings.warn(f"scorecam: not using a cached file: {why}; rebuilding it in memory", RuntimeWarning,
                  stacklevel=stacklevel)
