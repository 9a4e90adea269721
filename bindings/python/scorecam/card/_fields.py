"""The fields of a model card, their defaults and their checks: one place that says what a card
may hold (ModelCard parses with it, the CLI's overrides go through it, docs/MODEL_CARDS.md lists it).

Every check raises UsageError with one line naming the field and what it accepts; unknown fields
are errors (with the closest known name), so a typo never silently falls back to a default."""
from __future__ import annotations

import difflib
import math
from typing import Any

from ..errors import UsageError

TASKS = ("classify", "segment", "detect")
OUTPUTS = ("logits", "probabilities", "sigmoid")
RESIZES = ("squash", "shorter_side_then_center_crop")
CHANNELS = ("RGB", "BGR")
LAYOUTS = ("NCHW", "NHWC")
INTERPOLATIONS = ("nearest", "bilinear", "bicubic", "lanczos")
# An `output` value that turns torchvision detection models' list of dicts into detections_array rows.
TORCHVISION_DETECTIONS = "torchvision_detections"
# The built-in `reshape` for layers returning a dict of feature maps (torchvision FPN backbones).
FEATURE_PYRAMID = "feature_pyramid"
# The built-in `reshape` for (N, h, w, K) activations (models exported from NHWC frameworks).
CHANNELS_LAST = "channels_last"

TOP_FIELDS = ("model", "layer", "output", "reshape", "input", "outputs", "threshold", "labels", "task",
              "min_area", "score_threshold", "max_detections", "name")
INPUT_FIELDS = ("size", "resize", "resize_to", "scale", "mean", "std", "channels", "layout", "interpolation")


def unknown(fields, known, where: str) -> None:
    for name in fields:
        if name not in known:
            close = difflib.get_close_matches(name, known, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise UsageError(f"{where}: unknown field {name!r}{hint}; fields: {', '.join(known)}")


def choice(value: Any, options, field: str) -> str:
    if isinstance(value, str):
        for option in options:
            if value.lower() == option.lower():
                return option
    raise UsageError(f"card field {field!r} must be one of {', '.join(options)}, got {value!r}")


def number(value: Any, field: str, *, positive: bool = False, fraction: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise UsageError(f"card field {field!r} must be a finite number, got {value!r}")
    value = float(value)
    if positive and not value > 0:
        raise UsageError(f"card field {field!r} must be positive, got {value}")
    if fraction and not 0 <= value <= 1:
        raise UsageError(f"card field {field!r} must be between 0 and 1, got {value}")
    return value


def count(value: Any, field: str, low: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise UsageError(f"card field {field!r} must be an integer >= {low}, got {value!r}")
    return value


def size(value: Any) -> tuple[int, int]:
    """[H, W] (or one integer for a square)."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = [value, value]
    if not isinstance(value, (list, tuple)) or len(value) != 2:
        raise UsageError(f"card field 'input.size' must be [H, W], got {value!r}")
    return count(value[0], "input.size"), count(value[1], "input.size")


def triple(value: Any, field: str, positive: bool = False) -> tuple[float, ...]:
    """One value per colour channel (a single number is used for all three)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = [value] * 3
    if not isinstance(value, (list, tuple)) or len(value) not in (1, 3):
        raise UsageError(f"card field {field!r} must be 3 numbers (one per channel), got {value!r}")
    values = tuple(number(v, field, positive=positive) for v in value)
    return values * 3 if len(values) == 1 else values


def text(value: Any, field: str) -> str:
    if not isinstance(value, str) or not value:
        raise UsageError(f"card field {field!r} must be a non-empty string, got {value!r}")
    return value


def output(value: Any):
    """A key (dict outputs, ONNX output name), an index (tuple outputs) or torchvision_detections."""
    if value is None or isinstance(value, str) and value or isinstance(value, int) and not isinstance(value, bool):
        return value
    raise UsageError(f"card field 'output' must be a key, an index or {TORCHVISION_DETECTIONS!r}, got {value!r}")


def labels(value: Any):
    """A file name (one label per line, or a JSON list / {index: name} object) or a list."""
    if value is None or isinstance(value, str) and value:
        return value
    if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise UsageError("card field 'labels' must be a file name or a list of strings")
