"""ctypes declarations of include/scorecam.h: one per C function, nothing else.

The library is found, in order, at $SCORECAM_LIBRARY, next to this package (where a wheel or
`pip install` puts it), or, when the package runs from a scorecam checkout (`pip install -e`,
PYTHONPATH), in the checkout's build/lib (`make lib`). It must be compatible with the version this
binding was written for: the same major version, and at least as new.
"""
from __future__ import annotations

import ctypes
import dataclasses
import os
import pathlib
import re
import threading
from ctypes import POINTER, byref, c_char_p, c_double, c_float, c_int, c_int64, c_size_t, c_void_p

_HERE = pathlib.Path(__file__).resolve().parent
# Set when the package runs from a scorecam checkout (bindings/python/scorecam), else None.
_CHECKOUT = _HERE.parents[2] if (_HERE.parents[2] / "include" / "scorecam.h").is_file() else None


def _binding_version() -> tuple[int, int, int]:
    """The version this binding was written for. Its one source is include/scorecam.h: the build
    writes it into _version.py; a checkout reads the header itself."""
    try:
        from ._version import VERSION as built
        return built
    except ImportError:
        pass
    if _CHECKOUT is None:
        raise LibraryError("scorecam is incomplete: _version.py is missing; reinstall the package")
    text = (_CHECKOUT / "include" / "scorecam.h").read_text()
    return tuple(int(re.search(rf"^#define SCORECAM_VERSION_{part} (\d+)$", text, re.M).group(1))
                 for part in ("MAJOR", "MINOR", "PATCH"))


def compatible(loaded: int, wanted: int) -> bool:
    """Whether a library of version number `loaded` serves a binding written for `wanted`
    (MAJOR * 10000 + MINOR * 100 + PATCH): the same major, and not older. Within one major,
    symbols are only ever added, so a newer minor or patch is a drop-in."""
    return loaded // 10000 == wanted // 10000 and loaded >= wanted


# enum scorecam_status
OK = 0
E_NULL_POINTER = -1
E_INVALID_ARGUMENT = -2
E_SHAPE = -3
E_NON_FINITE = -4
E_BUFFER_TOO_SMALL = -5
E_NO_FORWARD = -6
E_CALLBACK = -7
E_CANCELLED = -8
E_DEGENERATE = -9
E_OUT_OF_MEMORY = -10
E_NO_RESULT = -11

# enum scorecam_param

UPSAMPLE = {"bicubic": 0, "bilinear": 1, "bilinear_align_corners": 2}
MAP_UPSAMPLE = {"as_masks": -1, **UPSAMPLE}
METHOD = {"scorecam": 0, "sscam": 1, "iscam": 2}
METRIC = {"average_drop": 0, "increase_in_confidence": 1, "insertion": 2, "deletion": 3}
SELECTION = {"all": 0, "max": 1, "std": 2}
WEIGHTING = {"softmax": 0, "raw": 1}
SCORE = {"logit": 0, "softmax": 1}

# The labels of each choice parameter (the numbers are the header's enums). Everything else about
# parameters (numbers, names, kinds, ranges, defaults) is read from the library: `param_table()`.
CHOICES = {"upsample": UPSAMPLE, "selection": SELECTION, "weighting": WEIGHTING, "score": SCORE,
           "map_upsample": MAP_UPSAMPLE, "method": METHOD, "metric_score": SCORE}
PARAM_KIND_REAL = 3  # enum scorecam_param_kind: values of other kinds are whole numbers


@dataclasses.dataclass(frozen=True)
class ParamInfo:
    """One row of the library's parameter table (scorecam_param_info)."""

    number: int       # SCORECAM_PARAM_<NAME>
    name: str         # <name> in lower case: the keyword Explainer takes
    kind: int         # enum scorecam_param_kind
    minimum: float
    maximum: float
    default: float


_param_table: dict | None = None


def param_table() -> dict:
    """name -> ParamInfo for every parameter the loaded library has, read once."""
    global _param_table
    if _param_table is None:
        library = lib()
        table = {}
        for index in range(library.scorecam_param_count()):
            number, name, kind = c_int(), c_char_p(), c_int()
            minimum, maximum, default = c_double(), c_double(), c_double()
            status = library.scorecam_param_info(byref(number), byref(name), byref(kind), byref(minimum),
                                                 byref(maximum), byref(default), index)
            if status != 0:
                raise LibraryError(f"scorecam_param_info({index}) failed: {library.scorecam_last_error().decode()}")
            key = name.value.decode().removeprefix("SCORECAM_PARAM_").lower()
            table[key] = ParamInfo(number.value, key, kind.value, minimum.value, maximum.value, default.value)
        _param_table = table
    return _param_table

_float_p = POINTER(c_float)
_int64_p = POINTER(c_int64)

FORWARD_FN = ctypes.CFUNCTYPE(c_int, c_void_p, _float_p, c_int64, c_int64, c_int64, c_int64, _float_p, c_int64)
SCORING_FN = ctypes.CFUNCTYPE(c_int, c_void_p, _float_p, c_int64, c_int64, _int64_p, c_size_t, _float_p)
PROGRESS_FN = ctypes.CFUNCTYPE(c_int, c_void_p, c_size_t, c_size_t)
# masks mode: (user_data, masks, images, n, input, b, c, h, w, outputs, output_dim)
MASKS_FORWARD_FN = ctypes.CFUNCTYPE(c_int, c_void_p, _float_p, _int64_p, c_int64, _float_p, c_int64, c_int64,
                                    c_int64, c_int64, _float_p, c_int64)

_SIGNATURES = {
    "scorecam_version_number": ([], c_int),
    "scorecam_version_string": ([], c_char_p),
    "scorecam_status_string": ([c_int], c_char_p),
    "scorecam_last_error": ([], c_char_p),
    "scorecam_explainer_create": ([POINTER(c_void_p)], c_int),
    "scorecam_explainer_destroy": ([c_void_p], None),
    "scorecam_explainer_last_error": ([c_void_p], c_char_p),
    "scorecam_explainer_set_forward": ([c_void_p, FORWARD_FN, c_int64, c_void_p], c_int),
    "scorecam_explainer_set_scoring": ([c_void_p, SCORING_FN, c_void_p], c_int),
    "scorecam_explainer_set_progress": ([c_void_p, PROGRESS_FN, c_void_p], c_int),
    "scorecam_explainer_set_masks_forward": ([c_void_p, MASKS_FORWARD_FN, c_int64, c_void_p], c_int),
    "scorecam_explainer_set_param": ([c_void_p, c_int, c_double], c_int),
    "scorecam_explainer_get_param": ([POINTER(c_double), c_void_p, c_int], c_int),
    "scorecam_explainer_set_preset": ([c_void_p, c_char_p], c_int),
    "scorecam_param_count": ([], c_size_t),
    "scorecam_param_info": ([POINTER(c_int), POINTER(c_char_p), POINTER(c_int), POINTER(c_double), POINTER(c_double),
                             POINTER(c_double), c_size_t], c_int),
    "scorecam_explainer_get_map_size": (
        [POINTER(c_int64), POINTER(c_int64), c_void_p, c_int64, c_int64, c_int64, c_int64], c_int),
    "scorecam_explainer_compute": (
        [_float_p, c_size_t, c_void_p, _float_p, c_int64, c_int64, c_int64, c_int64,
         _float_p, c_int64, c_int64, c_int64, _int64_p, c_size_t], c_int),
    "scorecam_explainer_get_detail_counts": ([POINTER(c_size_t), POINTER(c_size_t), c_void_p, c_int64], c_int),
    "scorecam_explainer_get_details": ([_int64_p, _float_p, _float_p, _float_p, c_size_t, c_void_p, c_int64], c_int),
    "scorecam_explainer_evaluate": (
        [POINTER(c_double), c_size_t, c_void_p, c_int, _float_p, c_int64, c_int64, c_int64, c_int64,
         _float_p, c_int64, c_int64, _int64_p, c_size_t], c_int),
    "scorecam_explainer_set_channels": ([c_void_p, _int64_p, c_size_t], c_int),
    "scorecam_explainer_get_channel_count": ([POINTER(c_size_t), c_void_p], c_int),
    "scorecam_explainer_make_masks": (
        [_float_p, c_size_t, c_void_p, _float_p, c_int64, c_int64, c_int64,
         _float_p, c_int64, c_int64, c_int64, _int64_p, c_size_t], c_int),
}


class LibraryError(ImportError):
    """libscorecam could not be found, loaded, or is the wrong version."""


VERSION = _binding_version()
VERSION_NUMBER = VERSION[0] * 10000 + VERSION[1] * 100 + VERSION[2]


def _candidates() -> list[pathlib.Path]:
    override = os.environ.get("SCORECAM_LIBRARY")
    if override:
        return [pathlib.Path(override)]
    found = [_HERE / "libscorecam.so", *sorted(_HERE.glob("libscorecam.so.*"))]
    if _CHECKOUT is not None:
        found.append(_CHECKOUT / "build" / "lib" / "libscorecam.so")
    return found


def _load() -> ctypes.CDLL:
    candidates = _candidates()
    path = next((p for p in candidates if p.is_file()), None)
    if path is None:
        raise LibraryError(
            "libscorecam not found (looked at: " + ", ".join(map(str, candidates)) + "). "
            "Install a scorecam wheel (it contains the library), build from source with Swift 6.x "
            "(`pip install ./bindings/python` in the scorecam repository; `make lib` for a checkout), "
            "or point SCORECAM_LIBRARY at a built libscorecam.so.")
    try:
        lib = ctypes.CDLL(str(path))
    except OSError as error:
        raise LibraryError(f"cannot load {path}: {error}") from error
    for name, (argtypes, restype) in _SIGNATURES.items():
        try:
            function = getattr(lib, name)
        except AttributeError as error:
            raise LibraryError(f"{path} lacks {name}: it is not a compatible libscorecam") from error
        function.argtypes = argtypes
        function.restype = restype
    if not compatible(lib.scorecam_version_number(), VERSION_NUMBER):
        raise LibraryError(
            f"{path} is libscorecam {lib.scorecam_version_string().decode()}, but this binding needs "
            f"{VERSION[0]}.x at least {'.'.join(map(str, VERSION))} (the same major version, at least "
            "as new): reinstall the package or fix SCORECAM_LIBRARY")
    return lib


_lib: ctypes.CDLL | None = None
_lock = threading.Lock()


def lib() -> ctypes.CDLL:
    """The loaded library (loaded on first use, so `import scorecam` never fails for lack of it)."""
    global _lib
    with _lock:
        if _lib is None:
            _lib = _load()
        return _lib
