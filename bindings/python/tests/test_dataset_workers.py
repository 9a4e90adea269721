"""The local process pool gives the same maps, bit for bit, as one worker."""
from __future__ import annotations

import numpy as np
import pytest

from dataset_helpers import manifest_rows, ordinary_images, saved_maps, temporaries
from scorecam.dataset import _work, explain_dataset

# Real worker processes (and a local Ray): the whole suite runs these, the quick tier does not.
pytestmark = pytest.mark.slow


def test_two_workers_equal_one_worker_bit_for_bit(tmp_path, monkeypatch):
    """One worker explains the 4 images in one engine call (CSKIP 16 fills a batch of 128 with 8
    images' masked images), each pool worker one image per call: the same maps, metrics and counts."""
    images = ordinary_images(tmp_path / "in", 4)
    results = {}
    engine_calls = []
    explainer = _work.Worker._explainer
    monkeypatch.setattr(_work.Worker, "_explainer", lambda self: engine_calls.append(1) or explainer(self))
    for workers in (1, 2):
        out = tmp_path / f"out{workers}"
        summary = explain_dataset([tmp_path / "in"], out, targets="top2", cskip=16, workers=workers,
                                  save_maps=True, progress=False, metrics=True)
        if workers == 1:
            assert len(engine_calls) == 2  # the worker's check of its options, then all 4 images at once
        assert (summary.ok, summary.failed, summary.workers) == (len(images), 0, workers)
        assert summary.backend == ("process" if workers == 1 else "pool")
        rows = {r["key"]: r for r in manifest_rows(out)}
        assert len(rows) == len(images) and temporaries(out) == []
        results[workers] = (saved_maps(out), rows)
    maps1, rows1 = results[1]
    maps2, rows2 = results[2]
    assert sorted(maps1) == sorted(maps2) and len(maps1) == len(images)
    for name in maps1:
        assert maps1[name].shape == (2, 224, 224)
        assert np.array_equal(maps1[name], maps2[name]), name
    for key in rows1:
        assert rows1[key]["predictions"] == rows2[key]["predictions"]
        assert rows1[key]["targets"] == rows2[key]["targets"]
        for field in ("channels", "forward_passes", "metrics", "metric_forward_passes"):
            assert rows1[key][field] == rows2[key][field], (key, field)
    assert len({tuple(r["targets"]) for r in rows1.values()}) > 1  # images with different classes, one call
    # The pool really ran in other processes.
    assert all(r["worker"]["pid"] != rows1[k]["worker"]["pid"] for k, r in rows2.items())
