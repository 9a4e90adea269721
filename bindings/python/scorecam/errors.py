"""Every exception of the package, and `Status`, the C statuses of include/scorecam.h.

    ScoreCAMError            the engine refused a call (`.status` is a `Status`)
      CancelledError         a progress callback cancelled the run
    LibraryError             libscorecam is missing, unloadable or of another version (ImportError)
    MissingDependencyError   an optional dependency is not installed; names the extra (ImportError)
    UsageError               a dataset run's bad options, inputs, model or output directory (ValueError)
    Interrupted              Ctrl-C ended a dataset run cleanly (KeyboardInterrupt; `.summary`)

Standard library only at import time: every other module may import this one.
"""
from __future__ import annotations

import enum


class Status(enum.IntEnum):
    """enum scorecam_status: values fixed forever (0 = OK, errors negative)."""

    OK = 0
    NULL_POINTER = -1
    INVALID_ARGUMENT = -2
    SHAPE = -3
    NON_FINITE = -4
    BUFFER_TOO_SMALL = -5
    NO_FORWARD = -6
    CALLBACK = -7
    CANCELLED = -8
    DEGENERATE = -9
    OUT_OF_MEMORY = -10
    NO_RESULT = -11


class ScoreCAMError(RuntimeError):
    """The engine refused a call: `status` is the C status (a `Status` when the header knows it),
    `message` the engine's words."""

    def __init__(self, status: int, message: str):
        try:
            status = Status(status)
        except ValueError:  # a newer library's status: keep the number
            pass
        self.status = status
        self.message = message
        name = _status_name(status)
        super().__init__(f"{name}: {message}" if message else name)


class CancelledError(ScoreCAMError):
    """The run was cancelled by a progress callback."""


class LibraryError(ImportError):
    """libscorecam could not be found, loaded, or is the wrong version."""


class MissingDependencyError(ImportError):
    """An optional dependency is not installed; the message says which extra brings it."""


class UsageError(ValueError):
    """Bad options or inputs, a model or layer not found, an unwritable output directory: a dataset
    run stops before any image is touched (the CLI exits with status 2)."""


class Interrupted(KeyboardInterrupt):
    """Ctrl-C: a dataset run stopped cleanly (no partial file); rerunning resumes it. `.summary`
    says how far it got."""

    def __init__(self, summary):
        super().__init__()
        self.summary = summary


def _status_name(status: int) -> str:
    """The library's short name of a status, e.g. "SCORECAM_E_SHAPE"."""
    from . import _lib

    try:
        return _lib.lib().scorecam_status_string(int(status)).decode().split(":")[0]
    except LibraryError:
        return f"status {int(status)}"


def error_for(status: int, message: str) -> ScoreCAMError:
    """The exception of a failed call's status and message."""
    return (CancelledError if status == Status.CANCELLED else ScoreCAMError)(status, message)
