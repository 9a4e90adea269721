/*
 * scorecam.h — the C ABI of libscorecam, a Score-CAM explanation engine.
 *
 * The host owns the model: it registers a forward callback (a batch of images in, model outputs
 * out) and, optionally, a scoring callback (outputs in, one score per target out). The engine owns
 * the rest: channel selection (CSKIP), upsampling, normalization, masking, batching, weighting and
 * the final maps.
 *
 * Conventions
 *   - Every fallible call returns a status: SCORECAM_OK (0) or a negative SCORECAM_E_* value.
 *     Values never change. scorecam_status_string() names a status; scorecam_last_error() (this
 *     thread) and scorecam_explainer_last_error() (one handle) give the message of the last failure.
 *     Messages belong to the library: never free them. They stay valid until the next failing call
 *     on the same thread (resp. the next call on the same handle).
 *   - Out-parameters come first. On error, out-parameters and caller buffers are left untouched.
 *   - Dimensions are int64_t, counts are size_t, strings are UTF-8.
 *   - Every buffer is float32, C-contiguous (row-major), NCHW.
 *   - Callbacks receive user_data as their first argument and return 0 on success. Any other value
 *     ends the run cleanly: compute returns SCORECAM_E_CALLBACK (forward, scoring) or
 *     SCORECAM_E_CANCELLED (progress), with nothing leaked.
 *   - Threads: an explainer must be used by one thread at a time; separate explainers may run in
 *     parallel. The forward, scoring and progress callbacks are always called on the thread that
 *     called scorecam_explainer_compute(); the engine's own worker threads never call them.
 *   - Re-entrancy: a callback may call any function on its own explainer except
 *     scorecam_explainer_destroy(). A run works on a copy of the parameters and callbacks taken
 *     when it started: set_param, set_preset and set_forward/scoring/progress made from a callback
 *     apply from the next call. A nested compute/evaluate/make_masks runs to completion on its own;
 *     afterwards the details are those of the last compute to finish. The messages of
 *     scorecam_explainer_last_error() follow the calls in the order they return.
 *   - Limits: every size is checked for overflow (SCORECAM_E_SHAPE); large allocations that fail
 *     or exceed the machine's memory return SCORECAM_E_OUT_OF_MEMORY; data so large that float32
 *     arithmetic on it would overflow (magnitudes above FLT_MAX / 4, masks scaled past it by SAMPLES or
 *     NOISE_STD, RAW weights of huge scores) is refused with a message naming it; a forward or
 *     scoring callback that leaves outputs unwritten is caught (they read as NaN). Counts given as
 *     size_t above INT64_MAX are refused (SCORECAM_E_INVALID_ARGUMENT), capacities that large are
 *     read as "enough".
 *   - Symbols are only ever added; parameter and status numbers are fixed forever.
 */
#ifndef SCORECAM_H
#define SCORECAM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- version --------------------------------------------------------------------------------- */

/* The project's one version source: the Makefile, the Swift library, the Python package and the
   C++ wrapper all read these three macros. */
#define SCORECAM_VERSION_MAJOR 0
#define SCORECAM_VERSION_MINOR 1
#define SCORECAM_VERSION_PATCH 0
/* MAJOR * 10000 + MINOR * 100 + PATCH, as returned by scorecam_version_number(). */
#define SCORECAM_VERSION_NUMBER \
    (SCORECAM_VERSION_MAJOR * 10000 + SCORECAM_VERSION_MINOR * 100 + SCORECAM_VERSION_PATCH)

/* The compatibility rule, written once for every binding: a library of version number `loaded`
   serves code written for `wanted` when both have the same major version and the library is not
   older (within one major, symbols are only ever added). */
#define SCORECAM_VERSION_COMPATIBLE(loaded, wanted) \
    ((loaded) / 10000 == (wanted) / 10000 && (loaded) >= (wanted))

/* The version of the library actually loaded; compare with SCORECAM_VERSION_NUMBER
   (SCORECAM_VERSION_COMPATIBLE(scorecam_version_number(), SCORECAM_VERSION_NUMBER)). */
int scorecam_version_number(void);
/* "MAJOR.MINOR.PATCH"; static storage. */
const char *scorecam_version_string(void);

/* ---- status ---------------------------------------------------------------------------------- */

enum scorecam_status {
    SCORECAM_OK = 0,
    SCORECAM_E_NULL_POINTER = -1,     /* a required pointer argument is NULL */
    SCORECAM_E_INVALID_ARGUMENT = -2, /* a value out of range: parameter, target, count */
    SCORECAM_E_SHAPE = -3,            /* dimensions are zero, negative, overflow, or disagree */
    SCORECAM_E_NON_FINITE = -4,       /* NaN or Inf in an input, activation or callback output */
    SCORECAM_E_BUFFER_TOO_SMALL = -5, /* an output capacity is smaller than required */
    SCORECAM_E_NO_FORWARD = -6,       /* compute called before scorecam_explainer_set_forward() */
    SCORECAM_E_CALLBACK = -7,         /* the forward or scoring callback returned non-zero */
    SCORECAM_E_CANCELLED = -8,        /* the progress callback returned non-zero */
    SCORECAM_E_DEGENERATE = -9,       /* nothing to explain: every selected channel is constant */
    SCORECAM_E_OUT_OF_MEMORY = -10,   /* an allocation failed */
    SCORECAM_E_NO_RESULT = -11        /* details asked for before a successful compute */
};

/* A short static name for a status, e.g. "SCORECAM_E_SHAPE: bad dimensions". Never NULL. */
const char *scorecam_status_string(int status);
/* The message of the last failing call made on this thread (also for calls without a handle,
 * such as a failed create). "" if none. Never NULL. */
const char *scorecam_last_error(void);

/* ---- explainer ------------------------------------------------------------------------------- */

typedef struct scorecam_explainer scorecam_explainer;

/* Creates an explainer with the "seed" preset. */
int scorecam_explainer_create(scorecam_explainer **out);
/* Destroys an explainer. Accepts NULL. */
void scorecam_explainer_destroy(scorecam_explainer *explainer);
/* The message of the last failing call on this handle; "" if the last call succeeded or if
 * explainer is NULL. Never NULL. */
const char *scorecam_explainer_last_error(const scorecam_explainer *explainer);

/* ---- callbacks ------------------------------------------------------------------------------- */

/* The model. images: n x c x h x w masked images. Write n x output_dim floats into outputs.
 * Both buffers belong to the engine and are valid only during the call. */
typedef int (*scorecam_forward_fn)(void *user_data, const float *images, int64_t n, int64_t c,
                                   int64_t h, int64_t w, float *outputs, int64_t output_dim);

/* Optional scoring. outputs: n x output_dim. Write n x num_targets floats into scores.
 * targets is the array given to compute (NULL if compute got NULL). */
typedef int (*scorecam_scoring_fn)(void *user_data, const float *outputs, int64_t n,
                                   int64_t output_dim, const int64_t *targets, size_t num_targets,
                                   float *scores);

/* Optional progress, called after every batch with the masked images done so far and in all
 * (with the adaptive channel budget, "in all" is the most the run may need; it may stop earlier).
 * Return non-zero to cancel the run. */
typedef int (*scorecam_progress_fn)(void *user_data, size_t done, size_t total);

/* Registers the model; output_dim (D) is the length of one output row. fn NULL unsets the model
 * (output_dim is then ignored). */
int scorecam_explainer_set_forward(scorecam_explainer *explainer, scorecam_forward_fn fn,
                                   int64_t output_dim, void *user_data);
/* Registers a scoring callback; NULL restores the default: targets are indices into the output
 * row (scored as SCORECAM_PARAM_SCORE says). */
int scorecam_explainer_set_scoring(scorecam_explainer *explainer, scorecam_scoring_fn fn,
                                   void *user_data);
/* Registers a progress callback; NULL removes it. */
int scorecam_explainer_set_progress(scorecam_explainer *explainer, scorecam_progress_fn fn,
                                    void *user_data);

/* -- added in 0.1: masks mode, for hosts whose model runs on a device (GPU) -- */

/* The model in masks mode: the engine hands over masks instead of masked images and the host forms
 * the masked images itself, on its device: c times fewer bytes to copy per pass, no multiply on the
 * host CPU.
 *   masks   n x 1 x h x w: mask i, normalized (with the method's noise or scale applied); the
 *           unmasked pass, when the run needs one, comes as an all-ones mask
 *   images  n indices into input: the image mask i applies to
 *   input   b x c x h x w: the input given to compute; the same pointer and contents for every
 *           call of one compute (a device host uploads it once)
 * The masked image i is baseline + (input[images[i]] - baseline) * masks[i], broadcast over the c
 * channels (baseline: SCORECAM_PARAM_BASELINE, default 0: input * mask), exactly what the forward
 * callback would receive. Write n x output_dim floats into outputs. The engine's buffers are valid
 * only during the call. */
typedef int (*scorecam_masks_forward_fn)(void *user_data, const float *masks, const int64_t *images,
                                         int64_t n, const float *input, int64_t b, int64_t c,
                                         int64_t h, int64_t w, float *outputs, int64_t output_dim);

/* Registers a masks-mode model; output_dim (D) is the length of one output row. While one is set,
 * compute calls it instead of the forward callback (which compute then does not need); evaluate
 * always uses the forward callback. fn NULL unsets it. */
int scorecam_explainer_set_masks_forward(scorecam_explainer *explainer, scorecam_masks_forward_fn fn,
                                         int64_t output_dim, void *user_data);

/* ---- parameters ------------------------------------------------------------------------------ */

/* Parameters are numbers (double); integer parameters must be given as integral values. Every range
 * below is also queryable at run time (scorecam_param_count / scorecam_param_info); a value outside
 * it, NaN or Inf is refused with SCORECAM_E_INVALID_ARGUMENT and changes nothing. Float parameters
 * (BASELINE, METRIC_BASELINE, NOISE_STD) must lie within float32's range. */
enum scorecam_param {
    SCORECAM_PARAM_BATCH_SIZE = 1,      /* masked images per forward call; >= 1; default 128 */
    SCORECAM_PARAM_UPSAMPLE = 2,        /* enum scorecam_upsample; default BICUBIC */
    SCORECAM_PARAM_SELECTION = 3,       /* enum scorecam_selection; default ALL */
    SCORECAM_PARAM_SELECTION_COUNT = 4, /* K' kept by MAX / STD selection; >= 1; default 16 */
    SCORECAM_PARAM_SKIP_CONSTANT = 5,   /* 1: drop channels with max == min; default 0 */
    SCORECAM_PARAM_NORM_EPS = 6,        /* M = (U - min) / (max - min + eps); >= 0; default 1e-10 */
    SCORECAM_PARAM_WEIGHTING = 7,       /* enum scorecam_weighting; default SOFTMAX */
    SCORECAM_PARAM_SUBTRACT_BASE = 8,   /* 1: score minus the unmasked input's score; default 1 */
    SCORECAM_PARAM_SCORE = 9,           /* enum scorecam_score (no scoring callback); default LOGIT */
    SCORECAM_PARAM_BASELINE = 10,       /* b in b + (X - b) * M; finite; default 0 */
    SCORECAM_PARAM_NORMALIZE_MAP = 11,  /* 1: min-max normalize each final map; default 0 */
    SCORECAM_PARAM_THREADS = 12,        /* worker threads building masks; 0 = all cores; default 0 */
    /* -- added in 0.1: the knobs of the other presets and methods -- */
    SCORECAM_PARAM_NORMALIZE_MASK_FIRST = 13,   /* 1: M = up((A - min) / (max - min + eps)) (torchcam); default 0 */
    SCORECAM_PARAM_RELU_BEFORE_UPSAMPLING = 14, /* 1: ReLU (and NORMALIZE_LOW_MAP) at activation resolution; default 0 */
    SCORECAM_PARAM_MAP_UPSAMPLE = 15,           /* enum scorecam_upsample for the map; default SCORECAM_UPSAMPLE_AS_MASKS */
    SCORECAM_PARAM_MAP_AT_ACTIVATION_SIZE = 16, /* 1: maps stay ah x aw (torchcam); default 0 */
    SCORECAM_PARAM_NORMALIZE_LOW_MAP = 17,      /* 1: min-max the map at activation resolution; default 0 */
    SCORECAM_PARAM_MAP_EPS = 18,                /* eps of the map normalizations (x - min) / (max - min + eps); default 0 */
    SCORECAM_PARAM_METHOD = 19,                 /* enum scorecam_method; default SCORE_CAM */
    SCORECAM_PARAM_SAMPLES = 20,                /* passes per channel for SS-CAM / IS-CAM; 0 = 35 / 10; default 0 */
    SCORECAM_PARAM_NOISE_STD = 21,              /* SS-CAM noise standard deviation; >= 0; default 2 */
    SCORECAM_PARAM_SEED = 22,                   /* SS-CAM noise seed, an integer in [0, 2^53]; default 0 */
    SCORECAM_PARAM_ADAPTIVE_TOLERANCE = 23,     /* > 0: adaptive channel budget (see below); default 0 = off */
    SCORECAM_PARAM_ADAPTIVE_STEP = 24,          /* channels per adaptive step; >= 1; default 8 */
    /* metrics (scorecam_explainer_evaluate); presets keep these, like BATCH_SIZE, THREADS and BATCH_MEMORY */
    SCORECAM_PARAM_METRIC_SCORE = 25,           /* enum scorecam_score a metric compares; default SOFTMAX */
    SCORECAM_PARAM_METRIC_STEPS = 26,           /* insertion/deletion steps; >= 1; default 20 */
    SCORECAM_PARAM_METRIC_BASELINE = 27,        /* value of removed pixels; finite; default 0 */
    /* -- added in 0.1: a bound on memory -- */
    SCORECAM_PARAM_BATCH_MEMORY = 28            /* bytes the batch buffers may hold: two batches of masked images
                                                 * (double buffering) plus their outputs and scores; the batch
                                                 * shrinks below BATCH_SIZE to fit (the forward callback then gets
                                                 * a smaller n), down to one image. The mask workers' scratch fits
                                                 * in it too (fewer workers, at least one). >= 1; default 2^30
                                                 * (1 GiB); presets keep it */
};

enum scorecam_upsample {
    SCORECAM_UPSAMPLE_AS_MASKS = -1,              /* MAP_UPSAMPLE only: the masks' upsampling */
    SCORECAM_UPSAMPLE_BICUBIC = 0,                /* PyTorch bicubic, align_corners=False, a=-0.75 */
    SCORECAM_UPSAMPLE_BILINEAR = 1,               /* PyTorch bilinear, align_corners=False */
    SCORECAM_UPSAMPLE_BILINEAR_ALIGN_CORNERS = 2  /* PyTorch bilinear, align_corners=True */
};

enum scorecam_selection {
    SCORECAM_SELECTION_ALL = 0, /* every channel, in order */
    SCORECAM_SELECTION_MAX = 1, /* CSKIP: top K' channels by spatial max, descending */
    SCORECAM_SELECTION_STD = 2  /* Faster-Score-CAM: top K' channels by spatial std, descending */
};

enum scorecam_weighting {
    SCORECAM_WEIGHTING_SOFTMAX = 0, /* softmax over channels of the scores */
    SCORECAM_WEIGHTING_RAW = 1      /* the scores themselves */
};

enum scorecam_score {
    SCORECAM_SCORE_LOGIT = 0,  /* output[target] as is */
    SCORECAM_SCORE_SOFTMAX = 1 /* softmax over the output row, at target */
};

enum scorecam_method {
    SCORECAM_METHOD_SCORE_CAM = 0, /* one masked forward per channel */
    SCORECAM_METHOD_SS_CAM = 1,    /* torchcam SS-CAM: mean score over SAMPLES noisy masks (N(0, NOISE_STD^2)) */
    SCORECAM_METHOD_IS_CAM = 2     /* torchcam IS-CAM: mean score over SAMPLES masks scaled by sum_{j<=i} j/N */
};

/*
 * The map is L = sum_k w_k A_k at activation resolution, then either
 *   ReLU(up(L)) (default: equal to ReLU(sum_k w_k up(A_k)), the seed's full-resolution sum), or
 *   up(ReLU(L)) with RELU_BEFORE_UPSAMPLING (normalized before upsampling with NORMALIZE_LOW_MAP),
 * where up is MAP_UPSAMPLE, or nothing with MAP_AT_ACTIVATION_SIZE; then min-max normalized with
 * NORMALIZE_MAP. A constant map normalizes to zeros.
 *
 * Adaptive channel budget (ADAPTIVE_TOLERANCE > 0): channels are processed in descending order of
 * the selection criterion (channel max for ALL and MAX, std for STD; at most SELECTION_COUNT for
 * MAX and STD), ADAPTIVE_STEP at a time. After each step every target's map at activation
 * resolution, ReLU'd and min-max normalized to [0, 1], is compared with the previous step's; the
 * run stops when no value moved by more than the tolerance. The details report the channels used.
 */

int scorecam_explainer_set_param(scorecam_explainer *explainer, int param, double value);
int scorecam_explainer_get_param(double *out, const scorecam_explainer *explainer, int param);

/* What values a parameter takes (scorecam_param_info). */
enum scorecam_param_kind {
    SCORECAM_PARAM_KIND_INTEGER = 0, /* a whole number in [min, max] */
    SCORECAM_PARAM_KIND_BOOLEAN = 1, /* 0 or 1 */
    SCORECAM_PARAM_KIND_CHOICE = 2,  /* a whole number naming an enum value, in [min, max] */
    SCORECAM_PARAM_KIND_REAL = 3     /* any finite number in [min, max] */
};
/* The number of parameters (added in 0.1). */
size_t scorecam_param_count(void);
/* Describes parameter number `index` (0 <= index < scorecam_param_count(); not the SCORECAM_PARAM_*
 * number, which comes back in *param): its name ("SCORECAM_PARAM_BATCH_SIZE", static storage), kind
 * (enum scorecam_param_kind), range and default. Any out-pointer may be NULL. An index out of range
 * returns SCORECAM_E_INVALID_ARGUMENT (added in 0.1). */
int scorecam_param_info(int *param, const char **name, int *kind, double *min, double *max,
                        double *default_value, size_t index);

/* Sets every parameter but BATCH_SIZE, THREADS and BATCH_MEMORY to a named preset:
 *   "seed"     tiskw/scorecam-pytorch (the default): bicubic, eps 1e-10, softmax of (score - unmasked
 *              score), map = ReLU(sum_k w_k up(A_k)), not normalized.
 *   "gradcam"  pytorch-grad-cam 1.5.7 ScoreCAM: bilinear align_corners=True, eps 1e-8, softmax of
 *              logits; ReLU at activation size, normalized (eps 1e-7), bilinear resize, normalized again.
 *   "torchcam" torchcam 0.5.0 ScoreCAM: activations normalized (eps 1e-8) then bilinearly upsampled;
 *              softmax of (logit - unmasked logit); ReLU, normalized (eps 1e-8), maps at ah x aw.
 *   "paper"    haofanwang/Score-CAM: bilinear, constant channels skipped, weights = class probability
 *              of the masked input (softmax over the outputs), ReLU at full size, min-max normalized. */
int scorecam_explainer_set_preset(scorecam_explainer *explainer, const char *name);

/* The size of the maps compute writes for h x w inputs and ah x aw activations: h x w, or
 * ah x aw with MAP_AT_ACTIVATION_SIZE. */
int scorecam_explainer_get_map_size(int64_t *map_h, int64_t *map_w, const scorecam_explainer *explainer,
                                    int64_t h, int64_t w, int64_t ah, int64_t aw);

/* ---- compute --------------------------------------------------------------------------------- */

/*
 * Explains b images for num_targets targets.
 *   maps         out: b x num_targets x map_h x map_w floats (maps_capacity floats available);
 *                map_h x map_w is h x w unless MAP_AT_ACTIVATION_SIZE (scorecam_explainer_get_map_size)
 *   input        b x c x h x w, preprocessed as the model expects
 *   activations  b x k x ah x aw, the host's activations of the explained layer for input
 *   targets      num_targets class indices in [0, output_dim), or, with a scoring callback,
 *                anything the callback understands (may then be NULL)
 * Every target is scored from the same set of masked forward passes.
 * The explainer keeps its two batch buffers (2 x BATCH_SIZE masked images, or masks in masks mode)
 * for the next compute, so repeated computes do not fault their memory in again; destroy frees them.
 */
int scorecam_explainer_compute(float *maps, size_t maps_capacity, scorecam_explainer *explainer,
                               const float *input, int64_t b, int64_t c, int64_t h, int64_t w,
                               const float *activations, int64_t k, int64_t ah, int64_t aw,
                               const int64_t *targets, size_t num_targets);

/*
 * compute, with each image its own targets (added in 0.1): targets holds b x targets_per_image
 * values, image i's at targets[i * targets_per_image ...] (class indices, or with a scoring callback
 * anything it understands; never NULL); maps as for compute, b x targets_per_image x map_h x map_w.
 * The masked images of all b images share the forward batches, so images explained together, each
 * for its own classes (e.g. its top class), fill batches that one image alone would leave small.
 * Image i's maps are the ones compute would give for that image alone with its targets, given a
 * model whose outputs for an image do not depend on the other images of its batch. A scoring
 * callback is called once per run of consecutive rows of one image, with that image's targets.
 */
int scorecam_explainer_compute_per_image(float *maps, size_t maps_capacity, scorecam_explainer *explainer,
                                         const float *input, int64_t b, int64_t c, int64_t h, int64_t w,
                                         const float *activations, int64_t k, int64_t ah, int64_t aw,
                                         const int64_t *targets, size_t targets_per_image);

/* After a successful compute: the number of channels used for image `image` (K' after selection)
 * and the number of targets. */
int scorecam_explainer_get_detail_counts(size_t *num_channels, size_t *num_targets,
                                         const scorecam_explainer *explainer, int64_t image);
/*
 * After a successful compute, the per-channel intermediates of image `image`, in processing order.
 * Any output pointer may be NULL. capacity counts channels: channels holds `capacity` entries,
 * scores and weights hold capacity x num_targets, base_scores holds num_targets.
 *   channels     channel indices into the activations
 *   scores       the score of each masked image for each target (before subtracting the base)
 *   weights      the weight of each channel for each target
 *   base_scores  the unmasked input's score per target; NaN when it was not needed (softmax
 *                weighting is invariant to it, so the engine skips that forward pass)
 */
int scorecam_explainer_get_details(int64_t *channels, float *scores, float *weights,
                                   float *base_scores, size_t capacity,
                                   const scorecam_explainer *explainer, int64_t image);

/*
 * The masks the engine would use, for inspection (the seed's `A_normalized` and `M`): for each of
 * num_channels channel indices, M_k = (up(A_k) - min) / (max - min + eps) with the explainer's
 * upsampling and eps. With input NULL, out receives num_channels x h x w masks (c is ignored);
 * otherwise out receives the masked images, num_channels x c x h x w, b + (X - b) * M_k.
 * activations: k x ah x aw for one image. capacity counts floats.
 */
int scorecam_explainer_make_masks(float *out, size_t capacity, const scorecam_explainer *explainer,
                                  const float *input, int64_t c, int64_t h, int64_t w,
                                  const float *activations, int64_t k, int64_t ah, int64_t aw,
                                  const int64_t *channels, size_t num_channels);

/* ---- explicit channels (added in 0.1) --------------------------------------------------------- */

/*
 * Makes the following computes explain exactly these channels of every image, in this order,
 * instead of choosing them by SELECTION and SKIP_CONSTANT: for hosts that rank channels themselves
 * (e.g. with their framework's own sort, which may order ties differently from the engine's
 * deterministic CSKIP). The list is copied. Indices must be distinct and >= 0; compute fails with
 * SCORECAM_E_INVALID_ARGUMENT when one is not below the activations' k. With the adaptive budget
 * the list is processed in its order. channels NULL with num_channels 0 restores the engine's own
 * selection; presets leave the list as it is. num_channels above INT64_MAX is
 * SCORECAM_E_INVALID_ARGUMENT, NULL or not; a list the machine's memory cannot copy (16 bytes per
 * channel) is SCORECAM_E_OUT_OF_MEMORY, refused before any entry is read. A refused call keeps the
 * list set before it.
 */
int scorecam_explainer_set_channels(scorecam_explainer *explainer, const int64_t *channels,
                                    size_t num_channels);
/* The number of explicit channels set (0: the engine selects). */
int scorecam_explainer_get_channel_count(size_t *out, const scorecam_explainer *explainer);

/* ---- metrics --------------------------------------------------------------------------------- */

enum scorecam_metric {
    /* Average Drop (Score-CAM paper, torchcam): max(0, Y - O) / (Y + 1e-7), where Y scores the
     * image and O the image multiplied by the map (min-max normalized at its own size, then
     * resized to the input bilinearly, align_corners=False). */
    SCORECAM_METRIC_AVERAGE_DROP = 0,
    /* Increase in Confidence: 1 if O > Y, else 0. */
    SCORECAM_METRIC_INCREASE_IN_CONFIDENCE = 1,
    /* Insertion (RISE, torchcam's schedule): positions ranked by the map (resized to the input),
     * highest first; the score curve while the top 0, s, 2s, ..., all positions (s =
     * ceil(h*w / METRIC_STEPS)) come from the image and the rest are METRIC_BASELINE; the value is
     * the area under it over the fraction of positions (trapezoid rule), in [0, 1] for probabilities. */
    SCORECAM_METRIC_INSERTION = 2,
    /* Deletion: the same while the top positions are replaced by the baseline. Lower is better. */
    SCORECAM_METRIC_DELETION = 3
};

/*
 * Evaluates maps of input with a metric, through the registered forward (and scoring) callback,
 * in batches of BATCH_SIZE, with progress and cancellation as for compute.
 *   values   out: b x num_targets doubles (capacity doubles available), one per image and map
 *   maps     b x num_targets x map_h x map_w, e.g. as compute wrote them
 *   targets  the classes the maps explain (as for compute; scored as METRIC_SCORE says)
 * Averaging over images is the caller's: Average Drop and Increase in Confidence are usually
 * reported as means (x100 for percent).
 */
int scorecam_explainer_evaluate(double *values, size_t capacity, scorecam_explainer *explainer, int metric,
                                const float *input, int64_t b, int64_t c, int64_t h, int64_t w,
                                const float *maps, int64_t map_h, int64_t map_w,
                                const int64_t *targets, size_t num_targets);
/* evaluate, with each image its own targets (added in 0.1): targets holds b x targets_per_image
 * values as for scorecam_explainer_compute_per_image (never NULL), maps b x targets_per_image x
 * map_h x map_w; the perturbed images of all b images share the forward batches. */
int scorecam_explainer_evaluate_per_image(double *values, size_t capacity, scorecam_explainer *explainer,
                                          int metric, const float *input, int64_t b, int64_t c, int64_t h,
                                          int64_t w, const float *maps, int64_t map_h, int64_t map_w,
                                          const int64_t *targets, size_t targets_per_image);

#ifdef __cplusplus
}
#endif

#endif /* SCORECAM_H */
