"""Thumbnails for the report: small JPEGs of each image and of each overlay, and each raw map as
a tiny JET PNG at map resolution. Workers make them during a run (listed in the manifest row
under "thumbnails"), so the report needs no image work and a resumed run reuses them; the report
makes them for an older output directory whose rows have none.

Names, under OUT/thumbs/ (distinct by construction: overlay names hold "_CLASS_", an image key
never ends in ".original" and ".map" after an overlay stem):
  KEY.original.jpg           the image            OVERLAY_STEM.jpg       an overlay
  OVERLAY_STEM.map.png       the raw map (min..max of the map -> the JET colours; the range is
                             kept in "map_ranges" for the colour bar)
"""
from __future__ import annotations

import io
import pathlib
from typing import Optional, Sequence

import numpy as np

from ..imaging import to_colormap
from . import _images
from ._files import write_bytes

FOLDER = "thumbs"
LONG_SIDE = 256
JPEG_QUALITY = 85


def original_name(key: str) -> str:
    return f"{FOLDER}/{key}.original.jpg"


def overlay_name(overlay_file: str) -> str:
    return f"{FOLDER}/{pathlib.PurePosixPath(overlay_file).with_suffix('')}.jpg"


def map_name(overlay_file: str) -> str:
    return f"{FOLDER}/{pathlib.PurePosixPath(overlay_file).with_suffix('')}.map.png"


def _shrunk(image):
    """The RGB PIL image scaled so that its long side is at most LONG_SIDE."""
    width, height = image.size
    scale = LONG_SIDE / max(width, height)
    if scale >= 1:
        return image
    from PIL import Image

    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return image.resize(size, getattr(Image, "Resampling", Image).LANCZOS)


def _encode(picture, format: str) -> bytes:
    from PIL import Image

    if format == "PNG":
        return _images.encode_png(np.asarray(picture))
    if isinstance(picture, np.ndarray):
        picture = Image.fromarray(np.ascontiguousarray(picture, np.uint8))
    buffer = io.BytesIO()
    picture.save(buffer, format="JPEG", quality=JPEG_QUALITY)
    return buffer.getvalue()


def write_thumbnails(out_dir: pathlib.Path, key: str, image, maps: Optional[np.ndarray],
                     overlay_files: Sequence[str], overlays: Optional[Sequence[np.ndarray]] = None) -> dict:
    """Writes (atomically) the thumbnails of one explained image: `image` the RGB PIL picture,
    `maps` the (T, h, w) raw maps in the order of `overlay_files` (or None: the overlay files are
    read and shrunk instead, and no map pictures are made). `overlays`: the full-size overlay
    pictures when they are more than a map over the picture (a centre crop's dimmed border, a
    detection's box): their thumbnails are shrunk from them. Returns the manifest row's
    "thumbnails": {"original", "overlays", "maps", "map_ranges"} (names relative to out_dir)."""
    out_dir = pathlib.Path(out_dir)
    small = _shrunk(image)
    names = {"original": original_name(key), "overlays": [], "maps": [], "map_ranges": []}
    write_bytes(out_dir / names["original"], _encode(small, "JPEG"))
    for index, overlay_file in enumerate(overlay_files):
        if maps is not None:
            heatmap = np.asarray(maps[index], np.float32)
            if overlays is not None:
                from PIL import Image

                picture = _shrunk(Image.fromarray(overlays[index]))
            else:  # the same colouring as the full-size overlay, drawn on the small picture
                picture = _images.overlay_at_size(small, heatmap)
            write_bytes(out_dir / map_name(overlay_file), _encode(to_colormap(heatmap), "PNG"))
            names["maps"].append(map_name(overlay_file))
            names["map_ranges"].append([float(heatmap.min()), float(heatmap.max())])
        else:
            picture = _shrunk(_images.read_image(out_dir / overlay_file))
        write_bytes(out_dir / overlay_name(overlay_file), _encode(picture, "JPEG"))
        names["overlays"].append(overlay_name(overlay_file))
    return names


def _saved_maps(out_dir: pathlib.Path, row: dict) -> Optional[np.ndarray]:
    """The row's raw maps when the run saved them (KEY.maps.npz), in target order; else None."""
    npz = [name for name in row.get("files", []) if name.endswith(".maps.npz")]
    if not npz:
        return None
    with np.load(out_dir / npz[0]) as saved:
        if list(saved["targets"]) != list(row.get("targets", [])):
            return None
        return np.array(saved["maps"])


def thumbnails_for_row(out_dir: pathlib.Path, row: dict) -> Optional[dict]:
    """The thumbnails of a row written without them (an older run): the existing files are reused,
    missing ones made from the image (or, when it is gone, the overlay) and the saved maps."""
    overlays = [name for name in row.get("files", []) if name.endswith(".png")]
    if row.get("status") != "ok" or not overlays:
        return None
    maps = _saved_maps(out_dir, row)
    wanted = [original_name(row["key"])] + [overlay_name(name) for name in overlays]
    if maps is not None:
        wanted += [map_name(name) for name in overlays]
    if all((out_dir / name).is_file() for name in wanted):
        ranges = [[float(m.min()), float(m.max())] for m in maps] if maps is not None else []
        return {"original": wanted[0], "overlays": wanted[1:1 + len(overlays)],
                "maps": wanted[1 + len(overlays):], "map_ranges": ranges}
    try:
        image = _images.read_image(row["input"])
    except OSError:
        image = _images.read_image(out_dir / overlays[0])  # the input moved: its overlay stands in
    return write_thumbnails(out_dir, row["key"], image, maps, overlays)
