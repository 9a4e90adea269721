"""scorecam: Score-CAM explanations through libscorecam.

    from scorecam import Explainer      # any model: a callable (N, C, H, W) -> (N, D)
    from scorecam import ScoreCAM       # drop-in for tiskw/scorecam-pytorch (needs torch)

The layers: _lib (the C declarations) -> _handle (one engine handle, its callbacks) -> explainer
(the API); targets, errors and progress beside them; the adapters torch, onnx, models; the seed
API (seed); model cards (card); the dataset runner (the dataset subpackage) and its command line (cli).
"""
from __future__ import annotations

from ._lib import VERSION
from .card import ModelCard
from .errors import CancelledError, LibraryError, ScoreCAMError, Status
from .explainer import Details, Explainer

__version__ = ".".join(map(str, VERSION))
__all__ = ["Explainer", "Details", "ScoreCAM", "ModelCard", "Status", "ScoreCAMError", "CancelledError", "LibraryError",
           "library_version", "__version__"]


def library_version() -> str:
    """The version of the loaded libscorecam."""
    from . import _lib

    return _lib.lib().scorecam_version_string().decode()


def __getattr__(name: str):
    # torch is imported only when the seed-compatible class is used.
    if name == "ScoreCAM":
        from .seed import ScoreCAM

        return ScoreCAM
    raise AttributeError(f"module 'scorecam' has no attribute {name!r}")
