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

from ..card import ModelCard, check_model, load_model, prepare
from ..errors import ScoreCAMError, UsageError
from . import _files, _images, _tasks, _thumbs

METRICS = ("average_drop", "increase_in_confidence", "insertion", "deletion")


@dataclasses.dataclass(frozen=True)
class Config:
    """Everything a worker needs to explain any image of the run; picklable, small (a card naming
    its model by file or factory; a card holding a model object runs in the driver's process)."""

    out_dir: str
    card: ModelCard = dataclasses.field(default_factory=ModelCard.default)
    classes: Optional[tuple] = None  # fixed class indices (detect: labels), or None
    top: Optional[int] = None        # the top K targets; None: the task's (classify 1, others all)
    cskip: Optional[int] = None
    preset: str = "seed"
    method: str = "scorecam"
    adaptive: Optional[float] = None
    batch_size: int = 128
    metrics: bool = False
    save_maps: bool = False
    threads: int = 0                 # model and engine threads per worker; 0: their defaults
    max_pixels: int = _images.DEFAULT_MAX_PIXELS  # larger pictures get an error row
    card_id: str = ""                # ModelCard.identity with the model's digest (set by the driver)

    def identity(self) -> str:
        """What makes two runs' outputs the same: a resumed run redoes images made otherwise."""
        fields = {field.name: getattr(self, field.name) for field in dataclasses.fields(self)
                  if field.name not in ("out_dir", "threads", "max_pixels", "card")}
        return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()[:16]


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "_", text).strip("_").lower()


class Worker:
    """A model loaded once, ready to explain many images (one per process or actor)."""

    def __init__(self, config: Config):
        self.config = config
        self.card = config.card
        self.out_dir = pathlib.Path(config.out_dir)
        self.model = load_model(config.card, threads=config.threads)
        self.labels = self.model.labels
        self.shape = check_model(self.model)
        self.card_id = config.card.identity(self.model.digest, self.labels)
        if config.card_id and config.card_id != self.card_id:
            raise UsageError("this worker's model differs from the one the run was checked with (a factory that "
                             "builds different weights each call? seed it or load saved weights)")
        self.config_id = dataclasses.replace(config, card_id=self.card_id).identity()
        self.output_dim = self.shape.output_dim
        classes = self.shape.classes
        if classes is not None:
            bad = [c for c in (config.classes or ()) if not 0 <= c < classes]
            if bad:
                raise UsageError(f"class {bad[0]} is outside the model's {classes} classes (0..{classes - 1})")
            if config.top is not None and config.card.task == "classify" and not 1 <= config.top <= classes:
                raise UsageError(f"--top must be between 1 and {classes}, got {config.top}")
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

    @property
    def keeps_batches(self) -> bool:
        return self.model.keeps_batches  # an ONNX model borrows the engine's batches (no copy)

    def _forward(self, batch: np.ndarray) -> np.ndarray:
        self.passes += len(batch)
        return self.model.forward(batch)

    def name(self, c: int) -> str:
        return self.labels[c] if self.labels and 0 <= c < len(self.labels) else f"class {c}"


@dataclasses.dataclass
class Explained:
    """An image explained, its files not yet written (finish_image writes them)."""

    row: dict
    started: float
    image: object = None      # the RGB picture
    maps: Optional[np.ndarray] = None
    plan: object = None       # _tasks.Plan
    geometry: object = None   # card Geometry


def explain_image(worker: Worker, key: str, path: str) -> dict:
    """Explains one image and writes its files; returns its manifest row (status ok or error).
    Only KeyboardInterrupt (and SystemExit) escape: any failure of this image is in the row."""
    return finish_image(worker, begin_image(worker, key, path))


def begin_image(worker: Worker, key: str, path: str) -> Explained:
    """The model and engine part of explain_image: reads, runs and explains the image (and its
    metrics). A failure is in the row, and finish_image then writes nothing."""
    config, card = worker.config, worker.card
    explained = Explained({"key": key, "input": path, "status": "error", "config": worker.config_id,
                           "card": worker.card_id, "task": card.task,
                           "worker": {"host": socket.gethostname(), "pid": os.getpid()}}, time.perf_counter())
    row = explained.row
    try:
        image = _images.read_image(path, config.max_pixels)
        width, height = image.size
        row["size"] = [width, height]
        x, geometry = prepare(image, card.input)
        outputs, activations = worker.model.run(x)
        plan = _tasks.plan(card.task, np.asarray(outputs), card, config.classes, config.top, worker.name, geometry)
        row["predictions"] = plan.predictions
        row["targets"] = plan.classes
        row.update(plan.details)
        maps = np.zeros((0, *x.shape[2:]), np.float32)
        row["channels"], row["forward_passes"] = 0, 1
        if plan.targets:
            with worker._explainer() as explainer:
                worker.passes = 0
                maps = explainer.explain(x[0], activations[0], plan.targets, progress=False)
                row["channels"] = int(explainer.details().channels.size)
                row["forward_passes"] = worker.passes + 1  # + the unmasked pass above
                if config.metrics:
                    worker.passes = 0
                    row["metrics"] = {metric: [float(v) for v in explainer.evaluate(
                        x[0], maps, plan.targets, metric, progress=False)] for metric in METRICS}
                    row["metric_forward_passes"] = worker.passes
        explained.image, explained.maps, explained.plan, explained.geometry = image, maps, plan, geometry
    except (KeyboardInterrupt, SystemExit):
        raise
    except Exception as error:  # noqa: BLE001 - one bad image must not end the run
        _record_failure(row, error)
    return explained


def finish_image(worker: Worker, explained: Explained) -> dict:
    """The file part of explain_image: the overlays, thumbnails and maps of an explained image,
    written atomically; returns its row. Touches nothing of the worker but what it reads, so it
    may run in a writer thread while the worker explains the next image."""
    row, config, key = explained.row, worker.config, explained.row["key"]
    if explained.plan is not None:
        try:
            image, maps, plan, geometry = explained.image, explained.maps, explained.plan, explained.geometry
            box = None if geometry.whole else geometry.box
            files, drawn = [], []
            plain = box is None and plan.captions is None  # overlays are a map over the picture: thumbnails drawn small
            for i, (c, heatmap) in enumerate(zip(plan.classes, maps)):
                picture = _images.overlay_at_size(image, heatmap, box)
                if plan.captions is not None:  # detect: the explained box, and one file per box
                    picture = _images.draw_box(picture, plan.details["boxes"][i], plan.captions[i])
                    name = f"{key}_{i}_{c}_{_slug(worker.name(c))}.png"
                else:
                    name = f"{key}_{c}_{_slug(worker.name(c))}.png"
                _images.write_png(worker.out_dir / name, picture)
                files.append(name)
                if not plain:
                    drawn.append(picture)
            row["thumbnails"] = _thumbs.write_thumbnails(worker.out_dir, key, image, maps, files,
                                                         None if plain else drawn)
            if config.save_maps:
                name = f"{key}.maps.npz"
                _files.write_maps(worker.out_dir / name, maps, plan.classes)
                files.append(name)
            row["files"] = files
            row["status"] = "ok"
        except (KeyboardInterrupt, SystemExit):
            raise
        except Exception as error:  # noqa: BLE001 - one bad image must not end the run
            _record_failure(row, error)
    row["seconds"] = round(time.perf_counter() - explained.started, 4)
    return row


def _record_failure(row: dict, error: Exception) -> None:
    """The row of an image that failed: its error, in one line."""
    if isinstance(error, _files.DiskFull):  # the driver stops the run; this row is never written
        row["error"], row["disk_full"] = error.strerror, True
    elif isinstance(error, FileNotFoundError):
        row["error"] = "file not found"
    elif isinstance(error, IsADirectoryError):
        row["error"] = "is a directory"
    elif isinstance(error, PermissionError):
        row["error"] = "permission denied"
    elif isinstance(error, MemoryError):
        row["error"] = "out of memory"
    else:
        row["error"] = _describe(error)


def _describe(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    message = text[0] if text else ""
    kind = type(error).__name__
    if kind == "UnidentifiedImageError":
        return "not an image (Pillow cannot identify it)"
    if isinstance(error, (_images.TooLarge, _images.NotRegularFile)):
        return message
    return f"{kind}: {message}" if message else kind
