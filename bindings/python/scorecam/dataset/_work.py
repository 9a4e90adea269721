"""The per-image work of a dataset run, used by every backend (in process, the local process
pool, Ray actors): `explain_image` reads an image, explains it, writes its files atomically and
returns a small record (the manifest row); the caller appends the row. It is two halves:
`begin_images` (read, run the model, explain: several images at once in one process, their
forward batches shared) and `finish_image` (the files: a writer thread's work in one process).

Results do not depend on which worker explains an image, nor on how many there are, nor on which
images share its forward batches: each call gets a fresh Explainer (no state carried over), the
engine explains every image from its own channels and targets, and ONNX Runtime's CPU kernels give
an image the same bits at 1 and 2 intra-op threads and in any batch (tests/test_dataset_workers.py
and test_dataset_ray.py check the maps bit for bit). A runtime whose results change with its
thread count or batch would need a fixed `threads` for all workers and one image per call.
"""
from __future__ import annotations

import contextlib
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
        # Images begun together in one process (begin_images): as many as fill a forward batch
        # with their masked images (CSKIP 16, batch 128: 8), one with every channel.
        self.images_per_call = max(1, config.batch_size // (config.cskip or self.shape.activations[0]))
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
    return begin_images(worker, [(key, path)])[0]


def begin_images(worker: Worker, items: Sequence[tuple]) -> list:
    """begin_image for several (key, path) images at once: their unmasked passes are one batch,
    and images explained for as many class targets (a classifier's top K) share one engine call,
    their masked images filling the forward batches together. Each image's maps are the bits it
    would get alone when the model's outputs for an image do not depend on the rest of its batch
    (ONNX Runtime's CPU kernels: tests/test_dataset_workers.py). A failure stays in its image's row."""
    started = [Explained({"key": key, "input": path, "status": "error", "config": worker.config_id,
                          "card": worker.card_id, "task": worker.card.task,
                          "worker": {"host": socket.gethostname(), "pid": os.getpid()}}, time.perf_counter())
               for key, path in items]
    inputs = {}
    for i, explained in enumerate(started):
        with _failure_recorded(explained):
            image = _images.read_image(explained.row["input"], worker.config.max_pixels)
            explained.row["size"] = list(image.size)
            x, geometry = prepare(image, worker.card.input)
            inputs[i] = (image, x, geometry)
    runs = _unmasked_runs(worker, {i: x for i, (_, x, _) in inputs.items()})
    shared = {}  # targets per image -> [(explained, x, activations)] explained together
    for i, (image, x, geometry) in inputs.items():
        explained, row = started[i], started[i].row
        with _failure_recorded(explained):
            if isinstance(runs[i], BaseException):
                raise runs[i]
            outputs, activations = runs[i]
            plan = _tasks.plan(worker.card.task, np.asarray(outputs), worker.card, worker.config.classes,
                               worker.config.top, worker.name, geometry)
            row["predictions"] = plan.predictions
            row["targets"] = plan.classes
            row.update(plan.details)
            row["channels"], row["forward_passes"] = 0, 1
            explained.image, explained.plan, explained.geometry = image, plan, geometry
            explained.maps = np.zeros((0, *x.shape[2:]), np.float32)
            if plan.targets and all(isinstance(t, (int, np.integer)) for t in plan.targets):
                shared.setdefault(len(plan.targets), []).append((explained, x, activations))
            elif plan.targets:
                _explain_alone(worker, explained, x, activations)
    for members in shared.values():
        _explain_together(worker, members)
    return started


@contextlib.contextmanager
def _failure_recorded(explained: Explained):
    """Any failure of the block (but Ctrl-C and exit) becomes the image's error row."""
    try:
        yield
    except (KeyboardInterrupt, SystemExit):
        raise
    except Exception as error:  # noqa: BLE001 - one bad image must not end the run
        explained.plan = None
        _record_failure(explained.row, error)


def _unmasked_runs(worker: Worker, inputs: dict) -> dict:
    """The model's outputs and activations of each input, one batch for all (each image alone
    when the batch fails, so that an error is its own image's); an exception where one failed."""
    if len(inputs) > 1:
        try:
            outputs, activations = worker.model.run(np.concatenate(list(inputs.values())))
            return {i: (outputs[j:j + 1], activations[j:j + 1]) for j, i in enumerate(inputs)}
        except (KeyboardInterrupt, SystemExit):
            raise
        except Exception:  # noqa: BLE001 - found again below, image by image
            pass
    runs = {}
    for i, x in inputs.items():
        try:
            runs[i] = worker.model.run(x)
        except (KeyboardInterrupt, SystemExit):
            raise
        except Exception as error:  # noqa: BLE001
            runs[i] = error
    return runs


def _explain_alone(worker: Worker, explained: Explained, x: np.ndarray, activations: np.ndarray) -> None:
    """One image's maps (and metrics) in an engine call of its own."""
    row, targets = explained.row, explained.plan.targets
    with worker._explainer() as explainer:
        worker.passes = 0
        explained.maps = explainer.explain(x[0], activations[0], targets, progress=False)
        row["channels"] = int(explainer.details().channels.size)
        row["forward_passes"] = worker.passes + 1  # + the unmasked pass
        if worker.config.metrics:
            worker.passes = 0
            row["metrics"] = {metric: [float(v) for v in explainer.evaluate(
                x[0], explained.maps, targets, metric, progress=False)] for metric in METRICS}
            row["metric_forward_passes"] = worker.passes


def _explain_together(worker: Worker, members: list) -> None:
    """Images with as many class targets in one engine call (and one per metric), each with its
    own classes; when the call fails, each image alone, so that the error is its own image's."""
    if len(members) == 1:
        explained, x, activations = members[0]
        with _failure_recorded(explained):
            _explain_alone(worker, explained, x, activations)
        return
    xs = np.concatenate([x for _, x, _ in members])
    table = np.array([explained.plan.targets for explained, _, _ in members], np.int64)
    try:
        with worker._explainer() as explainer:
            worker.passes = 0
            maps = explainer.explain(xs, np.concatenate([a for _, _, a in members]), table, progress=False)
            details = [explainer.details(i) for i in range(len(members))]
            # The engine's passes: per image its channels x the method's samples, and the unmasked
            # pass where the weighting needs one; the samples are what the count leaves.
            based = [int(not np.isnan(d.base_scores).all()) for d in details]
            channels = [int(d.channels.size) for d in details]
            samples = (worker.passes - sum(based)) // max(1, sum(channels))
            metrics, metric_passes = {}, 0
            if worker.config.metrics:
                worker.passes = 0
                metrics = {metric: explainer.evaluate(xs, maps, table, metric, progress=False) for metric in METRICS}
                metric_passes = worker.passes // len(members)  # the same for images with as many targets
    except (KeyboardInterrupt, SystemExit):
        raise
    except Exception:  # noqa: BLE001 - found again image by image
        for explained, x, activations in members:
            with _failure_recorded(explained):
                _explain_alone(worker, explained, x, activations)
        return
    for i, (explained, _, _) in enumerate(members):
        row = explained.row
        explained.maps = maps[i]
        row["channels"] = channels[i]
        row["forward_passes"] = samples * channels[i] + based[i] + 1  # + the unmasked pass
        if worker.config.metrics:
            row["metrics"] = {metric: [float(v) for v in values[i]] for metric, values in metrics.items()}
            row["metric_forward_passes"] = metric_passes


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
