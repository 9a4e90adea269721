"""A picture -> the model's input, as a card's `input` says, and the way back: where the input
lies in the original picture (to draw maps and boxes at the picture's own size)."""
from __future__ import annotations

import dataclasses

import numpy as np

from ._card import InputSpec


@dataclasses.dataclass(frozen=True)
class Geometry:
    """The input (size H x W) covers `box` (x0, y0, x1, y1) of the original picture (width x
    height) in original pixels: the whole picture when squashed, the centre crop's region else."""

    width: int
    height: int
    size: tuple
    box: tuple

    @property
    def whole(self) -> bool:
        return self.box == (0.0, 0.0, float(self.width), float(self.height))

    def to_original(self, boxes) -> np.ndarray:
        """Boxes (x1, y1, x2, y2) in input pixels -> original pixels, clipped to the picture."""
        boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
        x0, y0, x1, y1 = self.box
        sx, sy = (x1 - x0) / self.size[1], (y1 - y0) / self.size[0]
        out = boxes * np.array([sx, sy, sx, sy]) + np.array([x0, y0, x0, y0])
        out[:, 0::2] = np.clip(out[:, 0::2], 0, self.width)
        out[:, 1::2] = np.clip(out[:, 1::2], 0, self.height)
        return out


def _resample(name: str):
    from PIL import Image

    resampling = getattr(Image, "Resampling", Image)
    return {"nearest": resampling.NEAREST, "bilinear": resampling.BILINEAR, "bicubic": resampling.BICUBIC,
            "lanczos": resampling.LANCZOS}[name]


def resize_picture(image, spec: InputSpec):
    """An RGB PIL image -> (the RGB PIL image of the input's size, its Geometry)."""
    height, width = spec.size
    method = _resample(spec.interpolation)
    w0, h0 = image.size
    if spec.resize == "squash":
        return image.resize((width, height), method), Geometry(w0, h0, spec.size, (0.0, 0.0, float(w0), float(h0)))
    # torchvision's Resize(resize_to) then CenterCrop(size): the shorter side to resize_to, the
    # longer in proportion (truncated, as torchvision computes it), then the centre.
    short, long = (w0, h0) if w0 <= h0 else (h0, w0)
    new_short, new_long = spec.resize_to, int(spec.resize_to * long / short)
    rw, rh = (new_short, new_long) if w0 <= h0 else (new_long, new_short)
    resized = image.resize((rw, rh), method)
    top, left = int(round((rh - height) / 2.0)), int(round((rw - width) / 2.0))
    crop = resized.crop((left, top, left + width, top + height))
    sx, sy = w0 / rw, h0 / rh
    box = (left * sx, top * sy, (left + width) * sx, (top + height) * sy)
    return crop, Geometry(w0, h0, spec.size, box)


def to_input(rgb: np.ndarray, spec: InputSpec) -> np.ndarray:
    """uint8 (H, W, 3) RGB -> float32 (1, 3, H, W): channels in the card's order, x * scale, then
    (x - mean) / std per channel (mean and std in the model's channel order). The engine always
    takes NCHW; an NHWC model gets its batches transposed by the card's model."""
    pixels = np.asarray(rgb, np.float32)
    if spec.channels == "BGR":
        pixels = pixels[..., ::-1]
    divisor = 1.0 / spec.scale
    if abs(divisor - round(divisor)) < 1e-9 * divisor:
        # x / 255, as torchvision's ToTensor computes it: multiplying by the rounded 1/255 differs
        # from it in the last bit of some pixels.
        pixels = pixels / np.float32(round(divisor))
    else:
        pixels = pixels * np.float32(spec.scale)
    pixels = (pixels - np.array(spec.mean, np.float32)) / np.array(spec.std, np.float32)
    return np.ascontiguousarray(pixels.transpose(2, 0, 1)[None], np.float32)


def prepare(image, spec: InputSpec):
    """An RGB PIL image -> (float32 (1, 3, H, W) input, Geometry)."""
    picture, geometry = resize_picture(image, spec)
    return to_input(np.asarray(picture, np.uint8), spec), geometry
