"""Reading images the way a dataset run needs them, and drawing overlays at their own size.

Every image is read with its EXIF orientation applied (a phone photo taken upright is explained
upright), then converted to 8-bit RGB:
  RGB, L (gray), P (palette), CMYK, YCbCr ...  Pillow's own conversion to RGB;
  LA, RGBA, PA, P with transparency            the alpha channel is dropped (the colours under it
                                               are kept), as torchvision's ImageFolder loader does;
  I;16 / I;16B / I;16L / I (16-bit and 32-bit  the values 0..65535 scaled to 0..255 (v / 257),
  gray, e.g. 16-bit PNG)                       clipped; replicated to three channels;
  F (32-bit float gray)                        clipped to 0..255, replicated.
Multi-frame files (GIF, TIFF) contribute their first frame. A truncated or unreadable file is an
error, never a partly gray picture.
"""
from __future__ import annotations

import os
import pathlib
import tempfile

import numpy as np

from ._deps import require
from .imaging import to_colormap

_WIDE_GRAY = {"I;16", "I;16B", "I;16L", "I;16N", "I"}


def _pil():
    require("PIL", extra="image", purpose="reading and writing images")
    from PIL import Image, ImageOps

    return Image, ImageOps


def to_rgb(image):
    """A PIL image of any mode -> an RGB PIL image, as the module docstring says."""
    Image, _ = _pil()
    mode = image.mode
    if mode == "RGB":
        return image
    if mode in _WIDE_GRAY:
        values = np.asarray(image, dtype=np.float64) / 257.0
        gray = np.clip(np.rint(values), 0, 255).astype(np.uint8)
        return Image.fromarray(np.stack([gray] * 3, axis=-1))
    if mode == "F":
        gray = np.clip(np.rint(np.asarray(image, dtype=np.float64)), 0, 255).astype(np.uint8)
        return Image.fromarray(np.stack([gray] * 3, axis=-1))
    return image.convert("RGB")


def read_image(path: str | os.PathLike):
    """The image at `path`, EXIF orientation applied, as an RGB PIL image (fully loaded).

    Raises OSError (missing, unreadable, truncated), PIL.UnidentifiedImageError (not an image) or
    PIL.Image.DecompressionBombError (absurdly large)."""
    Image, ImageOps = _pil()
    with Image.open(path) as opened:
        opened.load()
        oriented = ImageOps.exif_transpose(opened)
        return to_rgb(oriented).copy()


def model_input(image, size: int) -> np.ndarray:
    """uint8 (size, size, 3): the model's view of the picture, bicubic as scorecam._lite0 does."""
    Image, _ = _pil()
    bicubic = getattr(Image, "Resampling", Image).BICUBIC
    return np.asarray(image.resize((size, size), bicubic), np.uint8)


def resize_map(heatmap: np.ndarray, width: int, height: int) -> np.ndarray:
    """A float map stretched (bilinear) to width x height."""
    if heatmap.shape == (height, width):
        return heatmap
    Image, _ = _pil()
    bilinear = getattr(Image, "Resampling", Image).BILINEAR
    picture = Image.fromarray(np.ascontiguousarray(heatmap, dtype=np.float32))
    return np.asarray(picture.resize((width, height), bilinear), dtype=np.float32)


def overlay_at_size(image, heatmap: np.ndarray) -> np.ndarray:
    """The seed's overlay (half picture, half JET colormap) at the picture's own resolution; the
    same pixels as scorecam.imaging.overlay, in integer arithmetic to keep big photos cheap."""
    rgb = np.asarray(image, dtype=np.uint8)
    colors = to_colormap(resize_map(heatmap, rgb.shape[1], rgb.shape[0]))
    return ((rgb.astype(np.uint16) + colors) // 2).astype(np.uint8)


# ---- atomic writes ----------------------------------------------------------------------------
# Every output is written to a hidden temporary file in its final directory, then renamed over
# the final name: a reader (or a resumed run) sees the whole file or none of it.

TEMP_MARK = ".scorecam-tmp"
# mkstemp makes 0600 files; outputs get the usual 0666 & ~umask (read once: umask() also sets it).
_UMASK = os.umask(0o022)
os.umask(_UMASK)


def _atomic(path: pathlib.Path, write) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=TEMP_MARK)
    try:
        os.fchmod(fd, 0o666 & ~_UMASK)
        with os.fdopen(fd, "wb") as handle:
            write(handle)
        os.replace(temp, path)
    except BaseException:
        try:
            os.unlink(temp)
        except FileNotFoundError:
            pass
        raise


def write_png(path: pathlib.Path, picture: np.ndarray) -> None:
    Image, _ = _pil()
    _atomic(path, lambda handle: Image.fromarray(np.ascontiguousarray(picture, np.uint8)).save(handle, format="PNG"))


def write_maps(path: pathlib.Path, maps: np.ndarray, targets) -> None:
    """maps (T, h, w) float32 at the engine's map resolution, and their target classes."""
    _atomic(path, lambda handle: np.savez(handle, maps=np.asarray(maps, np.float32),
                                          targets=np.asarray(targets, np.int64)))


def write_bytes(path: pathlib.Path, data: bytes) -> None:
    _atomic(path, lambda handle: handle.write(data))


def remove_temporaries(root: pathlib.Path) -> int:
    """Deletes the temporary files a killed run may have left under root; returns how many."""
    count = 0
    for temp in root.rglob(f".*{TEMP_MARK}"):
        try:
            temp.unlink()
            count += 1
        except OSError:
            pass
    return count
