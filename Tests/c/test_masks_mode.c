/* Masks mode (scorecam_explainer_set_masks_forward): the host receives masks and forms the masked
 * images itself. Same maps and details as the masked-image path, for every preset and method, with
 * and without a baseline, over batches that span images; and its errors. */
#include "test_util.h"

enum { B = 2, C = 3, H = 13, W = 11, K = 7, AH = 3, AW = 4, D = 6, T = 2 };

/* A host that multiplies "on its device": b + (x - b) * m per channel, then the linear model. */
typedef struct {
    linear_model *model;
    double baseline;
    const float *first_input; /* the input pointer of the first call: must not change */
    int input_changed, bad_index, calls, fail_on_call;
    int64_t masks_seen;
} masks_host;

static int masks_forward(void *user_data, const float *masks, const int64_t *images, int64_t n,
                         const float *input, int64_t b, int64_t c, int64_t h, int64_t w, float *outputs,
                         int64_t output_dim) {
    masks_host *host = user_data;
    static float masked[C * H * W];
    const float base = (float)host->baseline;
    host->calls++;
    if (host->calls == host->fail_on_call) return 7;
    if (host->first_input == NULL) host->first_input = input;
    if (input != host->first_input) host->input_changed = 1;
    if (c * h * w != host->model->in_size || output_dim != host->model->out_dim) return 1;
    for (int64_t i = 0; i < n; i++) {
        if (images[i] < 0 || images[i] >= b) {
            host->bad_index = 1;
            return 1;
        }
        const float *x = input + images[i] * c * h * w, *m = masks + i * h * w;
        for (int64_t ch = 0; ch < c; ch++)
            for (int64_t p = 0; p < h * w; p++) {
                const float xv = x[ch * h * w + p];
                masked[ch * h * w + p] = base == 0 ? xv * m[p] : base + (xv - base) * m[p];
            }
        linear_model_apply(host->model, masked, outputs + i * output_dim);
    }
    host->masks_seen += n;
    return 0;
}

static float max_abs_diff(const float *a, const float *b, size_t n, float *scale) {
    float worst = 0;
    *scale = 0;
    for (size_t i = 0; i < n; i++) {
        worst = fmaxf(worst, fabsf(a[i] - b[i]));
        *scale = fmaxf(*scale, fabsf(b[i]));
    }
    return worst;
}

/* Explains with the forward callback, then in masks mode; the two must agree. */
static void check_same_maps(const char *preset, int method, double baseline, int raw_weights) {
    static float x[B * C * H * W], acts[B * K * AH * AW], maps_images[B * T * H * W], maps_masks[B * T * H * W];
    const int64_t targets[T] = {1, 4};
    unsigned seed = 11;
    linear_model model = linear_model_make(C * H * W, D, 5);
    masks_host host = {&model, baseline, NULL, 0, 0, 0, 0, 0};
    scorecam_explainer *e = NULL;
    int64_t map_h = 0, map_w = 0;

    for (size_t i = 0; i < sizeof x / sizeof x[0]; i++) x[i] = lcg_next(&seed) * 2 - 0.5f;
    for (size_t i = 0; i < sizeof acts / sizeof acts[0]; i++) acts[i] = lcg_next(&seed);
    CHECK_STATUS(scorecam_explainer_create(&e), SCORECAM_OK, e);
    CHECK_STATUS(scorecam_explainer_set_preset(e, preset), SCORECAM_OK, e);
    CHECK_STATUS(scorecam_explainer_set_param(e, SCORECAM_PARAM_METHOD, method), SCORECAM_OK, e);
    CHECK_STATUS(scorecam_explainer_set_param(e, SCORECAM_PARAM_SAMPLES, 2), SCORECAM_OK, e);
    CHECK_STATUS(scorecam_explainer_set_param(e, SCORECAM_PARAM_BASELINE, baseline), SCORECAM_OK, e);
    CHECK_STATUS(scorecam_explainer_set_param(e, SCORECAM_PARAM_BATCH_SIZE, 5), SCORECAM_OK, e);
    if (raw_weights) {
        /* Raw weights of (score - unmasked score): the run needs the unmasked pass (an all-ones mask). */
        CHECK_STATUS(scorecam_explainer_set_param(e, SCORECAM_PARAM_WEIGHTING, SCORECAM_WEIGHTING_RAW), SCORECAM_OK, e);
        CHECK_STATUS(scorecam_explainer_set_param(e, SCORECAM_PARAM_SUBTRACT_BASE, 1), SCORECAM_OK, e);
    }
    CHECK_STATUS(scorecam_explainer_get_map_size(&map_h, &map_w, e, H, W, AH, AW), SCORECAM_OK, e);
    const size_t count = (size_t)(B * T * map_h * map_w);

    CHECK_STATUS(scorecam_explainer_set_forward(e, linear_forward, D, &model), SCORECAM_OK, e);
    CHECK_STATUS(scorecam_explainer_compute(maps_images, count, e, x, B, C, H, W, acts, K, AH, AW, targets, T),
                 SCORECAM_OK, e);
    float scores_images[K * T], base_images[T], scores_masks[K * T], base_masks[T];
    CHECK_STATUS(scorecam_explainer_get_details(NULL, scores_images, NULL, base_images, K, e, 1), SCORECAM_OK, e);

    /* Masks mode, with the forward callback unset: compute needs only the masks forward. */
    CHECK_STATUS(scorecam_explainer_set_forward(e, NULL, 0, NULL), SCORECAM_OK, e);
    CHECK_STATUS(scorecam_explainer_set_masks_forward(e, masks_forward, D, &host), SCORECAM_OK, e);
    CHECK_STATUS(scorecam_explainer_compute(maps_masks, count, e, x, B, C, H, W, acts, K, AH, AW, targets, T),
                 SCORECAM_OK, e);
    CHECK_STATUS(scorecam_explainer_get_details(NULL, scores_masks, NULL, base_masks, K, e, 1), SCORECAM_OK, e);

    float scale = 0, diff = max_abs_diff(maps_masks, maps_images, count, &scale);
    if (!(diff <= 1e-5f * (scale > 0 ? scale : 1))) {
        fprintf(stderr, "%s method %d baseline %g raw %d: maps differ by %g (scale %g)\n", preset, method,
                baseline, raw_weights, diff, scale);
    }
    CHECK(diff <= 1e-5f * (scale > 0 ? scale : 1));
    CHECK(max_abs_diff(scores_masks, scores_images, K * T, &scale) <= 1e-5f * (scale > 0 ? scale : 1));
    if (raw_weights) CHECK(max_abs_diff(base_masks, base_images, T, &scale) <= 1e-5f * (scale > 0 ? scale : 1));
    CHECK(host.calls > 1);       /* batches of 5 over 2 images: several calls, some spanning both */
    CHECK(host.input_changed == 0);
    CHECK(host.bad_index == 0);
    CHECK(host.first_input == x); /* the caller's input itself: a device host uploads it once */
    CHECK(host.masks_seen == model.images);

    scorecam_explainer_destroy(e);
    linear_model_free(&model);
}

/* Records what the masks are: in [0, 1] for Score-CAM, ones for the unmasked pass. */
static int64_t g_ones_masks;
static int mask_range_forward(void *user_data, const float *masks, const int64_t *images, int64_t n,
                              const float *input, int64_t b, int64_t c, int64_t h, int64_t w, float *outputs,
                              int64_t output_dim) {
    int *out_of_range = user_data;
    (void)images, (void)input, (void)b, (void)c;
    for (int64_t i = 0; i < n; i++) {
        int ones = 1;
        for (int64_t p = 0; p < h * w; p++) {
            const float m = masks[i * h * w + p];
            if (!(m >= 0 && m <= 1)) *out_of_range = 1;
            if (m != 1) ones = 0;
        }
        g_ones_masks += ones;
    }
    for (int64_t i = 0; i < n * output_dim; i++) outputs[i] = (float)(i % 3);
    return 0;
}

static void check_errors(void) {
    static float x[C * H * W], acts[K * AH * AW], maps[H * W];
    const int64_t target = 1;
    unsigned seed = 3;
    linear_model model = linear_model_make(C * H * W, D, 9);
    masks_host host = {&model, 0, NULL, 0, 0, 0, 0, 0};
    scorecam_explainer *e = NULL;
    double values[1];
    int out_of_range = 0;

    for (size_t i = 0; i < sizeof x / sizeof x[0]; i++) x[i] = lcg_next(&seed);
    for (size_t i = 0; i < sizeof acts / sizeof acts[0]; i++) acts[i] = lcg_next(&seed);
    CHECK_STATUS(scorecam_explainer_set_masks_forward(NULL, masks_forward, D, &host), SCORECAM_E_NULL_POINTER, NULL);
    CHECK_STATUS(scorecam_explainer_create(&e), SCORECAM_OK, e);
    CHECK_STATUS(scorecam_explainer_set_masks_forward(e, masks_forward, 0, &host), SCORECAM_E_INVALID_ARGUMENT, e);
    CHECK_STATUS(scorecam_explainer_set_masks_forward(e, masks_forward, D, &host), SCORECAM_OK, e);

    /* A failing masks forward ends the run cleanly; the maps stay untouched. */
    host.fail_on_call = 1;
    maps[0] = 123;
    CHECK_STATUS(scorecam_explainer_compute(maps, H * W, e, x, 1, C, H, W, acts, K, AH, AW, &target, 1),
                 SCORECAM_E_CALLBACK, e);
    CHECK(maps[0] == 123);
    CHECK(strstr(scorecam_explainer_last_error(e), "masks forward") != NULL);
    host.fail_on_call = 0;

    /* evaluate always uses the forward callback. */
    CHECK_STATUS(scorecam_explainer_evaluate(values, 1, e, SCORECAM_METRIC_AVERAGE_DROP, x, 1, C, H, W, maps, H, W,
                                             &target, 1),
                 SCORECAM_E_NO_FORWARD, e);

    /* The masks themselves: in [0, 1], and the unmasked pass (raw weights of score - base) all ones. */
    CHECK_STATUS(scorecam_explainer_set_masks_forward(e, mask_range_forward, D, &out_of_range), SCORECAM_OK, e);
    CHECK_STATUS(scorecam_explainer_set_param(e, SCORECAM_PARAM_WEIGHTING, SCORECAM_WEIGHTING_RAW), SCORECAM_OK, e);
    g_ones_masks = 0;
    CHECK_STATUS(scorecam_explainer_compute(maps, H * W, e, x, 1, C, H, W, acts, K, AH, AW, &target, 1),
                 SCORECAM_OK, e);
    CHECK(out_of_range == 0);
    CHECK(g_ones_masks == 1);

    /* NULL unsets masks mode: compute falls back to the forward callback, or fails without one. */
    CHECK_STATUS(scorecam_explainer_set_masks_forward(e, NULL, 0, NULL), SCORECAM_OK, e);
    CHECK_STATUS(scorecam_explainer_compute(maps, H * W, e, x, 1, C, H, W, acts, K, AH, AW, &target, 1),
                 SCORECAM_E_NO_FORWARD, e);
    CHECK_STATUS(scorecam_explainer_set_forward(e, linear_forward, D, &model), SCORECAM_OK, e);
    CHECK_STATUS(scorecam_explainer_compute(maps, H * W, e, x, 1, C, H, W, acts, K, AH, AW, &target, 1),
                 SCORECAM_OK, e);
    CHECK(model.calls > 0 && host.calls == 1);

    scorecam_explainer_destroy(e);
    linear_model_free(&model);
}

int main(void) {
    const char *presets[] = {"seed", "gradcam", "torchcam", "paper"};
    for (int p = 0; p < 4; p++)
        for (int method = SCORECAM_METHOD_SCORE_CAM; method <= SCORECAM_METHOD_IS_CAM; method++)
            for (int raw = 0; raw < 2; raw++) {
                check_same_maps(presets[p], method, 0, raw);
                check_same_maps(presets[p], method, 0.25, raw);
            }
    check_errors();
    return test_summary("test_masks_mode");
}
