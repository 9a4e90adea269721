"""`TorchModel`: a torch.nn.Module as Score-CAM's model, with the same interface as
`scorecam.onnx.OnnxModel`: `run(x) -> (outputs, activations)` and `forward(batch) -> outputs`.

    from scorecam import Explainer
    from scorecam.torch import TorchModel

    model = TorchModel(resnet, "layer4")              # a submodule by name, or the module itself
    outputs, activations = model.run(x)               # x: (1, 3, 224, 224) numpy or tensor
    with Explainer(model) as explainer:
        heatmap = explainer.explain(x[0], activations[0])      # the top-1 class

The forward runs in inference mode on the model's device; batches are converted to the model's
device and dtype once per call; outputs come back as float32 numpy in the model's own shape.
"""
from __future__ import annotations

import math
from typing import Callable, Union

import numpy as np

from ._deps import require

Output = Union[None, str, int, Callable]


class TorchModel:
    """model: a torch.nn.Module (put in eval mode); layer: the submodule whose output is explained,
    by name ("layer4", "features.7") or as the module itself.
    device: where the model runs (default: where its parameters are; the model is moved there).
    output: for models returning a dict, tuple or list (torchvision segmentation models return
        {"out": ..., "aux": ...}): the key or index of the output to explain, or a callable
        raw output -> tensor.
    reshape: pytorch-grad-cam's reshape_transform convention: a callable applied to the layer's
        output tensor that returns (N, K, h, w) activations, e.g. `vit_reshape()` for ViT tokens.
    """

    def __init__(self, model, layer, *, device=None, output: Output = None,
                 reshape: Callable | None = None):
        require("torch", extra="torch", purpose="TorchModel")
        import torch

        if not isinstance(model, torch.nn.Module):
            raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
        if device is None:
            first = next(model.parameters(), None)
            device = first.device if first is not None else "cpu"
        self.device = torch.device(device)
        self.model = model.to(self.device).eval()
        self.dtype = next((p.dtype for p in model.parameters() if p.is_floating_point()), torch.float32)
        self.module = self._find(model, layer)
        self.layer = layer if isinstance(layer, str) else type(layer).__name__
        self.output = output
        self.reshape = reshape
        self._capture = False
        self._activations = None
        self._hook = self.module.register_forward_hook(self._keep)

    @staticmethod
    def _find(model, layer):
        if isinstance(layer, str):
            try:
                return model.get_submodule(layer)
            except AttributeError:
                import difflib

                names = [name for name, _ in model.named_modules() if name]
                close = difflib.get_close_matches(layer, names, n=5, cutoff=0.4)
                hint = f"; closest: {', '.join(close)}" if close else ""
                raise ValueError(f"the model has no submodule {layer!r}{hint} "
                                 "(list them with [name for name, _ in model.named_modules()])") from None
        if not any(module is layer for module in model.modules()):
            raise ValueError(f"layer {type(layer).__name__} is not a submodule of the model")
        return layer

    def _keep(self, module, inputs, output):
        if self._capture:
            if isinstance(output, (tuple, list)):
                output = output[0]  # e.g. attention blocks returning (tokens, weights)
            self._activations = output.detach()

    def _pick(self, raw):
        """The explained output from what the model returned."""
        output = self.output
        if callable(output):
            return output(raw)
        if output is not None:
            try:
                return raw[output]
            except (KeyError, IndexError, TypeError) as error:
                raise ValueError(f"output={output!r} does not select from the model's {type(raw).__name__} output"
                                 + (f" (keys: {', '.join(map(str, raw.keys()))})" if hasattr(raw, "keys") else "")) from error
        if isinstance(raw, dict):
            raise ValueError(f"the model returns a {type(raw).__name__} with keys {', '.join(map(str, raw.keys()))}: "
                             "choose one with output=KEY (or a callable)")
        if isinstance(raw, (tuple, list)):
            raise ValueError(f"the model returns a {type(raw).__name__} of {len(raw)}: choose one with output=INDEX "
                             "(or a callable)")
        return raw

    def _batch(self, batch):
        import torch

        tensor = torch.as_tensor(batch) if not isinstance(batch, torch.Tensor) else batch
        return tensor.to(device=self.device, dtype=self.dtype)

    def _forward(self, batch):
        import torch

        with torch.inference_mode():
            outputs = self._pick(self.model(self._batch(batch)))
        if not isinstance(outputs, torch.Tensor):
            raise TypeError(f"the explained output is a {type(outputs).__name__}, not a tensor: pick one with output=")
        return outputs.detach().to(device="cpu", dtype=torch.float32).numpy()

    def forward(self, batch) -> np.ndarray:
        """(N, C, H, W) numpy or tensor -> outputs (N, ...) float32 numpy, in the model's shape."""
        return self._forward(batch)

    __call__ = forward

    def run(self, x) -> tuple[np.ndarray, np.ndarray]:
        """Outputs and activations (N, K, h, w) float32 of x (N, C, H, W) in one pass."""
        import torch

        self._capture, self._activations = True, None
        try:
            outputs = self._forward(x)
        finally:
            self._capture = False
        activations, self._activations = self._activations, None
        if activations is None:
            raise RuntimeError(f"the layer {self.layer!r} did not run in the forward pass")
        if self.reshape is not None:
            activations = self.reshape(activations)
        if activations.ndim != 4:
            hint = " (token activations? pass reshape=vit_reshape())" if activations.ndim == 3 else ""
            raise ValueError(f"the activations of {self.layer!r} have shape {tuple(activations.shape)}, "
                             f"not (N, K, h, w){hint}")
        activations = activations.to(device="cpu", dtype=torch.float32).contiguous().numpy()
        return outputs, activations

    def activations(self, x) -> np.ndarray:
        """The explained layer's output for x: (N, K, h, w) float32."""
        return self.run(x)[1]

    def close(self) -> None:
        """Removes the hook from the model; safe to call twice."""
        if self._hook is not None:
            self._hook.remove()
            self._hook = None

    def __enter__(self) -> "TorchModel":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


def vit_reshape(height: int | None = None, width: int | None = None, prefix_tokens: int = 1) -> Callable:
    """pytorch-grad-cam's ViT reshape_transform: (N, tokens, C) -> (N, C, height, width) after
    dropping the `prefix_tokens` leading tokens (the class token). Without height/width the
    remaining tokens must form a square grid."""

    def reshape(tokens):
        if tokens.ndim != 3:
            raise ValueError(f"vit_reshape expects (N, tokens, C) activations, got {tuple(tokens.shape)}")
        n, count, channels = tokens.shape
        grid = tokens[:, prefix_tokens:, :]
        h, w = height, width
        if h is None or w is None:
            side = math.isqrt(count - prefix_tokens)
            if side * side != count - prefix_tokens:
                raise ValueError(f"{count - prefix_tokens} tokens do not form a square grid: give height and width")
            h = w = side
        return grid.reshape(n, h, w, channels).permute(0, 3, 1, 2)

    return reshape
