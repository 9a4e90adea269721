"""The per-image work of a dataset run: ONE function, `explain_image`, used by every backend (in
process, the local process pool, Ray actors). It reads the image, explains it, writes its files
atomically and returns a small record (the manifest row); the caller appends the row.

Results do not depend on which worker explains an image, nor on how many there are: each image
gets a fresh Explainer (no state carried from the previous image), its masked batches are formed
from that image alone at the configured batch size, and ONNX Runtime's CPU kernels gave the same
bits at 1 and 2 intra-op threads (tests/test_dataset_workers.py and test_dataset_ray.py check the
maps bit for bit). A runtime whose results change with its thread count would need a fixed
`threads` for all workers.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import pathlib
import re
import socket
import time
from typing import Optional, Sequence

import numpy as np

from ..errors import ScoreCAMError, UsageError
from ..targets import top_classes
from . import _files, _images, _thumbs

METRICS = ("average_drop", "increase_in_confidence", "insertion", "deletion")
TOP_PREDICTIONS = 5


@dataclasses.dataclass(frozen=True)
class Config:
    """Everything a worker needs to explain any image of the run; picklable, small."""

    out_dir: str
    model: Optional[str] = None      # an .onnx file; None: EfficientNet-Lite0
    layer: Optional[str] = None      # the tensor to explain in `model`
    size: int = 224                  # the square input size of `model`
    classes: Optional[tuple] = None  # fixed class indices, or None for the top `top`
    top: int = 1
    cskip: Optional[int] = None
    preset: str = "seed"
    method: str = "scorecam"
    adaptive: Optional[float] = None
    batch_size: int = 128
    metrics: bool = False
    save_maps: bool = False
    threads: int = 0                 # model and engine threads per worker; 0: their defaults

    def identity(self) -> str:
        """What makes two runs' outputs the same: a resumed run redoes images made otherwise."""
        fields = dataclasses.asdict(self)
        for name in ("out_dir", "threads"):
            fields.pop(name)
        if self.model is not None:
            fields["model"] = _file_digest(self.model)
        return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()[:16]


def _file_digest(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "_", text).strip("_").lower()


class Worker:
    """A model loaded once, ready to explain many images (one per process or actor)."""

    def __init__(self, config: Config):
        self.config = config
        self.out_dir = pathlib.Path(config.out_dir)
        self.config_id = config.identity()
        if config.model is None:
            from ..models import efficientnet_lite0

            bundle = efficientnet_lite0()
            self.model, self.labels = bundle.onnx(threads=config.threads), bundle.labels
        else:
            from ..onnx import OnnxModel

            if not config.layer:
                raise UsageError("--model needs --layer (the tensor to explain)")
            if not os.path.isfile(config.model):
                raise UsageError(f"model file not found: {config.model}")
            try:
                self.model = OnnxModel(config.model, config.layer, threads=config.threads)
            except ValueError as error:  # no such layer / output
                raise UsageError(str(error)) from None
            except Exception as error:  # noqa: BLE001 - onnx's own errors for a file that is not a model
                raise UsageError(f"cannot load the model {config.model}: {error}") from None
            self.labels = None
        try:
            probe = np.zeros((1, 3, config.size, config.size), np.float32)
            logits, _ = self.model.run(probe)
        except Exception as error:  # noqa: BLE001 - the runtime's words for a wrong input size
            raise UsageError(f"the model does not run on 1x3x{config.size}x{config.size} input: {error}") from None
        self.output_dim = int(np.prod(logits.shape[1:]))  # OnnxModel returns the model's own shape
        bad = [c for c in (config.classes or ()) if not 0 <= c < self.output_dim]
        if bad:
            raise UsageError(f"class {bad[0]} is outside the model's {self.output_dim} outputs (0..{self.output_dim - 1})")
        if config.classes is None and not 1 <= config.top <= self.output_dim:
            raise UsageError(f"--top must be between 1 and {self.output_dim}, got {config.top}")
        self.passes = 0
        self._explainer().close()  # checks the engine options now, not at the first image

    def _explainer(self):
        from ..explainer import Explainer

        options = dict(method=self.config.method)
        if self.config.adaptive:
            options.update(adaptive_tolerance=self.config.adaptive)
        if self.config.threads:
            options.update(threads=self.config.threads)
        try:
            return Explainer(self._forward, preset=self.config.preset, batch_size=self.config.batch_size,
                             cskip=self.config.cskip, output_dim=self.output_dim, progress=False, **options)
        except (ScoreCAMError, ValueError, TypeError) as error:
            raise UsageError(str(error)) from None

    def _forward(self, batch: np.ndarray) -> np.ndarray:
        self.passes += len(batch)
        return self.model.forward(batch)

    def name(self, c: int) -> str:
        return self.labels[c] if self.labels and c < len(self.labels) else f"class {c}"


def explain_image(worker: Worker, key: str, path: str) -> dict:
    """Explains one image and writes its files; returns its manifest row (status ok or error).
    Only KeyboardInterrupt (and SystemExit) escape: any failure of this image is in the row."""
    from ..models import _lite0

    config = worker.config
    start = time.perf_counter()
    row = {"key": key, "input": path, "status": "error", "config": worker.config_id,
           "worker": {"host": socket.gethostname(), "pid": os.getpid()}}
    try:
        image = _images.read_image(path)
        width, height = image.size
        row["size"] = [width, height]
        x = _lite0.normalize(_images.model_input(image, config.size))
        logits, activations = worker.model.run(x)
        logits = logits.reshape(len(logits), -1)
        probabilities = np.exp(logits[0] - logits[0].max())
        probabilities /= probabilities.sum()
        ranked = [int(c) for c in top_classes(probabilities, min(max(TOP_PREDICTIONS, config.top),
                                                                 probabilities.size))]
        row["predictions"] = [{"class": c, "label": worker.name(c), "probability": float(probabilities[c])}
                              for c in ranked]
        targets = list(config.classes) if config.classes else ranked[:config.top]
        row["targets"] = targets
        with worker._explainer() as explainer:
            worker.passes = 0
            maps = explainer.explain(x[0], activations[0], targets, progress=False)
            row["channels"] = int(explainer.details().channels.size)
            row["forward_passes"] = worker.passes + 1  # + the unmasked pass above
            if config.metrics:
                worker.passes = 0
                row["metrics"] = {metric: [float(v) for v in explainer.evaluate(x[0], maps, targets, metric,
                                                                                progress=False)]
                                  for metric in METRICS}
                row["metric_forward_passes"] = worker.passes
        files = []
        for c, heatmap in zip(targets, maps):
            name = f"{key}_{c}_{_slug(worker.name(c))}.png"
            _images.write_png(worker.out_dir / name, _images.overlay_at_size(image, heatmap))
            files.append(name)
        row["thumbnails"] = _thumbs.write_thumbnails(worker.out_dir, key, image, maps, files)
        if config.save_maps:
            name = f"{key}.maps.npz"
            _files.write_maps(worker.out_dir / name, maps, targets)
            files.append(name)
        row["files"] = files
        row["status"] = "ok"
    except (KeyboardInterrupt, SystemExit):
        raise
    except FileNotFoundError:
        row["error"] = "file not found"
    except IsADirectoryError:
        row["error"] = "is a directory"
    except PermissionError:
        row["error"] = "permission denied"
    except MemoryError:
        row["error"] = "out of memory"
    except Exception as error:  # noqa: BLE001 - one bad image must not end the run
        row["error"] = _describe(error)
    row["seconds"] = round(time.perf_counter() - start, 4)
    return row


def _describe(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    message = text[0] if text else ""
    kind = type(error).__name__
    if kind == "UnidentifiedImageError":
        return "not an image (Pillow cannot identify it)"
    return f"{kind}: {message}" if message else kind
