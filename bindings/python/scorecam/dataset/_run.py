"""The driver of a dataset run: checks the options, lists the images, opens the manifest, picks
the backend and its size, records each row as it comes, and writes the summary (see __init__)."""
from __future__ import annotations

import dataclasses
import os
import pathlib
import sys
import tempfile
import time
from typing import Callable, Iterable, Optional, Sequence, Union

from ..errors import Interrupted, UsageError
from ..progress import make_bar, wanted
from . import _files, _inputs, _manifest, _pool
from ._summary import Summary, summarize_metrics, write_summary
from ._work import Config, Worker

Targets = Union[str, int, Sequence[int]]
# A worker's peak resident memory with the default model: ~0.4 GB at CSKIP 16, ~2 GB with all
# channels at batch 128 (ONNX Runtime's buffers for 128 images; docs/DATASETS.md).
MEMORY_PER_WORKER = 2 << 30


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
        fd, probe = tempfile.mkstemp(dir=out_dir, prefix=".write-check.", suffix=_files.TEMP_MARK)
        os.close(fd)
        os.unlink(probe)
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
                    on_row: Optional[Callable[[dict], None]] = None, report: bool = True) -> Summary:
    """Explains every image of `inputs` (files, directories, glob patterns) and of `list_file`
    (one path per line) into `out_dir`; see the module docstring.

    targets: "top1", "top3" ... (the model's top classes per image), or class indices.
    workers: processes (local) or actors (Ray); None: from the cores (local) or the cluster's CPUs.
    ray_address: None (no Ray), "local", "auto" or a cluster address.
    progress: a bar over images; None: when stderr is a terminal. verbose: a line per image.
    on_row: called with each manifest row once it is written.
    report: write the browser report of the whole directory into OUT/report/ at the end (_report.py).
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
        _files.remove_temporaries(out)
        if started_ray:
            import ray

            ray.shutdown()

    summary.seconds = time.perf_counter() - started
    wanted_keys = {item.key for item in items}
    summary.metrics = summarize_metrics(row for key, row in rows.items() if key in wanted_keys) if metrics else {}
    write_summary(summary)
    if report:
        from ._report import report_after_run

        report_after_run(out, config, progress)
    return summary
