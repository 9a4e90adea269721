// scorecam.hpp — header-only C++17 wrapper over the C ABI of libscorecam (include/scorecam.h).
//
// Modelled on onnxruntime_cxx_api.h:
//   - scorecam::Explainer is a move-only RAII owner of a scorecam_explainer handle.
//   - Every failing C call becomes a scorecam::Error (a std::runtime_error) carrying the status and
//     the engine's message. Define SCORECAM_NO_EXCEPTIONS before including this header to print the
//     message to stderr and std::abort() instead; it is defined for you under -fno-exceptions.
//     (If exceptions are compiled in, an exception thrown by your own callback is still rethrown
//     by compute(): it is yours, not the wrapper's.)
//   - Both are the default of one macro, SCORECAM_CXX_API_THROW(status, message) (int status,
//     const std::string &message): define it before including this header to report failures your
//     own way (throw your own type, log, abort). If it returns, the wrapper aborts.
//   - Explainer(nullptr) holds no handle; release() hands the handle back and leaves the object so.
//     Using an explainer without a handle fails with SCORECAM_E_NULL_POINTER.
//   - Callbacks are std::function objects. Their trampolines never let an exception reach C: it is
//     caught, the run ends, and compute() rethrows that very exception (its original type) once the
//     C call has returned. The explainer stays usable afterwards.
//   - No math here: everything is forwarded to the C API. The wrapper only checks that std::vector
//     arguments hold as many floats as the shapes they come with say (the C API cannot know that).
//
// Threads: as for the C API, one Explainer is used by one thread at a time; separate Explainers may
// run in parallel. Callbacks run on the thread that called compute().
//
// Link with -lscorecam.
#ifndef SCORECAM_HPP
#define SCORECAM_HPP

#include "scorecam.h"

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <functional>
#include <initializer_list>
#include <memory>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#if defined(__cpp_exceptions) || defined(__EXCEPTIONS) || defined(_CPPUNWIND)
#define SCORECAM_CXX_HAS_EXCEPTIONS 1
#else
#define SCORECAM_CXX_HAS_EXCEPTIONS 0
#endif

#if !SCORECAM_CXX_HAS_EXCEPTIONS && !defined(SCORECAM_NO_EXCEPTIONS)
#define SCORECAM_NO_EXCEPTIONS
#endif

// How the wrapper reports a failure (see the top of this file); yours if defined before this header.
#ifndef SCORECAM_CXX_API_THROW
#ifdef SCORECAM_NO_EXCEPTIONS
#define SCORECAM_CXX_API_THROW(status, message) ::scorecam::detail::print_and_abort((status), (message))
#else
#define SCORECAM_CXX_API_THROW(status, message) throw ::scorecam::Error((status), (message))
#endif
#endif

namespace scorecam {

// ---- enums mirroring the C values ---------------------------------------------------------------

enum class Status : int {
    Ok = SCORECAM_OK,
    NullPointer = SCORECAM_E_NULL_POINTER,
    InvalidArgument = SCORECAM_E_INVALID_ARGUMENT,
    Shape = SCORECAM_E_SHAPE,
    NonFinite = SCORECAM_E_NON_FINITE,
    BufferTooSmall = SCORECAM_E_BUFFER_TOO_SMALL,
    NoForward = SCORECAM_E_NO_FORWARD,
    Callback = SCORECAM_E_CALLBACK,
    Cancelled = SCORECAM_E_CANCELLED,
    Degenerate = SCORECAM_E_DEGENERATE,
    OutOfMemory = SCORECAM_E_OUT_OF_MEMORY,
    NoResult = SCORECAM_E_NO_RESULT
};

enum class Param : int {
    BatchSize = SCORECAM_PARAM_BATCH_SIZE,
    Upsample = SCORECAM_PARAM_UPSAMPLE,
    Selection = SCORECAM_PARAM_SELECTION,
    SelectionCount = SCORECAM_PARAM_SELECTION_COUNT,
    SkipConstant = SCORECAM_PARAM_SKIP_CONSTANT,
    NormEps = SCORECAM_PARAM_NORM_EPS,
    Weighting = SCORECAM_PARAM_WEIGHTING,
    SubtractBase = SCORECAM_PARAM_SUBTRACT_BASE,
    Score = SCORECAM_PARAM_SCORE,
    Baseline = SCORECAM_PARAM_BASELINE,
    NormalizeMap = SCORECAM_PARAM_NORMALIZE_MAP,
    Threads = SCORECAM_PARAM_THREADS,
    NormalizeMaskFirst = SCORECAM_PARAM_NORMALIZE_MASK_FIRST,
    ReluBeforeUpsampling = SCORECAM_PARAM_RELU_BEFORE_UPSAMPLING,
    MapUpsample = SCORECAM_PARAM_MAP_UPSAMPLE,
    MapAtActivationSize = SCORECAM_PARAM_MAP_AT_ACTIVATION_SIZE,
    NormalizeLowMap = SCORECAM_PARAM_NORMALIZE_LOW_MAP,
    MapEps = SCORECAM_PARAM_MAP_EPS,
    Method = SCORECAM_PARAM_METHOD,
    Samples = SCORECAM_PARAM_SAMPLES,
    NoiseStd = SCORECAM_PARAM_NOISE_STD,
    Seed = SCORECAM_PARAM_SEED,
    AdaptiveTolerance = SCORECAM_PARAM_ADAPTIVE_TOLERANCE,
    AdaptiveStep = SCORECAM_PARAM_ADAPTIVE_STEP,
    MetricScore = SCORECAM_PARAM_METRIC_SCORE,
    MetricSteps = SCORECAM_PARAM_METRIC_STEPS,
    MetricBaseline = SCORECAM_PARAM_METRIC_BASELINE,
    BatchMemory = SCORECAM_PARAM_BATCH_MEMORY
};

// One row of the library's parameter table (scorecam_param_info): what the engine accepts.
struct ParamInfo {
    int param;            // SCORECAM_PARAM_<NAME>
    std::string name;     // <name> in lower case, e.g. "norm_eps": the name set_param takes
    int kind;             // enum scorecam_param_kind
    double min, max, default_value;
};

// Every parameter of the loaded library, as it describes them.
inline std::vector<ParamInfo> param_table() {
    std::vector<ParamInfo> table;
    const std::string prefix = "SCORECAM_PARAM_";
    for (size_t i = 0, n = scorecam_param_count(); i < n; i++) {
        ParamInfo info{};
        const char *name = nullptr;
        if (scorecam_param_info(&info.param, &name, &info.kind, &info.min, &info.max, &info.default_value, i) !=
                SCORECAM_OK || name == nullptr)
            continue;
        std::string lower(name);
        if (lower.compare(0, prefix.size(), prefix) == 0) lower.erase(0, prefix.size());
        for (char &ch : lower) ch = static_cast<char>(ch >= 'A' && ch <= 'Z' ? ch - 'A' + 'a' : ch);
        info.name = lower;
        table.push_back(std::move(info));
    }
    return table;
}

enum class Method : int {
    ScoreCAM = SCORECAM_METHOD_SCORE_CAM,
    SSCAM = SCORECAM_METHOD_SS_CAM,
    ISCAM = SCORECAM_METHOD_IS_CAM
};

enum class Metric : int {
    AverageDrop = SCORECAM_METRIC_AVERAGE_DROP,
    IncreaseInConfidence = SCORECAM_METRIC_INCREASE_IN_CONFIDENCE,
    Insertion = SCORECAM_METRIC_INSERTION,
    Deletion = SCORECAM_METRIC_DELETION
};

enum class Upsample : int {
    AsMasks = SCORECAM_UPSAMPLE_AS_MASKS, // MapUpsample only
    Bicubic = SCORECAM_UPSAMPLE_BICUBIC,
    Bilinear = SCORECAM_UPSAMPLE_BILINEAR,
    BilinearAlignCorners = SCORECAM_UPSAMPLE_BILINEAR_ALIGN_CORNERS
};

enum class Selection : int {
    All = SCORECAM_SELECTION_ALL,
    Max = SCORECAM_SELECTION_MAX,
    Std = SCORECAM_SELECTION_STD
};

enum class Weighting : int {
    Softmax = SCORECAM_WEIGHTING_SOFTMAX,
    Raw = SCORECAM_WEIGHTING_RAW
};

enum class Score : int {
    Logit = SCORECAM_SCORE_LOGIT,
    Softmax = SCORECAM_SCORE_SOFTMAX
};

// ---- errors -------------------------------------------------------------------------------------

// A short static name for a status, e.g. "SCORECAM_E_SHAPE: bad dimensions".
inline const char *status_string(int status) noexcept { return scorecam_status_string(status); }
inline const char *status_string(Status status) noexcept {
    return scorecam_status_string(static_cast<int>(status));
}

// The message of the last failing C call on this thread ("" if none).
inline std::string last_error() { return scorecam_last_error(); }

// A failing C call: what() is the engine's message (or the status name when the engine gave none).
class Error : public std::runtime_error {
public:
    Error(int status, const std::string &message)
        : std::runtime_error(message.empty() ? std::string(scorecam_status_string(status)) : message),
          status_(status) {}

    // The SCORECAM_* status (negative).
    int status() const noexcept { return status_; }
    Status code() const noexcept { return static_cast<Status>(status_); }
    // The static name of the status, e.g. "SCORECAM_E_CANCELLED: ...".
    const char *status_name() const noexcept { return scorecam_status_string(status_); }

private:
    int status_;
};

namespace detail {

// SCORECAM_CXX_API_THROW under SCORECAM_NO_EXCEPTIONS: the message on stderr, then abort.
[[noreturn]] inline void print_and_abort(int status, const std::string &message) noexcept {
    std::fprintf(stderr, "scorecam: %s: %s\n", scorecam_status_string(status),
                 message.empty() ? "(no message)" : message.c_str());
    std::fflush(stderr);
    std::abort();
}

// Reports a failure through SCORECAM_CXX_API_THROW; never returns, even if that macro does.
[[noreturn]] inline void fail(int status, const std::string &message) {
    SCORECAM_CXX_API_THROW(status, message);
    std::abort();
}

// A parameter's value (a double) as T: an enum of this header, bool, an integer or a floating type.
template <class T> T param_as(double value) {
    if constexpr (std::is_enum_v<T>) {
        return static_cast<T>(static_cast<std::underlying_type_t<T>>(value));
    } else if constexpr (std::is_same_v<T, bool>) {
        return value != 0;
    } else {
        static_assert(std::is_arithmetic_v<T>, "get_param<T>: T is an enum, bool or a number");
        return static_cast<T>(value);
    }
}

// The message of a failure on `handle`, falling back to the thread's.
inline std::string message_for(const scorecam_explainer *handle) {
    const char *message = handle != nullptr ? scorecam_explainer_last_error(handle) : "";
    if (message == nullptr || *message == '\0') message = scorecam_last_error();
    return message != nullptr ? std::string(message) : std::string();
}

inline void check(int status, const scorecam_explainer *handle) {
    if (status != SCORECAM_OK) fail(status, message_for(handle));
}

// n0 * n1 * ... as size_t; false if a factor is not positive or the product overflows.
inline bool checked_product(std::size_t *out, std::initializer_list<int64_t> factors) noexcept {
    std::size_t product = 1;
    for (int64_t f : factors) {
        if (f <= 0) return false;
        const auto u = static_cast<std::size_t>(f);
        if (static_cast<int64_t>(u) != f || product > SIZE_MAX / u) return false; // truncated or overflowing
        product *= u;
    }
    *out = product;
    return true;
}

} // namespace detail

// ---- version ------------------------------------------------------------------------------------

// The version of the library actually loaded, "MAJOR.MINOR.PATCH".
inline std::string version() { return scorecam_version_string(); }
// MAJOR * 10000 + MINOR * 100 + PATCH of the library actually loaded.
inline int version_number() noexcept { return scorecam_version_number(); }
// The version this header was compiled against.
constexpr int header_version_number() noexcept { return SCORECAM_VERSION_NUMBER; }

// Whether a library of version `loaded` serves code compiled against `compiled` (both
// MAJOR * 10000 + MINOR * 100 + PATCH): the header's rule, SCORECAM_VERSION_COMPATIBLE.
constexpr bool version_compatible(int loaded, int compiled) noexcept {
    return SCORECAM_VERSION_COMPATIBLE(loaded, compiled);
}

// Fails (scorecam::Error, status SCORECAM_E_INVALID_ARGUMENT) unless the loaded library is
// compatible with the header this code was compiled against. Explainer's constructor calls it.
inline void check_version() {
    const int loaded = scorecam_version_number();
    if (!version_compatible(loaded, SCORECAM_VERSION_NUMBER)) {
        detail::fail(SCORECAM_E_INVALID_ARGUMENT,
                     std::string("libscorecam ") + scorecam_version_string() +
                         " is not compatible with this program, compiled against " +
                         std::to_string(SCORECAM_VERSION_MAJOR) + "." + std::to_string(SCORECAM_VERSION_MINOR) + "." +
                         std::to_string(SCORECAM_VERSION_PATCH) + ": it needs the same major version, at least as new");
    }
}

// ---- value types --------------------------------------------------------------------------------

// The dimensions of an NCHW float32 tensor: {n, c, h, w}.
struct Shape {
    int64_t n = 0, c = 0, h = 0, w = 0;
};

// The per-channel intermediates of one image of the last successful compute.
struct Details {
    std::size_t num_channels = 0;       // K' after selection
    std::size_t num_targets = 0;        // T
    std::vector<int64_t> channels;      // K': channel indices into the activations, in processing order
    std::vector<float> scores;          // K' x T: score of each masked image (before subtracting the base)
    std::vector<float> weights;         // K' x T: weight of each channel for each target
    std::vector<float> base_scores;     // T: the unmasked input's score; NaN when it was not needed
};

struct DetailCounts {
    std::size_t num_channels = 0;
    std::size_t num_targets = 0;
};

// images: n x c x h x w masked images; write n x output_dim floats into outputs. Throw to fail.
using ForwardFn = std::function<void(const float *images, int64_t n, int64_t c, int64_t h, int64_t w,
                                     float *outputs, int64_t output_dim)>;
// outputs: n x output_dim; write n x num_targets floats into scores. targets is what compute got.
using ScoringFn = std::function<void(const float *outputs, int64_t n, int64_t output_dim,
                                     const int64_t *targets, std::size_t num_targets, float *scores)>;
// Masks mode (a device host): masks n x 1 x h x w, images[i] the index into input (b x c x h x w,
// the same pointer for the whole compute) that mask i applies to; form baseline + (input[images[i]]
// - baseline) * masks[i] on the device, write n x output_dim floats into outputs. Throw to fail.
using MasksForwardFn = std::function<void(const float *masks, const int64_t *images, int64_t n, const float *input,
                                          int64_t b, int64_t c, int64_t h, int64_t w, float *outputs,
                                          int64_t output_dim)>;
// Called after every batch; return false to cancel the run (compute then fails with Cancelled).
using ProgressFn = std::function<bool(std::size_t done, std::size_t total)>;

// ---- explainer ----------------------------------------------------------------------------------

class Explainer {
public:
    // Creates an explainer with the "seed" preset. Fails if the loaded library is incompatible
    // (another major version, or older than the header).
    Explainer() : state_(new CallbackState()) {
        check_version();
        scorecam_explainer *handle = nullptr;
        const int status = scorecam_explainer_create(&handle);
        if (status != SCORECAM_OK) detail::fail(status, detail::message_for(nullptr));
        handle_ = handle;
    }

    // Creates an explainer and applies a named preset.
    explicit Explainer(const std::string &preset) : Explainer() { set_preset(preset); }

    // An explainer holding no handle (as onnxruntime's Ort::Session(nullptr)): it may be destroyed,
    // assigned to or tested; anything else fails with SCORECAM_E_NULL_POINTER.
    explicit Explainer(std::nullptr_t) noexcept {}

    // Takes ownership of a handle from scorecam_explainer_create (or release()); nullptr: empty.
    explicit Explainer(scorecam_explainer *handle) : state_(new CallbackState()), handle_(handle) {}

    ~Explainer() { scorecam_explainer_destroy(handle_); }

    Explainer(const Explainer &) = delete;
    Explainer &operator=(const Explainer &) = delete;

    // The moved-from explainer owns nothing; it may only be destroyed, assigned to, or tested.
    Explainer(Explainer &&other) noexcept
        : state_(std::move(other.state_)), handle_(std::exchange(other.handle_, nullptr)) {}

    Explainer &operator=(Explainer &&other) noexcept {
        if (this != &other) {
            scorecam_explainer_destroy(handle_);
            handle_ = std::exchange(other.handle_, nullptr);
            state_ = std::move(other.state_);
        }
        return *this;
    }

    // False for an explainer without a handle: Explainer(nullptr), moved-from or released.
    explicit operator bool() const noexcept { return handle_ != nullptr; }
    // The C handle, still owned by this object (callbacks registered through it are not tracked).
    scorecam_explainer *get() const noexcept { return handle_; }

    // Hands the C handle to the caller, who now owns it (scorecam_explainer_destroy), and leaves this
    // object empty. The callbacks set through this object die with it, so they are unset on the
    // handle first; its parameters, preset and channels stay.
    scorecam_explainer *release() noexcept {
        if (handle_ != nullptr && state_) {
            if (state_->forward) scorecam_explainer_set_forward(handle_, nullptr, 0, nullptr);
            if (state_->masks_forward) scorecam_explainer_set_masks_forward(handle_, nullptr, 0, nullptr);
            if (state_->scoring) scorecam_explainer_set_scoring(handle_, nullptr, nullptr);
            if (state_->progress) scorecam_explainer_set_progress(handle_, nullptr, nullptr);
        }
        state_.reset();
        return std::exchange(handle_, nullptr);
    }
    // The message of the last failing call on this handle ("" if the last call succeeded).
    std::string last_error() const { return scorecam_explainer_last_error(handle_); }

    // ---- callbacks ----

    // Registers the model; output_dim is the length of one output row. An empty fn unsets it.
    Explainer &set_forward(ForwardFn fn, int64_t output_dim) {
        return install<scorecam_forward_fn, &CallbackState::forward>(std::move(fn), [&](auto c_fn, void *data) {
            return scorecam_explainer_set_forward(handle_, c_fn, output_dim, data);
        });
    }

    // Unsets the model (compute then fails with NoForward).
    Explainer &set_forward(std::nullptr_t) { return set_forward(ForwardFn(), 0); }

    // Registers a scoring callback; an empty fn restores the default scoring (PARAM_SCORE).
    Explainer &set_scoring(ScoringFn fn) {
        return install<scorecam_scoring_fn, &CallbackState::scoring>(std::move(fn), [&](auto c_fn, void *data) {
            return scorecam_explainer_set_scoring(handle_, c_fn, data);
        });
    }

    // Masks mode: compute calls fn with masks instead of the forward with masked images (evaluate
    // still uses the forward). An empty fn unsets it.
    Explainer &set_masks_forward(MasksForwardFn fn, int64_t output_dim) {
        return install<scorecam_masks_forward_fn, &CallbackState::masks_forward>(
            std::move(fn), [&](auto c_fn, void *data) {
                return scorecam_explainer_set_masks_forward(handle_, c_fn, output_dim, data);
            });
    }

    // Registers a progress callback (return false to cancel); an empty fn removes it.
    Explainer &set_progress(ProgressFn fn) {
        return install<scorecam_progress_fn, &CallbackState::progress>(std::move(fn), [&](auto c_fn, void *data) {
            return scorecam_explainer_set_progress(handle_, c_fn, data);
        });
    }

    // ---- parameters ----
    // Every parameter through set_param / get_param, by Param or by the library's own name; no
    // per-parameter accessors: the library's table (param_table()) stays the one list of them.

    Explainer &set_param(Param param, double value) {
        require_handle();
        detail::check(scorecam_explainer_set_param(handle_, static_cast<int>(param), value), handle_);
        return *this;
    }

    double get_param(Param param) const {
        require_handle();
        double value = 0;
        detail::check(scorecam_explainer_get_param(&value, handle_, static_cast<int>(param)), handle_);
        return value;
    }

    // By the library's own name of the parameter (param_table(): "norm_eps", "batch_memory", ...),
    // as the Python binding spells them; an unknown name is SCORECAM_E_INVALID_ARGUMENT.
    Explainer &set_param(const std::string &name, double value) { return set_param(param_named(name), value); }
    double get_param(const std::string &name) const { return get_param(param_named(name)); }

    // An enum value of this header: set_param(Param::Upsample, Upsample::Bilinear).
    template <class E, class = std::enable_if_t<std::is_enum_v<E>>> Explainer &set_param(Param param, E value) {
        return set_param(param, static_cast<double>(static_cast<std::underlying_type_t<E>>(value)));
    }
    template <class E, class = std::enable_if_t<std::is_enum_v<E>>>
    Explainer &set_param(const std::string &name, E value) {
        return set_param(param_named(name), value);
    }

    // The value as T, an enum of this header, bool or a number: get_param<Upsample>(Param::Upsample).
    template <class T> T get_param(Param param) const { return detail::param_as<T>(get_param(param)); }
    template <class T> T get_param(const std::string &name) const { return detail::param_as<T>(get_param(name)); }

    static Param param_named(const std::string &name) {
        for (const ParamInfo &info : param_table())
            if (info.name == name) return static_cast<Param>(info.param);
        detail::fail(SCORECAM_E_INVALID_ARGUMENT, "unknown parameter \"" + name + "\"");
    }

    // Sets every parameter but BatchSize and Threads to a named preset: "seed", "gradcam",
    // "torchcam", "paper".
    Explainer &set_preset(const std::string &name) {
        require_handle();
        detail::check(scorecam_explainer_set_preset(handle_, name.c_str()), handle_);
        return *this;
    }

    // CSKIP (the Python binding's cskip): the top k channels by spatial max (Selection Max, count k).
    Explainer &set_cskip(int64_t k) {
        return set_param(Param::SelectionCount, static_cast<double>(k)).set_param(Param::Selection, Selection::Max);
    }

    // Explains exactly these channels of every image, in this order (e.g. ranked by the host's own
    // sort), instead of the engine's selection; an empty list restores the engine's selection.
    Explainer &set_channels(const std::vector<int64_t> &channels) {
        require_handle();
        detail::check(scorecam_explainer_set_channels(handle_, channels.empty() ? nullptr : channels.data(),
                                                      channels.size()), handle_);
        return *this;
    }
    // The number of explicit channels set (0: the engine selects).
    std::size_t channel_count() const {
        require_handle();
        std::size_t count = 0;
        detail::check(scorecam_explainer_get_channel_count(&count, handle_), handle_);
        return count;
    }

    // The size of the maps compute writes for h x w inputs and ah x aw activations.
    std::pair<int64_t, int64_t> map_size(int64_t h, int64_t w, int64_t ah, int64_t aw) const {
        require_handle();
        int64_t map_h = 0, map_w = 0;
        detail::check(scorecam_explainer_get_map_size(&map_h, &map_w, handle_, h, w, ah, aw), handle_);
        return {map_h, map_w};
    }

    // ---- compute ----

    // The C call as is: maps receives b x num_targets x h x w floats (maps_capacity available).
    // targets may be nullptr only with a scoring callback.
    void compute(float *maps, std::size_t maps_capacity, const float *input, int64_t b, int64_t c, int64_t h,
                 int64_t w, const float *activations, int64_t k, int64_t ah, int64_t aw, const int64_t *targets,
                 std::size_t num_targets) {
        require_handle();
        state_->error = nullptr;
        const int status = scorecam_explainer_compute(maps, maps_capacity, handle_, input, b, c, h, w, activations,
                                                      k, ah, aw, targets, num_targets);
        finish(status);
    }

    // The C call as is, each image its own targets: targets holds b x targets_per_image values
    // (image i's from i x targets_per_image); maps as for compute. Their forward batches are shared.
    void compute_per_image(float *maps, std::size_t maps_capacity, const float *input, int64_t b, int64_t c,
                           int64_t h, int64_t w, const float *activations, int64_t k, int64_t ah, int64_t aw,
                           const int64_t *targets, std::size_t targets_per_image) {
        require_handle();
        state_->error = nullptr;
        const int status = scorecam_explainer_compute_per_image(maps, maps_capacity, handle_, input, b, c, h, w,
                                                                activations, k, ah, aw, targets, targets_per_image);
        finish(status);
    }

    // As compute below, each image its own targets: targets.size() is b x targets_per_image.
    std::vector<float> compute_per_image(const std::vector<float> &input, const Shape &input_shape,
                                         const std::vector<float> &activations, const Shape &activations_shape,
                                         const std::vector<int64_t> &targets, std::size_t targets_per_image) {
        require_table(input_shape, targets, targets_per_image);
        std::vector<float> maps;
        compute_into(maps, input, input_shape, activations, activations_shape, targets.data(), targets_per_image,
                     true);
        return maps;
    }

    // input: input_shape {b, c, h, w}; activations: activations_shape {b, k, ah, aw}.
    // Returns the maps, b x targets.size() x map_h x map_w floats (see map_size).
    std::vector<float> compute(const std::vector<float> &input, const Shape &input_shape,
                               const std::vector<float> &activations, const Shape &activations_shape,
                               const std::vector<int64_t> &targets) {
        std::vector<float> maps;
        const int64_t no_targets = 0;
        compute_into(maps, input, input_shape, activations, activations_shape,
                     targets.empty() ? &no_targets : targets.data(), targets.size());
        return maps;
    }

    // As above, writing into `maps` (resized to b x num_targets x map_h x map_w). targets may be nullptr
    // only with a scoring callback; num_targets is then the number of scores it writes per image.
    // per_image: targets holds b x num_targets values (compute_per_image).
    void compute_into(std::vector<float> &maps, const std::vector<float> &input, const Shape &input_shape,
                      const std::vector<float> &activations, const Shape &activations_shape,
                      const int64_t *targets, std::size_t num_targets, bool per_image = false) {
        std::size_t input_size = 0, activations_size = 0, maps_size = 0;
        if (!detail::checked_product(&input_size, {input_shape.n, input_shape.c, input_shape.h, input_shape.w})) {
            detail::fail(SCORECAM_E_SHAPE, "input shape has a non-positive or overflowing dimension");
        }
        if (!detail::checked_product(&activations_size, {activations_shape.n, activations_shape.c,
                                                         activations_shape.h, activations_shape.w})) {
            detail::fail(SCORECAM_E_SHAPE, "activations shape has a non-positive or overflowing dimension");
        }
        if (input.size() != input_size) {
            detail::fail(SCORECAM_E_SHAPE, "input holds " + std::to_string(input.size()) + " floats, its shape says " +
                                               std::to_string(input_size));
        }
        if (activations.size() != activations_size) {
            detail::fail(SCORECAM_E_SHAPE, "activations hold " + std::to_string(activations.size()) +
                                               " floats, their shape says " + std::to_string(activations_size));
        }
        if (activations_shape.n != input_shape.n) {
            detail::fail(SCORECAM_E_SHAPE, "input has " + std::to_string(input_shape.n) + " images, activations " +
                                               std::to_string(activations_shape.n));
        }
        const std::pair<int64_t, int64_t> size = map_size(input_shape.h, input_shape.w, activations_shape.h,
                                                          activations_shape.w);
        if (num_targets > static_cast<std::size_t>(INT64_MAX) ||
            !detail::checked_product(&maps_size, {input_shape.n, static_cast<int64_t>(num_targets), size.first,
                                                  size.second})) {
            maps_size = 0; // no targets, or too many: let the engine name the problem
        }
        // Never hand the engine a NULL for an empty vector: it would report the pointer, not the count.
        float no_maps = 0;
        std::vector<float> result(maps_size);
        float *out = result.empty() ? &no_maps : result.data();
        if (per_image) {
            compute_per_image(out, result.size(), input.data(), input_shape.n, input_shape.c, input_shape.h,
                              input_shape.w, activations.data(), activations_shape.c, activations_shape.h,
                              activations_shape.w, targets, num_targets);
        } else {
            compute(out, result.size(), input.data(), input_shape.n, input_shape.c, input_shape.h, input_shape.w,
                    activations.data(), activations_shape.c, activations_shape.h, activations_shape.w, targets,
                    num_targets);
        }
        maps.swap(result);
    }

    // ---- metrics ----

    // One value per image and map: maps is b x num_targets x map_h x map_w (as compute returns it)
    // for input b x c x h x w. See scorecam_explainer_evaluate for the definitions.
    std::vector<double> evaluate(Metric metric, const std::vector<float> &input, const Shape &input_shape,
                                 const std::vector<float> &maps, int64_t map_h, int64_t map_w,
                                 const std::vector<int64_t> &targets) {
        return evaluate_checked(metric, input, input_shape, maps, map_h, map_w, targets, targets.size(), false);
    }

    // As evaluate, each image its own targets: targets.size() is b x targets_per_image, maps
    // b x targets_per_image x map_h x map_w.
    std::vector<double> evaluate_per_image(Metric metric, const std::vector<float> &input, const Shape &input_shape,
                                           const std::vector<float> &maps, int64_t map_h, int64_t map_w,
                                           const std::vector<int64_t> &targets, std::size_t targets_per_image) {
        require_table(input_shape, targets, targets_per_image);
        return evaluate_checked(metric, input, input_shape, maps, map_h, map_w, targets, targets_per_image, true);
    }

private:
    // Per-image targets: images x targets_per_image values, at least one per image.
    static void require_table(const Shape &input_shape, const std::vector<int64_t> &targets,
                              std::size_t targets_per_image) {
        if (input_shape.n <= 0 || targets_per_image == 0 ||
            targets.size() / targets_per_image != static_cast<std::size_t>(input_shape.n) ||
            targets.size() % targets_per_image != 0) {
            detail::fail(SCORECAM_E_INVALID_ARGUMENT, "targets must hold images x targets_per_image values, got " +
                                                          std::to_string(targets.size()));
        }
    }

    std::vector<double> evaluate_checked(Metric metric, const std::vector<float> &input, const Shape &input_shape,
                                         const std::vector<float> &maps, int64_t map_h, int64_t map_w,
                                         const std::vector<int64_t> &targets, std::size_t targets_per_image,
                                         bool per_image) {
        require_handle();
        std::size_t input_size = 0, maps_size = 0, values_size = 0;
        const int64_t num_targets = static_cast<int64_t>(targets_per_image);
        if (!detail::checked_product(&input_size, {input_shape.n, input_shape.c, input_shape.h, input_shape.w}) ||
            input.size() != input_size) {
            detail::fail(SCORECAM_E_SHAPE, "input does not match its shape");
        }
        if (!detail::checked_product(&maps_size, {input_shape.n, num_targets, map_h, map_w}) ||
            maps.size() != maps_size) {
            detail::fail(SCORECAM_E_SHAPE, "maps must hold images x targets x map_h x map_w floats");
        }
        detail::checked_product(&values_size, {input_shape.n, num_targets});
        std::vector<double> values(values_size);
        state_->error = nullptr;
        const int status = (per_image ? scorecam_explainer_evaluate_per_image : scorecam_explainer_evaluate)(
            values.data(), values.size(), handle_, static_cast<int>(metric), input.data(), input_shape.n, input_shape.c,
            input_shape.h, input_shape.w, maps.data(), map_h, map_w, targets.data(), targets_per_image);
        finish(status);
        return values;
    }

public:

    // ---- details of the last successful compute ----

    DetailCounts detail_counts(int64_t image) const {
        require_handle();
        DetailCounts counts;
        std::size_t channels = 0, targets = 0;
        detail::check(scorecam_explainer_get_detail_counts(&channels, &targets, handle_, image), handle_);
        counts.num_channels = channels;
        counts.num_targets = targets;
        return counts;
    }

    Details details(int64_t image) const {
        const DetailCounts counts = detail_counts(image);
        Details d;
        d.num_channels = counts.num_channels;
        d.num_targets = counts.num_targets;
        d.channels.resize(counts.num_channels);
        d.scores.resize(counts.num_channels * counts.num_targets);
        d.weights.resize(counts.num_channels * counts.num_targets);
        d.base_scores.resize(counts.num_targets);
        detail::check(scorecam_explainer_get_details(d.channels.data(), d.scores.data(), d.weights.data(),
                                                     d.base_scores.data(), counts.num_channels, handle_, image),
                      handle_);
        return d;
    }

    // ---- deprecated: per-parameter accessors ----
    // Forwards to set_param / get_param, kept so that older code compiles.
#define SCORECAM_CXX_DEPRECATED(use) [[deprecated("use " use)]]
    SCORECAM_CXX_DEPRECATED("set_param(Param::BatchSize, n)")
    Explainer &set_batch_size(int64_t n) { return set_param(Param::BatchSize, static_cast<double>(n)); }
    SCORECAM_CXX_DEPRECATED("set_param(Param::Upsample, mode)")
    Explainer &set_upsample(Upsample mode) { return set_param(Param::Upsample, mode); }
    SCORECAM_CXX_DEPRECATED("set_param(Param::Selection, mode)")
    Explainer &set_selection(Selection mode) { return set_param(Param::Selection, mode); }
    SCORECAM_CXX_DEPRECATED("set_param(Param::SelectionCount, k)")
    Explainer &set_selection_count(int64_t k) { return set_param(Param::SelectionCount, static_cast<double>(k)); }
    SCORECAM_CXX_DEPRECATED("set_param(Param::SelectionCount, k).set_param(Param::Selection, mode)")
    Explainer &set_selection(Selection mode, int64_t k) {
        return set_param(Param::SelectionCount, static_cast<double>(k)).set_param(Param::Selection, mode);
    }
    SCORECAM_CXX_DEPRECATED("set_param(Param::SkipConstant, on)")
    Explainer &set_skip_constant(bool on) { return set_param(Param::SkipConstant, on); }
    SCORECAM_CXX_DEPRECATED("set_param(Param::NormEps, eps)")
    Explainer &set_norm_eps(double eps) { return set_param(Param::NormEps, eps); }
    SCORECAM_CXX_DEPRECATED("set_param(Param::Weighting, mode)")
    Explainer &set_weighting(Weighting mode) { return set_param(Param::Weighting, mode); }
    SCORECAM_CXX_DEPRECATED("set_param(Param::SubtractBase, on)")
    Explainer &set_subtract_base(bool on) { return set_param(Param::SubtractBase, on); }
    SCORECAM_CXX_DEPRECATED("set_param(Param::Score, mode)")
    Explainer &set_score(Score mode) { return set_param(Param::Score, mode); }
    SCORECAM_CXX_DEPRECATED("set_param(Param::Baseline, b)")
    Explainer &set_baseline(double b) { return set_param(Param::Baseline, b); }
    SCORECAM_CXX_DEPRECATED("set_param(Param::NormalizeMap, on)")
    Explainer &set_normalize_map(bool on) { return set_param(Param::NormalizeMap, on); }
    SCORECAM_CXX_DEPRECATED("set_param(Param::Threads, n)")
    Explainer &set_threads(int64_t n) { return set_param(Param::Threads, static_cast<double>(n)); }
    SCORECAM_CXX_DEPRECATED("set_param(Param::Method, method)")
    Explainer &set_method(Method method) { return set_param(Param::Method, method); }
    SCORECAM_CXX_DEPRECATED("set_param(Param::Samples, n)")
    Explainer &set_samples(int64_t n) { return set_param(Param::Samples, static_cast<double>(n)); }
    SCORECAM_CXX_DEPRECATED("set_param(Param::NoiseStd, std)")
    Explainer &set_noise_std(double std) { return set_param(Param::NoiseStd, std); }
    SCORECAM_CXX_DEPRECATED("set_param(Param::Seed, seed)")
    Explainer &set_seed(int64_t seed) { return set_param(Param::Seed, static_cast<double>(seed)); }
    SCORECAM_CXX_DEPRECATED("set_param(Param::AdaptiveTolerance, t).set_param(Param::AdaptiveStep, step)")
    Explainer &set_adaptive(double tolerance, int64_t step = 8) {
        return set_param(Param::AdaptiveTolerance, tolerance).set_param(Param::AdaptiveStep, static_cast<double>(step));
    }
    SCORECAM_CXX_DEPRECATED("get_param<int64_t>(Param::BatchSize)")
    int64_t batch_size() const { return get_param<int64_t>(Param::BatchSize); }
    SCORECAM_CXX_DEPRECATED("get_param<Upsample>(Param::Upsample)")
    Upsample upsample() const { return get_param<Upsample>(Param::Upsample); }
    SCORECAM_CXX_DEPRECATED("get_param<Selection>(Param::Selection)")
    Selection selection() const { return get_param<Selection>(Param::Selection); }
    SCORECAM_CXX_DEPRECATED("get_param<int64_t>(Param::SelectionCount)")
    int64_t selection_count() const { return get_param<int64_t>(Param::SelectionCount); }
    SCORECAM_CXX_DEPRECATED("get_param<bool>(Param::SkipConstant)")
    bool skip_constant() const { return get_param<bool>(Param::SkipConstant); }
    SCORECAM_CXX_DEPRECATED("get_param(Param::NormEps)")
    double norm_eps() const { return get_param(Param::NormEps); }
    SCORECAM_CXX_DEPRECATED("get_param<Weighting>(Param::Weighting)")
    Weighting weighting() const { return get_param<Weighting>(Param::Weighting); }
    SCORECAM_CXX_DEPRECATED("get_param<bool>(Param::SubtractBase)")
    bool subtract_base() const { return get_param<bool>(Param::SubtractBase); }
    SCORECAM_CXX_DEPRECATED("get_param<Score>(Param::Score)")
    Score score() const { return get_param<Score>(Param::Score); }
    SCORECAM_CXX_DEPRECATED("get_param(Param::Baseline)")
    double baseline() const { return get_param(Param::Baseline); }
    SCORECAM_CXX_DEPRECATED("get_param<bool>(Param::NormalizeMap)")
    bool normalize_map() const { return get_param<bool>(Param::NormalizeMap); }
    SCORECAM_CXX_DEPRECATED("get_param<int64_t>(Param::Threads)")
    int64_t threads() const { return get_param<int64_t>(Param::Threads); }
    SCORECAM_CXX_DEPRECATED("get_param<Method>(Param::Method)")
    Method method() const { return get_param<Method>(Param::Method); }
#undef SCORECAM_CXX_DEPRECATED

private:
    // Lives on the heap so that user_data stays valid when the Explainer moves.
    struct CallbackState {
        ForwardFn forward;
        MasksForwardFn masks_forward;
        ScoringFn scoring;
        ProgressFn progress;
        std::exception_ptr error; // the exception a callback threw during the current compute
    };

    void require_handle() const {
        if (handle_ == nullptr) {
            detail::fail(SCORECAM_E_NULL_POINTER,
                         "scorecam::Explainer holds no handle (Explainer(nullptr), moved-from or released)");
        }
    }

    // After compute or evaluate: a callback threw, so rethrow that exception (its own type), not
    // a scorecam::Error; else the status.
    void finish(int status) {
        if (state_->error) {
            std::exception_ptr error = std::exchange(state_->error, nullptr);
#if SCORECAM_CXX_HAS_EXCEPTIONS
            std::rethrow_exception(error);
#endif
        }
        detail::check(status, handle_);
    }

    // Runs a user callback for the engine: nothing may unwind through C, so an exception is kept
    // for finish() and becomes a failing status.
    template <class Call> static int guarded(CallbackState *state, Call &&call) noexcept {
#if SCORECAM_CXX_HAS_EXCEPTIONS
        try {
            return call();
        } catch (...) {
            state->error = std::current_exception();
            return 1;
        }
#else
        (void)state;
        return call();
#endif
    }

    // Registers fn: `set(c_fn, user_data)` is the scorecam_explainer_set_* call, given fn's bridge and
    // the state, or NULLs for an empty fn (which unsets the callback). Kept only once the engine took it.
    template <class CFn, auto Member, class Fn, class Set> Explainer &install(Fn fn, Set &&set) {
        require_handle();
        const CFn c_fn = fn ? &bridge<CFn, Member>::call : nullptr;
        detail::check(set(c_fn, fn ? state_.get() : nullptr), handle_);
        state_.get()->*Member = std::move(fn);
        return *this;
    }

    // The one C trampoline: bridge<CFn, &CallbackState::fn>::call has the signature of the C callback
    // type CFn and calls state->fn with its arguments (user_data is the state). A callback returning
    // void succeeds unless it throws; one returning bool (progress) fails with false.
    template <class CFn, auto Member> struct bridge;
    template <class... Args, auto Member> struct bridge<int (*)(void *, Args...), Member> {
        static int call(void *user_data, Args... args) noexcept {
            auto *state = static_cast<CallbackState *>(user_data);
            return guarded(state, [&] {
                auto &fn = state->*Member;
                if constexpr (std::is_void_v<decltype(fn(args...))>) {
                    fn(args...);
                    return 0;
                } else {
                    return fn(args...) ? 0 : 1;
                }
            });
        }
    };

    std::unique_ptr<CallbackState> state_;
    scorecam_explainer *handle_ = nullptr;
};

} // namespace scorecam

#endif // SCORECAM_HPP
