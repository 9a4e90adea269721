"""Exceptions raised by the binding."""
from __future__ import annotations

from . import _lib


class ScoreCAMError(RuntimeError):
    """The engine refused a call: `status` is the C status code, `message` the engine's words."""

    def __init__(self, status: int, message: str):
        self.status = status
        self.message = message
        super().__init__(f"{_status_name(status)}: {message}" if message else _status_name(status))


class CancelledError(ScoreCAMError):
    """The run was cancelled by a progress callback."""


def _status_name(status: int) -> str:
    try:
        return _lib.lib().scorecam_status_string(status).decode().split(":")[0]
    except _lib.LibraryError:
        return f"status {status}"


def error_for(status: int, message: str) -> ScoreCAMError:
    return (CancelledError if status == _lib.E_CANCELLED else ScoreCAMError)(status, message)
