"""Loading a card's model: ONNX files, TorchScript files, `package.module:factory` and model
objects all become one `CardModel` with `run(x) -> (outputs, activations)` and `forward(batch)`
(x always NCHW float32, as the engine forms it), plus what a run must know about the model: its
class names and a digest of its bytes or weights (part of the run's resume identity)."""
from __future__ import annotations

import hashlib
import importlib
import io
import os
import pathlib
import sys
import warnings
from typing import Callable, Optional

import numpy as np

from ..errors import MissingDependencyError, UsageError
from . import _fields as F
from ._card import ModelCard


class CardModel:
    """A card's model, ready to run. inner: an OnnxModel or TorchModel."""

    def __init__(self, inner, card: ModelCard, digest: str, labels: Optional[list], reshape: Optional[Callable]):
        self.inner = inner
        self.card = card
        self.digest = digest
        self.labels = labels
        self._nhwc = card.input.layout == "NHWC"
        self._reshape = reshape  # applied here for ONNX models (TorchModel applies its own)

    @property
    def keeps_batches(self) -> bool:
        """False when the inner model never keeps a batch (ONNX Runtime): see Explainer's borrow_batches."""
        return getattr(self.inner, "keeps_batches", True)

    def _layout(self, batch: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(batch.transpose(0, 2, 3, 1)) if self._nhwc else batch

    def forward(self, batch: np.ndarray) -> np.ndarray:
        return self.inner.forward(self._layout(batch))

    __call__ = forward

    def run(self, x: np.ndarray):
        outputs, activations = self.inner.run(self._layout(x))
        if self._reshape is not None:
            activations = np.ascontiguousarray(self._reshape(activations), dtype=np.float32)
        return outputs, activations

    def close(self) -> None:
        close = getattr(self.inner, "close", None)
        if close is not None:
            close()


def load_model(card: ModelCard, threads: int = 0) -> CardModel:
    """The card's model loaded (see the module docstring); UsageError when it cannot be."""
    if card.model is None:
        raise UsageError("the model card names no model")
    kind = card.model_kind
    labels = card.label_names()
    if kind == "onnx":
        path = _existing(card, card.model)
        return _onnx(card, path, _file_digest(path), labels, threads)
    if kind == "torchscript":
        path = _existing(card, card.model)
        return _torchscript(card, path, labels, threads)
    made = _call_factory(card) if kind == "factory" else card.model
    return _from_object(card, made, labels, threads)


def _existing(card: ModelCard, name: str) -> pathlib.Path:
    path = card.path(name)
    if not path.is_file():
        raise UsageError(f"model file not found: {path}")
    return path


def _file_digest(path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _weights_digest(module) -> str:
    """A hash of a torch module's class and weights (a factory builds the same model from code)."""
    digest = hashlib.sha256(f"{type(module).__module__}.{type(module).__qualname__}".encode())
    for name, tensor in module.state_dict().items():
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


def import_object(spec: str, card: ModelCard, field: str):
    """`package.module:attribute`, imported with the card's directory first on sys.path (as
    `python script.py` puts the script's directory), so a card can sit beside its model code."""
    module_name, _, attribute = spec.partition(":")
    if card.base_dir and card.base_dir not in sys.path:
        sys.path.insert(0, card.base_dir)
    try:
        found = importlib.import_module(module_name)
        for part in attribute.split("."):
            found = getattr(found, part)
    except ImportError as error:
        raise UsageError(f"card field {field!r}: cannot import {module_name!r}: {error}") from None
    except AttributeError:
        raise UsageError(f"card field {field!r}: {module_name!r} has no attribute {attribute!r}") from None
    return found


def _call_factory(card: ModelCard):
    factory = import_object(card.model, card, "model")
    if not callable(factory):
        raise UsageError(f"card field 'model': {card.model} is not callable")
    try:
        return factory()
    except MissingDependencyError:
        raise  # its own message: which extra to install
    except Exception as error:  # noqa: BLE001 - the user's factory: its error, in one line
        raise UsageError(f"card field 'model': {card.model}() failed: {type(error).__name__}: {error}") from None


def _reshape_for(card: ModelCard) -> Optional[Callable]:
    if card.reshape is None:
        return None
    if card.reshape == F.FEATURE_PYRAMID:
        from ..torch import feature_pyramid_reshape

        return feature_pyramid_reshape()
    if card.reshape == F.CHANNELS_LAST:
        return channels_last_reshape
    function = import_object(card.reshape, card, "reshape")
    if not callable(function):
        raise UsageError(f"card field 'reshape': {card.reshape} is not callable")
    return function


def channels_last_reshape(activations):
    """(N, h, w, K) -> (N, K, h, w), numpy or torch (layers of models exported from NHWC frameworks)."""
    if activations.ndim != 4:
        raise ValueError(f"channels_last expects 4-D activations, got shape {tuple(activations.shape)}")
    return activations.permute(0, 3, 1, 2) if hasattr(activations, "permute") else activations.transpose(0, 3, 1, 2)


def _onnx(card: ModelCard, source, digest: str, labels, threads: int, layer_is_output: bool = False) -> CardModel:
    from ..onnx import OnnxModel

    if card.output == F.TORCHVISION_DETECTIONS:
        raise UsageError("output 'torchvision_detections' is for torch models; an ONNX detector must output "
                         "(N, M, 6) rows (x1, y1, x2, y2, score, label): name that output")
    if not card.layer:
        raise UsageError("the model card needs 'layer' (--layer: the tensor to explain; list them with "
                         f"`python -m scorecam layers {source if isinstance(source, (str, os.PathLike)) else 'MODEL'}`)")
    output = card.output
    try:
        if isinstance(output, int):
            output = OnnxModel.output_names(source)[output]
        inner = OnnxModel(source, card.layer, output=output, threads=threads, layer_is_output=layer_is_output)
    except IndexError:
        raise UsageError(f"card field 'output': the model has no output {card.output}") from None
    except ValueError as error:  # no such layer / output
        raise UsageError(str(error)) from None
    except Exception as error:  # noqa: BLE001 - onnx's own errors for a file that is not a model
        raise UsageError(f"cannot load the model {source}: {error}") from None
    return CardModel(inner, card, digest, labels, _reshape_for(card))


def _torchscript(card: ModelCard, path: pathlib.Path, labels, threads: int) -> CardModel:
    """A TorchScript file runs through ONNX Runtime: scripted modules take no forward hooks, so
    the layer's output is reached by exporting the model (in memory, once per worker) and naming
    the last tensor of the module's scope."""
    from .._deps import require

    require("torch", extra="torch", purpose="TorchScript models")
    import torch

    try:
        module = torch.jit.load(os.fspath(path), map_location="cpu").eval()
    except Exception as error:  # noqa: BLE001 - torch's words for a file that is not TorchScript
        raise UsageError(f"cannot load the TorchScript file {path}: {error}".splitlines()[0]) from None
    height, width = card.input.size
    shape = (1, height, width, 3) if card.input.layout == "NHWC" else (1, 3, height, width)
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            torch.onnx.export(module, (torch.zeros(shape),), buffer, dynamo=False, input_names=["input"],
                              dynamic_axes={"input": {0: "batch"}}, do_constant_folding=True)
        except Exception as error:  # noqa: BLE001 - the exporter's words
            raise UsageError(f"cannot export the TorchScript model {path} to ONNX: {error}".splitlines()[0]) from None
    import onnx

    graph_model = onnx.load_from_string(buffer.getvalue())
    layer = scope_tensor(graph_model, card.layer) if card.layer else None
    return _onnx(card.replace(layer=layer) if layer else card, graph_model, _file_digest(path), labels, threads)


def scope_tensor(model, module_name: str) -> Optional[str]:
    """The last tensor torch's exporter made inside the module `module_name` ("layer4",
    "layer4.1"), i.e. the module's output; None if the name is a tensor already or matches none."""
    produced = [name for node in model.graph.node for name in node.output if name]
    if module_name in produced:
        return None
    parts = module_name.strip("/").split(".")
    scopes = ("/" + "/".join(parts) + "/",  # TorchScript exports: /layer4/1/...
              "/" + "/".join(".".join(parts[:i + 1]) for i in range(len(parts))) + "/")  # /layer4/layer4.1/...
    for scope in scopes:
        inside = [name for name in produced if name.startswith(scope)]
        if inside:
            return inside[-1]
    return None


def _from_object(card: ModelCard, made, labels, threads: int) -> CardModel:
    from ..models import ModelBundle
    from ..onnx import OnnxModel

    layer = card.layer
    if isinstance(made, tuple) and len(made) == 2:
        made, layer = made
    if isinstance(made, (str, os.PathLike)):
        path = pathlib.Path(made)
        if not path.is_file():
            raise UsageError(f"card field 'model': the factory returned {path}, which is not a file")
        return _onnx(card.replace(layer=layer) if layer else card, path, _file_digest(path), labels, threads)
    if isinstance(made, ModelBundle):
        card = card.replace(layer=layer or made.layer, output=card.output or made.output)
        runs_as_is = made.layer_path is not None and card.layer == made.layer
        return _onnx(card, made.layer_path if runs_as_is else made.path, _file_digest(made.path),
                     labels or made.labels, threads, layer_is_output=runs_as_is)
    if isinstance(made, OnnxModel):
        return CardModel(made, card, _file_digest(made.path) if made.path else "onnx-object", labels,
                         _reshape_for(card))
    from ..torch import TorchModel

    if isinstance(made, TorchModel):
        return CardModel(made, card, _weights_digest(made.model), labels, None)
    try:
        import torch
    except ImportError:
        torch = None
    if torch is None or not isinstance(made, torch.nn.Module):
        raise UsageError(f"card field 'model': expected a torch.nn.Module, (module, layer), an ONNX path, "
                         f"a ModelBundle, a TorchModel or an OnnxModel; got {type(made).__name__}")
    if layer is None:
        raise UsageError("the model card needs 'layer' (--layer: the module to explain, e.g. \"layer4\"; "
                         "list them with [name for name, _ in model.named_modules()])")
    if threads:
        torch.set_num_threads(threads)
    output = _detections_output(card) if card.output == F.TORCHVISION_DETECTIONS else card.output
    try:
        inner = TorchModel(made, layer, output=output, reshape=_reshape_for(card))
    except (ValueError, TypeError) as error:
        raise UsageError(str(error)) from None
    return CardModel(inner, card, _weights_digest(made), labels, None)


def _detections_output(card: ModelCard) -> Callable:
    """A torchvision detector's list of {"boxes", "scores", "labels"} -> (N, M, 6) rows."""
    import torch

    from ..targets import detections_array

    def rows(raw):
        if not isinstance(raw, (list, tuple)) or not all(isinstance(d, dict) and "boxes" in d for d in raw):
            raise ValueError("output 'torchvision_detections' expects the model to return a list of dicts "
                             "with boxes, scores and labels (a torchvision detector in eval mode)")
        return torch.from_numpy(detections_array(raw, card.max_detections))

    return rows
