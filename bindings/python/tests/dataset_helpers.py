"""Shared by the test_dataset*.py files: small test images and ways to run the CLI."""
from __future__ import annotations

import json
import pathlib
import subprocess
import sys

import numpy as np

from conftest import SAMPLE_IMAGE


def ordinary_images(folder: pathlib.Path, count: int) -> list[pathlib.Path]:
    """`count` small, different RGB pictures: crops of the sample image and of skimage's."""
    from PIL import Image
    from skimage import data

    sources = [np.asarray(Image.open(SAMPLE_IMAGE).convert("RGB")), data.chelsea(), data.coffee(), data.astronaut()]
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(count):
        picture = sources[i % len(sources)]
        h, w = picture.shape[:2]
        crop = picture[(i // len(sources)) * 8:, : w - 3 * i]  # each one different
        path = folder / f"image_{i:02d}.png"
        Image.fromarray(np.ascontiguousarray(crop)).resize((96 + 8 * i, 64 + 4 * i)).save(path)
        paths.append(path)
    return paths


def run_cli(*args, timeout: int = 600, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "scorecam", *map(str, args)], capture_output=True,
                          text=True, timeout=timeout, **kwargs)


def manifest_rows(out: pathlib.Path) -> list[dict]:
    text = (out / "manifest.jsonl").read_text()
    assert text.endswith("\n")
    return [json.loads(line) for line in text.splitlines()]


def saved_maps(out: pathlib.Path) -> dict[str, np.ndarray]:
    return {path.name: np.load(path)["maps"] for path in sorted(out.glob("*.maps.npz"))}


def temporaries(out: pathlib.Path) -> list[pathlib.Path]:
    return sorted(out.rglob("*.scorecam-tmp"))
