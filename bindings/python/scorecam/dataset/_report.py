"""The browser report of one or more dataset runs: `write_report(out_dirs) -> REPORT/index.html`.

A static site (no server, no network): index.html, report.css and report.js (package data, the
same for every report) and data.js, which holds the runs' rows as columns
(`window.SCORECAM_REPORT = {...}`: a script, because a page opened from file:// may not fetch a
JSON file). Images are not copied: the page refers to the thumbnails, overlays and inputs by
relative paths, so the report works where it was written, beside its output directories.
With several runs the page pairs their (image, target) cards by image key and target rank.
"""
from __future__ import annotations

import json
import math
import os
import pathlib
import sys
from typing import Optional, Sequence, Union

from ..errors import UsageError
from ..imaging import to_colormap
from . import _thumbs
from ._files import write_bytes
from ._manifest import NAME as MANIFEST_NAME
from ._manifest import read_rows
from ._summary import SUMMARY_NAME, summarize_metrics
from ._work import METRICS

REPORT_FOLDER = "report"
SETTINGS_NAME = "settings.json"
ASSETS = ("index.html", "report.css", "report.js")
DATA_NAME = "data.js"
DEFAULT_MODEL = "EfficientNet-Lite0 (ImageNet-1k, 224 x 224; the default model)"

PathLike = Union[str, os.PathLike]


def save_settings(out_dir: PathLike, config) -> None:
    """OUT/settings.json: the settings of the run (a _work.Config) and its model card, for the
    report of this directory whenever it is made."""
    from dataclasses import fields

    settings = {field.name: getattr(config, field.name) for field in fields(config)
                if field.name not in ("out_dir", "threads", "card", "card_id")}
    card = getattr(config, "card", None)  # a ModelCard, where the run has one
    if card is not None and hasattr(card, "to_dict"):
        settings["model_card"] = card.to_dict()
    elif getattr(config, "model", None) is None:
        settings["model_card"] = DEFAULT_MODEL
    else:
        settings["model_card"] = f"{config.model} (layer {config.layer}, input {config.size} x {config.size})"
    text = json.dumps(settings, indent=2, default=str)  # anything unusual as its text
    write_bytes(pathlib.Path(out_dir) / SETTINGS_NAME, (text + "\n").encode())


def _read_json(path: pathlib.Path) -> Optional[dict]:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _round(value) -> Optional[float]:
    if value is None or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(f"{value:.5g}")


def _with_thumbnails(out_dir: pathlib.Path, rows: list[dict], progress: Optional[bool]) -> None:
    """Adds "thumbnails" to the ok rows of an older run that has none (making the files, with a
    bar); the manifest itself is left as it is."""
    missing = [row for row in rows if row.get("status") == "ok" and "thumbnails" not in row]
    if not missing:
        return
    from ..progress import make_bar

    show = progress if progress is not None else sys.stderr.isatty()
    bar = make_bar(len(missing), "thumbnails") if show else None
    for done, row in enumerate(missing, 1):
        try:
            thumbnails = _thumbs.thumbnails_for_row(out_dir, row)
        except OSError as error:  # an overlay deleted since: the card shows no picture
            print(f"warning: no thumbnails for {row.get('input')}: {error}", file=sys.stderr)
            thumbnails = None
        if thumbnails is not None:
            row["thumbnails"] = thumbnails
        if bar is not None:
            bar.update(done)
    if bar is not None:
        bar.close()


def _original_url(row: dict, report_dir: pathlib.Path) -> Optional[str]:
    """The input, relative to the report, when it is still where the run found it."""
    path = pathlib.Path(row.get("input", ""))
    if not row.get("input") or not path.is_file():
        return None
    return pathlib.Path(os.path.relpath(path.resolve(), report_dir)).as_posix()


def _run_data(out_dir: pathlib.Path, report_dir: pathlib.Path, progress: Optional[bool]) -> tuple[dict, dict]:
    """(one run's columns, class -> label) from its manifest, settings and summary."""
    rows = sorted(read_rows(out_dir / MANIFEST_NAME), key=lambda row: row["key"])
    _with_thumbnails(out_dir, rows, progress)
    labels: dict[int, str] = {}
    images = {name: [] for name in ("key", "input", "status", "error", "seconds", "passes", "channels", "size",
                                    "original", "thumb", "preds")}
    cards = {name: [] for name in ("image", "rank", "cls", "prob", "overlay", "thumb", "map", "lo", "hi",
                                   *METRICS)}
    passes = 0
    for index, row in enumerate(rows):
        ok = row.get("status") == "ok"
        predictions = row.get("predictions") or []
        probability = {}
        for p in predictions:
            labels.setdefault(int(p["class"]), str(p["label"]))
            probability.setdefault(int(p["class"]), _confidence(p))
        thumbnails = row.get("thumbnails") or {}
        passes += int(row.get("forward_passes") or 0) + int(row.get("metric_forward_passes") or 0)
        images["key"].append(row["key"])
        images["input"].append(row.get("input", ""))
        images["status"].append("ok" if ok else "error")
        images["error"].append(row.get("error"))
        images["seconds"].append(_round(row.get("seconds")))
        images["passes"].append(row.get("forward_passes"))
        images["channels"].append(row.get("channels"))
        images["size"].append(row.get("size"))
        images["original"].append(_original_url(row, report_dir))
        images["thumb"].append(thumbnails.get("original"))
        images["preds"].append([v for p in predictions[:5] for v in (int(p["class"]), _round(_confidence(p)))])
        if not ok:
            continue
        overlays = [name for name in row.get("files", []) if name.endswith(".png")]
        metrics = row.get("metrics") or {}
        for rank, c in enumerate(row.get("targets", [])):
            def listed(name, values=thumbnails):
                found = values.get(name) or []
                return found[rank] if rank < len(found) else None
            cards["image"].append(index)
            cards["rank"].append(rank)
            cards["cls"].append(int(c))
            scores = row.get("scores")  # detect: each box its own score
            cards["prob"].append(_round(scores[rank] if scores and rank < len(scores) else probability.get(int(c))))
            cards["overlay"].append(overlays[rank] if rank < len(overlays) else None)
            cards["thumb"].append(listed("overlays"))
            cards["map"].append(listed("maps"))
            ranges = listed("map_ranges") or [None, None]
            cards["lo"].append(_round(ranges[0]))
            cards["hi"].append(_round(ranges[1]))
            for metric in METRICS:
                values = metrics.get(metric) or []
                cards[metric].append(_round(values[rank]) if rank < len(values) else None)
    summary = _read_json(out_dir / SUMMARY_NAME) or {}
    run = {
        "name": out_dir.name,
        "path": pathlib.Path(os.path.relpath(out_dir, report_dir)).as_posix(),
        "settings": _read_json(out_dir / SETTINGS_NAME),
        "last_run": {name: summary.get(name) for name in ("images", "skipped", "seconds", "backend", "workers",
                                                          "images_per_second")} if summary else None,
        "counts": {"images": len(rows), "ok": images["status"].count("ok"),
                   "failed": images["status"].count("error"), "targets": len(cards["image"]),
                   "forward_passes": passes},
        "metrics": summarize_metrics(rows),
        "images": images,
        "cards": cards,
    }
    return run, labels


def _jet_stops(count: int = 17) -> list[str]:
    """The overlays' colour map as CSS colours, low to high, for the colour bars."""
    import numpy as np

    levels = np.linspace(0.0, 1.0, count).reshape(1, count)
    return ["#%02x%02x%02x" % tuple(int(v) for v in rgb) for rgb in to_colormap(levels)[0]]


def write_report(out_dirs: Union[PathLike, Sequence[PathLike]], report_dir: Optional[PathLike] = None, *,
                 progress: Optional[bool] = None) -> pathlib.Path:
    """Writes the report of one or more dataset output directories and returns its index.html.

    out_dirs: one OUT, or several to show side by side (paired by image key; deltas against the
    first). report_dir: default FIRST_OUT/report. progress: a bar while thumbnails an older run
    lacks are made (None: when stderr is a terminal). Raises UsageError for a directory without a
    manifest."""
    if isinstance(out_dirs, (str, os.PathLike)):
        out_dirs = [out_dirs]
    outs = [pathlib.Path(out).resolve() for out in out_dirs]
    if not outs:
        raise UsageError("no output directory given")
    for out in outs:
        if not (out / MANIFEST_NAME).is_file():
            raise UsageError(f"{out} has no {MANIFEST_NAME}: not the output directory of a dataset run")
    target = pathlib.Path(report_dir).resolve() if report_dir is not None else outs[0] / REPORT_FOLDER
    try:
        target.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise UsageError(f"cannot make the report directory {target}: {error.strerror or error}") from None
    runs, labels = [], {}
    for out in outs:
        run, run_labels = _run_data(out, target, progress)
        runs.append(run)
        for c, label in run_labels.items():
            labels.setdefault(c, label)
    names = [run["name"] for run in runs]
    for index, run in enumerate(runs):  # two runs named "out": say which is which
        if names.count(run["name"]) > 1:
            run["name"] = f"{run['name']} ({run['path']})"
    document = {"format": 1, "runs": runs, "labels": {str(c): labels[c] for c in sorted(labels)},
                "metrics": list(METRICS), "jet": _jet_stops()}
    data = "window.SCORECAM_REPORT = " + json.dumps(document, ensure_ascii=False, separators=(",", ":")) + ";\n"
    write_bytes(target / DATA_NAME, data.encode("utf-8"))
    assets = pathlib.Path(__file__).resolve().parent / REPORT_FOLDER
    for name in ASSETS:
        write_bytes(target / name, (assets / name).read_bytes())
    return target / "index.html"


def report_after_run(out_dir: PathLike, config, progress: Optional[bool]) -> Optional[pathlib.Path]:
    """The end of a dataset run: its settings, then its report (OUT/report/). A report that cannot
    be written is a warning: the run's own outputs are complete."""
    try:
        save_settings(out_dir, config)
        return write_report([out_dir], progress=progress)
    except (OSError, UsageError) as error:
        print(f"warning: the report was not written: {error}", file=sys.stderr)
        return None


def _confidence(prediction: dict):
    """A prediction's probability (classify), score (detect) or area (segment: the share of the
    picture predicted as the class), whichever the row's task records."""
    for name in ("probability", "score", "area"):
        if name in prediction:
            return prediction[name]
    return None
