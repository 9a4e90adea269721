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

Speed (docs/BENCHMARKS.md, issue 13): on the CPU a convolutional model's forward runs channels-last
(about half the time of contiguous NCHW); `backend="onnxruntime"` exports the model once per input
shape and runs the masked batches through ONNX Runtime, 1.4-4.4x faster again, checked against
torch on every unmasked forward; on a CUDA device the engine sends masks instead of masked images
(masks mode) and the masked images are formed on the device.
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
    reshape: pytorch-grad-cam's reshape_transform convention: a callable applied to what the layer
        returns (a tensor, or the dict/tuple of a backbone) that gives (N, K, h, w) activations,
        e.g. `vit_reshape()` for ViT tokens, `feature_pyramid_reshape()` for a dict of FPN levels.
    backend: "torch" (default) or "onnxruntime": the masked forwards through ONNX Runtime (the
        model exported once per input shape, cached on disk, see `scorecam._torch_onnx`); every
        unmasked forward still runs in torch (it gives the activations) and checks ONNX Runtime's
        outputs against torch's (within 1e-4 of their scale), falling back to torch with one
        warning when they differ or the export fails.
    channels_last: run torch's forwards channels-last; None (default): on the CPU for models with
        2-D convolutions, where it is the faster layout.
    masks_mode: have `Explainer` send masks instead of masked images, formed on the model's device;
        None (default): on CUDA devices with the torch backend.
    """

    def __init__(self, model, layer, *, device=None, output: Output = None,
                 reshape: Callable | None = None, backend: str = "torch",
                 channels_last: bool | None = None, masks_mode: bool | None = None):
        require("torch", extra="torch", purpose="TorchModel")
        import torch

        from ._torch_onnx import check_backend, for_backend

        check_backend(backend)
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
        self.backend = backend
        self.channels_last = fastest_layout(self.model, self.device, channels_last)
        self.masks_mode = self.device.type == "cuda" and backend == "torch" if masks_mode is None else bool(masks_mode)
        self._onnx = for_backend(backend, self.model, self._pick, purpose="TorchModel", output=output,
                                 device=self.device, dtype=self.dtype)
        self._device_input = None  # masks mode: (the explained x, its copy on the device)
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
            if isinstance(output, (tuple, list)) and self.reshape is None:
                output = output[0]  # e.g. attention blocks returning (tokens, weights)
            self._activations = _detached(output)  # with reshape=, whatever the layer returns

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
        tensor = tensor.to(device=self.device, dtype=self.dtype)
        if self.channels_last and tensor.ndim == 4:
            tensor = tensor.contiguous(memory_format=torch.channels_last)
        return tensor

    def _torch_forward(self, images):
        """The model's explained output of `images` (already on the device) as float32 numpy."""
        import torch

        with torch.inference_mode():
            outputs = self._pick(self.model(images))
        if not isinstance(outputs, torch.Tensor):
            raise TypeError(f"the explained output is a {type(outputs).__name__}, not a tensor: pick one with output=")
        return outputs.detach().to(device="cpu", dtype=torch.float32).numpy()

    def _forward(self, batch):
        onnx = self._onnx
        if onnx is not None and onnx.active:
            check = lambda images: self._torch_forward(self._batch(images))  # noqa: E731
            outputs = onnx.forward(batch, check)
            if outputs is None and onnx.active:
                # A shape no unmasked forward has checked yet: check on the batch's first image.
                onnx.check(batch[:1], check(batch[:1]))
                outputs = onnx.forward(batch, check)
            if outputs is not None:
                return outputs
        return self._torch_forward(self._batch(batch))

    def forward(self, batch) -> np.ndarray:
        """(N, C, H, W) numpy or tensor -> outputs (N, ...) float32 numpy, in the model's shape."""
        return self._forward(batch)

    __call__ = forward

    def run(self, x) -> tuple[np.ndarray, np.ndarray]:
        """Outputs and activations (N, K, h, w) float32 of x (N, C, H, W) in one pass."""
        import torch

        self._capture, self._activations = True, None
        try:
            outputs = self._torch_forward(self._batch(x))
        finally:
            self._capture = False
        if self._onnx is not None:
            self._onnx.check(x, outputs)
        activations, self._activations = self._activations, None
        if activations is None:
            raise RuntimeError(f"the layer {self.layer!r} did not run in the forward pass")
        if self.reshape is not None:
            activations = self.reshape(activations)
        if not isinstance(activations, torch.Tensor):
            keys = f" with keys {', '.join(map(str, activations.keys()))}" if isinstance(activations, dict) else ""
            raise ValueError(f"the layer {self.layer!r} returns a {type(activations).__name__}{keys}, not a tensor: "
                             "pass reshape= a callable making (N, K, h, w) activations of it, e.g. "
                             "scorecam.torch.feature_pyramid_reshape() for a dict of feature maps "
                             "(pytorch-grad-cam's fasterrcnn_reshape_transform)")
        if activations.ndim != 4:
            hint = " (token activations? pass reshape=vit_reshape())" if activations.ndim == 3 else ""
            raise ValueError(f"the activations of {self.layer!r} have shape {tuple(activations.shape)}, "
                             f"not (N, K, h, w){hint}")
        activations = activations.to(device="cpu", dtype=torch.float32).contiguous().numpy()
        return outputs, activations

    @property
    def backend_in_use(self) -> str:
        """"onnxruntime" while ONNX Runtime runs the masked forwards, else "torch"."""
        return "onnxruntime" if self._onnx is not None and self._onnx.active else "torch"

    def masks_forward(self, masks, images, x, baseline: float = 0.0) -> np.ndarray:
        """Masks mode (see `Explainer(masks_forward=...)`): the outputs (N, D) of the masked images
        baseline + (x[images] - baseline) * masks, formed on the model's device. x is uploaded once
        per explain() (the engine passes the same array to every call)."""
        import torch

        kept = self._device_input
        if kept is None or kept[0] is not x:
            kept = self._device_input = (x, torch.from_numpy(x).to(device=self.device, dtype=self.dtype))
        device_x = kept[1]
        masks = torch.as_tensor(masks).to(device=self.device, dtype=self.dtype)
        index = torch.as_tensor(images).to(device=self.device)
        with torch.inference_mode():
            picked = device_x.index_select(0, index)
            batch = picked * masks if baseline == 0 else baseline + (picked - baseline) * masks
            if self.channels_last:
                batch = batch.contiguous(memory_format=torch.channels_last)
        outputs = self._torch_forward(batch)
        return outputs.reshape(outputs.shape[0], -1)

    def activations(self, x) -> np.ndarray:
        """The explained layer's output for x: (N, K, h, w) float32."""
        return self.run(x)[1]

    def close(self) -> None:
        """Removes the hook from the model; safe to call twice."""
        self._device_input = None
        if self._hook is not None:
            self._hook.remove()
            self._hook = None

    def __enter__(self) -> "TorchModel":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


def fastest_layout(model, device, channels_last: bool | None) -> bool:
    """Whether torch's forwards run channels-last (NHWC in memory). Measured on CPU
    (docs/BENCHMARKS.md, issue 13): a convolutional network's forward takes about half the time and
    page faults it does on contiguous NCHW, so None (auto) picks it for models with 2-D
    convolutions on the CPU; True or False force it. The maps do not depend on it beyond rounding."""
    import torch

    if channels_last is not None:
        return bool(channels_last)
    on_cpu = torch.device(device).type == "cpu"
    return on_cpu and any(isinstance(m, torch.nn.Conv2d) for m in model.modules())


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


def _detached(output):
    """A layer's output (a tensor, or a dict/tuple/list of them) detached from autograd."""
    if isinstance(output, dict):
        return type(output)((key, _detached(value)) for key, value in output.items())
    if isinstance(output, (tuple, list)):
        return type(output)(_detached(value) for value in output)
    return output.detach() if hasattr(output, "detach") else output


def feature_pyramid_reshape(level: str | None = None) -> Callable:
    """For layers returning a dict of feature maps (torchvision's detection backbones, FPNs):
    every level's absolute values resized (bilinear) to the size of `level` (default: the
    smallest level) and concatenated along the channels, as pytorch-grad-cam's
    fasterrcnn_reshape_transform does with level "pool"."""

    def reshape(levels):
        import torch
        import torch.nn.functional as functional

        if not isinstance(levels, dict) or not levels:
            raise ValueError(f"feature_pyramid_reshape expects a dict of (N, K, h, w) tensors, got {type(levels).__name__}")
        if level is not None and level not in levels:
            raise ValueError(f"feature_pyramid_reshape: no level {level!r}; levels: {', '.join(map(str, levels))}")
        size = levels[level].shape[-2:] if level is not None else min((v.shape[-2:] for v in levels.values()),
                                                                       key=lambda s: s[0] * s[1])
        resized = [functional.interpolate(torch.abs(value), tuple(size), mode="bilinear") for value in levels.values()]
        return torch.cat(resized, dim=1)

    return reshape
