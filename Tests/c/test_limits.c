/* Limits and reliability: one regression check per finding of issue 10 (F1-F10, core validation),
 * BATCH_MEMORY, the parameter table's query calls and re-entrant callbacks. Each case once killed
 * the process or returned a wrong status; now each returns a status and a message, outputs untouched. */
#include <float.h>
#include <stdint.h>

#include "test_util.h"
#include "error_case.h"

static int contains(const char *text, const char *part) { return strstr(text, part) != NULL; }

/* A forward that returns 0 but writes nothing (F8). */
static int lazy_forward(void *user_data, const float *images, int64_t n, int64_t c, int64_t h, int64_t w,
                        float *outputs, int64_t output_dim) {
    (void)user_data; (void)images; (void)n; (void)c; (void)h; (void)w; (void)outputs; (void)output_dim;
    return 0;
}

/* Scores of 3e38 (F7: RAW weights of huge scores). */
static int huge_scoring(void *user_data, const float *outputs, int64_t n, int64_t output_dim,
                        const int64_t *targets, size_t num_targets, float *scores) {
    (void)user_data; (void)outputs; (void)output_dim; (void)targets;
    for (int64_t i = 0; i < n * (int64_t)num_targets; i++) scores[i] = 3e38f;
    return 0;
}

/* Scoring that writes nothing (F8). */
static int lazy_scoring(void *user_data, const float *outputs, int64_t n, int64_t output_dim,
                        const int64_t *targets, size_t num_targets, float *scores) {
    (void)user_data; (void)outputs; (void)n; (void)output_dim; (void)targets; (void)num_targets; (void)scores;
    return 0;
}

/* Scoring for any number of targets: the mean of the outputs, once per target. */
static int mean_scoring(void *user_data, const float *outputs, int64_t n, int64_t output_dim,
                        const int64_t *targets, size_t num_targets, float *scores) {
    (void)user_data; (void)targets;
    for (int64_t i = 0; i < n; i++) {
        float sum = 0;
        for (int64_t j = 0; j < output_dim; j++) sum += outputs[i * output_dim + j];
        for (size_t t = 0; t < num_targets; t++) scores[i * (int64_t)num_targets + (int64_t)t] = sum / (float)output_dim;
    }
    return 0;
}

typedef struct {
    size_t calls, total;
} progress_log;

static int cancel_at_once(void *user_data, size_t done, size_t total) {
    progress_log *log = user_data;
    log->calls++;
    log->total = total;
    CHECK(done <= total);
    return 1;
}

/* Records the largest batch the forward saw (F6). */
typedef struct {
    linear_model model;
    int64_t largest;
} batch_probe;

static int probing_forward(void *user_data, const float *images, int64_t n, int64_t c, int64_t h, int64_t w,
                           float *outputs, int64_t output_dim) {
    batch_probe *probe = user_data;
    if (n > probe->largest) probe->largest = n;
    return linear_forward(&probe->model, images, n, c, h, w, outputs, output_dim);
}

/* Re-entrancy: a forward that, on its own explainer, reads and changes parameters, asks for the map
 * size and masks, and runs a nested compute, then forwards as usual. */
typedef struct {
    scorecam_explainer *self;
    linear_model model;
    int nested_status, param_status, mask_status, depth;
} reentrant_state;

static int reentrant_forward(void *user_data, const float *images, int64_t n, int64_t c, int64_t h, int64_t w,
                             float *outputs, int64_t output_dim) {
    reentrant_state *state = user_data;
    if (state->depth == 0) {
        float nested_maps[H * W], masks[H * W];
        int64_t target = 2, channel = 1, map_h = 0, map_w = 0;
        double batch = 0;
        state->depth++;
        state->param_status = scorecam_explainer_get_param(&batch, state->self, SCORECAM_PARAM_BATCH_SIZE);
        if (state->param_status == SCORECAM_OK)
            state->param_status = scorecam_explainer_set_param(state->self, SCORECAM_PARAM_BATCH_SIZE, batch + 1);
        if (state->param_status == SCORECAM_OK)
            state->param_status = scorecam_explainer_get_map_size(&map_h, &map_w, state->self, H, W, AH, AW);
        state->mask_status = scorecam_explainer_make_masks(masks, H * W, state->self, NULL, 0, H, W, acts, K, AH, AW,
                                                           &channel, 1);
        (void)scorecam_explainer_last_error(state->self);
        state->nested_status = scorecam_explainer_compute(nested_maps, H * W, state->self, x, 1, C, H, W, acts, K,
                                                          AH, AW, &target, 1);
        state->depth--;
    }
    return linear_forward(&state->model, images, n, c, h, w, outputs, output_dim);
}

static void test_parameters(scorecam_explainer *e) {
    double value = 0;
    /* F1: integral values beyond +-2^63 once trapped while the message was built. */
    CHECK_STATUS(scorecam_explainer_set_param(e, SCORECAM_PARAM_BATCH_SIZE, 1e19), SCORECAM_E_INVALID_ARGUMENT, e);
    CHECK(contains(scorecam_last_error(), "BATCH_SIZE"));
    CHECK_STATUS(scorecam_explainer_set_param(e, SCORECAM_PARAM_UPSAMPLE, -1e300), SCORECAM_E_INVALID_ARGUMENT, e);
    CHECK_STATUS(scorecam_explainer_set_param(e, SCORECAM_PARAM_SEED, 1e300), SCORECAM_E_INVALID_ARGUMENT, e);
    CHECK_STATUS(scorecam_explainer_set_param(e, SCORECAM_PARAM_THREADS, -9.3e18), SCORECAM_E_INVALID_ARGUMENT, e);
    CHECK_STATUS(scorecam_explainer_set_param(e, SCORECAM_PARAM_BATCH_MEMORY, INFINITY), SCORECAM_E_INVALID_ARGUMENT, e);
    /* F7: float32 parameters beyond float32's range became Inf. */
    CHECK_STATUS(scorecam_explainer_set_param(e, SCORECAM_PARAM_BASELINE, 1e39), SCORECAM_E_INVALID_ARGUMENT, e);
    CHECK_STATUS(scorecam_explainer_set_param(e, SCORECAM_PARAM_METRIC_BASELINE, -1e39), SCORECAM_E_INVALID_ARGUMENT, e);
    CHECK_STATUS(scorecam_explainer_set_param(e, SCORECAM_PARAM_NOISE_STD, 1e39), SCORECAM_E_INVALID_ARGUMENT, e);
    CHECK_STATUS(scorecam_explainer_get_param(&value, e, SCORECAM_PARAM_BASELINE), SCORECAM_OK, e);
    CHECK(value == 0);
    CHECK_STATUS(scorecam_explainer_get_param(&value, e, SCORECAM_PARAM_BATCH_SIZE), SCORECAM_OK, e);
    CHECK(value == 128);

    /* The table: count, numbers 1..n in order, names, kinds, defaults as a fresh explainer has them,
     * bounds accepted and the next value beyond refused. */
    {
        size_t count = scorecam_param_count();
        CHECK(count == 28);
        for (size_t i = 0; i < count; i++) {
            int param = -1, kind = -1;
            const char *name = NULL;
            double lo = 0, hi = 0, fallback = 0, current = 0;
            CHECK_STATUS(scorecam_param_info(&param, &name, &kind, &lo, &hi, &fallback, i), SCORECAM_OK, NULL);
            CHECK(param == (int)i + 1);
            CHECK(name != NULL && strncmp(name, "SCORECAM_PARAM_", 15) == 0);
            CHECK(kind >= SCORECAM_PARAM_KIND_INTEGER && kind <= SCORECAM_PARAM_KIND_REAL);
            CHECK(lo <= fallback && fallback <= hi);
            CHECK_STATUS(scorecam_explainer_get_param(&current, e, param), SCORECAM_OK, e);
            CHECK(current == fallback);
            CHECK_STATUS(scorecam_explainer_set_param(e, param, lo), SCORECAM_OK, e);
            CHECK_STATUS(scorecam_explainer_set_param(e, param, hi), SCORECAM_OK, e);
            if (kind != SCORECAM_PARAM_KIND_REAL || hi < DBL_MAX)
                CHECK_STATUS(scorecam_explainer_set_param(e, param, kind == SCORECAM_PARAM_KIND_REAL || hi + 1 == hi ? hi * 1.5 : hi + 1),
                             SCORECAM_E_INVALID_ARGUMENT, e);
            CHECK_STATUS(scorecam_explainer_set_param(e, param, kind == SCORECAM_PARAM_KIND_REAL ? lo - (lo < 0 ? -lo : 1) : lo - 1),
                         lo > -DBL_MAX ? SCORECAM_E_INVALID_ARGUMENT : SCORECAM_OK, e);
            CHECK_STATUS(scorecam_explainer_set_param(e, param, fallback), SCORECAM_OK, e);
        }
        CHECK_STATUS(scorecam_param_info(NULL, NULL, NULL, NULL, NULL, NULL, 0), SCORECAM_OK, NULL);
        {
            const char *name = NULL;
            CHECK_STATUS(scorecam_param_info(NULL, &name, NULL, NULL, NULL, NULL, 27), SCORECAM_OK, NULL);
            CHECK(name != NULL && strcmp(name, "SCORECAM_PARAM_BATCH_MEMORY") == 0);
        }
        CHECK_STATUS(scorecam_param_info(NULL, NULL, NULL, NULL, NULL, NULL, count), SCORECAM_E_INVALID_ARGUMENT, NULL);
        CHECK_STATUS(scorecam_param_info(NULL, NULL, NULL, NULL, NULL, NULL, SIZE_MAX), SCORECAM_E_INVALID_ARGUMENT, NULL);
    }
}

static void test_sizes(scorecam_explainer *e, linear_model *model) {
    int64_t target = 1, channels[2] = {0, 1};
    /* F9: size_t arguments above INT64_MAX: a capacity that large is enough; a count that large is refused. */
    fill_sentinel();
    CHECK_STATUS(scorecam_explainer_compute(maps, SIZE_MAX, e, x, 1, C, H, W, acts, K, AH, AW, &target, 1), SCORECAM_OK, e);
    CHECK(!untouched());
    {
        int64_t order[K];
        CHECK_STATUS(scorecam_explainer_get_details(order, NULL, NULL, NULL, SIZE_MAX, e, 0), SCORECAM_OK, e);
    }
    fill_sentinel();
    CHECK_STATUS(scorecam_explainer_compute(maps, MAPS, e, x, 1, C, H, W, acts, K, AH, AW, &target, SIZE_MAX),
                 SCORECAM_E_INVALID_ARGUMENT, e);
    CHECK(contains(scorecam_last_error(), "num_targets") && contains(scorecam_last_error(), "INT64_MAX"));
    CHECK(untouched());
    {
        double values[2] = {-7, -7};
        CHECK_STATUS(scorecam_explainer_evaluate(values, 2, e, SCORECAM_METRIC_AVERAGE_DROP, x, 1, C, H, W, maps, H, W,
                                                 &target, (size_t)INT64_MAX + 1), SCORECAM_E_INVALID_ARGUMENT, e);
        CHECK(values[0] == -7);
    }

    /* F3: num_channels >= 2^63 became a negative count. */
    fill_sentinel();
    CHECK_STATUS(scorecam_explainer_make_masks(maps, MAPS, e, NULL, 0, H, W, acts, K, AH, AW, channels, SIZE_MAX),
                 SCORECAM_E_INVALID_ARGUMENT, e);
    CHECK(contains(scorecam_last_error(), "num_channels"));
    /* F2: no channels skipped every size check: h * w overflowed, the input was read past its end,
     * or 4 TB were allocated. Now sizes are checked first and no channels write nothing. */
    CHECK_STATUS(scorecam_explainer_make_masks(maps, MAPS, e, x, 1, (int64_t)1 << 62, 1, acts, K, AH, AW, channels, 0),
                 SCORECAM_E_SHAPE, e);
    CHECK_STATUS(scorecam_explainer_make_masks(maps, MAPS, e, NULL, 0, (int64_t)1 << 32, (int64_t)1 << 31, acts, K, AH, AW,
                                               channels, 0), SCORECAM_E_SHAPE, e);
    CHECK_STATUS(scorecam_explainer_make_masks(maps, MAPS, e, NULL, 0, (int64_t)1 << 20, (int64_t)1 << 20, acts, K, AH, AW,
                                               channels, 0), SCORECAM_OK, e);
    /* One 2^20 x 2^20 mask: 4 TB of scratch, refused as out of memory (the caller claims room). */
    CHECK_STATUS(scorecam_explainer_make_masks(maps, SIZE_MAX, e, NULL, 0, (int64_t)1 << 20, (int64_t)1 << 20, acts, K, AH,
                                               AW, channels, 1), SCORECAM_E_OUT_OF_MEMORY, e);
    CHECK(untouched());

    /* F4: output_dim = 2^62: batch x D overflowed. Now refused with a status, maps untouched. */
    CHECK_STATUS(scorecam_explainer_set_scoring(e, mean_scoring, NULL), SCORECAM_OK, e);
    CHECK_STATUS(scorecam_explainer_set_forward(e, linear_forward, (int64_t)1 << 62, model), SCORECAM_OK, e);
    fill_sentinel();
    {
        int status = scorecam_explainer_compute(maps, MAPS, e, x, 1, C, H, W, acts, K, AH, AW, NULL, 1);
        CHECK(status == SCORECAM_E_SHAPE || status == SCORECAM_E_OUT_OF_MEMORY);
        CHECK(untouched());
    }
    CHECK_STATUS(scorecam_explainer_set_forward(e, linear_forward, (int64_t)1 << 45, model), SCORECAM_OK, e);
    fill_sentinel();
    CHECK_STATUS(scorecam_explainer_compute(maps, MAPS, e, x, 1, C, H, W, acts, K, AH, AW, NULL, 1),
                 SCORECAM_E_OUT_OF_MEMORY, e);
    CHECK(untouched());
    CHECK_STATUS(scorecam_explainer_set_scoring(e, NULL, NULL), SCORECAM_OK, e);
    CHECK_STATUS(scorecam_explainer_set_forward(e, linear_forward, D, model), SCORECAM_OK, e);
}

/* F5: allocations sized by products nothing bounded. */
static int zero_forward(void *user_data, const float *images, int64_t n, int64_t c, int64_t h, int64_t w,
                        float *outputs, int64_t output_dim) {
    (void)user_data; (void)images; (void)c; (void)h; (void)w;
    for (int64_t i = 0; i < n * output_dim; i++) outputs[i] = (float)(i % 3);
    return 0;
}

static void test_allocations(void) {
    scorecam_explainer *e = NULL;
    const int64_t long_side = (int64_t)1 << 24; /* 64 MB of floats */
    float *line = calloc((size_t)long_side, sizeof(float));
    float *column = malloc(sizeof(float) * 65536);
    int64_t target = 0;
    CHECK(line != NULL && column != NULL);
    if (line == NULL || column == NULL) return;
    for (int64_t i = 0; i < 65536; i++) column[i] = (float)(i % 7);
    for (int64_t i = 0; i < 100000; i++) line[i] = (float)(i % 3);
    CHECK_STATUS(scorecam_explainer_create(&e), SCORECAM_OK, e);
    CHECK_STATUS(scorecam_explainer_set_forward(e, zero_forward, 2, NULL), SCORECAM_OK, e);
    /* The resampler's scratch was activation height x input width: input 1 x 1 x 1 x 100000 with
     * activations 1 x 1 x 65536 x 1 asked for 26 GB. It now resizes columns first (1 x 1 scratch). */
    {
        float *wide_maps = malloc(sizeof(float) * 100000), *masks = malloc(sizeof(float) * 100000);
        int finite = 1;
        CHECK_STATUS(scorecam_explainer_compute(wide_maps, 100000, e, line, 1, 1, 1, 100000, column, 1, 65536, 1,
                                                &target, 1), SCORECAM_OK, e);
        for (int i = 0; i < 100000; i++) finite &= isfinite(wide_maps[i]) != 0;
        CHECK(finite);
        CHECK_STATUS(scorecam_explainer_make_masks(masks, 100000, e, NULL, 0, 1, 100000, column, 1, 65536, 1, &target, 1),
                     SCORECAM_OK, e);
        CHECK(masks[0] >= 0 && masks[99999] <= 1);
        free(wide_maps);
        free(masks);
    }
    /* evaluate: b x T x H x W resized maps when only b x T x map_h x map_w was checked. */
    {
        const size_t targets = (size_t)1 << 20;
        float *small_maps = malloc(sizeof(float) * targets);
        double *values = malloc(sizeof(double) * targets);
        for (size_t i = 0; i < targets; i++) small_maps[i] = (float)(i % 5);
        values[0] = -7;
        CHECK_STATUS(scorecam_explainer_set_scoring(e, mean_scoring, NULL), SCORECAM_OK, e);
        CHECK_STATUS(scorecam_explainer_evaluate(values, targets, e, SCORECAM_METRIC_AVERAGE_DROP, line, 1, 1, 4096, 4096,
                                                 small_maps, 1, 1, NULL, targets), SCORECAM_E_OUT_OF_MEMORY, e);
        CHECK(values[0] == -7);
        CHECK_STATUS(scorecam_explainer_set_scoring(e, NULL, NULL), SCORECAM_OK, e);
        free(small_maps);
        free(values);
    }
    /* Insertion with 1024 targets and 4096 steps: 4M perturbations whose scores for every target
     * once filled one list (17 GB). They stream now: cancelled after the first batch, total announced. */
    {
        enum { T = 1024, S = 64 };
        float *heat = malloc(sizeof(float) * T * S * S);
        double *values = malloc(sizeof(double) * T);
        progress_log log = {0, 0};
        for (int i = 0; i < T * S * S; i++) heat[i] = (float)((i * 7) % 13);
        CHECK_STATUS(scorecam_explainer_set_scoring(e, mean_scoring, NULL), SCORECAM_OK, e);
        CHECK_STATUS(scorecam_explainer_set_param(e, SCORECAM_PARAM_METRIC_STEPS, S * S), SCORECAM_OK, e);
        CHECK_STATUS(scorecam_explainer_set_progress(e, cancel_at_once, &log), SCORECAM_OK, e);
        CHECK_STATUS(scorecam_explainer_evaluate(values, T, e, SCORECAM_METRIC_INSERTION, line, 1, 1, S, S, heat, S, S,
                                                 NULL, T), SCORECAM_E_CANCELLED, e);
        CHECK(log.calls == 1 && log.total == (size_t)T * (S * S - 1) + 2);
        CHECK_STATUS(scorecam_explainer_set_progress(e, NULL, NULL), SCORECAM_OK, e);
        CHECK_STATUS(scorecam_explainer_set_scoring(e, NULL, NULL), SCORECAM_OK, e);
        free(heat);
        free(values);
    }
    /* SS-CAM with SAMPLES = 2^20 over 4096 channels built 2^32 work items up front; now the work
     * streams: cancelled after the first batch, with the whole total announced. */
    {
        enum { KS = 4096 };
        float *channel_acts = malloc(sizeof(float) * KS * 2), tiny[4] = {1, 2, 3, 4}, tiny_maps[4];
        progress_log log = {0, 0};
        for (int i = 0; i < KS * 2; i++) channel_acts[i] = (float)(i % 2) + (float)i / (KS * 4.0f);
        CHECK_STATUS(scorecam_explainer_set_param(e, SCORECAM_PARAM_METHOD, SCORECAM_METHOD_SS_CAM), SCORECAM_OK, e);
        CHECK_STATUS(scorecam_explainer_set_param(e, SCORECAM_PARAM_SAMPLES, 1 << 20), SCORECAM_OK, e);
        CHECK_STATUS(scorecam_explainer_set_progress(e, cancel_at_once, &log), SCORECAM_OK, e);
        CHECK_STATUS(scorecam_explainer_compute(tiny_maps, 4, e, tiny, 1, 1, 2, 2, channel_acts, KS, 1, 2, &target, 1),
                     SCORECAM_E_CANCELLED, e);
        CHECK(log.calls == 1 && log.total == (size_t)KS << 20);
        CHECK_STATUS(scorecam_explainer_set_progress(e, NULL, NULL), SCORECAM_OK, e);
        free(channel_acts);
    }
    scorecam_explainer_destroy(e);
    free(line);
    free(column);
}

static void test_values(scorecam_explainer *e, linear_model *model) {
    int64_t target = 1;
    /* F7: activations of -3e38 and 3e38 overflowed hi - lo and the error blamed the forward. */
    {
        float extreme[K * AH * AW];
        memcpy(extreme, acts, sizeof extreme);
        extreme[0] = -3e38f;
        extreme[1] = 3e38f;
        fill_sentinel();
        CHECK_STATUS(scorecam_explainer_compute(maps, MAPS, e, x, 1, C, H, W, extreme, K, AH, AW, &target, 1),
                     SCORECAM_E_INVALID_ARGUMENT, e);
        CHECK(contains(scorecam_last_error(), "activations") && !contains(scorecam_last_error(), "forward"));
        CHECK(untouched());
    }
    /* Masked images that would overflow: input near float32's limit with a baseline of the other sign. */
    {
        float loud[C * H * W];
        for (int i = 0; i < C * H * W; i++) loud[i] = 3e38f;
        CHECK_STATUS(scorecam_explainer_set_param(e, SCORECAM_PARAM_BASELINE, -3e38), SCORECAM_OK, e);
        fill_sentinel();
        CHECK_STATUS(scorecam_explainer_compute(maps, MAPS, e, loud, 1, C, H, W, acts, K, AH, AW, &target, 1),
                     SCORECAM_E_INVALID_ARGUMENT, e);
        CHECK(contains(scorecam_last_error(), "masked images"));
        CHECK(untouched());
        CHECK_STATUS(scorecam_explainer_set_param(e, SCORECAM_PARAM_BASELINE, 0), SCORECAM_OK, e);
    }
    /* F7: RAW weighting of scores of 3e38 gave all-NaN maps with SCORECAM_OK. */
    CHECK_STATUS(scorecam_explainer_set_param(e, SCORECAM_PARAM_WEIGHTING, SCORECAM_WEIGHTING_RAW), SCORECAM_OK, e);
    CHECK_STATUS(scorecam_explainer_set_param(e, SCORECAM_PARAM_SUBTRACT_BASE, 0), SCORECAM_OK, e);
    CHECK_STATUS(scorecam_explainer_set_scoring(e, huge_scoring, NULL), SCORECAM_OK, e);
    fill_sentinel();
    CHECK_STATUS(scorecam_explainer_compute(maps, MAPS, e, x, 1, C, H, W, acts, K, AH, AW, NULL, 1),
                 SCORECAM_E_NON_FINITE, e);
    CHECK(contains(scorecam_last_error(), "weights"));
    CHECK(untouched());
    CHECK_STATUS(scorecam_explainer_set_preset(e, "seed"), SCORECAM_OK, e);
    /* F8: callbacks that write nothing: the engine read uninitialised memory and returned OK. */
    CHECK_STATUS(scorecam_explainer_set_scoring(e, lazy_scoring, NULL), SCORECAM_OK, e);
    fill_sentinel();
    CHECK_STATUS(scorecam_explainer_compute(maps, MAPS, e, x, 1, C, H, W, acts, K, AH, AW, NULL, 1),
                 SCORECAM_E_NON_FINITE, e);
    CHECK(contains(scorecam_last_error(), "scoring") && contains(scorecam_last_error(), "wrote nothing"));
    CHECK(untouched());
    CHECK_STATUS(scorecam_explainer_set_scoring(e, NULL, NULL), SCORECAM_OK, e);
    CHECK_STATUS(scorecam_explainer_set_forward(e, lazy_forward, D, NULL), SCORECAM_OK, e);
    fill_sentinel();
    CHECK_STATUS(scorecam_explainer_compute(maps, MAPS, e, x, 1, C, H, W, acts, K, AH, AW, &target, 1),
                 SCORECAM_E_NON_FINITE, e);
    CHECK(contains(scorecam_last_error(), "forward") && contains(scorecam_last_error(), "wrote nothing"));
    CHECK(untouched());
    CHECK_STATUS(scorecam_explainer_set_forward(e, linear_forward, D, model), SCORECAM_OK, e);
}

/* F6: the batch buffers are bounded by BATCH_MEMORY; the batch shrinks to fit, results unchanged. */
static void test_batch_memory(void) {
    scorecam_explainer *e = NULL;
    batch_probe probe;
    float reference[H * W];
    int64_t target = 2;
    double value = 0;
    memset(&probe, 0, sizeof probe);
    probe.model = linear_model_make(C * H * W, D, 9);
    CHECK_STATUS(scorecam_explainer_create(&e), SCORECAM_OK, e);
    CHECK_STATUS(scorecam_explainer_get_param(&value, e, SCORECAM_PARAM_BATCH_MEMORY), SCORECAM_OK, e);
    CHECK(value == 1073741824.0);
    CHECK_STATUS(scorecam_explainer_set_forward(e, probing_forward, D, &probe), SCORECAM_OK, e);
    CHECK_STATUS(scorecam_explainer_compute(reference, H * W, e, x, 1, C, H, W, acts, K, AH, AW, &target, 1), SCORECAM_OK, e);
    CHECK(probe.largest == K);
    /* One item: two masked images (2 x 512 bytes), D outputs and one score (20 bytes). */
    CHECK_STATUS(scorecam_explainer_set_param(e, SCORECAM_PARAM_BATCH_MEMORY, 2 * 1044 + 100), SCORECAM_OK, e);
    CHECK_STATUS(scorecam_explainer_set_preset(e, "paper"), SCORECAM_OK, e);
    CHECK_STATUS(scorecam_explainer_set_preset(e, "seed"), SCORECAM_OK, e);
    CHECK_STATUS(scorecam_explainer_get_param(&value, e, SCORECAM_PARAM_BATCH_MEMORY), SCORECAM_OK, e); /* presets keep it */
    CHECK(value == 2 * 1044 + 100);
    probe.largest = 0;
    fill_sentinel();
    CHECK_STATUS(scorecam_explainer_compute(maps, H * W, e, x, 1, C, H, W, acts, K, AH, AW, &target, 1), SCORECAM_OK, e);
    CHECK(probe.largest == 2);
    if (probe.largest != 2) fprintf(stderr, "largest batch %lld\n", (long long)probe.largest);
    CHECK(memcmp(maps, reference, sizeof reference) == 0);
    CHECK_STATUS(scorecam_explainer_set_param(e, SCORECAM_PARAM_BATCH_MEMORY, 1), SCORECAM_OK, e);
    probe.largest = 0;
    CHECK_STATUS(scorecam_explainer_compute(maps, H * W, e, x, 1, C, H, W, acts, K, AH, AW, &target, 1), SCORECAM_OK, e);
    CHECK(probe.largest == 1); /* never below one image */
    CHECK(memcmp(maps, reference, sizeof reference) == 0);
    scorecam_explainer_destroy(e);
    linear_model_free(&probe.model);
}

/* Callbacks may call their own explainer (see the header); the run keeps its own parameters. */
static void test_reentrancy(void) {
    reentrant_state state;
    float reference[H * W], result[H * W];
    int64_t target = 2;
    double batch = 0;
    memset(&state, 0, sizeof state);
    state.model = linear_model_make(C * H * W, D, 9);
    {
        scorecam_explainer *plain = NULL;
        CHECK_STATUS(scorecam_explainer_create(&plain), SCORECAM_OK, plain);
        CHECK_STATUS(scorecam_explainer_set_forward(plain, linear_forward, D, &state.model), SCORECAM_OK, plain);
        CHECK_STATUS(scorecam_explainer_set_param(plain, SCORECAM_PARAM_BATCH_SIZE, 2), SCORECAM_OK, plain);
        CHECK_STATUS(scorecam_explainer_compute(reference, H * W, plain, x, 1, C, H, W, acts, K, AH, AW, &target, 1),
                     SCORECAM_OK, plain);
        scorecam_explainer_destroy(plain);
    }
    CHECK_STATUS(scorecam_explainer_create(&state.self), SCORECAM_OK, state.self);
    CHECK_STATUS(scorecam_explainer_set_forward(state.self, reentrant_forward, D, &state), SCORECAM_OK, state.self);
    CHECK_STATUS(scorecam_explainer_set_param(state.self, SCORECAM_PARAM_BATCH_SIZE, 2), SCORECAM_OK, state.self);
    CHECK_STATUS(scorecam_explainer_compute(result, H * W, state.self, x, 1, C, H, W, acts, K, AH, AW, &target, 1),
                 SCORECAM_OK, state.self);
    CHECK(state.param_status == SCORECAM_OK && state.mask_status == SCORECAM_OK && state.nested_status == SCORECAM_OK);
    CHECK(memcmp(result, reference, sizeof result) == 0); /* the outer run kept BATCH_SIZE 2 */
    CHECK_STATUS(scorecam_explainer_get_param(&batch, state.self, SCORECAM_PARAM_BATCH_SIZE), SCORECAM_OK, state.self);
    CHECK(batch > 2); /* changes made inside the callback apply from the next call */
    {
        size_t channels = 0, targets = 0;
        CHECK_STATUS(scorecam_explainer_get_detail_counts(&channels, &targets, state.self, 0), SCORECAM_OK, state.self);
        CHECK(channels == K && targets == 1);
    }
    scorecam_explainer_destroy(state.self);
    linear_model_free(&state.model);
}

int main(void) {
    unsigned seed = 5;
    linear_model model = linear_model_make(C * H * W, D, 9);
    scorecam_explainer *e = NULL;

    for (int i = 0; i < C * H * W; i++) x[i] = lcg_next(&seed);
    for (int i = 0; i < K * AH * AW; i++) acts[i] = lcg_next(&seed);
    CHECK_STATUS(scorecam_explainer_create(&e), SCORECAM_OK, e);
    CHECK_STATUS(scorecam_explainer_set_forward(e, linear_forward, D, &model), SCORECAM_OK, e);

    test_parameters(e);
    CHECK_STATUS(scorecam_explainer_set_preset(e, "seed"), SCORECAM_OK, e);
    test_sizes(e, &model);
    test_values(e, &model);
    scorecam_explainer_destroy(e);
    test_allocations();
    test_batch_memory();
    test_reentrancy();
    linear_model_free(&model);
    return test_summary("test_limits");
}
