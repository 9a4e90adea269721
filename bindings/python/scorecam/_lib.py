"""The loader of libscorecam and the ctypes declarations of include/scorecam.h: its enums, the
parameter table the library describes, the callback types, and one declaration per C function
with its C prototype above it. Nothing else: the handle is scorecam._handle, the API
scorecam.explainer.

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
import threading
from ctypes import POINTER, byref, c_char_p, c_double, c_float, c_int, c_int64, c_size_t, c_void_p

from ._deps import header_version
from .errors import LibraryError

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
    return header_version((_CHECKOUT / "include" / "scorecam.h").read_text())


def compatible(loaded: int, wanted: int) -> bool:
    """Whether a library of version number `loaded` serves a binding written for `wanted`
    (MAJOR * 10000 + MINOR * 100 + PATCH): the header's SCORECAM_VERSION_COMPATIBLE, the same
    major and not older (tests/test_version.py checks the two agree)."""
    return loaded // 10000 == wanted // 10000 and loaded >= wanted


# ---- enums (enum scorecam_status is scorecam.Status, in errors.py) ----------------------------

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

# ---- callbacks (the typedefs of include/scorecam.h) -------------------------------------------------
# typedef int (*scorecam_forward_fn)(void *user_data, const float *images, int64_t n, int64_t c,
#                                    int64_t h, int64_t w, float *outputs, int64_t output_dim);
FORWARD_FN = ctypes.CFUNCTYPE(c_int, c_void_p, _float_p, c_int64, c_int64, c_int64, c_int64, _float_p, c_int64)
# typedef int (*scorecam_scoring_fn)(void *user_data, const float *outputs, int64_t n,
#                                    int64_t output_dim, const int64_t *targets, size_t num_targets,
#                                    float *scores);
SCORING_FN = ctypes.CFUNCTYPE(c_int, c_void_p, _float_p, c_int64, c_int64, _int64_p, c_size_t, _float_p)
# typedef int (*scorecam_progress_fn)(void *user_data, size_t done, size_t total);
PROGRESS_FN = ctypes.CFUNCTYPE(c_int, c_void_p, c_size_t, c_size_t)
# typedef int (*scorecam_masks_forward_fn)(void *user_data, const float *masks, const int64_t *images,
#                                          int64_t n, const float *input, int64_t b, int64_t c,
#                                          int64_t h, int64_t w, float *outputs, int64_t output_dim);
MASKS_FORWARD_FN = ctypes.CFUNCTYPE(c_int, c_void_p, _float_p, _int64_p, c_int64, _float_p, c_int64, c_int64,
                                    c_int64, c_int64, _float_p, c_int64)

# ---- functions: each C prototype of include/scorecam.h above its ctypes declaration -------------
# (name -> (argtypes, restype)); set on the library when it is loaded.
_SIGNATURES: dict = {}


def _declare(name: str, argtypes: list, restype) -> None:
    _SIGNATURES[name] = (argtypes, restype)


# int scorecam_version_number(void);
_declare("scorecam_version_number", [], c_int)
# const char *scorecam_version_string(void);
_declare("scorecam_version_string", [], c_char_p)
# const char *scorecam_status_string(int status);
_declare("scorecam_status_string", [c_int], c_char_p)
# const char *scorecam_last_error(void);
_declare("scorecam_last_error", [], c_char_p)
# int scorecam_explainer_create(scorecam_explainer **out);
_declare("scorecam_explainer_create", [POINTER(c_void_p)], c_int)
# void scorecam_explainer_destroy(scorecam_explainer *explainer);
_declare("scorecam_explainer_destroy", [c_void_p], None)
# const char *scorecam_explainer_last_error(const scorecam_explainer *explainer);
_declare("scorecam_explainer_last_error", [c_void_p], c_char_p)
# int scorecam_explainer_set_forward(scorecam_explainer *explainer, scorecam_forward_fn fn,
#                                    int64_t output_dim, void *user_data);
_declare("scorecam_explainer_set_forward", [c_void_p, FORWARD_FN, c_int64, c_void_p], c_int)
# int scorecam_explainer_set_scoring(scorecam_explainer *explainer, scorecam_scoring_fn fn,
#                                    void *user_data);
_declare("scorecam_explainer_set_scoring", [c_void_p, SCORING_FN, c_void_p], c_int)
# int scorecam_explainer_set_progress(scorecam_explainer *explainer, scorecam_progress_fn fn,
#                                     void *user_data);
_declare("scorecam_explainer_set_progress", [c_void_p, PROGRESS_FN, c_void_p], c_int)
# int scorecam_explainer_set_masks_forward(scorecam_explainer *explainer, scorecam_masks_forward_fn fn,
#                                          int64_t output_dim, void *user_data);
_declare("scorecam_explainer_set_masks_forward", [c_void_p, MASKS_FORWARD_FN, c_int64, c_void_p], c_int)
# int scorecam_explainer_set_param(scorecam_explainer *explainer, int param, double value);
_declare("scorecam_explainer_set_param", [c_void_p, c_int, c_double], c_int)
# int scorecam_explainer_get_param(double *out, const scorecam_explainer *explainer, int param);
_declare("scorecam_explainer_get_param", [POINTER(c_double), c_void_p, c_int], c_int)
# int scorecam_explainer_set_preset(scorecam_explainer *explainer, const char *name);
_declare("scorecam_explainer_set_preset", [c_void_p, c_char_p], c_int)
# size_t scorecam_param_count(void);
_declare("scorecam_param_count", [], c_size_t)
# int scorecam_param_info(int *param, const char **name, int *kind, double *min, double *max,
#                         double *default_value, size_t index);
_declare("scorecam_param_info", [POINTER(c_int), POINTER(c_char_p), POINTER(c_int), POINTER(c_double),
                                 POINTER(c_double), POINTER(c_double), c_size_t], c_int)
# int scorecam_explainer_get_map_size(int64_t *map_h, int64_t *map_w, const scorecam_explainer *explainer,
#                                     int64_t h, int64_t w, int64_t ah, int64_t aw);
_declare("scorecam_explainer_get_map_size",
         [POINTER(c_int64), POINTER(c_int64), c_void_p, c_int64, c_int64, c_int64, c_int64], c_int)
# int scorecam_explainer_compute(float *maps, size_t maps_capacity, scorecam_explainer *explainer,
#                                const float *input, int64_t b, int64_t c, int64_t h, int64_t w,
#                                const float *activations, int64_t k, int64_t ah, int64_t aw,
#                                const int64_t *targets, size_t num_targets);
_declare("scorecam_explainer_compute",
         [_float_p, c_size_t, c_void_p, _float_p, c_int64, c_int64, c_int64, c_int64,
          _float_p, c_int64, c_int64, c_int64, _int64_p, c_size_t], c_int)
# int scorecam_explainer_compute_per_image(float *maps, size_t maps_capacity, scorecam_explainer *explainer,
#                                          const float *input, int64_t b, int64_t c, int64_t h, int64_t w,
#                                          const float *activations, int64_t k, int64_t ah, int64_t aw,
#                                          const int64_t *targets, size_t targets_per_image);
_declare("scorecam_explainer_compute_per_image",
         [_float_p, c_size_t, c_void_p, _float_p, c_int64, c_int64, c_int64, c_int64,
          _float_p, c_int64, c_int64, c_int64, _int64_p, c_size_t], c_int)
# int scorecam_explainer_get_detail_counts(size_t *num_channels, size_t *num_targets,
#                                          const scorecam_explainer *explainer, int64_t image);
_declare("scorecam_explainer_get_detail_counts", [POINTER(c_size_t), POINTER(c_size_t), c_void_p, c_int64], c_int)
# int scorecam_explainer_get_details(int64_t *channels, float *scores, float *weights,
#                                    float *base_scores, size_t capacity,
#                                    const scorecam_explainer *explainer, int64_t image);
_declare("scorecam_explainer_get_details", [_int64_p, _float_p, _float_p, _float_p, c_size_t, c_void_p, c_int64],
         c_int)
# int scorecam_explainer_evaluate(double *values, size_t capacity, scorecam_explainer *explainer, int metric,
#                                 const float *input, int64_t b, int64_t c, int64_t h, int64_t w,
#                                 const float *maps, int64_t map_h, int64_t map_w,
#                                 const int64_t *targets, size_t num_targets);
_declare("scorecam_explainer_evaluate",
         [POINTER(c_double), c_size_t, c_void_p, c_int, _float_p, c_int64, c_int64, c_int64, c_int64,
          _float_p, c_int64, c_int64, _int64_p, c_size_t], c_int)
# int scorecam_explainer_evaluate_per_image(double *values, size_t capacity, scorecam_explainer *explainer,
#                                          int metric, const float *input, int64_t b, int64_t c, int64_t h,
#                                          int64_t w, const float *maps, int64_t map_h, int64_t map_w,
#                                          const int64_t *targets, size_t targets_per_image);
_declare("scorecam_explainer_evaluate_per_image",
         [POINTER(c_double), c_size_t, c_void_p, c_int, _float_p, c_int64, c_int64, c_int64, c_int64,
          _float_p, c_int64, c_int64, _int64_p, c_size_t], c_int)
# int scorecam_explainer_set_channels(scorecam_explainer *explainer, const int64_t *channels,
#                                     size_t num_channels);
_declare("scorecam_explainer_set_channels", [c_void_p, _int64_p, c_size_t], c_int)
# int scorecam_explainer_get_channel_count(size_t *out, const scorecam_explainer *explainer);
_declare("scorecam_explainer_get_channel_count", [POINTER(c_size_t), c_void_p], c_int)
# int scorecam_explainer_make_masks(float *out, size_t capacity, const scorecam_explainer *explainer,
#                                   const float *input, int64_t c, int64_t h, int64_t w,
#                                   const float *activations, int64_t k, int64_t ah, int64_t aw,
#                                   const int64_t *channels, size_t num_channels);
_declare("scorecam_explainer_make_masks",
         [_float_p, c_size_t, c_void_p, _float_p, c_int64, c_int64, c_int64,
          _float_p, c_int64, c_int64, c_int64, _int64_p, c_size_t], c_int)


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
