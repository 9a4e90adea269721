"""The driver of a dataset run: checks the options, lists the images, opens the manifest, picks
the backend and its size, records each row as it comes, and writes the summary (see __init__)."""
from __future__ import annotations

import dataclasses
import os
import pathlib
import signal
import sys
import tempfile
import threading
import time
from typing import Callable, Iterable, Optional, Sequence, Union

from ..card import ModelCard
from ..errors import Interrupted, UsageError
from ..progress import make_bar, wanted
from . import _files, _images, _inputs, _manifest, _pool
from ._summary import Summary, summarize_metrics, write_summary
from ._work import Config, Worker

Targets = Union[None, str, int, Sequence[int]]
Model = Union[None, str, os.PathLike, ModelCard, object]
# A worker's peak resident memory with the default model: ~0.4 GB at CSKIP 16, ~2 GB with all
# channels at batch 128 (ONNX Runtime's buffers for 128 images; docs/DATASETS.md), plus what the
# largest picture allowed takes: one 12000x12000 PNG peaked at 3.7 GB, ~24 bytes per pixel (the
# decoded picture, its overlay, the resized map and the PNG encoder's buffers).
MEMORY_PER_WORKER = 2 << 30
MEMORY_PER_PIXEL = 24


class _Terminated(KeyboardInterrupt):
    """SIGTERM, handled as Ctrl-C."""

    signal_number = signal.SIGTERM


def _on_sigterm(signum, frame):
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # the cleanup that follows is not interrupted again
    raise _Terminated()


def _parse_targets(targets: Targets) -> tuple[Optional[tuple], Optional[int]]:
    """(fixed classes or None, top or None: the task's default)."""
    if targets is None:
        return None, None
    if isinstance(targets, str):
        if targets.startswith("top") and targets[3:].isdigit() and int(targets[3:]) >= 1:
            return None, int(targets[3:])
        raise UsageError(f'targets must be "topK" (K >= 1) or class indices, got {targets!r}')
    if isinstance(targets, bool):
        raise UsageError("targets must be \"topK\" or class indices")
    if isinstance(targets, int):
        targets = [targets]
    classes = tuple(targets)
    if not classes or not all(isinstance(c, int) and not isinstance(c, bool) for c in classes):
        raise UsageError("targets must be \"topK\" or a non-empty list of class indices")
    return classes, None


def card_for(model: Model, layer: Optional[str] = None, size=None, warn: Callable[[str], None] = None) -> ModelCard:
    """The card of `model` as explain_dataset takes it (see there), with `layer` and `size`
    (an int or (H, W)) overriding the card's when given."""
    if model is None:
        card = ModelCard.default()
    elif isinstance(model, ModelCard):
        card = model
    elif isinstance(model, (str, os.PathLike)) and os.fspath(model).lower().endswith((".json", ".toml")):
        card = ModelCard.load(model)
    else:
        found = None
        if isinstance(model, (str, os.PathLike)):
            model = os.fspath(model)
            if model.lower().endswith(".onnx"):
                if not os.path.isfile(model):
                    raise UsageError(f"model file not found: {model}")
                found = ModelCard.from_onnx(model)
        if found is not None:
            card = found
        else:
            # No card: the default model's preprocessing, said out loud (a model trained otherwise
            # gets wrong predictions and maps from it).
            if warn is not None:
                spec = ModelCard.default().input
                warn(f"no model card for {model if isinstance(model, str) else type(model).__name__}: using the "
                     f"default preprocessing ({spec.size[0]}x{spec.size[1]} {spec.resize}, mean {list(spec.mean)}, "
                     f"std {list(spec.std)}, RGB) and logits; give a card (--card FILE) if the model expects "
                     "anything else")
            name = getattr(model, "layer", None) if not isinstance(model, str) else None
            card = ModelCard.default().replace(model=os.path.abspath(model) if isinstance(model, str)
                                               and os.path.exists(model) else model,
                                               layer=name, output=None, name=None)
    if layer is not None:
        card = card.replace(layer=layer)
    if size is not None:
        card = card.replace(size=size)
    return card


def default_workers(images: int, max_pixels: int = _images.DEFAULT_MAX_PIXELS) -> int:
    """One worker per usable core, at most one per worker's memory (2 GiB and the largest picture
    allowed) and one per image."""
    cores = _pool.usable_cores()
    try:
        memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
        cores = min(cores, max(1, memory // (MEMORY_PER_WORKER + MEMORY_PER_PIXEL * max_pixels)))
    except (ValueError, OSError, AttributeError):
        pass
    return max(1, min(cores, images))


def _check_out_dir(out_dir: pathlib.Path) -> None:
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=out_dir, prefix=".write-check.", suffix=_files.TEMP_MARK)
        os.close(fd)
        try:
            os.unlink(probe)
        except FileNotFoundError:
            pass  # removed by a run already in this directory (the lock, next, says so)
    except FileExistsError:
        raise UsageError(f"output directory {out_dir} exists and is not a directory") from None
    except OSError as error:
        raise UsageError(f"output directory {out_dir} is not writable: {error.strerror or error}") from None


class _Display:
    """One bar over images (tqdm where installed) and, when verbose, one line per image."""

    def __init__(self, total: int, progress, verbose: bool):
        self.verbose = verbose
        self.done = 0
        show = progress if progress is not None else (sys.stderr.isatty() and total > 1)
        self.bar = make_bar(total, "images") if show and wanted(True, total) and total else None

    def line(self, text: str, error: bool = False) -> None:
        stream = sys.stderr if error else sys.stdout
        if self.bar is not None and hasattr(self.bar, "bar"):
            self.bar.bar.write(text, file=stream)
            return
        if self.bar is not None:
            sys.stderr.write("\r\033[K")
        print(text, file=stream, flush=True)
        if self.bar is not None:
            self.bar.update(self.done)

    def step(self) -> None:
        self.done += 1
        if self.bar is not None:
            self.bar.update(self.done)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _describe_row(row: dict) -> str:
    predictions = row["predictions"][:3]
    if row.get("task") == "segment":
        found = ", ".join(f"{p['class']} {p['label']} ({p['area']:.1%})" for p in predictions)
        text = f"segments {found or 'none'}"
    elif row.get("task") == "detect":
        found = ", ".join(f"{p['label']} ({p['score']:.2f})" for p in predictions)
        text = f"detected {found or 'nothing above the threshold'}"
    else:
        text = "predicted " + ", ".join(f"{p['class']} {p['label']} ({p['probability']:.3f})" for p in predictions)
    count, unit = len(row["targets"]), "box" if row.get("task") == "detect" else "class"
    return (f"{row['input']}: {text} | {count} {unit}{'' if count == 1 else 'es'}, "
            f"{row['forward_passes']} forward passes, {row['seconds']:.2f} s")


def explain_dataset(inputs: Iterable[Union[str, os.PathLike]], out_dir: Union[str, os.PathLike], *,
                    list_file: Union[str, os.PathLike, None] = None, model: Model = None,
                    layer: Optional[str] = None, size=None, targets: Targets = None,
                    cskip: Optional[int] = None, preset: str = "seed", method: str = "scorecam",
                    adaptive: Optional[float] = None, batch_size: int = 128, metrics: bool = False,
                    save_maps: bool = False, overwrite: bool = False, workers: Optional[int] = None,
                    ray_address: Optional[str] = None, progress: Optional[bool] = None, verbose: bool = False,
                    on_row: Optional[Callable[[dict], None]] = None,
                    max_pixels: int = _images.DEFAULT_MAX_PIXELS, report: bool = True) -> Summary:
    """Explains every image of `inputs` (files, directories, glob patterns) and of `list_file`
    (one path per line) into `out_dir`; see the module docstring.

    model: a ModelCard (scorecam.ModelCard: the model, its preprocessing, outputs, labels, task), a
        card file (.json, .toml), an .onnx file (its embedded card, else the default preprocessing
        with a warning), "package.module:factory", or a model object (TorchModel, OnnxModel: run in
        this process only); None: the default model, EfficientNet-Lite0.
    layer, size: override the card's layer and input size (an int or (H, W)).
    targets: None (the task's: classify the top class, or the classes above a sigmoid card's
        threshold; segment every class present; detect every detection), "top1", "top3" ...,
        or class indices.
    workers: processes (local) or actors (Ray); None: from the cores (local) or the cluster's CPUs.
    ray_address: None (no Ray), "local", "auto" or a cluster address.
    progress: a bar over images; None: when stderr is a terminal. verbose: a line per image.
    on_row: called with each manifest row once it is written.
    report: write the browser report of the whole directory into OUT/report/ at the end (_report.py).
    max_pixels: larger pictures get an error row (not decoded); the worker count is sized for it.
    Raises UsageError before any work for bad options, inputs, model, card or output directory, or when
    another run holds out_dir; Interrupted on Ctrl-C or SIGTERM (after stopping the workers;
    nothing half-written; `.signal_number` says which); DiskFull (an OSError) when the disk
    fills (the row being written is rolled back; rerun to resume).
    """
    if _pool.starting_unguarded_worker():
        os._exit(_pool.UNGUARDED_EXIT)  # a pool worker re-running an unguarded script: _pool.py
    started = time.perf_counter()
    if isinstance(inputs, (str, os.PathLike)):
        inputs = [inputs]
    classes, top = _parse_targets(targets)
    for name, value, low in (("batch_size", batch_size, 1), ("cskip", cskip, 1), ("max_pixels", max_pixels, 1)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < low):
            raise UsageError(f"{name} must be an integer >= {low}, got {value!r}")
    if workers is not None and (not isinstance(workers, int) or workers < 1):
        raise UsageError(f"workers must be an integer >= 1, got {workers!r}")

    def warn(message: str) -> None:
        print(f"warning: {message}", file=sys.stderr)

    card = card_for(model, layer, size, warn)
    if card.model_kind == "object" and (ray_address is not None or (workers or 1) > 1):
        raise UsageError("a model object runs in this process only: use workers=1, or a card naming the model "
                         "(a file or package.module:factory) for worker processes and Ray")
    out = pathlib.Path(out_dir)
    _check_out_dir(out)
    lock = _files.OutputLock(out)
    terminate = signal.getsignal(signal.SIGTERM) if threading.current_thread() is threading.main_thread() else None
    try:
        if terminate is not None:
            signal.signal(signal.SIGTERM, _on_sigterm)
        return _locked_run(inputs, out, started, list_file=list_file, card=card, warn=warn,
                           classes=classes, top=top, cskip=cskip, preset=preset, method=method,
                           adaptive=adaptive, batch_size=batch_size, metrics=metrics, save_maps=save_maps,
                           overwrite=overwrite, workers=workers, ray_address=ray_address, progress=progress,
                           verbose=verbose, on_row=on_row, max_pixels=max_pixels, report=report)
    finally:
        if terminate is not None:
            signal.signal(signal.SIGTERM, terminate)
        lock.release()


def _locked_run(inputs, out: pathlib.Path, started: float, *, list_file, card, warn, classes, top,
                cskip, preset, method, adaptive, batch_size, metrics, save_maps, overwrite, workers,
                ray_address, progress, verbose, on_row, max_pixels, report) -> Summary:
    """explain_dataset once the options are checked and the output directory is this run's."""

    items = _inputs.expand(inputs, list_file, warn=warn, exclude=out)
    if not items:
        raise UsageError("no images: give image files, directories, glob patterns or --list FILE")

    config = Config(out_dir=os.fspath(out.resolve()), card=card, classes=classes, top=top, cskip=cskip,
                    preset=preset, method=method, adaptive=adaptive, batch_size=batch_size, metrics=metrics,
                    save_maps=save_maps, max_pixels=max_pixels)
    if card.model_kind == "object":
        workers = 1
    # Model, card, classes and engine options are checked before anything is touched; with one
    # local worker this is the worker.
    cores = _pool.usable_cores()
    probe = Worker(dataclasses.replace(config, threads=cores))
    config = dataclasses.replace(config, card_id=probe.card_id)
    config_id = config.identity()

    manifest = _manifest.Manifest(out)
    done, kept = manifest.prepare((i.key for i in items), config_id, overwrite, warn=warn)
    _files.remove_temporaries(out)
    todo = [item for item in items if item.key not in done]

    # The backend and its size; workers x model threads <= cores.
    started_ray = False
    if ray_address is not None:
        from . import _ray

        del probe
        started_ray = _ray.connect(ray_address, workers or cores)  # MissingDependencyError without Ray
        cluster = _ray.cluster_cpus()
        count = workers or cluster
        # CPUs per actor (fractional when asked for more actors than CPUs, so all get placed).
        actor_cpus = cluster // count if count <= cluster else cluster / count
        backend, threads = "ray", max(1, int(actor_cpus))
    else:
        count = workers or default_workers(len(todo), max_pixels)
        backend = "process" if count == 1 else "pool"
        threads = max(1, cores // count)
    config = dataclasses.replace(config, threads=threads)
    if backend == "pool":
        del probe  # the workers load their own

    summary = Summary(total=len(items), ok=0, failed=0, skipped=len(done), seconds=0.0, out_dir=out,
                      manifest=manifest.path, backend=backend, workers=count,
                      card=dict(card.to_dict(), id=config.card_id))
    rows = {row["key"]: row for row in kept}
    display = _Display(len(todo), progress, verbose)

    def record(row: dict) -> None:
        if row.pop("disk_full", False):  # a worker could not write the image's files
            raise _files.DiskFull(28, row.get("error", "disk full"))
        manifest.append(row)
        rows[row["key"]] = row
        if row["status"] == "ok":
            summary.ok += 1
            if verbose:
                display.line(_describe_row(row))
        else:
            summary.failed += 1
            summary.failures.append((row["input"], row.get("error", "")))
            display.line(f"error: {row['input']}: {row.get('error', '')}", error=True)
        display.step()
        if on_row is not None:
            on_row(row)

    try:
        if not todo:
            pass
        elif backend == "process":
            _pool.run_serial(probe, todo, record)
        elif backend == "pool":
            _pool.run_pool(config, todo, count, record)
        else:
            _ray.run_ray(config, todo, count, record, cpus_per_worker=actor_cpus)
    except KeyboardInterrupt as stop:
        summary.seconds = time.perf_counter() - started
        interrupted = Interrupted(summary)
        interrupted.signal_number = signal.SIGTERM if isinstance(stop, _Terminated) else signal.SIGINT
        raise interrupted from None
    finally:
        display.close()
        manifest.close()
        _files.remove_temporaries(out)
        if started_ray:
            import ray

            ray.shutdown()

    summary.seconds = time.perf_counter() - started
    wanted_keys = {item.key for item in items}
    summary.metrics = summarize_metrics(row for key, row in rows.items() if key in wanted_keys) if metrics else {}
    write_summary(summary, [row for key, row in rows.items() if key in wanted_keys])
    if report:
        from ._report import report_after_run

        report_after_run(out, config, progress)
    return summary
