"""A torch module's forward run by ONNX Runtime: the `backend="onnxruntime"` of `TorchModel` and of
the seed API's `ScoreCAM`.

On 2 CPU cores ONNX Runtime runs a CNN's batches of masked images 1.4x (ResNet-18) to 4.4x
(EfficientNet-Lite0) faster than torch's channels-last forward (docs/BENCHMARKS.md, issue 13). The module is exported once per input shape (C, H, W),
with a dynamic batch axis, and kept: in memory for this object, and on disk, keyed by everything
the export depends on, for later processes (dataset workers). Every unmasked forward is checked:
torch's outputs and ONNX Runtime's must agree within `TOLERANCE` of the outputs' scale; if they do
not, or the export or a run fails, one warning says why and torch runs from then on. A cached file
is used only when this user's own (scorecam._cache: folder 0700, owner, no one else's write
bits), and the first masked batch after each unmasked check on it is compared with torch too.
"""
from __future__ import annotations

import hashlib
import os
import pathlib
import tempfile
import warnings

import numpy as np

from ._cache import read_trusted, warn_untrusted

TOLERANCE = 1e-4  # of max |output|: the float32 difference of two correct implementations
# Masked images compared with torch after each unmasked check on a cached export: a whole CSKIP-16
# batch, 1/80 of an all-channel explain's passes (a torch forward costs 1.4-4.4 ONNX Runtime ones).
MASKED_CHECK = 16


def check_backend(backend: str) -> None:
    """The adapters' `backend=` argument is "torch" or "onnxruntime"; checked before they touch the
    model."""
    if backend not in ("torch", "onnxruntime"):
        raise ValueError(f"backend must be 'torch' or 'onnxruntime', got {backend!r}")


def for_backend(backend: str, model, pick, *, purpose: str, output=None, device=None, dtype=None):
    """None for backend "torch"; for "onnxruntime" an `OnnxForward` (its dependencies checked; as
    many threads as torch uses)."""
    check_backend(backend)
    if backend == "torch":
        return None
    import torch

    from ._deps import require

    require("onnx", "onnxruntime", extra="onnx", purpose=f"{purpose}(backend='onnxruntime')")
    return OnnxForward(model, pick, output=output, device=device, dtype=dtype, threads=torch.get_num_threads())


def _first_line(error: BaseException) -> str:
    """`Type: first line of the message`, for a one-line warning."""
    lines = str(error).splitlines()
    return f"{type(error).__name__}: {lines[0] if lines else ''}"


def cache_dir() -> pathlib.Path:
    """The exported models' folder: onnx/ in the package's cache (scorecam.models.cache_dir)."""
    from .models import cache_dir as root

    return root() / "onnx"


def _explained(model, pick):
    """The module whose single tensor output is the explained one: what the export traces."""
    import torch

    class Explained(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.model = model

        def forward(self, x):
            return pick(self.model(x))

    return Explained().eval()


def _model_key(model, dtype, output) -> str | None:
    """A digest of what the exported graph depends on: the torch version, the architecture, the
    code of every module's forward, the weights and buffers, the dtype and the chosen output.
    None when the output is chosen by a callable (its behaviour cannot be hashed): no disk cache."""
    import torch

    if callable(output):
        return None
    digest = hashlib.sha256()
    for part in (torch.__version__, repr(model), str(dtype), repr(output)):
        digest.update(part.encode() + b"\0")
    for cls in sorted({type(m) for m in model.modules()}, key=lambda c: f"{c.__module__}.{c.__qualname__}"):
        code = getattr(getattr(cls, "forward", None), "__code__", None)
        digest.update(f"{cls.__module__}.{cls.__qualname__}".encode())
        if code is not None:
            digest.update(code.co_code)
            digest.update(repr(code.co_consts).encode())
    for name, tensor in model.state_dict().items():
        digest.update(f"{name}{tuple(tensor.shape)}{tensor.dtype}".encode())
        data = tensor.detach().to("cpu").contiguous()
        if data.numel():
            digest.update(data.reshape(-1).view(torch.uint8).numpy())
    return digest.hexdigest()


class OnnxForward:
    """forward(batch) of a torch module through ONNX Runtime, with torch as the fallback.

    model: the module (eval mode); pick: its raw output -> the explained tensor; output: the
    selector `pick` applies (part of the cache key); device: the model's torch device.
    """

    def __init__(self, model, pick, *, output=None, device=None, dtype=None, threads: int | None = None):
        import torch

        self.model = model
        self.pick = pick
        self.device = torch.device(device or "cpu")
        self.dtype = dtype or torch.float32
        self.threads = threads
        self.failed: str | None = None            # why torch runs instead, once it does
        self._sessions: dict[tuple, object] = {}  # (C, H, W) -> onnxruntime.InferenceSession
        self._verified: set[tuple] = set()
        self._from_disk: set[tuple] = set()       # shapes whose session runs a cached file
        self._masked_unchecked: set[tuple] = set()  # ... whose next masked batch is checked too
        self._unmasked = None                     # the unmasked image checked last (1, C, H, W)
        try:
            self._key = _model_key(model, self.dtype, output)
        except Exception:  # noqa: BLE001 - e.g. quantized weights that have no bytes view: no disk cache
            self._key = None
        self._providers = self._choose_providers()

    def __getstate__(self):
        # Sessions do not pickle: a copy (e.g. a deep copy of a model this object's hook is on)
        # exports or loads its own, and checks again.
        state = self.__dict__.copy()
        state["_sessions"], state["_verified"] = {}, set()
        state["_from_disk"], state["_masked_unchecked"] = set(), set()
        return state

    # ---- providers ------------------------------------------------------------------------------

    def _choose_providers(self) -> list[str] | None:
        import onnxruntime

        available = onnxruntime.get_available_providers()
        if self.device.type == "cpu":
            return ["CPUExecutionProvider"]
        if self.device.type == "cuda" and "CUDAExecutionProvider" in available:
            return [("CUDAExecutionProvider", {"device_id": self.device.index or 0}), "CPUExecutionProvider"]
        self._give_up(f"ONNX Runtime has no execution provider for {self.device} "
                      f"(available: {', '.join(available)})")
        return None

    # ---- the one switch to torch ---------------------------------------------------------------

    def _give_up(self, why: str) -> None:
        if self.failed is None:
            self.failed = why
            warnings.warn(f"scorecam: backend 'onnxruntime' falls back to torch: {why}", RuntimeWarning,
                          stacklevel=4)
        self._sessions.clear()

    @property
    def active(self) -> bool:
        """Whether ONNX Runtime still runs the forwards (False after a fallback)."""
        return self.failed is None

    # ---- export and sessions -------------------------------------------------------------------

    def _path(self, shape: tuple) -> pathlib.Path | None:
        if self._key is None:
            return None
        return cache_dir() / f"{self._key[:32]}-{'x'.join(map(str, shape))}.onnx"

    def _export(self, example) -> bytes:
        """The ONNX bytes of the explained module for inputs shaped like `example`."""
        import io

        import torch

        explained = _explained(self.model, self.pick)
        example = torch.as_tensor(example).to(device=self.device, dtype=self.dtype)
        buffer = io.BytesIO()
        with warnings.catch_warnings():
            # The TorchScript exporter warns that it is deprecated in favour of the dynamo one,
            # which needs onnxscript; both give the same graph for the CNNs explained here.
            warnings.simplefilter("ignore")
            kwargs = dict(input_names=["input"], output_names=["output"],
                          dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}}, do_constant_folding=True)
            try:
                torch.onnx.export(explained, (example,), buffer, dynamo=False, **kwargs)
            except TypeError:  # a torch without the dynamo switch
                torch.onnx.export(explained, (example,), buffer, **kwargs)
        return buffer.getvalue()

    def _load(self, example) -> bytes:
        """The cached export for this shape when this user's own (see scorecam._cache), or a fresh
        one (then cached, atomically, where the cache folder is private)."""
        shape = tuple(example.shape[1:])
        path = self._path(shape)
        untrusted = None
        if path is not None:
            data, untrusted = read_trusted(path)
            if data is not None:
                self._from_disk.add(shape)
                return data
            if untrusted is not None:
                warn_untrusted(untrusted, stacklevel=6)
        self._from_disk.discard(shape)
        data = self._export(example)
        if path is not None and untrusted is None:
            tmp = None
            try:
                with tempfile.NamedTemporaryFile(dir=path.parent, suffix=".tmp", delete=False) as tmp:
                    tmp.write(data)
                os.replace(tmp.name, path)
            except OSError:  # a read-only or full disk: the export is still used, only not kept
                if tmp is not None:
                    pathlib.Path(tmp.name).unlink(missing_ok=True)
        return data

    def _session(self, example):
        import onnxruntime

        shape = tuple(example.shape[1:])
        session = self._sessions.get(shape)
        if session is None:
            options = onnxruntime.SessionOptions()
            options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
            if self.threads:
                options.intra_op_num_threads = self.threads
            session = onnxruntime.InferenceSession(self._load(example), options, providers=self._providers)
            self._sessions[shape] = session
        return session

    def _run(self, batch) -> np.ndarray:
        import torch

        session = self._session(batch)
        array = batch.detach().to("cpu").numpy() if isinstance(batch, torch.Tensor) else np.asarray(batch)
        array = np.ascontiguousarray(array, dtype=np.float16 if self.dtype == torch.float16 else np.float32)
        return np.asarray(session.run(None, {"input": array})[0], dtype=np.float32)

    # ---- what TorchModel and ScoreCAM call -----------------------------------------------------

    def check(self, batch, expected: np.ndarray) -> bool:
        """Runs the unmasked `batch` through ONNX Runtime and compares with torch's `expected`
        outputs (float32 numpy); on a mismatch or an error, warns once and falls back to torch.
        A stale disk cache (the module's code changed) is exported afresh once before that."""
        if not self.active:
            return False
        if not np.all(np.isfinite(expected)):
            self._give_up("torch's outputs of the unmasked input are not finite: nothing to check against")
            return False
        shape = tuple(batch.shape[1:])
        scale = float(np.max(np.abs(expected), initial=0.0))
        for attempt in (0, 1):
            try:
                got = self._run(batch).reshape(expected.shape)
            except Exception as error:  # noqa: BLE001 - any exporter or runtime error means torch
                self._give_up(_first_line(error))
                return False
            difference = float(np.max(np.abs(got - expected), initial=0.0))
            if difference <= TOLERANCE * scale:
                self._verified.add(shape)
                if shape in self._from_disk:  # a new explain: its first masked batch is checked too
                    self._masked_unchecked.add(shape)
                    self._unmasked = self._numpy(batch[:1])
                return True
            path = self._path(shape)
            if attempt == 0 and path is not None and path.is_file() and shape not in self._verified:
                path.unlink(missing_ok=True)  # perhaps exported from other code: once more, fresh
                self._sessions.pop(shape, None)
                continue
            self._give_up(f"the exported model's outputs differ from torch's by {difference:.3g} "
                          f"(> {TOLERANCE:g} x {scale:.3g}): data-dependent control flow?")
            return False
        return False

    def forward(self, batch, torch_forward=None) -> np.ndarray | None:
        """The outputs of `batch` (float32 numpy), or None when torch must run it (never checked
        for this shape, or fallen back). torch_forward(images) -> torch's outputs: with a cached
        export, the first masked batch after each unmasked check is compared with it too."""
        shape = tuple(batch.shape[1:])
        if not self.active or shape not in self._verified:
            return None
        try:
            outputs = self._run(batch)
        except Exception as error:  # noqa: BLE001
            self._give_up(f"{_first_line(error)} (while running a batch)")
            return None
        if shape in self._masked_unchecked and torch_forward is not None:
            # Masked images: those that are not the unmasked image just checked (the engine's
            # probe of the output size sends that one again).
            array = self._numpy(batch)
            masked = [i for i in range(len(array)) if not np.array_equal(array[i], self._unmasked[0])]
            if masked:
                self._masked_unchecked.discard(shape)
                outputs = self._check_masked(array[masked[:MASKED_CHECK]], outputs, masked[:MASKED_CHECK],
                                             batch, torch_forward)
        return outputs

    @staticmethod
    def _numpy(batch) -> np.ndarray:
        return batch.detach().to("cpu").numpy() if hasattr(batch, "detach") else np.asarray(batch)

    def _check_masked(self, images, outputs: np.ndarray, index: list, batch, torch_forward) -> np.ndarray | None:
        """A cached graph could agree with torch on unmasked images and differ on masked ones
        (exact zeros): up to MASKED_CHECK masked `images` (batch[index]) are compared with torch's;
        on a difference the file is dropped, one warning says so, and a fresh export runs instead."""
        shape = tuple(batch.shape[1:])
        expected = np.asarray(torch_forward(np.ascontiguousarray(images)), np.float32)
        got = outputs[index].reshape(expected.shape)
        scale = float(np.max(np.abs(expected), initial=0.0))
        difference = float(np.max(np.abs(got - expected), initial=0.0))
        if difference <= TOLERANCE * scale:
            return outputs
        warnings.warn(f"scorecam: the cached ONNX export {self._path(shape)} differs from torch on masked images "
                      f"by {difference:.3g} (> {TOLERANCE:g} x {scale:.3g}); dropped and exported afresh",
                      RuntimeWarning, stacklevel=4)
        path = self._path(shape)
        if path is not None:
            path.unlink(missing_ok=True)
        self._sessions.pop(shape, None)
        self._from_disk.discard(shape)
        try:
            fresh = self._run(batch)
        except Exception as error:  # noqa: BLE001
            self._give_up(f"{_first_line(error)} (while running a fresh export)")
            return None
        if float(np.max(np.abs(fresh[index].reshape(expected.shape) - expected), initial=0.0)) > TOLERANCE * scale:
            self._give_up("a fresh export differs from torch on masked images too")
            return None
        return fresh
