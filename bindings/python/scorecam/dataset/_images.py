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

Only regular files are read: a FIFO, device or socket is an error (opened without blocking, never
waited on). A picture of more than `max_pixels` pixels (default 50 MP, `--max-pixels`) is an
error before it is decoded: a worker's memory grows with the pixels (~24 bytes each, the overlay
included), and the worker count is sized for this limit (_run.MEMORY_PER_PIXEL).
"""
from __future__ import annotations

import os
import pathlib
import stat
import struct
import warnings
import zlib

import numpy as np

from .._deps import require
from ..imaging import to_colormap
from ._files import atomic

_WIDE_GRAY = {"I;16", "I;16B", "I;16L", "I;16N", "I"}
DEFAULT_MAX_PIXELS = 50_000_000
_KINDS = ((stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a character device"),
          (stat.S_ISBLK, "a block device"))


class TooLarge(ValueError):
    """A picture above the pixel limit."""


class NotRegularFile(OSError):
    """A FIFO, device or socket where an image file was expected."""


def open_regular(path: str | os.PathLike):
    """A binary file object for the regular file at `path`. Opened with O_NONBLOCK, so a FIFO
    without a writer does not block, then checked with fstat: only regular files are read."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise IsADirectoryError(21, "is a directory", os.fspath(path))
        if not stat.S_ISREG(mode):
            kind = next((name for test, name in _KINDS if test(mode)), "not a regular file")
            raise NotRegularFile(f"not a regular file ({kind})")
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def _megapixels(pixels: int) -> str:
    return f"{pixels / 1e6:.1f} MP" if pixels >= 100_000 else f"{pixels} pixels"


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


def read_image(path: str | os.PathLike, max_pixels: int = DEFAULT_MAX_PIXELS):
    """The image at `path`, EXIF orientation applied, as an RGB PIL image (fully loaded).

    Raises OSError (missing, unreadable, truncated, NotRegularFile), PIL.UnidentifiedImageError
    (not an image) or TooLarge (more than `max_pixels` pixels, checked before decoding; Pillow's
    own decompression-bomb limit is reported the same way)."""
    Image, ImageOps = _pil()
    if Image.MAX_IMAGE_PIXELS is not None and max_pixels > Image.MAX_IMAGE_PIXELS:
        Image.MAX_IMAGE_PIXELS = max_pixels  # the user's limit is the one that applies
    with open_regular(path) as handle:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", Image.DecompressionBombWarning)
                opened = Image.open(handle)
        except Image.DecompressionBombError:
            raise TooLarge(f"too large: above Pillow's limit of {_megapixels(2 * Image.MAX_IMAGE_PIXELS)} "
                           f"(a decompression bomb?)") from None
        with opened:
            width, height = opened.size
            if width * height > max_pixels:
                raise TooLarge(f"too large: {width}x{height} = {_megapixels(width * height)}, above the "
                               f"limit of {_megapixels(max_pixels)} (--max-pixels)")
            opened.load()
            oriented = ImageOps.exif_transpose(opened)
            return to_rgb(oriented).copy()


def resize_map(heatmap: np.ndarray, width: int, height: int) -> np.ndarray:
    """A float map stretched (bilinear) to width x height."""
    if heatmap.shape == (height, width):
        return heatmap
    Image, _ = _pil()
    bilinear = getattr(Image, "Resampling", Image).BILINEAR
    picture = Image.fromarray(np.ascontiguousarray(heatmap, dtype=np.float32))
    return np.asarray(picture.resize((width, height), bilinear), dtype=np.float32)


def overlay_at_size(image, heatmap: np.ndarray, box=None) -> np.ndarray:
    """The seed's overlay (half picture, half JET colormap) at the picture's own resolution; the
    same pixels as scorecam.imaging.overlay, in integer arithmetic to keep big photos cheap.

    box: the region (x0, y0, x1, y1) of the picture the model saw (a centre crop), None for all of
    it; the map covers that region and the rest of the picture is shown at half brightness."""
    rgb = np.asarray(image, dtype=np.uint8)
    height, width = rgb.shape[:2]
    if box is None or tuple(box) == (0, 0, width, height):
        colors = to_colormap(resize_map(heatmap, width, height))
        return ((rgb.astype(np.uint16) + colors) // 2).astype(np.uint8)
    x0, y0 = max(0, int(round(box[0]))), max(0, int(round(box[1])))
    x1, y1 = min(width, max(x0 + 1, int(round(box[2])))), min(height, max(y0 + 1, int(round(box[3]))))
    picture = rgb // 2
    colors = to_colormap(resize_map(heatmap, x1 - x0, y1 - y0))
    picture[y0:y1, x0:x1] = ((rgb[y0:y1, x0:x1].astype(np.uint16) + colors) // 2).astype(np.uint8)
    return picture


def draw_box(picture: np.ndarray, box, caption: str) -> np.ndarray:
    """A detection's box (x1, y1, x2, y2, original pixels) and caption drawn on an overlay."""
    Image, _ = _pil()
    from PIL import ImageDraw

    canvas = Image.fromarray(np.ascontiguousarray(picture, np.uint8))
    draw = ImageDraw.Draw(canvas)
    line = max(2, round(min(canvas.size) / 200))
    x1, y1, x2, y2 = (float(v) for v in box)
    draw.rectangle([x1, y1, max(x1, x2), max(y1, y2)], outline=(255, 255, 255), width=line)
    left, top, right, bottom = draw.textbbox((x1, y1), caption)
    lift = bottom - top + 2 * line
    ty = y1 - lift if y1 - lift >= 0 else y1
    draw.rectangle([x1, ty, x1 + right - left + 2 * line, ty + lift], fill=(255, 255, 255))
    draw.text((x1 + line, ty + line - (top - y1)), caption, fill=(0, 0, 0))
    return np.asarray(canvas)


# Overlays are PNGs written by our own encoder: every row filtered "Up" (its difference with the
# row above: one numpy subtraction) and deflated Huffman-only at zlib level 1 (zlib releases the
# GIL). On overlays (photos half covered by a smooth colormap) that is 2.5-3.4x faster than Pillow's
# encoder at level 1, which tries five filters on every row, and 11-16x faster than its default
# level 6 (half of a CSKIP-16 run's time before issue 21), for 5-15% more bytes than level 6
# (bench/overlay_encoding.py; figures in docs/BENCHMARKS.md).
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_UP_FILTER = 2


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    checksum = zlib.crc32(payload, zlib.crc32(kind))
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", checksum)


def encode_png(picture: np.ndarray) -> bytes:
    """An (H, W, 3) uint8 RGB picture as the bytes of a PNG file (8 bits, no interlace)."""
    picture = np.ascontiguousarray(picture, np.uint8)
    if picture.ndim != 3 or picture.shape[2] != 3 or not picture.shape[0] or not picture.shape[1]:
        raise ValueError(f"encode_png takes (H, W, 3) RGB pictures, got shape {picture.shape}")
    height, width = picture.shape[:2]
    rows = picture.reshape(height, width * 3)
    filtered = np.empty((height, width * 3 + 1), np.uint8)
    filtered[:, 0] = _PNG_UP_FILTER
    filtered[0, 1:] = rows[0]
    np.subtract(rows[1:], rows[:-1], out=filtered[1:, 1:])  # uint8: modulo 256, as PNG's filters are
    deflate = zlib.compressobj(1, zlib.DEFLATED, 15, 9, zlib.Z_HUFFMAN_ONLY)
    data = deflate.compress(filtered) + deflate.flush()
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB, deflate, no interlace
    return _PNG_SIGNATURE + _png_chunk(b"IHDR", header) + _png_chunk(b"IDAT", data) + _png_chunk(b"IEND", b"")


def write_png(path: pathlib.Path, picture: np.ndarray) -> None:
    """An (H, W, 3) uint8 picture as a PNG file, written atomically."""
    encoded = encode_png(picture)
    atomic(path, lambda handle: handle.write(encoded))
