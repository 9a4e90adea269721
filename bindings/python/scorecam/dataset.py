"""Explaining whole datasets: `explain_dataset(inputs, out_dir, ...) -> Summary`.

    from scorecam.dataset import explain_dataset
    summary = explain_dataset(["photos/"], "out", cskip=16, workers=2)
    print(summary.ok, summary.failed)           # out/manifest.jsonl has one row per image

Per image: an overlay PNG per target at the image's own resolution and orientation, optionally
the raw maps (`save_maps`: float32 .npz at map resolution), and one manifest row (JSON Lines, see
_manifest.py). Every file is written atomically; a row is appended only once its files exist. A
rerun of the same call skips the images already done (`overwrite=True` redoes them) and completes
what a killed run left. A bad image gets an error row and the run goes on.

Backends, all running the same per-image function (_work.explain_image):
  workers=1            in this process;
  workers=N (N > 1)    a local pool of N processes, one model each (the default: N from the
                       cores and the memory), each with cores // N model threads;
  ray_address=...      Ray actors ("local" starts a local Ray; "auto" or an address joins a
                       cluster); needs `pip install "scorecam[ray]"`.
Local pool workers are started with "spawn": a script calling explain_dataset with workers > 1
needs the usual `if __name__ == "__main__":` guard.
"""
from __future__ import annotations

import dataclasses
import json
import math
import os
import pathlib
import sys
import tempfile
import time
from typing import Callable, Iterable, Optional, Sequence, Union

from . import _images, _inputs, _manifest, _pool
from ._usage import UsageError
from ._work import METRICS, Config, Worker

__all__ = ["explain_dataset", "Summary", "UsageError", "Interrupted", "default_workers"]

Targets = Union[str, int, Sequence[int]]
SUMMARY_NAME = "summary.json"
# A worker's peak resident memory with the default model: ~0.4 GB at CSKIP 16, ~2 GB with all
# channels at batch 128 (ONNX Runtime's buffers for 128 images; docs/DATASETS.md).
MEMORY_PER_WORKER = 2 << 30


@dataclasses.dataclass
class Summary:
    """What a run did. `metrics` holds, per metric, the mean and 95% interval over every ok image
    of the inputs (this run's and earlier runs' rows), AD and IC x100 as the Score-CAM paper."""

    total: int                  # images in the inputs
    ok: int                     # explained by this run
    failed: int                 # error rows written by this run
    skipped: int                # already done by an earlier run (resume)
    seconds: float
    out_dir: pathlib.Path
    manifest: pathlib.Path
    backend: str
    workers: int
    metrics: dict = dataclasses.field(default_factory=dict)
    failures: list = dataclasses.field(default_factory=list)  # (input, message)

    @property
    def exit_status(self) -> int:
        return 1 if self.failed else 0


class Interrupted(KeyboardInterrupt):
    """Ctrl-C: the run stopped cleanly (no partial file); rerunning resumes it. `.summary` says
    how far it got."""

    def __init__(self, summary: Summary):
        super().__init__()
        self.summary = summary


def _parse_targets(targets: Targets) -> tuple[Optional[tuple], int]:
    """(fixed classes or None, top)."""
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
    return classes, 1


def default_workers(images: int) -> int:
    """One worker per usable core, at most one per 2 GiB of memory and one per image."""
    cores = _pool.usable_cores()
    try:
        memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
        cores = min(cores, max(1, memory // MEMORY_PER_WORKER))
    except (ValueError, OSError, AttributeError):
        pass
    return max(1, min(cores, images))


def _check_out_dir(out_dir: pathlib.Path) -> None:
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=out_dir, prefix=".write-check.", suffix=_images.TEMP_MARK)
        os.close(fd)
        os.unlink(probe)
    except FileExistsError:
        raise UsageError(f"output directory {out_dir} exists and is not a directory") from None
    except OSError as error:
        raise UsageError(f"output directory {out_dir} is not writable: {error.strerror or error}") from None


_Z95 = 1.959964


def _interval(values: Sequence[float], scale: float, bounds=None, proportion: bool = False) -> dict:
    """Mean and 95% interval: Wilson's score interval for a proportion (IC: 0/1 per image), else
    the normal approximation mean +- 1.96 s / sqrt(n), clipped to the metric's range."""
    n = len(values)
    mean = sum(values) / n
    if proportion:
        z2 = _Z95 * _Z95
        centre = (mean + z2 / (2 * n)) / (1 + z2 / n)
        half = _Z95 * math.sqrt(mean * (1 - mean) / n + z2 / (4 * n * n)) / (1 + z2 / n)
        low, high = centre - half, centre + half
    elif n > 1:
        sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))
        low, high = mean - _Z95 * sd / math.sqrt(n), mean + _Z95 * sd / math.sqrt(n)
    else:
        low = high = float("nan")
    if bounds is not None and n > 1 or proportion:
        low, high = max(low, bounds[0]), min(high, bounds[1])
    return {"mean": mean * scale, "ci95": [low * scale, high * scale], "n": n, "scale": scale}


def summarize_metrics(rows: Iterable[dict]) -> dict:
    """Per metric over every (image, target) of ok rows that carry metrics."""
    values: dict[str, list[float]] = {m: [] for m in METRICS}
    for row in rows:
        if row.get("status") == "ok" and row.get("metrics"):
            for metric in METRICS:
                values[metric] += [v for v in row["metrics"].get(metric, []) if math.isfinite(v)]
    scales = {"average_drop": 100.0, "increase_in_confidence": 100.0, "insertion": 1.0, "deletion": 1.0}
    return {m: _interval(v, scales[m], bounds=(0.0, 1.0), proportion=m == "increase_in_confidence")
            for m, v in values.items() if v}


class _Display:
    """One bar over images (tqdm where installed) and, when verbose, one line per image."""

    def __init__(self, total: int, progress, verbose: bool):
        from .progress import make_bar, wanted

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
    top = ", ".join(f"{p['class']} {p['label']} ({p['probability']:.3f})" for p in row["predictions"][:3])
    return (f"{row['input']}: predicted {top} | {len(row['targets'])} classes, {row['forward_passes']} forward passes, "
            f"{row['seconds']:.2f} s")


def explain_dataset(inputs: Iterable[Union[str, os.PathLike]], out_dir: Union[str, os.PathLike], *,
                    list_file: Union[str, os.PathLike, None] = None, model: Union[str, os.PathLike, None] = None,
                    layer: Optional[str] = None, size: int = 224, targets: Targets = "top1",
                    cskip: Optional[int] = None, preset: str = "seed", method: str = "scorecam",
                    adaptive: Optional[float] = None, batch_size: int = 128, metrics: bool = False,
                    save_maps: bool = False, overwrite: bool = False, workers: Optional[int] = None,
                    ray_address: Optional[str] = None, progress: Optional[bool] = None, verbose: bool = False,
                    on_row: Optional[Callable[[dict], None]] = None) -> Summary:
    """Explains every image of `inputs` (files, directories, glob patterns) and of `list_file`
    (one path per line) into `out_dir`; see the module docstring.

    targets: "top1", "top3" ... (the model's top classes per image), or class indices.
    workers: processes (local) or actors (Ray); None: from the cores (local) or the cluster's CPUs.
    ray_address: None (no Ray), "local", "auto" or a cluster address.
    progress: a bar over images; None: when stderr is a terminal. verbose: a line per image.
    on_row: called with each manifest row once it is written.
    Raises UsageError before any work for bad options, inputs, model or output directory, and
    Interrupted on Ctrl-C (after stopping the workers; nothing half-written).
    """
    started = time.perf_counter()
    if isinstance(inputs, (str, os.PathLike)):
        inputs = [inputs]
    classes, top = _parse_targets(targets)
    for name, value, low in (("size", size, 1), ("batch_size", batch_size, 1), ("cskip", cskip, 1)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < low):
            raise UsageError(f"{name} must be an integer >= {low}, got {value!r}")
    if workers is not None and (not isinstance(workers, int) or workers < 1):
        raise UsageError(f"workers must be an integer >= 1, got {workers!r}")
    if model is not None and not layer:
        raise UsageError("a model needs a layer (the tensor to explain), e.g. --layer head_relu6")
    if model is not None and not os.path.isfile(model):
        raise UsageError(f"model file not found: {os.fspath(model)}")
    out = pathlib.Path(out_dir)
    _check_out_dir(out)

    def warn(message: str) -> None:
        print(f"warning: {message}", file=sys.stderr)

    items = _inputs.expand(inputs, list_file, warn=warn, exclude=out)
    if not items:
        raise UsageError("no images: give image files, directories, glob patterns or --list FILE")

    config = Config(out_dir=os.fspath(out.resolve()), model=None if model is None else os.fspath(model),
                    layer=layer, size=size, classes=classes, top=top, cskip=cskip, preset=preset,
                    method=method, adaptive=adaptive, batch_size=batch_size, metrics=metrics,
                    save_maps=save_maps)
    # Model, layer, classes and engine options are checked before anything is touched; with one
    # local worker this is the worker.
    cores = _pool.usable_cores()
    probe = Worker(dataclasses.replace(config, threads=cores))

    manifest = _manifest.Manifest(out)
    done, kept = manifest.prepare((i.key for i in items), config.identity(), overwrite)
    _images.remove_temporaries(out)
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
        count = workers or default_workers(len(todo))
        backend = "process" if count == 1 else "pool"
        threads = max(1, cores // count)
    config = dataclasses.replace(config, threads=threads)
    if backend == "pool":
        del probe  # the workers load their own

    summary = Summary(total=len(items), ok=0, failed=0, skipped=len(done), seconds=0.0, out_dir=out,
                      manifest=manifest.path, backend=backend, workers=count)
    rows = {row["key"]: row for row in kept}
    display = _Display(len(todo), progress, verbose)

    def record(row: dict) -> None:
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
    except KeyboardInterrupt:
        summary.seconds = time.perf_counter() - started
        raise Interrupted(summary) from None
    finally:
        display.close()
        manifest.close()
        _images.remove_temporaries(out)
        if started_ray:
            import ray

            ray.shutdown()

    summary.seconds = time.perf_counter() - started
    wanted_keys = {item.key for item in items}
    summary.metrics = summarize_metrics(row for key, row in rows.items() if key in wanted_keys) if metrics else {}
    document = {"images": summary.total, "ok": summary.ok, "failed": summary.failed, "skipped": summary.skipped,
                "seconds": round(summary.seconds, 3), "backend": backend, "workers": count,
                "images_per_second": round((summary.ok + summary.failed) / summary.seconds, 4)
                if summary.seconds > 0 else None,
                "metrics": summary.metrics}
    _images.write_bytes(out / SUMMARY_NAME, (json.dumps(document, indent=2) + "\n").encode())
    return summary


def metrics_table(metrics: dict) -> str:
    """The printed table: mean and 95% interval per metric."""
    names = {"average_drop": "Average Drop (%)", "increase_in_confidence": "Increase in Confidence (%)",
             "insertion": "Insertion AUC", "deletion": "Deletion AUC"}
    lines = [f"{'metric':28s} {'mean':>9s}   95% interval        n"]
    for metric, value in metrics.items():
        low, high = value["ci95"]
        digits = 2 if value["scale"] != 1 else 4
        lines.append(f"{names[metric]:28s} {value['mean']:9.{digits}f}   [{low:.{digits}f}, {high:.{digits}f}]"
                     f"  {value['n']:>5d}")
    return "\n".join(lines)
