"""`ExplainerHandle`: one scorecam_explainer and everything that crosses ctypes for it.

It owns the handle (create/destroy), sets parameters by name, holds the C callbacks (the
trampolines into the Python forward, scoring and progress functions, with their batch copies),
defers Ctrl-C while the engine runs, shows the progress bar, and turns statuses into exceptions.
It knows nothing of targets or of the API's shapes: that is scorecam.explainer and
scorecam.targets. Also here: the array checks every caller of the engine shares.
"""
from __future__ import annotations

import contextlib
import ctypes
import functools
import signal
import sys
import threading
import warnings
from typing import Callable, Sequence

import numpy as np

from . import _lib
from .errors import Status, error_for
from .progress import make_bar, wanted

_float_p = ctypes.POINTER(ctypes.c_float)
_int64_p = ctypes.POINTER(ctypes.c_int64)


# ---- arrays -------------------------------------------------------------------------------------

def ptr(array: np.ndarray, kind=_float_p):
    return array.ctypes.data_as(kind)


def host_numpy(value):
    """A torch tensor (any dtype, any device, with or without grad) as a float32 CPU numpy array;
    anything else as it is."""
    if type(value).__module__.startswith("torch") and hasattr(value, "detach"):
        import torch

        return value.detach().to(device="cpu", dtype=torch.float32).contiguous().numpy()
    return value


def float32_array(value, name: str, ndims: Sequence[int]) -> np.ndarray:
    """The engine reads float32, C-contiguous memory as is: a numpy array of another dtype or
    layout is an error, not a silent copy. Torch tensors are converted (they must be anyway)."""
    value = host_numpy(value)
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


def integers(values, name: str) -> np.ndarray:
    """int64 indices from integers only: int-dtype numpy arrays or torch tensors, Python ints.
    Floats (1.9 is not a channel), bools, strings and integers int64 cannot hold are refused,
    never converted."""
    if type(values).__module__.startswith("torch") and hasattr(values, "detach"):
        values = values.detach().cpu().numpy()  # its own dtype (host_numpy would make floats)
    if isinstance(values, (str, bytes)):
        raise TypeError(f"{name} must be integers, got the {type(values).__name__} {values!r}")
    try:
        array = np.asarray(values)
        items = None if isinstance(values, np.ndarray) else np.asarray(values, dtype=object).reshape(-1)
    except ValueError as error:  # ragged nesting
        raise ValueError(f"{name} must be a flat list of integers ({error})") from None
    if items is not None:
        # numpy turns [True, 2] into [1, 2] and [2**70] into an object array: look at the items.
        if any(isinstance(item, (bool, np.bool_)) for item in items):
            raise TypeError(f"{name} must be integers, got a bool")
        if array.dtype == object and all(isinstance(item, (int, np.integer)) for item in items):
            limits = np.iinfo(np.int64)
            outside = next((item for item in items if not limits.min <= item <= limits.max), None)
            if outside is not None:
                raise ValueError(f"{name} holds {outside}, beyond int64")
            array = np.asarray(values, dtype=np.int64)
    if array.size and not np.issubdtype(array.dtype, np.integer):
        raise TypeError(f"{name} must be integers, got {array.dtype}")
    if array.size and array.dtype.kind == "u" and array.max() > np.iinfo(np.int64).max:
        raise ValueError(f"{name} holds {array.max()}, beyond int64")
    array = np.asarray(array, dtype=np.int64)  # not ascontiguousarray: it makes a scalar 1-D
    return array if array.flags.c_contiguous else array.copy(order="C")


def channel_list(channels) -> np.ndarray:
    """An explicit channel list as the engine takes it: a non-empty 1-D list of integers (an
    int64 copy, so later changes to the caller's array do not change the kept list)."""
    array = integers(channels, "channels")
    if array.ndim != 1:
        hint = f" (one channel: [{int(array)}])" if array.ndim == 0 else ""
        raise ValueError(f"channels must be a 1-D list of channel indices, got shape {array.shape}{hint}")
    if array.size == 0:
        raise ValueError("channels is empty; pass None to restore the engine's selection")
    return array.copy()


def borrows_batches(forward) -> bool:
    """Whether `forward` (or the model whose bound method it is) says it never keeps a batch past
    its call (`keeps_batches = False`, as scorecam.onnx.OnnxModel does): then it reads the engine's
    batch buffer in place, read-only, instead of a copy."""
    owner = getattr(forward, "__self__", None)
    return getattr(forward, "keeps_batches", None) is False or getattr(owner, "keeps_batches", None) is False


# ---- the handle ---------------------------------------------------------------------------------

def _c_callback(method):
    """A method the engine calls through ctypes. It catches everything (KeyboardInterrupt
    included), keeps it and returns non-zero: nothing may unwind through C, and the engine then
    ends the run cleanly and run() re-raises the very same exception."""
    @functools.wraps(method)
    def trampoline(self, *args):
        try:
            return method(self, *args)
        except BaseException as error:  # noqa: BLE001 - must not unwind through C
            self._error = error
            return 1
    return trampoline


# Spellings of earlier releases, still accepted (with a DeprecationWarning).
_OLD_NAMES = {"eps": "norm_eps", "normalize": "normalize_map"}


def param_info(name: str) -> _lib.ParamInfo:
    """The library's description of a parameter, by its keyword (the header's name in lower case)."""
    table = _lib.param_table()
    if name in _OLD_NAMES:
        warnings.warn(f"the parameter {name!r} is now spelled {_OLD_NAMES[name]!r}", DeprecationWarning, stacklevel=5)
        name = _OLD_NAMES[name]
    if name not in table:
        raise TypeError(f"unknown parameter {name!r}; known: {', '.join(table)}")
    return table[name]


class ExplainerHandle:
    """A scorecam_explainer with a Python model: forward(batch) -> outputs, and optionally
    masks_forward(masks, images, x) -> outputs (masks mode)."""

    def __init__(self, forward: Callable, masks_forward: Callable | None, output_dim: int | None, progress,
                 borrow_batches: bool | None = None):
        self.lib = _lib.lib()
        handle = ctypes.c_void_p()
        self._handle = None
        self.check(self.lib.scorecam_explainer_create(ctypes.byref(handle)))
        self._handle = handle
        self.forward = forward
        self.output_dim = output_dim
        self.output_shape: tuple | None = None  # one output row in the model's own shape
        self.masks_input: np.ndarray | None = None  # masks mode: the input being explained
        self.progress = progress  # the default progress setting of every run
        self.channels: np.ndarray | None = None  # the explicit channel list set, if any
        self._registered_dim: int | None = None
        self._score_fn: Callable | None = None
        self._masks_forward = masks_forward
        self._bar = None
        self._bar_progress = None  # the progress setting of the running call, for a bar made lazily
        self._user_progress: Callable | None = None
        self._error: BaseException | None = None
        self._interrupted = False
        # The forward gets a copy of each batch in this Python-owned array: a forward that keeps
        # its batch must not keep memory the engine reuses and frees. A forward that never keeps
        # it borrows the engine's buffer instead (no copy; see borrows_batches()).
        self._batch: np.ndarray | None = None
        self.borrow = borrows_batches(forward) if borrow_batches is None else bool(borrow_batches)
        # The C function pointers must outlive every call that may use them: they live here.
        self._forward_c = _lib.FORWARD_FN(self._forward_trampoline)
        self._scoring_c = _lib.SCORING_FN(self._scoring_trampoline)
        self._progress_c = _lib.PROGRESS_FN(self._progress_trampoline)
        self._masks_forward_c = _lib.MASKS_FORWARD_FN(self._masks_forward_trampoline)

    def close(self) -> None:
        """Frees the engine handle; safe to call twice."""
        handle, self._handle = getattr(self, "_handle", None), None
        if handle is not None and handle.value:
            self.lib.scorecam_explainer_destroy(handle)

    def __del__(self) -> None:
        self.close()

    @property
    def live(self) -> ctypes.c_void_p:
        """The handle; ValueError once closed."""
        if self._handle is None:
            raise ValueError("this Explainer is closed")
        return self._handle

    def check_open(self) -> None:
        """ValueError once closed."""
        self.live  # noqa: B018 - the property raises

    def check(self, status: int) -> None:
        """Raises the engine's error for a failed call (its message: the handle's, or the thread's
        before there is a handle)."""
        if status == Status.OK:
            return
        if self._handle is not None:
            message = self.lib.scorecam_explainer_last_error(self._handle)
        else:
            message = self.lib.scorecam_last_error()
        raise error_for(status, message.decode(errors="replace"))

    # ---- parameters and channels ---------------------------------------------------------------

    def set_preset(self, name: str) -> None:
        self.check(self.lib.scorecam_explainer_set_preset(self.live, name.encode()))

    def set_param(self, name: str, value) -> None:
        info = param_info(name)
        labels = _lib.CHOICES.get(info.name)
        if labels is not None:
            if value not in labels:
                raise ValueError(f"{info.name} must be one of {', '.join(labels)}, got {value!r}")
            value = labels[value]
        try:
            value = float(value)
        except OverflowError:
            raise ValueError(f"{info.name}: {value} is beyond every parameter's range") from None
        self.check(self.lib.scorecam_explainer_set_param(self.live, info.number, value))

    def get_param(self, name: str):
        info = param_info(name)
        value = ctypes.c_double()
        self.check(self.lib.scorecam_explainer_get_param(ctypes.byref(value), self.live, info.number))
        labels = _lib.CHOICES.get(info.name)
        if labels is not None:
            return next(key for key, raw in labels.items() if raw == value.value)
        return value.value if info.kind == _lib.PARAM_KIND_REAL else int(value.value)

    def set_channels(self, channels) -> None:
        """Sets (None: clears) the explicit channel list, checked by channel_list(). The list set
        is kept in `channels` (the engine has no getter) for a per-call list to put it back."""
        if channels is None:
            self.check(self.lib.scorecam_explainer_set_channels(self.live, None, 0))
            self.channels = None
            return
        array = channel_list(channels)
        self.check(self.lib.scorecam_explainer_set_channels(self.live, ptr(array, _int64_p), array.size))
        self.channels = array

    # ---- the model -----------------------------------------------------------------------------

    def probe(self, xb: np.ndarray) -> np.ndarray:
        """Forward passes of unmasked images: the output shape the engine must expect. Returns
        the outputs in the model's own shape (N, ...)."""
        outputs = np.asarray(host_numpy(self.forward(xb)), dtype=np.float32)
        if outputs.ndim < 1 or outputs.shape[0] != xb.shape[0] or outputs[:1].size == 0:
            raise ValueError(f"forward must return (N, ...) outputs, got shape {outputs.shape} for N={xb.shape[0]}")
        shape = outputs.shape[1:] or (1,)
        dim = int(np.prod(shape))
        if self.output_dim is not None and self.output_dim != dim:
            raise ValueError(f"forward returned {dim} values per image, but output_dim is {self.output_dim}")
        self.output_shape, self.output_dim = shape, dim
        return outputs.reshape(xb.shape[0], *shape)

    def register(self, score_fn: Callable | None) -> None:
        """Gives the engine the callbacks of the next call: the forward (for output_dim, known by
        now), the progress report, masks mode when set, and score_fn or the engine's own scoring."""
        if self._registered_dim != self.output_dim:
            self.check(self.lib.scorecam_explainer_set_forward(self.live, self._forward_c, self.output_dim, None))
            self.check(self.lib.scorecam_explainer_set_progress(self.live, self._progress_c, None))
            if self._masks_forward is not None:
                self.check(self.lib.scorecam_explainer_set_masks_forward(
                    self.live, self._masks_forward_c, self.output_dim, None))
            self._registered_dim = self.output_dim
        if (score_fn is None) != (self._score_fn is None):
            scoring = _lib.SCORING_FN() if score_fn is None else self._scoring_c
            self.check(self.lib.scorecam_explainer_set_scoring(self.live, scoring, None))
        self._score_fn = score_fn

    # ---- running -------------------------------------------------------------------------------
    # Ctrl-C: while the engine runs, SIGINT only sets a flag (a KeyboardInterrupt raised at the
    # edge of a ctypes callback would be swallowed); the next callback then ends the run and
    # run() raises KeyboardInterrupt.

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

    def run(self, call: Callable[[], int], progress) -> None:
        """Makes one engine call with progress, Ctrl-C and callback errors handled; raises what
        ended the run: a callback's exception, KeyboardInterrupt, or the engine's error."""
        handle = self.live
        progress = self.progress if progress is None else progress
        self._bar = None
        self._bar_progress = None if callable(progress) or progress is False else progress
        self._user_progress = progress if callable(progress) else None
        self._error = None
        self._interrupted = False
        try:
            with self._deferred_interrupts():
                status = call()
            # Read the message now: later calls on the handle replace it.
            failure = None if status == Status.OK else error_for(
                status, self.lib.scorecam_explainer_last_error(handle).decode(errors="replace"))
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

    # ---- the engine's callbacks (see _c_callback) ----------------------------------------------
    # After Ctrl-C the forwards and the progress report return non-zero at once.

    @_c_callback
    def _forward_trampoline(self, _user_data, images_p, n, c, h, w, outputs_p, output_dim):
        if self._interrupted:
            return 1
        if self.borrow:
            images = np.ctypeslib.as_array(images_p, shape=(n, c, h, w))
            images.flags.writeable = False
        else:
            images = self._batch_copy(images_p, (n, c, h, w))
        outputs = np.asarray(host_numpy(self.forward(images)), dtype=np.float32)
        if outputs.ndim < 1 or outputs.shape[0] != n or outputs[:1].size != output_dim:
            raise ValueError(f"forward returned shape {outputs.shape}, expected {n} rows of "
                             f"{self.output_shape or (output_dim,)} ({output_dim} values each)")
        np.ctypeslib.as_array(outputs_p, shape=(n, output_dim))[...] = outputs.reshape(n, output_dim)
        del outputs  # it may be the batch itself (an identity model)
        if self.borrow and sys.getrefcount(images) > 2:  # `images` + the argument
            raise RuntimeError("the forward kept its batch (or a view of it), which it borrows from the engine only "
                               "for the call: copy what it keeps, or create the Explainer with borrow_batches=False")
        return 0

    @_c_callback
    def _masks_forward_trampoline(self, _user_data, masks_p, images_p, n, _input_p, b, c, h, w, outputs_p,
                                  output_dim):
        if self._interrupted:
            return 1
        # Copies, as for forward: the engine's buffers are freed or reused after the call.
        masks = np.ctypeslib.as_array(masks_p, shape=(n, 1, h, w)).copy()
        images = np.ctypeslib.as_array(images_p, shape=(n,)).copy()
        x = self.masks_input
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
        if self.output_shape is not None:
            outputs = outputs.reshape(n, *self.output_shape)
        scores = np.asarray(host_numpy(self._score_fn(outputs)), dtype=np.float32)
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
