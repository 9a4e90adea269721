/* libFuzzer harness over the whole C ABI of libscorecam.
 *
 * The input is a program: a sequence of operations (set a parameter or preset, register callbacks
 * whose behaviour comes from the bytes, compute, evaluate, make masks, read details, map sizes and
 * the parameter table) with dimensions, counts, capacities and data drawn from the bytes, including
 * zero, negative, overflowing and non-finite values. The harness keeps its own side of the contract
 * (every buffer holds what its dimensions say; sizes it cannot back with memory are only sent where
 * they must be refused before anything is read) and checks the library's side after every call:
 *   - the status is SCORECAM_OK or a known SCORECAM_E_*; a failure sets a message (thread and handle);
 *   - on error, out-parameters and caller buffers are untouched; on success nothing beyond the
 *     needed part of a buffer is written;
 *   - maps returned with SCORECAM_OK hold no NaN/Inf; the forward callback never sees NaN/Inf or
 *     dimensions other than the call's; progress never reports done > total.
 * A violation aborts, which libFuzzer reports with the input that caused it.
 *
 *   - set_channels accepts exactly the lists it should (none negative or repeated) and refuses
 *     counts above INT64_MAX (INVALID_ARGUMENT) or beyond the machine's memory (OUT_OF_MEMORY) before
 *     reading an entry; a refused call keeps the list set before it (get_channel_count).
 * Build: make fuzz (Makefile), which also explains the byte format used by Tests/fuzz/make_inputs.py;
 * Tests/fuzz/fuzz_abi.dict (written by make_inputs.py) gives libFuzzer the opcodes and huge counts. */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "scorecam.h"

#define SENTINEL 12345.0f
#define DSENTINEL -7777.0
#define MAX_FLOATS (1 << 16) /* the most floats the harness backs with memory per buffer */

#define REQUIRE(cond, ...)                                                          \
    do {                                                                            \
        if (!(cond)) {                                                              \
            fprintf(stderr, "contract violated at %s:%d: %s\n", __FILE__, __LINE__, #cond); \
            fprintf(stderr, __VA_ARGS__);                                           \
            fprintf(stderr, "\n");                                                  \
            abort();                                                                \
        }                                                                           \
    } while (0)

/* ---- reading the input ----------------------------------------------------------------------- */

typedef struct {
    const uint8_t *data;
    size_t size, pos;
} reader;

static uint8_t u8(reader *r) { return r->pos < r->size ? r->data[r->pos++] : 0; }

static uint64_t u64(reader *r) {
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v |= (uint64_t)u8(r) << (8 * i);
    return v;
}

/* Dimensions: mostly 0..8, else a special. */
static int64_t dim(reader *r) {
    static const int64_t special[] = {-1, -5, (int64_t)1 << 20, (int64_t)1 << 24, (int64_t)1 << 31,
                                      (int64_t)1 << 32, (int64_t)1 << 62, INT64_MAX, INT64_MIN, 65536,
                                      100000, 4096, 16, 32, 64, 3};
    uint8_t v = u8(r);
    return v < 0xF0 ? (int64_t)(v % 9) : special[v - 0xF0];
}

/* Counts and capacities (size_t): mostly 0..8, else a special; "exact" is resolved by the caller. */
enum { COUNT_EXACT = -1 };
static int64_t count_code(reader *r) {
    uint8_t v = u8(r);
    if (v < 0x80) return COUNT_EXACT;
    if (v < 0xF0) return v % 9;
    return -2 - (int64_t)(v - 0xF0); /* -2 .. -17: specials */
}

static size_t count_value(int64_t code, size_t exact) {
    static const uint64_t special[] = {SIZE_MAX, (uint64_t)1 << 63, (uint64_t)1 << 62, (uint64_t)1 << 40,
                                       (uint64_t)1 << 20, 4096, SIZE_MAX - 1, 0};
    if (code == COUNT_EXACT) return exact;
    if (code >= 0) return (size_t)code;
    int index = (int)(-2 - code);
    if (index < 8) return (size_t)special[index];
    return exact + (size_t)(index - 7); /* exact + 1 .. + 9 */
}

static double param_value(reader *r) {
    static const double special[] = {NAN, INFINITY, -INFINITY, 1e19, -1e300, 1e39, -1e39, 3e38,
                                     -3e38, 0.5, -1, 9007199254740992.0, 9007199254740994.0, 1e-10,
                                     1073741824.0, 1073741825.0, 1048576.0, 1048577.0, 1e300,
                                     67108864.0, 2.5, 1e-300, 255, 1024, 1025, 64, 4096, 1e30, 1e-30,
                                     -0.0, 2e9, 33554432.0};
    uint8_t v = u8(r);
    if (v < 0xC0) return (double)(v % 48);
    if (v == 0xFF) {
        uint64_t bits = u64(r);
        double d;
        memcpy(&d, &bits, sizeof d);
        return d;
    }
    return special[(v - 0xC0) % (sizeof special / sizeof special[0])];
}

static float data_value(reader *r, size_t i) {
    static const float special[] = {NAN, INFINITY, -INFINITY, 3e38f, -3e38f, 0, -1, 1e-30f, 1e30f,
                                    2.5f, FLT_MAX, -FLT_MAX, 1e20f, -1e20f, 8.5e37f, 1e-45f};
    if (r->pos >= r->size) return (float)((i * 37) % 101) / 101.0f;
    uint8_t v = u8(r);
    return v < 0xF0 ? (float)v / 240.0f : special[v - 0xF0];
}

/* ---- state and callbacks --------------------------------------------------------------------- */

enum forward_kind { FW_LINEAR, FW_FAIL, FW_NAN, FW_NOTHING, FW_HUGE, FW_REENTRANT, FW_INF, FW_KINDS };
enum scoring_kind { SC_NONE, SC_MEAN, SC_FAIL, SC_NOTHING, SC_HUGE, SC_KINDS };

typedef struct {
    scorecam_explainer *e;
    int forward_kind, scoring_kind, fail_at;
    int64_t output_dim;
    int64_t expect_c, expect_h, expect_w; /* the running call's image shape */
    int64_t expect_targets;               /* and its number of targets */
    double batch_memory;                  /* BATCH_MEMORY as last set */
    int calls, depth;
    size_t progress_calls, last_done, cancel_at;
    size_t channel_count; /* the explicit channel list's length as last accepted (0: none) */
} state;

static state g;

static void check_status(int status, const scorecam_explainer *e) {
    REQUIRE(status <= 0 && status >= SCORECAM_E_NO_RESULT, "status %d", status);
    if (status != SCORECAM_OK) {
        REQUIRE(strlen(scorecam_last_error()) > 0, "status %d without a message", status);
        if (e != NULL) REQUIRE(strcmp(scorecam_explainer_last_error(e), scorecam_last_error()) == 0, "messages differ");
    }
    REQUIRE(strncmp(scorecam_status_string(status), "SCORECAM_", 9) == 0, "status name");
}

static int nested_compute(void);

static int forward(void *user_data, const float *images, int64_t n, int64_t c, int64_t h, int64_t w,
                   float *outputs, int64_t output_dim) {
    state *s = user_data;
    s->calls++;
    REQUIRE(n >= 1 && c == s->expect_c && h == s->expect_h && w == s->expect_w,
            "forward got %lld x %lld x %lld x %lld", (long long)n, (long long)c, (long long)h, (long long)w);
    REQUIRE(output_dim == s->output_dim, "output_dim %lld", (long long)output_dim);
    for (int64_t i = 0; i < n * c * h * w; i++) REQUIRE(isfinite(images[i]), "non-finite masked image value");
    if (s->depth == 0) {
        /* The batch buffers fit BATCH_MEMORY: two images, an output row and a score row per item. */
        double item = 8.0 * (double)(c * h * w) + 4.0 * (double)output_dim + 4.0 * (double)s->expect_targets;
        REQUIRE(n == 1 || (double)n * item <= s->batch_memory, "a batch of %lld items of %.0f bytes over BATCH_MEMORY %.0f",
                (long long)n, item, s->batch_memory);
    }
    switch (s->forward_kind) {
    case FW_FAIL:
        if (s->calls >= s->fail_at) return 7;
        break;
    case FW_NOTHING:
        return 0;
    case FW_REENTRANT:
        if (s->depth == 0) {
            double value = 0;
            s->depth++;
            check_status(scorecam_explainer_get_param(&value, s->e, SCORECAM_PARAM_BATCH_SIZE), s->e);
            check_status(scorecam_explainer_set_param(s->e, SCORECAM_PARAM_BATCH_SIZE, value + 1), s->e);
            int64_t save_c = s->expect_c, save_h = s->expect_h, save_w = s->expect_w, save_t = s->expect_targets;
            size_t save_done = s->last_done;
            s->last_done = 0; /* the nested run counts its own progress */
            (void)nested_compute();
            s->expect_c = save_c, s->expect_h = save_h, s->expect_w = save_w, s->expect_targets = save_t;
            s->last_done = save_done;
            s->depth--;
        }
        break;
    default:
        break;
    }
    for (int64_t i = 0; i < n; i++) {
        double sum = 0;
        for (int64_t j = 0; j < c * h * w; j++) sum += images[i * c * h * w + j] * (double)((j % 7) - 3);
        for (int64_t o = 0; o < output_dim; o++) {
            float value = (float)(sum * 0.01 + (double)o * 0.1);
            if (!isfinite(value)) value = 0;
            if (s->forward_kind == FW_HUGE) value = (o % 2 ? -3e38f : 3e38f);
            outputs[i * output_dim + o] = value;
        }
    }
    if (s->forward_kind == FW_NAN && s->calls >= s->fail_at) outputs[n * output_dim - 1] = NAN;
    if (s->forward_kind == FW_INF && s->calls >= s->fail_at) outputs[0] = -INFINITY;
    return 0;
}

static int scoring(void *user_data, const float *outputs, int64_t n, int64_t output_dim, const int64_t *targets,
                   size_t num_targets, float *scores) {
    state *s = user_data;
    (void)targets;
    REQUIRE(n >= 1 && output_dim == s->output_dim && num_targets >= 1, "scoring arguments");
    if (s->scoring_kind == SC_FAIL) return -1;
    if (s->scoring_kind == SC_NOTHING) return 0;
    for (int64_t i = 0; i < n; i++)
        for (size_t t = 0; t < num_targets; t++)
            scores[i * (int64_t)num_targets + (int64_t)t] =
                s->scoring_kind == SC_HUGE ? 3e38f : outputs[i * output_dim + (int64_t)t % output_dim];
    return 0;
}

static int progress(void *user_data, size_t done, size_t total) {
    state *s = user_data;
    REQUIRE(done <= total, "progress %zu of %zu", done, total);
    REQUIRE(done >= s->last_done, "progress went back");
    s->last_done = done;
    /* Every run is cut short eventually: the fuzzer looks for crashes, not for long runs. */
    return ++s->progress_calls >= s->cancel_at;
}

/* ---- operations ------------------------------------------------------------------------------ */

static float *floats(size_t count, size_t extra) {
    float *p = malloc(sizeof(float) * (count + extra + 1));
    for (size_t i = 0; i < count + extra + 1; i++) p[i] = SENTINEL;
    return p;
}

static int untouched(const float *p, size_t from, size_t to) {
    for (size_t i = from; i < to; i++)
        if (p[i] != SENTINEL) return 0;
    return 1;
}

/* An output buffer of `held` + 1 floats after a call that needed `exact`: untouched on error; on
 * SCORECAM_OK finite up to `exact` and untouched beyond. `what`: "map" or "mask". */
static void check_output(int status, const float *out, size_t exact, size_t held, const char *what) {
    if (status != SCORECAM_OK) {
        REQUIRE(untouched(out, 0, held + 1), "%ss written on error (status %d)", what, status);
        return;
    }
    for (size_t i = 0; i < exact; i++) REQUIRE(isfinite(out[i]), "non-finite %s value with SCORECAM_OK", what);
    REQUIRE(untouched(out, exact, held + 1), "%ss written beyond the need", what);
}

/* The product of dims if every one is positive and it stays <= MAX_FLOATS; 0 if some dim is <= 0
 * or the product overflows int64 bytes (the library must refuse it unread); -1 if it is positive,
 * representable and too large for the harness to back (the call is then skipped). */
static int64_t backed(const int64_t *dims, int count) {
    int64_t total = 4;
    int refused = 0, large = 0;
    for (int i = 0; i < count; i++) {
        if (dims[i] <= 0) refused = 1;
        else if (total > INT64_MAX / dims[i]) large = 2;
        else total *= dims[i];
    }
    if (refused || large == 2) return 0;
    return total / 4 <= MAX_FLOATS ? total / 4 : -1;
}

static void fill(reader *r, float *p, int64_t count) {
    for (int64_t i = 0; i < count; i++) p[i] = data_value(r, (size_t)i);
}

/* a * b, saturating at 2^64 - 1. */
static uint64_t sat_mul(uint64_t a, uint64_t b) {
    return (b != 0 && a > UINT64_MAX / b) ? UINT64_MAX : a * b;
}

static void reset_run(void) {
    g.calls = 0;
    g.progress_calls = 0;
    g.last_done = 0;
}

/* One compute with small fixed data, from inside a callback (re-entrancy). */
static int nested_compute(void) {
    float x[2 * 4 * 4], acts[3 * 2 * 2], maps[4 * 4 * 2];
    int64_t targets[1] = {0};
    for (int i = 0; i < 32; i++) x[i] = (float)(i % 5) / 5.0f;
    for (int i = 0; i < 12; i++) acts[i] = (float)((i * 7) % 11);
    g.expect_c = 2, g.expect_h = 4, g.expect_w = 4;
    g.expect_targets = 1;
    int status = scorecam_explainer_compute(maps, 32, g.e, x, 1, 2, 4, 4, acts, 3, 2, 2, targets, 1);
    check_status(status, g.e);
    return status;
}

/* compute or evaluate; per_image: their _per_image forms, which read b x num_targets targets. */
static void op_compute(reader *r, int evaluate, int per_image) {
    int64_t b = dim(r), c = dim(r), h = dim(r), w = dim(r), k = dim(r), ah = dim(r), aw = dim(r);
    int64_t nt_code = count_code(r), cap_code = count_code(r);
    uint8_t flags = u8(r);
    int metric = (int)(u8(r) % 6) - 1; /* -1 and 4 are invalid */
    int64_t map_h = 0, map_w = 0;
    size_t num_targets = count_value(nt_code, 1 + (flags >> 4) % 3);
    int64_t in_dims[4] = {b, c, h, w};
    int64_t in_count = backed(in_dims, 4);
    if (in_count < 0) return;
    if (evaluate) {
        map_h = dim(r), map_w = dim(r);
    } else if (scorecam_explainer_get_map_size(&map_h, &map_w, g.e, h, w, ah, aw) != SCORECAM_OK) {
        map_h = h, map_w = w;
    }
    int64_t act_dims[4] = {b, k, ah, aw};
    int64_t act_count = evaluate ? 1 : backed(act_dims, 4);
    /* Targets the harness backs: up to 64; more only as NULL or where sizes are refused first. */
    int64_t nt = num_targets > 64 ? -1 : (int64_t)num_targets;
    int64_t map_dims[4] = {b, nt < 0 ? 1 : nt, map_h, map_w};
    int64_t maps_count = backed(map_dims, 4);
    if (act_count < 0 || maps_count < 0) return;
    size_t exact = evaluate ? (size_t)sat_mul(b > 0 ? (uint64_t)b : 1, nt > 0 ? (uint64_t)nt : 1) : (size_t)maps_count;
    size_t capacity = count_value(cap_code, exact);
    /* A capacity that claims more than the harness holds is only backed up to what is needed; where
     * the call must fail anyway (refused sizes), no more than MAX_FLOATS. */
    size_t held = capacity < exact ? exact : (capacity - exact > 64 ? exact + 64 : capacity);
    if (held > MAX_FLOATS) held = MAX_FLOATS;
    if (exact > held) exact = held;
    if (nt < 0 && num_targets < ((size_t)1 << 63) && b > 0 && map_h > 0 && map_w > 0) {
        /* The library reads num_targets targets (and, for evaluate, that many maps) once the sizes
         * pass and the capacity suffices; the harness cannot back that, so it skips those calls. */
        uint64_t values = sat_mul((uint64_t)b, num_targets);
        uint64_t maps_floats = sat_mul(sat_mul(values, (uint64_t)map_h), (uint64_t)map_w);
        uint64_t needed = evaluate ? values : maps_floats;
        if (sat_mul(maps_floats, 4) <= (uint64_t)INT64_MAX && capacity >= needed) return;
    }
    float *input = floats((size_t)(in_count ? in_count : 1), 0);
    float *acts = floats((size_t)(act_count ? act_count : 1), 0);
    int64_t targets[64];
    fill(r, input, in_count);
    if (!evaluate) fill(r, acts, act_count);
    for (int i = 0; i < 64; i++) targets[i] = (int64_t)(u8(r) % 12) - (i == 3 ? 2 : 0);
    const int64_t *target_p = (flags & 2) ? NULL : targets;
    if (nt < 0) target_p = NULL;
    /* Per image, the library reads b x num_targets targets once the sizes pass: the harness backs 64. */
    if (per_image && target_p != NULL && b > 0 && sat_mul((uint64_t)b, (uint64_t)nt) > 64) target_p = NULL;
    reset_run();
    g.expect_c = c, g.expect_h = h, g.expect_w = w;
    g.expect_targets = (int64_t)num_targets;
    if (evaluate) {
        float *maps = floats((size_t)(maps_count ? maps_count : 1), 0);
        double *values = malloc(sizeof(double) * (held + 1));
        fill(r, maps, maps_count);
        for (size_t i = 0; i <= held; i++) values[i] = DSENTINEL;
        int status = (per_image ? scorecam_explainer_evaluate_per_image : scorecam_explainer_evaluate)(
            (flags & 4) ? NULL : values, capacity, g.e, metric, input, b, c, h, w, maps, map_h, map_w, target_p,
            num_targets);
        if (per_image && target_p == NULL) REQUIRE(status != SCORECAM_OK, "evaluate_per_image took NULL targets");
        check_status(status, g.e);
        if (status != SCORECAM_OK) {
            for (size_t i = 0; i <= held; i++) REQUIRE(values[i] == DSENTINEL, "values written on error");
        } else {
            for (size_t i = 0; i < exact; i++) REQUIRE(!isnan(values[i]), "NaN metric value");
            for (size_t i = exact; i <= held; i++) REQUIRE(values[i] == DSENTINEL, "values written beyond the need");
        }
        free(maps);
        free(values);
    } else {
        float *maps = floats(held, 0);
        int status = (per_image ? scorecam_explainer_compute_per_image : scorecam_explainer_compute)(
            (flags & 4) ? NULL : maps, capacity, g.e, (flags & 8) ? NULL : input, b, c, h, w, acts, k, ah, aw, target_p,
            num_targets);
        if (per_image && target_p == NULL) REQUIRE(status != SCORECAM_OK, "compute_per_image took NULL targets");
        check_status(status, g.e);
        /* A callback that wrote nothing must not pass unnoticed. */
        if (g.calls > 0 && (g.forward_kind == FW_NOTHING || (g.scoring_kind == SC_NOTHING && status != SCORECAM_E_CALLBACK)))
            REQUIRE(status != SCORECAM_OK, "a callback wrote nothing and compute returned OK");
        /* Too small only when it is: capacity below what the maps need. */
        if (status == SCORECAM_E_BUFFER_TOO_SMALL && (flags & 4) == 0 && maps_count > 0 && nt >= 0)
            REQUIRE(capacity < exact, "BUFFER_TOO_SMALL with capacity %zu >= %zu", capacity, exact);
        check_output(status, maps, exact, held, "map");
        free(maps);
    }
    free(input);
    free(acts);
}

static void op_masks(reader *r) {
    int64_t c = dim(r), h = dim(r), w = dim(r), k = dim(r), ah = dim(r), aw = dim(r);
    int64_t nc_code = count_code(r), cap_code = count_code(r);
    uint8_t flags = u8(r);
    int with_input = flags & 1;
    size_t num_channels = count_value(nc_code, 1 + (flags >> 4) % 4);
    int64_t act_dims[3] = {k, ah, aw}, in_dims[3] = {with_input ? c : 1, h, w};
    int64_t act_count = backed(act_dims, 3), in_count = backed(in_dims, 3);
    if (act_count < 0 || in_count < 0) return;
    int64_t nc = num_channels > 16 ? -1 : (int64_t)num_channels;
    int64_t out_dims[2] = {nc < 0 ? 1 : nc, in_count};
    int64_t out_count = nc == 0 ? 0 : backed(out_dims, 2);
    if (out_count < 0 || (nc < 0 && in_count > 0 && act_count > 0 && num_channels < ((size_t)1 << 63))) return;
    size_t exact = (size_t)out_count, capacity = count_value(cap_code, exact);
    size_t held = capacity < exact ? exact : (capacity - exact > 64 ? exact + 64 : capacity);
    float *out = floats(held, 0), *input = floats((size_t)(in_count ? in_count : 1), 0);
    float *acts = floats((size_t)(act_count ? act_count : 1), 0);
    int64_t channels[16];
    for (int i = 0; i < 16; i++) channels[i] = (int64_t)(u8(r) % 10) - 1;
    fill(r, input, in_count);
    fill(r, acts, act_count);
    int status = scorecam_explainer_make_masks(out, capacity, g.e, with_input ? input : NULL, c, h, w,
                                               (flags & 2) ? NULL : acts, k, ah, aw, (flags & 4) ? NULL : channels,
                                               num_channels);
    check_status(status, g.e);
    check_output(status, out, exact, held, "mask");
    free(out);
    free(input);
    free(acts);
}

static void op_details(reader *r) {
    static const int64_t images[] = {0, 1, -1, INT64_MAX, 2, INT64_MIN, 0, 0};
    int64_t image = images[u8(r) % 8];
    int64_t cap_code = count_code(r);
    size_t channels = 12345, targets = 54321;
    int status = scorecam_explainer_get_detail_counts(&channels, &targets, g.e, image);
    check_status(status, g.e);
    if (status != SCORECAM_OK) {
        REQUIRE(channels == 12345 && targets == 54321, "detail counts written on error");
        channels = 4, targets = 2;
    }
    if (channels > 4096 || targets > 64) return;
    size_t capacity = count_value(cap_code, channels);
    size_t held = capacity < channels ? channels : channels + 1;
    int64_t *order = malloc(sizeof(int64_t) * (held + 1));
    float *scores = floats(held * targets, 0), *weights = floats(held * targets, 0), *base = floats(targets, 0);
    for (size_t i = 0; i <= held; i++) order[i] = -77;
    status = scorecam_explainer_get_details(order, scores, weights, base, capacity, g.e, image);
    check_status(status, g.e);
    if (status != SCORECAM_OK) {
        for (size_t i = 0; i <= held; i++) REQUIRE(order[i] == -77, "details written on error");
        REQUIRE(untouched(scores, 0, held * targets + 1) && untouched(base, 0, targets + 1), "details written on error");
    }
    free(order);
    free(scores);
    free(weights);
    free(base);
}

static void op_params(reader *r) {
    uint8_t what = u8(r);
    int param = (int)(u8(r) % 32) - 1;
    double value = param_value(r), out = DSENTINEL;
    int status;
    switch (what % 4) {
    case 0:
        /* BATCH_MEMORY past 64 MiB would let one input ask for gigabytes legitimately. */
        if (param == SCORECAM_PARAM_BATCH_MEMORY && value > 67108864.0) value = 67108864.0;
        status = scorecam_explainer_set_param(g.e, param, value);
        check_status(status, g.e);
        if (status == SCORECAM_OK && param == SCORECAM_PARAM_BATCH_MEMORY) g.batch_memory = value;
        break;
    case 1:
        status = scorecam_explainer_get_param(&out, g.e, param);
        check_status(status, g.e);
        if (status != SCORECAM_OK) REQUIRE(out == DSENTINEL, "get_param wrote on error");
        else REQUIRE(isfinite(out), "get_param returned a non-finite value");
        break;
    case 2: {
        static const char *names[] = {"seed", "gradcam", "torchcam", "paper", "", "SEED", "seed ", NULL};
        status = scorecam_explainer_set_preset(g.e, names[u8(r) % 8]);
        check_status(status, g.e);
        break;
    }
    default: {
        int id = -5, kind = -5;
        const char *name = NULL;
        double lo = DSENTINEL, hi = DSENTINEL, fallback = DSENTINEL;
        size_t index = count_value(count_code(r), 3);
        status = scorecam_param_info(&id, &name, &kind, &lo, &hi, &fallback, index);
        check_status(status, NULL);
        if (status == SCORECAM_OK) REQUIRE(name != NULL && lo <= fallback && fallback <= hi, "param info");
        else REQUIRE(id == -5 && name == NULL && lo == DSENTINEL, "param info written on error");
    }
    }
}

static void op_callbacks(reader *r) {
    static const int64_t dims[] = {1, 2, 3, 4, 5, 10, 0, -1, (int64_t)1 << 62, (int64_t)1 << 40, 1000, 7};
    uint8_t which = u8(r), kind = u8(r);
    int status;
    switch (which % 3) {
    case 0: {
        int64_t output_dim = dims[u8(r) % 12];
        g.forward_kind = kind % FW_KINDS;
        g.fail_at = 1 + u8(r) % 4;
        status = scorecam_explainer_set_forward(g.e, (kind & 0x80) ? NULL : forward, output_dim, &g);
        check_status(status, g.e);
        if (status == SCORECAM_OK) g.output_dim = output_dim;
        break;
    }
    case 1:
        g.scoring_kind = kind % SC_KINDS;
        status = scorecam_explainer_set_scoring(g.e, g.scoring_kind == SC_NONE ? NULL : scoring, &g);
        check_status(status, g.e);
        break;
    default:
        g.cancel_at = 1 + kind % 64;
        break;
    }
}

/* The machine's memory as the library measures it (sysconf), saturating; SIZE_MAX when unknown. */
static uint64_t physical_memory(void) {
    long pages = sysconf(_SC_PHYS_PAGES), page_size = sysconf(_SC_PAGESIZE);
    if (pages <= 0 || page_size <= 0) return UINT64_MAX;
    return sat_mul((uint64_t)pages, (uint64_t)page_size);
}

#define MAX_LIST 4096 /* the longest channel list the harness backs with memory */

/* Channel entries: mostly 0..11 (repeats, and some at or above the activations' k), else a special;
 * 0xF8 and up, or past the input's end, the entry's index: distinct, so long lists can be accepted. */
static int64_t channel_value(reader *r, size_t i) {
    static const int64_t special[] = {-1, INT64_MIN, INT64_MAX, (int64_t)1 << 40, 4095, 4096, 100, 2};
    if (r->pos >= r->size) return (int64_t)i;
    uint8_t v = u8(r);
    return v < 0xF0 ? (int64_t)(v % 12) : v < 0xF8 ? special[v - 0xF0] : (int64_t)i;
}

/* set_channels: (mode & 0x0F) % 3 picks the count (0: a small count byte, 1: 8 bytes little-endian, 2: a
 * huge special); mode & 0x10 passes channels NULL. Lists up to MAX_LIST are backed with fuzzed
 * entries; longer ones are only sent where they must be refused before an entry is read. */
static void op_channels(reader *r) {
    static const uint64_t huge[] = {(uint64_t)1 << 34, (uint64_t)1 << 60, (uint64_t)1 << 63, UINT64_MAX,
                                    (uint64_t)INT64_MAX, (uint64_t)1 << 59, ((uint64_t)1 << 63) + 1,
                                    UINT64_MAX - 1};
    static const uint64_t small_special[] = {64, 255, 1024, MAX_LIST, 17, 100, 4095, 1};
    uint8_t mode = u8(r);
    int null_list = (mode & 0x10) != 0;
    uint64_t count;
    switch ((mode & 0x0F) % 3) {
    case 0: {
        uint8_t v = u8(r);
        count = v < 0xF8 ? v % 17 : small_special[v - 0xF8];
        break;
    }
    case 1: count = u64(r); break;
    default: count = huge[u8(r) % 8]; break;
    }
    int expected;
    if (count > (uint64_t)INT64_MAX) expected = SCORECAM_E_INVALID_ARGUMENT;
    else if (count == 0) expected = null_list ? SCORECAM_OK : SCORECAM_E_INVALID_ARGUMENT;
    else if (null_list) expected = SCORECAM_E_NULL_POINTER;
    else if (sat_mul(count, 16) > physical_memory()) expected = SCORECAM_E_OUT_OF_MEMORY;
    else if (count > MAX_LIST) return; /* the library would read entries the harness cannot back */
    else expected = SCORECAM_OK;       /* unless an entry is negative or repeated: below */
    /* Huge counts get a small real list, read from no input: the library must refuse them unread. */
    size_t held = count <= MAX_LIST ? (size_t)count : 4;
    int64_t *list = malloc(sizeof(int64_t) * (held + 1));
    for (size_t i = 0; i < held; i++) list[i] = count <= MAX_LIST ? channel_value(r, i) : (int64_t)i;
    if (expected == SCORECAM_OK && count <= MAX_LIST) {
        for (size_t i = 0; i < held && expected == SCORECAM_OK; i++) {
            if (list[i] < 0) expected = SCORECAM_E_INVALID_ARGUMENT;
            for (size_t j = 0; j < i && expected == SCORECAM_OK; j++)
                if (list[j] == list[i]) expected = SCORECAM_E_INVALID_ARGUMENT;
        }
    }
    size_t before = 54321;
    check_status(scorecam_explainer_get_channel_count(&before, g.e), g.e);
    REQUIRE(before == g.channel_count, "channel count %zu, expected %zu", before, g.channel_count);
    int status = scorecam_explainer_set_channels(g.e, null_list ? NULL : list, (size_t)count);
    check_status(status, g.e);
    REQUIRE(status == expected, "set_channels(%s, %llu) returned %d, expected %d", null_list ? "NULL" : "list",
            (unsigned long long)count, status, expected);
    if (status == SCORECAM_OK) g.channel_count = (size_t)count;
    size_t after = 54321;
    check_status(scorecam_explainer_get_channel_count(&after, g.e), g.e);
    REQUIRE(after == g.channel_count, "channel count %zu after set_channels (status %d), expected %zu", after, status,
            g.channel_count);
    free(list);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    reader r = {data, size, 0};
    memset(&g, 0, sizeof g);
    g.cancel_at = 64;
    g.output_dim = 4;
    check_status(scorecam_explainer_create(&g.e), NULL);
    /* Tight limits keep each input fast; the fuzzer may still raise them. */
    check_status(scorecam_explainer_set_param(g.e, SCORECAM_PARAM_BATCH_MEMORY, 1 << 24), g.e);
    g.batch_memory = 1 << 24;
    check_status(scorecam_explainer_set_param(g.e, SCORECAM_PARAM_THREADS, 2), g.e);
    check_status(scorecam_explainer_set_progress(g.e, progress, &g), g.e);
    check_status(scorecam_explainer_set_forward(g.e, forward, 4, &g), g.e);
    for (int ops = 0; ops < 24 && r.pos < r.size; ops++) {
        /* Later operations take bytes of their own (set_channels 8 and 0xF8-0xFF, compute_per_image
         * 9, evaluate_per_image 10) and every other byte keeps its old meaning (byte % 8), so the
         * inputs committed before them (opcode bytes 0-7 and 131) decode as they did. */
        uint8_t opcode = u8(&r);
        switch (opcode == 8 || opcode >= 0xF8 ? 8 : opcode == 9 || opcode == 10 ? opcode : opcode % 8) {
        case 0: op_params(&r); break;
        case 1: op_callbacks(&r); break;
        case 2: case 3: op_compute(&r, 0, 0); break;
        case 4: op_compute(&r, 1, 0); break;
        case 9: op_compute(&r, 0, 1); break;
        case 10: op_compute(&r, 1, 1); break;
        case 5: op_masks(&r); break;
        case 6: op_details(&r); break;
        case 8: op_channels(&r); break;
        default: {
            int64_t mh = 5, mw = 5;
            int status = scorecam_explainer_get_map_size(&mh, &mw, g.e, dim(&r), dim(&r), dim(&r), dim(&r));
            check_status(status, g.e);
            if (status != SCORECAM_OK) REQUIRE(mh == 5 && mw == 5, "map size written on error");
            else REQUIRE(mh > 0 && mw > 0, "map size");
        }
        }
    }
    /* NULL handles and NULL outputs never crash. */
    check_status(scorecam_explainer_set_param(NULL, 1, 1), NULL);
    check_status(scorecam_explainer_compute(NULL, 0, NULL, NULL, 1, 1, 1, 1, NULL, 1, 1, 1, NULL, 1), NULL);
    scorecam_explainer_destroy(g.e);
    return 0;
}
