"""Dataset runs: inputs, image modes, manifest, and a directory of good and bad images."""
from __future__ import annotations

import json
import os
import pathlib

import numpy as np
import pytest
from PIL import Image

from conftest import SAMPLE_IMAGE
from dataset_helpers import manifest_rows, ordinary_images, run_cli, temporaries
from scorecam.dataset import _images, _inputs, _manifest
from scorecam.errors import UsageError


# ---- inputs ------------------------------------------------------------------------------------

def test_inputs_expand_directories_patterns_lists_with_unique_keys(tmp_path, monkeypatch):
    (tmp_path / "d" / "cat").mkdir(parents=True)
    (tmp_path / "d" / "dog").mkdir()
    for name in ("d/cat/1.jpg", "d/dog/1.JPG", "d/dog/2.png", "d/notes.txt", "d/.hidden.png", "x/1.png"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"")
    (tmp_path / "list.txt").write_text("# a comment\n\nx/1.png\nmissing.jpg\n")
    monkeypatch.chdir(tmp_path)
    warnings = []
    items = _inputs.expand(["d", "x/*.png", "d/cat/1.jpg", "nothing*.png"], "list.txt", warn=warnings.append)
    assert [(i.key, i.path) for i in items] == [
        ("cat/1", "d/cat/1.jpg"), ("dog/1", "d/dog/1.JPG"), ("dog/2", "d/dog/2.png"),
        ("1", "x/1.png"), ("missing", "missing.jpg")]
    assert warnings == ["nothing*.png: no file matches"]
    # Same stem from two places: the later one gets a suffix, the same way every time.
    (tmp_path / "y").mkdir()
    (tmp_path / "y" / "1.png").write_bytes(b"")
    keys = [i.key for i in _inputs.expand(["x/1.png", "y/1.png"])]
    assert keys == ["1", "1-2"] == [i.key for i in _inputs.expand(["x/1.png", "y/1.png"])]
    # The output directory inside an input directory is never an input.
    (tmp_path / "d" / "out").mkdir()
    (tmp_path / "d" / "out" / "1_243_x.png").write_bytes(b"")
    assert [i.key for i in _inputs.expand(["d"], exclude="d/out")] == ["cat/1", "dog/1", "dog/2"]
    with pytest.raises(UsageError, match="cannot read the list file"):
        _inputs.expand([], "no-such-list.txt")


# ---- image modes -------------------------------------------------------------------------------

def test_every_pillow_mode_becomes_rgb_the_documented_way():
    gray = np.array([[0, 128], [200, 255]], np.uint8)
    rgba = np.zeros((2, 2, 4), np.uint8)
    rgba[..., :3] = [10, 20, 30]
    rgba[..., 3] = [[0, 255], [128, 7]]
    cases = {
        "L": Image.fromarray(gray),
        "LA": Image.merge("LA", [Image.fromarray(gray), Image.fromarray(255 - gray)]),
        "RGBA": Image.fromarray(rgba),
        "P": Image.fromarray(gray).convert("P"),
        "CMYK": Image.fromarray(np.dstack([gray] * 3)).convert("CMYK"),
        "I;16": Image.fromarray(np.array([[0, 257], [32896, 65535]], np.uint16)),
        "I": Image.fromarray(np.array([[0, 257], [32896, 65535]], np.int32)),
        "F": Image.fromarray(np.array([[-5.0, 1.4], [128.0, 900.0]], np.float32)),
    }
    expected_gray = {"L": gray, "LA": gray, "P": gray, "CMYK": gray,
                     "I;16": [[0, 1], [128, 255]], "I": [[0, 1], [128, 255]], "F": [[0, 1], [128, 255]]}
    for mode, image in cases.items():
        assert image.mode == mode
        rgb = np.asarray(_images.to_rgb(image))
        assert rgb.shape == (2, 2, 3) and rgb.dtype == np.uint8, mode
        if mode == "RGBA":  # alpha dropped, colours kept
            assert (rgb == [10, 20, 30]).all()
        else:
            for channel in range(3):
                np.testing.assert_array_equal(rgb[..., channel], expected_gray[mode], err_msg=mode)


def test_overlay_at_size_matches_the_seed_overlay():
    from scorecam.imaging import overlay

    rng = np.random.default_rng(0)
    picture = rng.integers(0, 256, (30, 40, 3), dtype=np.uint8)
    heatmap = rng.random((30, 40)).astype(np.float32)
    np.testing.assert_array_equal(_images.overlay_at_size(Image.fromarray(picture), heatmap), overlay(picture, heatmap))


# ---- manifest ----------------------------------------------------------------------------------

def test_manifest_drops_torn_lines_and_rows_to_redo(tmp_path):
    (tmp_path / "a.png").write_bytes(b"x")
    rows = [{"key": "a", "status": "ok", "config": "c1", "files": ["a.png"]},
            {"key": "b", "status": "error", "config": "c1"},
            {"key": "c", "status": "ok", "config": "c1", "files": ["c.png"]},  # its file is gone
            {"key": "other", "status": "ok", "config": "c0", "files": []}]    # not in this run
    (tmp_path / _manifest.NAME).write_text("".join(json.dumps(r) + "\n" for r in rows) + '{"key": "d", "sta')
    manifest = _manifest.Manifest(tmp_path)
    done, kept = manifest.prepare(["a", "b", "c", "d"], "c1", overwrite=False)
    assert done == {"a"} and [r["key"] for r in kept] == ["a", "other"]
    assert [r["key"] for r in _manifest.read_rows(manifest.path)] == ["a", "other"]
    assert manifest.path.read_text().endswith("\n")
    # Other settings, or overwrite: redo.
    assert manifest.prepare(["a"], "c2", overwrite=False)[0] == set()
    manifest.append({"key": "a", "status": "ok", "config": "c2", "files": ["a.png"]})
    manifest.close()
    assert manifest.prepare(["a"], "c2", overwrite=True)[0] == set()
    assert [r["key"] for r in _manifest.read_rows(manifest.path)] == ["other"]


# ---- a directory of good and bad images, through the CLI ---------------------------------------

def _bad_and_good_directory(folder: pathlib.Path) -> dict[str, tuple[int, int] | None]:
    """name -> the (width, height) its overlay must have, None for the bad ones."""
    folder.mkdir()
    ordinary = ordinary_images(folder, 2)
    sizes = {p.name: Image.open(p).size for p in ordinary}
    jpeg = SAMPLE_IMAGE.read_bytes()
    (folder / "corrupt.jpg").write_bytes(jpeg[: len(jpeg) // 2])          # truncated
    (folder / "notes.jpg").write_text("not an image\n")                   # text named .jpg
    Image.fromarray(np.tile(np.arange(70, dtype=np.uint8), (50, 1))).save(folder / "gray.png")
    sizes["gray.png"] = (70, 50)
    rgba = np.zeros((45, 65, 4), np.uint8)
    rgba[..., 0], rgba[..., 3] = 200, 128
    Image.fromarray(rgba).save(folder / "rgba.png")
    sizes["rgba.png"] = (65, 45)
    # Stored 80 wide x 48 high, top half white; EXIF 6 = shown rotated 90 degrees clockwise:
    # 48 wide x 80 high, right half white.
    stored = np.zeros((48, 80, 3), np.uint8)
    stored[:24] = 255
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.fromarray(stored).save(folder / "rotated.jpg", exif=exif, quality=95)
    sizes["rotated.jpg"] = (48, 80)
    sizes["corrupt.jpg"] = sizes["notes.jpg"] = None
    return sizes


def test_directory_of_good_and_bad_images(tmp_path):
    sizes = _bad_and_good_directory(tmp_path / "in")
    out = tmp_path / "out"
    result = run_cli("explain", tmp_path / "in", "-o", out, "--cskip", "16", "--workers", "1")
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout.strip().splitlines()[-1].startswith("5 ok, 2 failed")
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 2 and any("corrupt.jpg" in e and "truncated" in e for e in errors)
    assert any("notes.jpg" in e and "not an image" in e for e in errors)

    rows = {pathlib.Path(r["input"]).name: r for r in manifest_rows(out)}
    assert sorted(rows) == sorted(sizes)
    for name, size in sizes.items():
        row = rows[name]
        if size is None:
            assert row["status"] == "error" and row["error"] and "files" not in row
            continue
        assert row["status"] == "ok", row
        assert row["size"] == list(size) and row["channels"] == 16 and row["forward_passes"] == 17
        assert len(row["predictions"]) == 5 and row["targets"] == [row["predictions"][0]["class"]]
        assert abs(sum(p["probability"] for p in row["predictions"])) <= 1 + 1e-6
        (overlay_name,) = row["files"]
        with Image.open(out / overlay_name) as overlay:
            assert overlay.format == "PNG" and overlay.mode == "RGB" and overlay.size == size
            picture = np.asarray(overlay, np.int32).sum(axis=-1)
        if name == "rotated.jpg":
            # overlay = (picture + colormap) // 2: the white half is brighter than any black pixel.
            assert picture[:, 30:].min() > picture[:, :18].max()
    assert temporaries(out) == []
    umask = os.umask(0)
    os.umask(umask)
    for path in out.rglob("*"):  # not mkstemp's 0600 (the thumbnails and the report included)
        if path.is_file():
            assert path.stat().st_mode & 0o777 == 0o666 & ~umask, path
    summary = json.loads((out / "summary.json").read_text())
    assert (summary["ok"], summary["failed"], summary["images"]) == (5, 2, 7)


# ---- dataset metrics ---------------------------------------------------------------------------

def test_metric_summary_means_and_intervals():
    from scorecam.dataset import summarize_metrics

    rows = [{"status": "ok", "metrics": {"average_drop": [ad], "increase_in_confidence": [ic],
                                         "insertion": [0.5], "deletion": [0.25]}}
            for ad, ic in [(0.1, 1.0), (0.3, 0.0), (0.2, 0.0), (0.2, 1.0)]]
    rows.append({"status": "error"})
    summary = summarize_metrics(rows)
    ad = summary["average_drop"]
    assert ad["n"] == 4 and ad["scale"] == 100 and ad["mean"] == pytest.approx(20.0)
    half = 1.959964 * np.std([0.1, 0.3, 0.2, 0.2], ddof=1) / 2 * 100
    assert ad["ci95"] == pytest.approx([20.0 - half, 20.0 + half])
    ic = summary["increase_in_confidence"]  # Wilson's interval for 2 of 4
    assert ic["mean"] == pytest.approx(50.0) and ic["ci95"] == pytest.approx([15.0, 85.0], abs=0.05)
    assert summary["insertion"]["ci95"] == pytest.approx([0.5, 0.5]) and summary["deletion"]["mean"] == 0.25


def test_cli_metrics_table_and_summary(tmp_path):
    ordinary_images(tmp_path / "in", 2)
    out = tmp_path / "out"
    result = run_cli("explain", tmp_path / "in", "-o", out, "--cskip", "16", "--workers", "1", "--metrics", "-q")
    assert result.returncode == 0, result.stderr
    for title in ("Average Drop (%)", "Increase in Confidence (%)", "Insertion AUC", "Deletion AUC"):
        assert title in result.stdout
    summary = json.loads((out / "summary.json").read_text())
    metrics = summary["metrics"]
    assert sorted(metrics) == ["average_drop", "deletion", "increase_in_confidence", "insertion"]
    for value in metrics.values():
        assert value["n"] == 2 and value["ci95"][0] <= value["mean"] <= value["ci95"][1]
    assert 0 <= metrics["average_drop"]["mean"] <= 100
    for row in manifest_rows(out):
        assert len(row["metrics"]["insertion"]) == 1 and row["metric_forward_passes"] > 0
