"""`Explainer`: Score-CAM for any model that maps a float32 batch to outputs.

The engine (libscorecam) does all the work; this module only moves arrays across ctypes, turns
Python callables into callbacks, and turns statuses into exceptions.
"""
from __future__ import annotations

import contextlib
import ctypes
import dataclasses
import functools
import signal
import sys
import threading
import warnings
from typing import Callable, Sequence, Union

import numpy as np

from . import _lib
from .errors import error_for
from .progress import make_bar, wanted
from .targets import ClassifierOutputTarget, TopK

Targets = Union[None, int, Sequence[int], Callable[[np.ndarray], np.ndarray], Sequence[Callable], TopK]

_float_p = ctypes.POINTER(ctypes.c_float)
_int64_p = ctypes.POINTER(ctypes.c_int64)


@dataclasses.dataclass
class Details:
    """What one image's explanation was made of (K' channels used, T targets)."""

    channels: np.ndarray     # (K',) channel indices in processing order
    scores: np.ndarray       # (K', T) score of each masked image per target
    weights: np.ndarray      # (K', T) channel weights per target
    base_scores: np.ndarray  # (T,) the unmasked image's scores; NaN where not needed


def _ptr(array: np.ndarray, kind=_float_p):
    return array.ctypes.data_as(kind)


def _is_torch_tensor(value) -> bool:
    return type(value).__module__.startswith("torch") and hasattr(value, "detach")


def _host_numpy(value):
    """A torch tensor (any dtype, any device, with or without grad) as a float32 CPU numpy array;
    anything else as it is."""
    if _is_torch_tensor(value):
        import torch

        return value.detach().to(device="cpu", dtype=torch.float32).contiguous().numpy()
    return value


def _float32_array(value, name: str, ndims: Sequence[int]) -> np.ndarray:
    """The engine reads float32, C-contiguous memory as is: a numpy array of another dtype or
    layout is an error, not a silent copy. Torch tensors are converted (they must be anyway)."""
    value = _host_numpy(value)
    if not isinstance(value, np.ndarray):
        raise TypeError(f"{name} must be a numpy.ndarray or a torch.Tensor, got {type(value).__name__}")
    if isinstance(value, np.ma.MaskedArray):
        # The engine would read the data under the mask as if it were valid.
        raise TypeError(f"{name} is a masked array: fill it first ({name}.filled(value))")
    if value.dtype != np.float32:
        raise TypeError(f"{name} must be float32, got {value.dtype} (use {name}.astype(np.float32))")
    if value.ndim not in ndims:
        raise ValueError(f"{name} must have {' or '.join(map(str, ndims))} dimensions, got shape {value.shape}")
    if not value.flags.c_contiguous:
        raise ValueError(f"{name} must be C-contiguous (use np.ascontiguousarray({name}))")
    return value


def _integers(values, name: str) -> np.ndarray:
    """int64 indices, refusing floats (1.9 is not a channel) and integers int64 cannot hold."""
    array = np.asarray(values)
    if array.size and not np.issubdtype(array.dtype, np.integer):
        raise TypeError(f"{name} must be integers, got {array.dtype}")
    if array.size and array.dtype.kind == "u" and array.max() > np.iinfo(np.int64).max:
        raise ValueError(f"{name} holds {array.max()}, beyond int64")
    return np.ascontiguousarray(array, dtype=np.int64)


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


def _c_callback(method):
    """A method the engine calls through ctypes. It catches everything (KeyboardInterrupt
    included), keeps it and returns non-zero: nothing may unwind through C, and the engine then
    ends the run cleanly and compute() re-raises the very same exception."""
    @functools.wraps(method)
    def trampoline(self, *args):
        try:
            return method(self, *args)
        except BaseException as error:  # noqa: BLE001 - must not unwind through C
            self._error = error
            return 1
    return trampoline


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
    preset: "seed" (tiskw/scorecam-pytorch), "gradcam" (pytorch-grad-cam), "torchcam", "paper"
        (haofanwang/Score-CAM); each reproduces that library's maps.
    Other keywords set engine parameters: each SCORECAM_PARAM_<NAME> of the header as <name> in
    lower case (README, "Parameters"; the names, kinds and ranges are read from the library), e.g.
    upsample ("bicubic", "bilinear", "bilinear_align_corners"), selection ("all", "max", "std"),
    selection_count, norm_eps, weighting ("softmax", "raw"), score ("logit", "softmax"),
    normalize_map, threads, map_upsample ("as_masks" or an upsample label), method ("scorecam",
    "sscam", "iscam"), metric_score, batch_memory (bytes the batch buffers may hold).

    One Explainer must not be used by two threads at once; separate Explainers may run in parallel.
    """

    def __init__(self, forward: Callable[[np.ndarray], np.ndarray], *, preset: str = "seed",
                 batch_size: int = 128, cskip: int | None = None, output_dim: int | None = None,
                 progress=None, masks_forward: Callable | None = None, **params):
        if not callable(forward):
            raise TypeError("forward must be callable: (N, C, H, W) float32 -> (N, D) outputs")
        if masks_forward is not None and not callable(masks_forward):
            raise TypeError("masks_forward must be callable: (masks, images, x) -> (N, D) outputs")
        if masks_forward is None and getattr(forward, "masks_mode", False) is True:
            model = forward
            masks_forward = lambda masks, images, x: model.masks_forward(  # noqa: E731
                masks, images, x, baseline=self.get_param("baseline"))
        self._lib = _lib.lib()
        handle = ctypes.c_void_p()
        self._check(self._lib.scorecam_explainer_create(ctypes.byref(handle)), use_handle=False)
        self._handle = handle
        self._forward = forward
        self._output_dim = output_dim
        self._output_shape: tuple | None = None  # one output row in the model's own shape
        self._registered_dim: int | None = None
        self._score_fn: Callable | None = None
        self._progress = progress
        self._bar = None
        self._bar_progress = None  # the progress setting of the running call, for a bar made lazily
        self._user_progress: Callable | None = None
        self._error: BaseException | None = None
        self._interrupted = False
        self._busy = threading.Lock()
        # The forward gets a copy of each batch in this Python-owned array, never the engine's own
        # buffer: a forward that keeps its batch must not keep memory the engine frees.
        self._batch: np.ndarray | None = None
        # The C function pointers must outlive every call that may use them: they live here.
        self._forward_c = _lib.FORWARD_FN(self._forward_trampoline)
        self._scoring_c = _lib.SCORING_FN(self._scoring_trampoline)
        self._progress_c = _lib.PROGRESS_FN(self._progress_trampoline)
        self._masks_forward = masks_forward
        self._masks_forward_c = _lib.MASKS_FORWARD_FN(self._masks_forward_trampoline)
        self._masks_input: np.ndarray | None = None  # the input of the explain() running
        self.set_preset(preset)
        self.set_params(batch_size=batch_size, **params)
        if cskip is not None:
            self.set_params(selection="max", selection_count=cskip)

    # ---- lifetime ------------------------------------------------------------------------------

    def close(self) -> None:
        """Frees the engine handle; safe to call twice."""
        handle, self._handle = getattr(self, "_handle", None), None
        if handle is not None and handle.value:
            self._lib.scorecam_explainer_destroy(handle)

    def __enter__(self) -> "Explainer":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def __del__(self) -> None:
        self.close()

    def _live_handle(self) -> ctypes.c_void_p:
        if self._handle is None:
            raise ValueError("this Explainer is closed")
        return self._handle

    def _check(self, status: int, use_handle: bool = True) -> None:
        if status == _lib.OK:
            return
        if use_handle and self._handle is not None:
            message = self._lib.scorecam_explainer_last_error(self._handle)
        else:
            message = self._lib.scorecam_last_error()
        raise error_for(status, message.decode(errors="replace"))

    # ---- parameters ----------------------------------------------------------------------------

    # Spellings of earlier releases, still accepted (with a DeprecationWarning).
    _OLD_NAMES = {"eps": "norm_eps", "normalize": "normalize_map"}

    @staticmethod
    def _param(name: str) -> "_lib.ParamInfo":
        """The library's description of a parameter, by its keyword (the header's name in lower case)."""
        table = _lib.param_table()
        if name in Explainer._OLD_NAMES:
            warnings.warn(f"the parameter {name!r} is now spelled {Explainer._OLD_NAMES[name]!r}",
                          DeprecationWarning, stacklevel=4)
            name = Explainer._OLD_NAMES[name]
        if name not in table:
            raise TypeError(f"unknown parameter {name!r}; known: {', '.join(table)}")
        return table[name]

    def set_preset(self, name: str) -> None:
        """Sets every parameter but batch_size and threads to a named preset."""
        self._check(self._lib.scorecam_explainer_set_preset(self._live_handle(), name.encode()))

    def set_params(self, **params) -> None:
        """Sets engine parameters by keyword: the names, kinds and ranges are the library's
        (README, "Parameters"); choice parameters take their labels, e.g. upsample="bilinear"."""
        for name, value in params.items():
            info = self._param(name)
            labels = _lib.CHOICES.get(info.name)
            if labels is not None:
                if value not in labels:
                    raise ValueError(f"{info.name} must be one of {', '.join(labels)}, got {value!r}")
                value = labels[value]
            try:
                value = float(value)
            except OverflowError:
                raise ValueError(f"{info.name}: {value} is beyond every parameter's range") from None
            self._check(self._lib.scorecam_explainer_set_param(self._live_handle(), info.number, value))

    def get_param(self, name: str):
        info = self._param(name)
        value = ctypes.c_double()
        self._check(self._lib.scorecam_explainer_get_param(ctypes.byref(value), self._live_handle(), info.number))
        labels = _lib.CHOICES.get(info.name)
        if labels is not None:
            return next(key for key, raw in labels.items() if raw == value.value)
        return value.value if info.kind == _lib.PARAM_KIND_REAL else int(value.value)

    # ---- callbacks -----------------------------------------------------------------------------
    # Ctrl-C: while the engine runs, SIGINT only sets a flag (a KeyboardInterrupt raised at the
    # edge of a ctypes callback would be swallowed); the next callback then ends the run and
    # explain() raises KeyboardInterrupt.

    @contextlib.contextmanager
    def _deferred_interrupts(self):
        if (threading.current_thread() is not threading.main_thread()
                or signal.getsignal(signal.SIGINT) is not signal.default_int_handler):
            yield
            return

        def interrupt(signum, frame):
            self._interrupted = True

        previous = signal.signal(signal.SIGINT, interrupt)
        try:
            yield
        finally:
            signal.signal(signal.SIGINT, previous)

    # The engine's callbacks (see _c_callback). After Ctrl-C the forwards and the progress report
    # return non-zero at once.

    @_c_callback
    def _forward_trampoline(self, _user_data, images_p, n, c, h, w, outputs_p, output_dim):
        if self._interrupted:
            return 1
        images = self._batch_copy(images_p, (n, c, h, w))
        outputs = np.asarray(_host_numpy(self._forward(images)), dtype=np.float32)
        if outputs.ndim < 1 or outputs.shape[0] != n or outputs[:1].size != output_dim:
            raise ValueError(f"forward returned shape {outputs.shape}, expected {n} rows of "
                             f"{self._output_shape or (output_dim,)} ({output_dim} values each)")
        outputs = outputs.reshape(n, output_dim)
        np.ctypeslib.as_array(outputs_p, shape=(n, output_dim))[...] = outputs
        return 0

    @_c_callback
    def _masks_forward_trampoline(self, _user_data, masks_p, images_p, n, _input_p, b, c, h, w, outputs_p,
                                  output_dim):
        if self._interrupted:
            return 1
        # Copies, as for forward: the engine's buffers are freed or reused after the call.
        masks = np.ctypeslib.as_array(masks_p, shape=(n, 1, h, w)).copy()
        images = np.ctypeslib.as_array(images_p, shape=(n,)).copy()
        x = self._masks_input
        if x is None or x.shape != (b, c, h, w):
            raise RuntimeError("masks mode: the engine's input does not match the explained x")
        outputs = np.asarray(self._masks_forward(masks, images, x), dtype=np.float32)
        if outputs.shape != (n, output_dim):
            raise ValueError(f"masks_forward returned shape {outputs.shape}, expected ({n}, {output_dim})")
        np.ctypeslib.as_array(outputs_p, shape=(n, output_dim))[...] = outputs
        return 0

    def _batch_copy(self, images_p, shape) -> np.ndarray:
        """The engine's batch copied into a Python-owned array, reused unless the forward kept the
        previous one (then it keeps its contents, and this batch gets a new array)."""
        size = int(np.prod(shape))
        kept = self._batch is not None and sys.getrefcount(self._batch) > 2  # self._batch + the argument
        if kept or self._batch is None or self._batch.size < size or self._batch.shape[1:] != shape[1:]:
            self._batch = np.empty(shape, dtype=np.float32)
        images = self._batch[:shape[0]]
        np.copyto(images, np.ctypeslib.as_array(images_p, shape=shape))
        return images

    @_c_callback
    def _scoring_trampoline(self, _user_data, outputs_p, n, output_dim, _targets_p, num_targets, scores_p):
        outputs = np.ctypeslib.as_array(outputs_p, shape=(n, output_dim))
        if self._output_shape is not None:
            outputs = outputs.reshape(n, *self._output_shape)
        scores = np.asarray(_host_numpy(self._score_fn(outputs)), dtype=np.float32)
        if scores.ndim == 1:
            scores = scores[:, None]
        if scores.shape != (n, num_targets):
            raise ValueError(f"the scoring function returned shape {scores.shape}, "
                             f"expected ({n},) or ({n}, {num_targets})")
        np.ctypeslib.as_array(scores_p, shape=(n, num_targets))[...] = scores
        return 0

    @_c_callback
    def _progress_trampoline(self, _user_data, done, total):
        if self._interrupted:
            return 1
        # The total is the engine's own count of masked images (CSKIP, SS-CAM samples,
        # metric steps, the adaptive budget's ceiling): the bar starts at the first report.
        if self._bar is None and self._bar_progress is not None and wanted(self._bar_progress, total):
            self._bar = make_bar(total)
            self._bar_progress = None
        if self._bar is not None:
            self._bar.update(done)
        if self._user_progress is not None and self._user_progress(done, total) is False:
            return 1
        return 0

    # ---- explain -------------------------------------------------------------------------------

    @_exclusive
    def explain(self, x, activations, targets: Targets = None, *, cskip: int | None = None,
                channels=None, progress=None) -> np.ndarray:
        """Score-CAM maps of `x` for `targets`.

        x: (C, H, W) or (B, C, H, W), preprocessed as the model expects: float32 numpy, or a torch
            tensor of any float dtype on any device.
        activations: (K, h, w) or (B, K, h, w), the explained layer's output for x (same types).
        targets: None (the top-1 class of each unmasked image, like pytorch-grad-cam), a class
            index, a list of class indices, `scorecam.targets.TopK(k)`, a scoring function
            outputs (N, ...) -> scores (N,) or (N, T) (outputs in the model's own shape), or a list
            of scoring functions / `scorecam.targets` helpers. Every target is scored from the same
            masked forward passes.
        cskip: CSKIP K' for this call only.
        channels: explain exactly these channel indices (in this order) of every image, for this
            call only, instead of the engine's selection (e.g. channels ranked by the host).
        Returns (H, W) for one image and a single target (an int, a callable, None), (T, H, W) for
        one image and a list, else (B, T, H, W).
        """
        self._live_handle()
        x = _float32_array(x, "x", (3, 4))
        activations = _float32_array(activations, "activations", (3, 4))
        if x.ndim != activations.ndim:
            raise ValueError(f"x {x.shape} and activations {activations.shape} must both be batched or both not")
        single = x.ndim == 3
        xb = x[None] if single else x
        ab = activations[None] if single else activations
        if xb.shape[0] != ab.shape[0]:
            raise ValueError(f"x holds {xb.shape[0]} images but activations hold {ab.shape[0]}")

        per_image = self._per_image_classes(targets, xb)
        if per_image is not None and xb.shape[0] > 1 and any((c != per_image[0]).any() for c in per_image):
            # Each image has its own top classes: one engine call per image (the engine scores
            # every image of a call with the same targets). details() then holds the last image.
            # (The unguarded method: this call already holds the Explainer.)
            explain_one = Explainer.explain.__wrapped__
            return np.stack([explain_one(self, xb[i], ab[i], list(per_image[i]), cskip=cskip, channels=channels,
                                         progress=progress) for i in range(xb.shape[0])])
        resolved = list(per_image[0]) if per_image is not None else targets
        num_targets, class_targets, score_fn = self._prepare_targets(resolved, xb)
        maps = self._compute(xb, ab, num_targets, class_targets, score_fn, cskip, channels, progress)
        if single:
            maps = maps[0]
            if _single_target(targets) and num_targets == 1:
                maps = maps[0]
        return maps

    def _compute(self, xb, ab, num_targets, class_targets, score_fn, cskip, channels, progress) -> np.ndarray:
        handle = self._live_handle()
        b, c, h, w = xb.shape
        _, k, ah, aw = ab.shape
        self._register(score_fn)
        map_h, map_w = self.map_size((h, w), (ah, aw))
        maps = np.empty((b, num_targets, map_h, map_w), dtype=np.float32)
        previous = None
        if cskip is not None:
            previous = (self.get_param("selection"), self.get_param("selection_count"))
            self.set_params(selection="max", selection_count=cskip)
        # A new view per compute: a masks-mode host may key its device copy of x on its identity.
        self._masks_input = xb.view()
        if channels is not None:
            self.set_channels(channels)
        try:
            self._run(lambda: self._lib.scorecam_explainer_compute(
                _ptr(maps), maps.size, handle, _ptr(xb), b, c, h, w, _ptr(ab), k, ah, aw,
                None if class_targets is None else _ptr(class_targets, _int64_p), num_targets), progress)
        finally:
            self._masks_input = None
            if channels is not None:
                self.set_channels(None)
            if previous is not None:
                self.set_params(selection=previous[0], selection_count=previous[1])
        return maps

    def set_channels(self, channels) -> None:
        """Explain exactly these channel indices, in this order, for every image of the following
        calls (instead of the engine's selection); None restores the engine's selection."""
        handle = self._live_handle()
        if channels is None:
            self._check(self._lib.scorecam_explainer_set_channels(handle, None, 0))
            return
        array = np.ascontiguousarray(_host_numpy(channels), dtype=np.int64).reshape(-1)
        if array.size == 0:
            raise ValueError("channels is empty; pass None to restore the engine's selection")
        self._check(self._lib.scorecam_explainer_set_channels(handle, _ptr(array, _int64_p), array.size))

    def _run(self, call, progress):
        """Makes one engine call with progress, Ctrl-C and callback errors handled; raises what
        ended the run: a callback's exception, KeyboardInterrupt, or the engine's error."""
        handle = self._live_handle()
        progress = self._progress if progress is None else progress
        self._bar = None
        self._bar_progress = None if callable(progress) or progress is False else progress
        self._user_progress = progress if callable(progress) else None
        self._error = None
        self._interrupted = False
        try:
            with self._deferred_interrupts():
                status = call()
            # Read the message now: later calls on the handle replace it.
            failure = None if status == _lib.OK else error_for(
                status, self._lib.scorecam_explainer_last_error(handle).decode(errors="replace"))
        finally:
            if self._bar is not None:
                self._bar.close()
            self._bar = self._user_progress = self._bar_progress = None
        if self._interrupted:
            raise KeyboardInterrupt
        if self._error is not None:
            error, self._error = self._error, None
            raise error
        if failure is not None:
            raise failure

    def _per_image_classes(self, targets, xb: np.ndarray):
        """For None / TopK: each image's top classes from its unmasked output, else None."""
        if targets is not None and not isinstance(targets, TopK):
            return None
        top = targets or TopK(1)
        outputs = self._probe(xb)
        return [top.classes(row) for row in outputs]

    def _prepare_targets(self, targets, xb: np.ndarray):
        """(T, int64 class indices or None, scoring function or None); finds D (and the output
        shape and T for a scoring function) with one forward pass when unknown."""
        if isinstance(targets, ClassifierOutputTarget):
            targets = targets.category
        elif isinstance(targets, (list, tuple)) and targets and all(callable(t) for t in targets):
            if all(isinstance(t, ClassifierOutputTarget) for t in targets):
                targets = [t.category for t in targets]
            else:
                targets = _combined(targets)
        if not callable(targets):
            class_targets = np.atleast_1d(np.asarray(targets))
            if class_targets.ndim != 1 or class_targets.size == 0 or not np.issubdtype(class_targets.dtype, np.integer):
                raise TypeError("targets must be None, an int, a non-empty list of ints, TopK, a scoring function "
                                "or a list of scoring functions")
            class_targets = _integers(class_targets, "targets")
            if self._output_dim is None:
                self._probe(xb[:1])
            return class_targets.size, class_targets, None
        outputs = self._probe(xb[:1])
        scores = np.asarray(_host_numpy(targets(outputs)), dtype=np.float32)
        if scores.ndim not in (1, 2) or scores.shape[0] != 1:
            raise ValueError(f"the scoring function must return (N,) or (N, T) scores, got {scores.shape} for N=1")
        return (1 if scores.ndim == 1 else scores.shape[1]), None, targets

    def _probe(self, xb: np.ndarray) -> np.ndarray:
        """Forward passes of unmasked images: the output shape the engine must expect. Returns
        the outputs in the model's own shape (N, ...)."""
        outputs = np.asarray(_host_numpy(self._forward(xb)), dtype=np.float32)
        if outputs.ndim < 1 or outputs.shape[0] != xb.shape[0] or outputs[:1].size == 0:
            raise ValueError(f"forward must return (N, ...) outputs, got shape {outputs.shape} for N={xb.shape[0]}")
        shape = outputs.shape[1:] or (1,)
        dim = int(np.prod(shape))
        if self._output_dim is not None and self._output_dim != dim:
            raise ValueError(f"forward returned {dim} values per image, but output_dim is {self._output_dim}")
        self._output_shape, self._output_dim = shape, dim
        return outputs.reshape(xb.shape[0], *shape)

    def _register(self, score_fn) -> None:
        handle = self._live_handle()
        if self._registered_dim != self._output_dim:
            self._check(self._lib.scorecam_explainer_set_forward(handle, self._forward_c, self._output_dim, None))
            self._check(self._lib.scorecam_explainer_set_progress(handle, self._progress_c, None))
            if self._masks_forward is not None:
                self._check(self._lib.scorecam_explainer_set_masks_forward(
                    handle, self._masks_forward_c, self._output_dim, None))
            self._registered_dim = self._output_dim
        if (score_fn is None) != (self._score_fn is None):
            scoring = _lib.SCORING_FN() if score_fn is None else self._scoring_c
            self._check(self._lib.scorecam_explainer_set_scoring(handle, scoring, None))
        self._score_fn = score_fn

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
        handle = self._live_handle()
        if metric not in _lib.METRIC:
            raise ValueError(f"metric must be one of {', '.join(_lib.METRIC)}, got {metric!r}")
        x = _float32_array(x, "x", (3, 4))
        maps = _float32_array(maps, "maps", (2, 3, 4))
        xb = x[None] if x.ndim == 3 else x
        mb = maps.reshape((1,) * (4 - maps.ndim) + maps.shape) if x.ndim == 3 else maps
        if mb.ndim != 4 or mb.shape[0] != xb.shape[0]:
            raise ValueError(f"maps {maps.shape} do not match x {x.shape}")
        b, c, h, w = xb.shape
        _, num_targets, map_h, map_w = mb.shape
        per_image = self._per_image_classes(targets, xb)
        if per_image is not None and b > 1 and any((p != per_image[0]).any() for p in per_image):
            evaluate_one = Explainer.evaluate.__wrapped__  # unguarded: this call holds the Explainer
            values = np.stack([evaluate_one(self, xb[i:i + 1], mb[i:i + 1], list(per_image[i]), metric,
                                            progress=progress)[0] for i in range(b)])
            return values
        resolved = list(per_image[0]) if per_image is not None else targets
        count, class_targets, score_fn = self._prepare_targets(resolved, xb)
        if count != num_targets:
            raise ValueError(f"{num_targets} maps per image need {num_targets} targets, got {count}")
        self._register(score_fn)
        values = np.empty((b, num_targets), dtype=np.float64)
        self._run(lambda: self._lib.scorecam_explainer_evaluate(
            values.ctypes.data_as(ctypes.POINTER(ctypes.c_double)), values.size, handle, _lib.METRIC[metric],
            _ptr(xb), b, c, h, w, _ptr(mb), map_h, map_w,
            None if class_targets is None else _ptr(class_targets, _int64_p), num_targets), progress)
        if x.ndim == 3:
            return values[0] if maps.ndim == 3 else float(values[0, 0])
        return values

    def map_size(self, input_size: tuple[int, int], activation_size: tuple[int, int]) -> tuple[int, int]:
        """(H, W) of the maps explain() returns: the input's, or the activations' (torchcam preset)."""
        map_h, map_w = ctypes.c_int64(), ctypes.c_int64()
        self._check(self._lib.scorecam_explainer_get_map_size(
            ctypes.byref(map_h), ctypes.byref(map_w), self._live_handle(), *input_size, *activation_size))
        return map_h.value, map_w.value

    # ---- inspection ----------------------------------------------------------------------------

    def details(self, image: int = 0) -> Details:
        """Channels, scores and weights of image `image` in the last successful explain()."""
        handle = self._live_handle()
        channels, targets = ctypes.c_size_t(), ctypes.c_size_t()
        self._check(self._lib.scorecam_explainer_get_detail_counts(
            ctypes.byref(channels), ctypes.byref(targets), handle, image))
        k, t = channels.value, targets.value
        result = Details(np.empty(k, np.int64), np.empty((k, t), np.float32),
                         np.empty((k, t), np.float32), np.empty(t, np.float32))
        self._check(self._lib.scorecam_explainer_get_details(
            _ptr(result.channels, _int64_p), _ptr(result.scores), _ptr(result.weights),
            _ptr(result.base_scores), k, handle, image))
        return result

    @_exclusive
    def masks(self, activations: np.ndarray, size: tuple[int, int], channels=None,
              x: np.ndarray | None = None) -> np.ndarray:
        """The normalized masks (K', H, W) the engine builds for `channels` of one image's
        activations (K, h, w), or with x (C, H, W) the masked images (K', C, H, W)."""
        handle = self._live_handle()
        activations = _float32_array(activations, "activations", (3,))
        k, ah, aw = activations.shape
        h, w = size
        channels = _integers(np.arange(k) if channels is None else channels, "channels")
        if channels.ndim != 1:
            raise ValueError(f"channels must be a flat list of indices, got shape {channels.shape}")
        if x is not None:
            x = _float32_array(x, "x", (3,))
            if x.shape[1:] != (h, w):
                raise ValueError(f"x {x.shape} does not match size {size}")
        c = 1 if x is None else x.shape[0]
        shape = (channels.size, h, w) if x is None else (channels.size, c, h, w)
        out = np.empty(shape, dtype=np.float32)
        self._check(self._lib.scorecam_explainer_make_masks(
            _ptr(out), out.size, handle, None if x is None else _ptr(x), c, h, w,
            _ptr(activations), k, ah, aw, _ptr(channels, _int64_p), channels.size))
        return out


def _single_target(targets) -> bool:
    """Targets that give one map per image (returned without a target axis for one image)."""
    return targets is None or callable(targets) or isinstance(targets, (int, np.integer))


def _combined(functions):
    """One scoring function (N, ...) -> (N, T) from T functions that each return (N,)."""
    def score(outputs):
        columns = [np.asarray(_host_numpy(f(outputs)), dtype=np.float32).reshape(len(outputs), -1) for f in functions]
        for f, column in zip(functions, columns):
            if column.shape[1] != 1:
                raise ValueError(f"{f!r} returned {column.shape[1]} scores per image; in a list each target gives one")
        return np.concatenate(columns, axis=1)
    return score
