"""`ScoreCAM`: a drop-in replacement for tiskw/scorecam-pytorch's `scorecam.ScoreCAM`.

Same constructor, same `compute`, same result; the masked forward passes stream through
libscorecam instead of materialising every upsampled channel and masked image at once. The
intermediates the seed's examples read (`A_normalized`, `M`) are computed on demand.
"""
from __future__ import annotations

import copy

import numpy as np

from ._deps import require
from .explainer import Explainer
from .imaging import overlay as _overlay
from .imaging import to_colormap as _to_colormap
from .torch import fastest_layout


def _reshape_input(X):
    """The seed's accepted shapes: (H, W), (H, W, C) or (1, C, H, W) -> (1, C, H, W) float32."""
    import torch

    if not isinstance(X, (np.ndarray, torch.Tensor)):
        raise TypeError("input array should be NumPy or PyTorch array.")
    X = torch.as_tensor(X).detach().to("cpu", torch.float32)
    if X.ndim == 2:
        return X.reshape(1, 1, *X.shape)
    if X.ndim == 3:
        return X.permute(2, 0, 1).unsqueeze(0)
    if X.ndim == 4:
        if X.shape[0] != 1:
            raise ValueError("Batch size should be 1")
        return X
    raise ValueError(f"Unexpected input shape: {tuple(X.shape)}")


class ScoreCAM:
    """Score-CAM for a torch.nn.Module, with tiskw/scorecam-pytorch's API.

    model: the network (deep-copied, as the seed does); actmap: the name or dotted path of the
    module whose output is the activation map (e.g. "layer4", "features.7"); device: where the
    model runs; channels_last: run the forwards channels-last (None: when it is the faster layout,
    i.e. convolutional models on the CPU, whatever the input's layout); backend: "torch" or
    "onnxruntime" (the masked forwards through ONNX Runtime, checked against torch on each
    unmasked forward; see `scorecam.torch.TorchModel`).
    """

    def __init__(self, model, actmap: str, device: str = "cpu", channels_last: bool | None = None,
                 backend: str = "torch"):
        require("torch", extra="torch", purpose="ScoreCAM (the seed's API, for torch models)")
        from ._torch_onnx import check_backend, for_backend

        check_backend(backend)
        self.model = copy.deepcopy(model.to("cpu"))
        self.model.to(device)
        self.model.eval()
        self.device = device
        self.channels_last = fastest_layout(self.model, device, channels_last)
        self.backend = backend
        self._onnx = for_backend(backend, self.model, lambda output: output, purpose="ScoreCAM", device=device)
        self._capture = False
        self.activation_map = None
        self.model.get_submodule(actmap).register_forward_hook(self.hook)
        self._last = None

    def hook(self, module, x_in, x_out):
        # Only the unmasked pass is kept: the masked passes' activations are not needed.
        if self._capture:
            self.activation_map = x_out.detach().to("cpu")

    def _run(self, batch: np.ndarray):
        import torch

        images = torch.from_numpy(batch).to(self.device)
        if self.channels_last:
            images = images.contiguous(memory_format=torch.channels_last)
        with torch.no_grad():
            return self.model(images).to("cpu")

    def compute(self, X, coi, batch_size: int = 128, cskip: bool = False, cskip_out: int = 16):
        """The Score-CAM map of X for the class of interest.

        X: numpy or torch, (H, W), (H, W, C) or (1, C, H, W). coi: a class index, a callable on
        the model's output tensor returning one score per row (e.g. `lambda out: out[:, c, h, w]`
        for a detector, or a `scorecam.targets` helper), or a list of class indices (one map each,
        from one set of forwards). cskip keeps the cskip_out channels the seed keeps: its own
        torch.argsort of the channel maxima (ties ordered as torch orders them).
        Returns (H, W) float32, or (T, H, W) for a list.
        """
        import torch

        x = np.ascontiguousarray(_reshape_input(X).numpy())
        self._capture = True
        try:
            p = self._run(x)
        finally:
            self._capture = False
        if self.activation_map is None:
            raise RuntimeError("the activation hook did not fire: is actmap part of the forward pass?")
        activations = np.ascontiguousarray(self.activation_map.numpy(), dtype=np.float32)
        output_shape = tuple(p.shape[1:])

        if self._onnx is not None:
            self._onnx.check(x, p.numpy())

        def forward(batch):
            check = lambda images: self._run(np.ascontiguousarray(images)).numpy()  # noqa: E731
            outputs = self._onnx.forward(batch, check) if self._onnx is not None else None
            if outputs is None:
                outputs = self._run(np.ascontiguousarray(batch)).numpy()
            return outputs.reshape(batch.shape[0], -1)

        if callable(coi):
            def targets(outputs):
                scores = coi(torch.from_numpy(outputs.reshape(-1, *output_shape)))
                return torch.as_tensor(scores).detach().to("cpu", torch.float32).numpy()
        elif isinstance(coi, (int, np.integer)):
            targets = int(coi)
        else:
            targets = [int(c) for c in coi]

        channels = None
        if cskip:
            # The seed's own choice, ties included: torch.argsort of the channel maxima, descending
            # (not stable), on the CPU activations; the engine then explains exactly these.
            maxima = torch.max(torch.flatten(self.activation_map, start_dim=2), dim=2)[0]
            channels = torch.argsort(maxima.reshape([-1]), descending=True)[:cskip_out].numpy()
        explainer = Explainer(forward, batch_size=batch_size, output_dim=int(np.prod(output_shape)))
        with explainer:
            maps = explainer.explain(x[0], activations[0], targets, channels=channels)
            channels = explainer.details().channels
            self._last = (x[0], activations[0], channels)
        return maps

    @property
    def A_normalized(self):
        """(K, 1, H, W) torch tensor: the normalized upsampled channels of the last compute."""
        import torch

        x, activations, channels = self._require_last()
        with Explainer(lambda batch: batch, output_dim=1) as explainer:
            masks = explainer.masks(activations, x.shape[1:], channels)
        return torch.from_numpy(masks).unsqueeze(1)

    @property
    def M(self):
        """(K, C, H, W) torch tensor: the masked inputs of the last compute."""
        import torch

        x, activations, channels = self._require_last()
        with Explainer(lambda batch: batch, output_dim=1) as explainer:
            return torch.from_numpy(explainer.masks(activations, x.shape[1:], channels, x=x))

    def _require_last(self):
        if self._last is None:
            raise AttributeError("call compute() first")
        return self._last

    to_colormap = staticmethod(_to_colormap)
    overlay = staticmethod(_overlay)
