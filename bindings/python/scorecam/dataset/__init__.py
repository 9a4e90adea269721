"""The dataset runner: `explain_dataset(inputs, out_dir, ...) -> Summary`.

    from scorecam.dataset import explain_dataset
    summary = explain_dataset(["photos/"], "out", cskip=16, workers=2)
    print(summary.ok, summary.failed)           # out/manifest.jsonl has one row per image

Per image: an overlay PNG per target at the image's own resolution and orientation, optionally
the raw maps (`save_maps`: float32 .npz at map resolution), and one manifest row (JSON Lines, see
_manifest.py). Every file is written atomically; a row is appended only once its files exist. A
rerun of the same call skips the images already done (`overwrite=True` redoes them) and completes
what a killed run left. A bad image gets an error row and the run goes on.

Backends, all running the same per-image function (_work.explain_image) under one retry rule
(_retry.py):
  workers=1            in this process;
  workers=N (N > 1)    a local pool of N processes, one model each (the default: N from the
                       cores and the memory), each with cores // N model threads;
  ray_address=...      Ray actors ("local" starts a local Ray; "auto" or an address joins a
                       cluster); needs `pip install "scorecam[ray]"`.
Local pool workers are started with "spawn": a script calling explain_dataset with workers > 1
needs the usual `if __name__ == "__main__":` guard.

The parts, one job each (private): _run (the driver), _inputs (which images, their keys),
_images (reading pictures, overlays), _files (atomic writes), _manifest (the JSON Lines source of
truth), _work (one image, any backend), _tasks (an image's targets per card task), _retry, _pool
(in process, local processes), _ray, _summary (the Summary, metric intervals, summary.json),
_thumbs (the report's thumbnails, made by the workers), _report (`write_report`: the browser
report, OUT/report/index.html; the page itself is package data in report/). The model and its
preprocessing come from a model card (scorecam.card).
"""
from ..errors import Interrupted, UsageError
from ._report import write_report
from ._run import default_workers, explain_dataset
from ._summary import Summary, metrics_table, summarize_metrics

__all__ = ["explain_dataset", "Summary", "UsageError", "Interrupted", "default_workers", "metrics_table",
           "summarize_metrics", "write_report"]
