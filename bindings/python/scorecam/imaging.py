"""Turning maps into pictures: the JET colormap and overlays (the seed's `to_colormap` and
`overlay`, same pixels), and PNG output."""
from __future__ import annotations

import numpy as np

from ._deps import require


def _jet_table() -> np.ndarray:
    """256 x 3 uint8 JET: dark blue -> blue -> cyan/yellow -> red -> dark red, in 4-level steps."""
    i = np.arange(256)
    ramp = lambda start: np.clip(4 * (i - start), 0, 255)  # noqa: E731
    red = np.where(i < 224, ramp(96), 255 - ramp(224))
    green = np.where(i < 160, ramp(32), 255 - ramp(160)) * (i >= 32) * (i < 224)
    blue = np.where(i < 32, 127 + 4 * i, 255 - ramp(96)) * (i < 160)
    return np.stack([red, green, blue], axis=1).astype(np.uint8)


_JET = _jet_table()


def to_colormap(X, normalize: bool = True) -> np.ndarray:
    """(H, W) map -> (H, W, 3) uint8 JET picture; min-max normalized unless normalize=False
    (then X must already hold uint8 levels)."""
    X = np.asarray(X)
    if normalize:
        span = np.max(X) - np.min(X)
        X = (X - np.min(X)) / (span if span > 0 else 1)
        X = np.clip(255 * X, 0, 255).astype(np.uint8)
    return _JET[X]


def overlay(image, L) -> np.ndarray:
    """Half image, half colormap of L: image (H, W, C) uint8-range, L (H, W)."""
    image = image.numpy() if hasattr(image, "numpy") else np.asarray(image)
    L = L.numpy() if hasattr(L, "numpy") else np.asarray(L)
    return np.clip(0.5 * image + 0.5 * to_colormap(L), 0, 255).astype(np.uint8)


def save_png(path, picture: np.ndarray) -> None:
    """Writes an (H, W, 3) uint8 picture as PNG (needs Pillow: pip install 'scorecam[image]')."""
    require("PIL", extra="image", purpose="writing PNG files")
    from PIL import Image
    Image.fromarray(np.ascontiguousarray(picture, dtype=np.uint8)).save(path, format="PNG")
