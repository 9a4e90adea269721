"""What writing one overlay costs, per file format and PNG compression level (issue 21): the
overlay itself (colormap + blend at the picture's size) and each encoding, best of N, with the
bytes it writes. Pictures: scikit-image's photos and the package's sample photo.

    .venv/bin/python bench/overlay_encoding.py [--rounds N]
"""
from __future__ import annotations

import argparse
import io
import time

import numpy as np
from PIL import Image
from skimage import data

from scorecam.dataset import _images
from scorecam.models import ModelBundle

ENCODINGS = [("PNG level 6 (Pillow's default)", "PNG", {"compress_level": 6}),
             ("PNG level 1", "PNG", {"compress_level": 1}),
             ("PNG level 1, Z_RLE", "PNG", {"compress_level": 1, "compress_type": 3}),
             ("PNG ours: Up, Huffman-only", "ours", {}),
             ("PNG level 0", "PNG", {"compress_level": 0}),
             ("JPEG q90", "JPEG", {"quality": 90}),
             ("WebP q90 method 0", "WEBP", {"quality": 90, "method": 0})]


def best(function, rounds: int):
    fastest, result = float("inf"), None
    for _ in range(rounds):
        start = time.perf_counter()
        result = function()
        fastest = min(fastest, time.perf_counter() - start)
    return fastest, result


def encode(picture: np.ndarray, kind: str, options: dict) -> bytes:
    if kind == "ours":
        return _images.encode_png(picture)
    buffer = io.BytesIO()
    Image.fromarray(picture).save(buffer, format=kind, **options)
    return buffer.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    rounds = parser.parse_args().rounds
    photos = {"astronaut": data.astronaut(), "coffee": data.coffee(), "chelsea": data.chelsea(),
              "sample": np.asarray(Image.open(ModelBundle.sample_image()).convert("RGB"))}
    # A smooth map, as Score-CAM's are: 7x7 levels upsampled bilinearly.
    levels = np.random.default_rng(0).random((7, 7)).astype(np.float32)
    heatmap = np.asarray(Image.fromarray(levels).resize((224, 224), Image.BILINEAR), np.float32)
    print(f"{'picture':18s} {'what':32s} {'ms':>7s} {'KiB':>6s}")
    for name, photo in photos.items():
        image = Image.fromarray(photo)
        seconds, overlay = best(lambda: _images.overlay_at_size(image, heatmap), rounds)
        label = f"{name} {photo.shape[1]}x{photo.shape[0]}"
        print(f"{label:18s} {'overlay (colormap + blend)':32s} {seconds * 1e3:7.1f}")
        for what, kind, options in ENCODINGS:
            seconds, encoded = best(lambda: encode(overlay, kind, options), rounds)
            print(f"{'':18s} {what:32s} {seconds * 1e3:7.1f} {len(encoded) / 1024:6.0f}")


if __name__ == "__main__":
    main()
