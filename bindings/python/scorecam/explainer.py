"""`Explainer`: Score-CAM for any model that maps a float32 batch to outputs.

The API users import. The engine (libscorecam) does all the work; the handle it drives
(scorecam._handle) moves arrays across ctypes and runs the callbacks; scorecam.targets turns what
explain() accepts as targets into what the engine takes.
"""
from __future__ import annotations

import contextlib
import ctypes
import dataclasses
import functools
import threading
from typing import Callable

import numpy as np

from . import _lib
from . import targets as _targets
from ._handle import ExplainerHandle, channel_list, float32_array, integers, ptr
from .targets import Targets

_int64_p = ctypes.POINTER(ctypes.c_int64)
_double_p = ctypes.POINTER(ctypes.c_double)


@dataclasses.dataclass
class Details:
    """What one image's explanation was made of (K' channels used, T targets)."""

    channels: np.ndarray     # (K',) channel indices in processing order
    scores: np.ndarray       # (K', T) score of each masked image per target
    weights: np.ndarray      # (K', T) channel weights per target
    base_scores: np.ndarray  # (T,) the unmasked image's scores; NaN where not needed


def _exclusive(method):
    """One call at a time per Explainer: its per-call state (callback errors, progress) is shared.
    A second thread, or a callback calling back into its own Explainer, gets a clear error."""
    @functools.wraps(method)
    def guarded(self, *args, **kwargs):
        if not self._busy.acquire(blocking=False):
            raise RuntimeError(f"this Explainer is already running a call ({method.__name__} from another thread "
                               "or from inside one of its own callbacks): use one Explainer per thread")
        try:
            return method(self, *args, **kwargs)
        finally:
            self._busy.release()
    return guarded


class Explainer:
    """Score-CAM through libscorecam, for any model.

    forward: a callable taking a float32 batch (N, C, H, W) and returning its outputs in the
        model's own shape (N, ...): a numpy array, a torch tensor (any device), or anything numpy
        turns into one. The engine sees each row flattened to D values; class indices index that
        flat row, and scoring functions get the outputs back in the model's shape.
        `scorecam.torch.TorchModel` and `scorecam.onnx.OnnxModel` are such callables.
    batch_size: masked images per forward call.
    cskip: keep only the top-K' channels by activation maximum (CSKIP); None keeps all.
    output_dim: D, if known; otherwise found with one forward pass of the unmasked input.
    progress: None (a bar on long runs in a terminal), True, False, or a callable
        (done, total) -> bool that returns False to cancel.
    masks_forward: masks mode, for a model on a device (GPU): explain() then calls
        masks_forward(masks, images, x) instead of forward, with masks (N, 1, H, W) float32,
        images (N,) int64 and x the (B, C, H, W) input being explained (the same array for every
        call of one explain(): upload it once). It must return the outputs of the masked images
        baseline + (x[images] - baseline) * masks, formed on the device, as (N, D).
        forward is still used to find D and by evaluate(). A model object whose `masks_mode` is
        True (`scorecam.torch.TorchModel` on a CUDA device) brings its own: its
        masks_forward(masks, images, x, baseline) is used unless this argument is given.
    borrow_batches: True: forward reads each batch in the engine's own buffer (a read-only array
        valid only during the call: no copy); False: it gets a copy it may keep. None (default):
        borrowed when the forward says it never keeps a batch (`keeps_batches = False` on it or its
        model, as `scorecam.onnx.OnnxModel` has). A forward that keeps a borrowed batch ends the
        run with a RuntimeError.
    preset: "seed" (tiskw/scorecam-pytorch), "gradcam" (pytorch-grad-cam), "torchcam", "paper"
        (haofanwang/Score-CAM); each reproduces that library's maps.
    Other keywords set engine parameters: each SCORECAM_PARAM_<NAME> of the header as <name> in
    lower case (docs/PARAMETERS.md; the names, kinds and ranges are read from the library), e.g.
    upsample ("bicubic", "bilinear", "bilinear_align_corners"), selection ("all", "max", "std"),
    selection_count, norm_eps, weighting ("softmax", "raw"), score ("logit", "softmax"),
    normalize_map, threads, map_upsample ("as_masks" or an upsample label), method ("scorecam",
    "sscam", "iscam"), metric_score, batch_memory (bytes the batch buffers may hold).

    One Explainer must not be used by two threads at once; separate Explainers may run in parallel.
    """

    def __init__(self, forward: Callable[[np.ndarray], np.ndarray], *, preset: str = "seed",
                 batch_size: int = 128, cskip: int | None = None, output_dim: int | None = None,
                 progress=None, masks_forward: Callable | None = None, borrow_batches: bool | None = None,
                 **params):
        if not callable(forward):
            raise TypeError("forward must be callable: (N, C, H, W) float32 -> (N, D) outputs")
        if masks_forward is not None and not callable(masks_forward):
            raise TypeError("masks_forward must be callable: (masks, images, x) -> (N, D) outputs")
        if masks_forward is None and getattr(forward, "masks_mode", False) is True:
            model = forward
            masks_forward = lambda masks, images, x: model.masks_forward(  # noqa: E731
                masks, images, x, baseline=self.get_param("baseline"))
        self._busy = threading.Lock()
        self._handle = ExplainerHandle(forward, masks_forward, output_dim, progress, borrow_batches)
        self.set_preset(preset)
        self.set_params(batch_size=batch_size, **params)
        if cskip is not None:
            self.set_params(selection="max", selection_count=cskip)

    # ---- lifetime ------------------------------------------------------------------------------

    def close(self) -> None:
        """Frees the engine handle; safe to call twice."""
        handle = getattr(self, "_handle", None)
        if handle is not None:
            handle.close()

    def __enter__(self) -> "Explainer":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def __del__(self) -> None:
        self.close()

    # ---- parameters ----------------------------------------------------------------------------

    def set_preset(self, name: str) -> None:
        """Sets every parameter but batch_size and threads to a named preset."""
        self._handle.set_preset(name)

    def set_params(self, **params) -> None:
        """Sets engine parameters by keyword: the names, kinds and ranges are the library's
        (docs/PARAMETERS.md); choice parameters take their labels, e.g. upsample="bilinear"."""
        for name, value in params.items():
            self._handle.set_param(name, value)

    def get_param(self, name: str):
        """A parameter's value: a label for choice parameters, else a number."""
        return self._handle.get_param(name)

    def set_channels(self, channels) -> None:
        """Explain exactly these channel indices, in this order, for every image of the following
        calls (instead of the engine's selection); None restores the engine's selection.
        channels: a 1-D list of ints or an int-dtype numpy array or torch tensor; floats, bools,
        strings and nested lists are refused (TypeError / ValueError), never converted."""
        self._handle.set_channels(channels)

    def map_size(self, input_size: tuple[int, int], activation_size: tuple[int, int]) -> tuple[int, int]:
        """(H, W) of the maps explain() returns: the input's, or the activations' (torchcam preset)."""
        handle = self._handle
        map_h, map_w = ctypes.c_int64(), ctypes.c_int64()
        handle.check(handle.lib.scorecam_explainer_get_map_size(
            ctypes.byref(map_h), ctypes.byref(map_w), handle.live, *input_size, *activation_size))
        return map_h.value, map_w.value

    # ---- explain -------------------------------------------------------------------------------

    @_exclusive
    def explain(self, x, activations, targets: Targets = None, *, cskip: int | None = None,
                channels=None, progress=None) -> np.ndarray:
        """Score-CAM maps of `x` for `targets`.

        x: (C, H, W) or (B, C, H, W), preprocessed as the model expects: float32 numpy, or a torch
            tensor of any float dtype on any device.
        activations: (K, h, w) or (B, K, h, w), the explained layer's output for x (same types).
        targets: None (the top-1 class of each unmasked image, like pytorch-grad-cam), a class
            index, a list of class indices, `scorecam.targets.TopK(k)`, a (B, T) table of class
            indices (each image its own: a list of lists or a 2-D int array), a scoring function
            outputs (N, ...) -> scores (N,) or (N, T) (outputs in the model's own shape), or a list
            of scoring functions / `scorecam.targets` helpers. Every target is scored from the same
            masked forward passes; images with different classes share the forward batches too.
        cskip: CSKIP K' for this call only.
        channels: explain exactly these channel indices (in this order) of every image, for this
            call only, instead of the engine's selection (e.g. channels ranked by the host): a 1-D
            list of ints or an int-dtype array (floats, bools and strings are refused). After the
            call, failed or not, cskip and channels leave the parameters and the list of
            set_channels() as they were.
        Returns (H, W) for one image and a single target (an int, a callable, None), (T, H, W) for
        one image and a list, else (B, T, H, W).
        """
        self._handle.check_open()
        x = float32_array(x, "x", (3, 4))
        activations = float32_array(activations, "activations", (3, 4))
        if x.ndim != activations.ndim:
            raise ValueError(f"x {x.shape} and activations {activations.shape} must both be batched or both not")
        single = x.ndim == 3
        xb = x[None] if single else x
        ab = activations[None] if single else activations
        if xb.shape[0] != ab.shape[0]:
            raise ValueError(f"x holds {xb.shape[0]} images but activations hold {ab.shape[0]}")
        channels = None if channels is None else channel_list(channels)  # refused before any forward

        per_image = _targets.per_image_classes(targets, xb, self._handle.probe)
        if per_image is not None and _targets.differ(per_image):
            # Each image its own classes, all in one engine call: their masked images share the
            # forward batches.
            table = np.ascontiguousarray(np.stack(per_image), dtype=np.int64)
            if self._handle.output_dim is None:
                self._handle.probe(xb[:1])
            return self._compute(xb, ab, table.shape[1], table, None, cskip, channels, progress, per_image=True)
        resolved = list(per_image[0]) if per_image is not None else targets
        num_targets, class_targets, score_fn = _targets.resolve(
            resolved, xb, self._handle.probe, need_probe=self._handle.output_dim is None)
        maps = self._compute(xb, ab, num_targets, class_targets, score_fn, cskip, channels, progress)
        if single:
            maps = maps[0]
            if _targets.single(targets) and num_targets == 1:
                maps = maps[0]
        return maps

    def _compute(self, xb, ab, num_targets, class_targets, score_fn, cskip, channels, progress,
                 per_image: bool = False) -> np.ndarray:
        handle = self._handle
        b, c, h, w = xb.shape
        _, k, ah, aw = ab.shape
        handle.register(score_fn)
        map_h, map_w = self.map_size((h, w), (ah, aw))
        maps = np.empty((b, num_targets, map_h, map_w), dtype=np.float32)
        # A new view per compute: a masks-mode host may key its device copy of x on its identity.
        handle.masks_input = xb.view()
        try:
            with self._for_this_call(cskip, channels):
                compute = (handle.lib.scorecam_explainer_compute_per_image if per_image
                           else handle.lib.scorecam_explainer_compute)
                handle.run(lambda: compute(
                    ptr(maps), maps.size, handle.live, ptr(xb), b, c, h, w, ptr(ab), k, ah, aw,
                    None if class_targets is None else ptr(class_targets, _int64_p), num_targets), progress)
        finally:
            handle.masks_input = None
        return maps

    @contextlib.contextmanager
    def _for_this_call(self, cskip, channels):
        """explain()'s per-call cskip and channels: set for one compute, then the parameters and
        the channel list set before are put back exactly, whether the call succeeded or not."""
        handle = self._handle
        listed = None if channels is None else channel_list(channels)  # checked before any change
        saved_params = {}
        if cskip is not None:
            saved_params = {name: handle.get_param(name) for name in ("selection", "selection_count")}
        saved_channels = handle.channels
        try:
            if cskip is not None:
                self.set_params(selection="max", selection_count=cskip)
            if listed is not None:
                handle.set_channels(listed)
            yield
        finally:
            if listed is not None:
                handle.set_channels(saved_channels)
            for name, value in saved_params.items():
                handle.set_param(name, value)

    @_exclusive
    def evaluate(self, x, maps, targets: Targets, metric: str = "average_drop", *,
                 progress=None) -> np.ndarray:
        """A faithfulness metric of `maps` for `targets`, one value per image and map.

        metric: "average_drop", "increase_in_confidence", "insertion" or "deletion" (definitions in
            include/scorecam.h; scored as the metric_score parameter says, class probability by
            default; insertion/deletion follow metric_steps and metric_baseline).
        x: (C, H, W) or (B, C, H, W); maps: (h, w), (T, h, w) or (B, T, h, w) as explain() returned
        them; targets: as for explain(). Returns a float, (T,) or (B, T).
        """
        handle = self._handle
        handle.check_open()
        if metric not in _lib.METRIC:
            raise ValueError(f"metric must be one of {', '.join(_lib.METRIC)}, got {metric!r}")
        x = float32_array(x, "x", (3, 4))
        maps = float32_array(maps, "maps", (2, 3, 4))
        xb = x[None] if x.ndim == 3 else x
        mb = maps.reshape((1,) * (4 - maps.ndim) + maps.shape) if x.ndim == 3 else maps
        if mb.ndim != 4 or mb.shape[0] != xb.shape[0]:
            raise ValueError(f"maps {maps.shape} do not match x {x.shape}")
        b, c, h, w = xb.shape
        _, num_targets, map_h, map_w = mb.shape
        per_image = _targets.per_image_classes(targets, xb, handle.probe)
        evaluate = handle.lib.scorecam_explainer_evaluate
        if per_image is not None and _targets.differ(per_image):
            # Each image its own classes, in one engine call (shared forward batches).
            class_targets = np.ascontiguousarray(np.stack(per_image), dtype=np.int64)
            count, score_fn, evaluate = class_targets.shape[1], None, handle.lib.scorecam_explainer_evaluate_per_image
            if handle.output_dim is None:
                handle.probe(xb[:1])
        else:
            resolved = list(per_image[0]) if per_image is not None else targets
            count, class_targets, score_fn = _targets.resolve(resolved, xb, handle.probe,
                                                              need_probe=handle.output_dim is None)
        if count != num_targets:
            raise ValueError(f"{num_targets} maps per image need {num_targets} targets, got {count}")
        handle.register(score_fn)
        values = np.empty((b, num_targets), dtype=np.float64)
        handle.run(lambda: evaluate(
            values.ctypes.data_as(_double_p), values.size, handle.live, _lib.METRIC[metric],
            ptr(xb), b, c, h, w, ptr(mb), map_h, map_w,
            None if class_targets is None else ptr(class_targets, _int64_p), num_targets), progress)
        if x.ndim == 3:
            return values[0] if maps.ndim == 3 else float(values[0, 0])
        return values

    # ---- inspection ----------------------------------------------------------------------------

    def details(self, image: int = 0) -> Details:
        """Channels, scores and weights of image `image` in the last successful explain()."""
        handle = self._handle
        channels, targets = ctypes.c_size_t(), ctypes.c_size_t()
        handle.check(handle.lib.scorecam_explainer_get_detail_counts(
            ctypes.byref(channels), ctypes.byref(targets), handle.live, image))
        k, t = channels.value, targets.value
        result = Details(np.empty(k, np.int64), np.empty((k, t), np.float32),
                         np.empty((k, t), np.float32), np.empty(t, np.float32))
        handle.check(handle.lib.scorecam_explainer_get_details(
            ptr(result.channels, _int64_p), ptr(result.scores), ptr(result.weights),
            ptr(result.base_scores), k, handle.live, image))
        return result

    @_exclusive
    def masks(self, activations: np.ndarray, size: tuple[int, int], channels=None,
              x: np.ndarray | None = None) -> np.ndarray:
        """The normalized masks (K', H, W) the engine builds for `channels` of one image's
        activations (K, h, w), or with x (C, H, W) the masked images (K', C, H, W)."""
        handle = self._handle
        handle.check_open()
        activations = float32_array(activations, "activations", (3,))
        k, ah, aw = activations.shape
        h, w = size
        channels = integers(np.arange(k) if channels is None else channels, "channels")
        if channels.ndim != 1:
            raise ValueError(f"channels must be a flat list of indices, got shape {channels.shape}")
        if x is not None:
            x = float32_array(x, "x", (3,))
            if x.shape[1:] != (h, w):
                raise ValueError(f"x {x.shape} does not match size {size}")
        c = 1 if x is None else x.shape[0]
        shape = (channels.size, h, w) if x is None else (channels.size, c, h, w)
        out = np.empty(shape, dtype=np.float32)
        handle.check(handle.lib.scorecam_explainer_make_masks(
            ptr(out), out.size, handle.live, None if x is None else ptr(x), c, h, w,
            ptr(activations), k, ah, aw, ptr(channels, _int64_p), channels.size))
        return out
