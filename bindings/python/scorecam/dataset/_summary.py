"""What a dataset run reports: the `Summary` it returns, the metric means with their 95%
intervals, the printed table, and OUT/summary.json."""
from __future__ import annotations

import dataclasses
import json
import math
import pathlib
from typing import Iterable, Sequence

from ._files import write_bytes
from ._work import METRICS

SUMMARY_NAME = "summary.json"


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
    card: dict = dataclasses.field(default_factory=dict)     # the model card (its JSON form and id)

    @property
    def exit_status(self) -> int:
        return 1 if self.failed else 0


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


def write_summary(summary: Summary, rows: Sequence[dict]) -> None:
    """OUT/summary.json, written atomically. "ok" and "failed" count the manifest's rows for the
    inputs (this run's and earlier runs'), so they add up to it and match the metrics beside them;
    "this_run" says what this run did (skipped: done by an earlier run)."""
    document = {"images": summary.total, "ok": sum(row.get("status") == "ok" for row in rows),
                "failed": sum(row.get("status") != "ok" for row in rows),
                "this_run": {"ok": summary.ok, "failed": summary.failed, "skipped": summary.skipped},
                "seconds": round(summary.seconds, 3), "backend": summary.backend, "workers": summary.workers,
                "images_per_second": round((summary.ok + summary.failed) / summary.seconds, 4)
                if summary.seconds > 0 else None,
                "metrics": summary.metrics, "card": summary.card}
    write_bytes(summary.out_dir / SUMMARY_NAME, (json.dumps(document, indent=2) + "\n").encode())
