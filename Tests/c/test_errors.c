/* Every bad input of the C ABI: a clear status and message, outputs untouched, nothing leaked
 * (this test also runs under AddressSanitizer/LeakSanitizer). */
#include "test_util.h"
#include "error_case.h"

/* compute with the standard arguments except those overridden, expecting `expected`. */
#define EXPECT_COMPUTE(expected, e, input, b, acts_, k, targets, nt)                                     \
    do {                                                                                                 \
        fill_sentinel();                                                                                 \
        CHECK_STATUS(scorecam_explainer_compute(maps, MAPS, e, input, b, C, H, W, acts_, k, AH, AW, targets, nt), \
                     expected, e);                                                                       \
        CHECK(untouched());                                                                              \
    } while (0)

static int failing_scoring(void *user_data, const float *outputs, int64_t n, int64_t output_dim,
                           const int64_t *targets, size_t num_targets, float *scores) {
    (void)user_data; (void)outputs; (void)n; (void)output_dim; (void)targets; (void)num_targets; (void)scores;
    return -3;
}

static int infinite_scoring(void *user_data, const float *outputs, int64_t n, int64_t output_dim,
                            const int64_t *targets, size_t num_targets, float *scores) {
    (void)user_data; (void)outputs; (void)output_dim; (void)targets;
    for (int64_t i = 0; i < n * (int64_t)num_targets; i++) scores[i] = INFINITY;
    return 0;
}

static int cancel_after_first_batch(void *user_data, size_t done, size_t total) {
    (void)total;
    *(size_t *)user_data = done;
    return done >= 2 ? 1 : 0;
}

int main(void) {
    unsigned seed = 5;
    linear_model model = linear_model_make(C * H * W, D, 9);
    scorecam_explainer *e = NULL;
    int64_t target = 1, targets2[2] = {0, 3}, bad_target = D, negative_target = -1;
    double value = 0;

    for (int i = 0; i < C * H * W; i++) x[i] = lcg_next(&seed);
    for (int i = 0; i < K * AH * AW; i++) acts[i] = lcg_next(&seed);

    /* Creation and NULL handles. */
    CHECK_STATUS(scorecam_explainer_create(NULL), SCORECAM_E_NULL_POINTER, (scorecam_explainer *)NULL);
    CHECK(strstr(scorecam_last_error(), "out") != NULL);
    scorecam_explainer_destroy(NULL);
    CHECK(strcmp(scorecam_explainer_last_error(NULL), "") == 0);
    CHECK_STATUS(scorecam_explainer_set_param(NULL, SCORECAM_PARAM_BATCH_SIZE, 1), SCORECAM_E_NULL_POINTER,
                 (scorecam_explainer *)NULL);
    CHECK_STATUS(scorecam_explainer_set_forward(NULL, linear_forward, D, &model), SCORECAM_E_NULL_POINTER,
                 (scorecam_explainer *)NULL);
    CHECK_STATUS(scorecam_explainer_create(&e), SCORECAM_OK, e);
    CHECK(strcmp(scorecam_explainer_last_error(e), "") == 0);

    /* Compute before a forward callback exists. */
    EXPECT_COMPUTE(SCORECAM_E_NO_FORWARD, e, x, 1, acts, K, &target, 1);
    CHECK_STATUS(scorecam_explainer_set_forward(e, linear_forward, 0, &model), SCORECAM_E_INVALID_ARGUMENT, e);
    CHECK_STATUS(scorecam_explainer_set_forward(e, linear_forward, D, &model), SCORECAM_OK, e);
    CHECK(strcmp(scorecam_explainer_last_error(e), "") == 0); /* success clears the handle's message */

    /* Details before any successful compute. */
    {
        size_t channels = 7, num_targets = 7;
        CHECK_STATUS(scorecam_explainer_get_detail_counts(&channels, &num_targets, e, 0), SCORECAM_E_NO_RESULT, e);
        CHECK(channels == 7 && num_targets == 7);
    }

    /* NULL pointers. */
    fill_sentinel();
    CHECK_STATUS(scorecam_explainer_compute(NULL, MAPS, e, x, 1, C, H, W, acts, K, AH, AW, &target, 1),
                 SCORECAM_E_NULL_POINTER, e);
    EXPECT_COMPUTE(SCORECAM_E_NULL_POINTER, e, NULL, 1, acts, K, &target, 1);
    EXPECT_COMPUTE(SCORECAM_E_NULL_POINTER, e, x, 1, NULL, K, &target, 1);
    EXPECT_COMPUTE(SCORECAM_E_NULL_POINTER, e, x, 1, acts, K, NULL, 1);
    CHECK_STATUS(scorecam_explainer_get_param(NULL, e, SCORECAM_PARAM_BATCH_SIZE), SCORECAM_E_NULL_POINTER, e);
    CHECK_STATUS(scorecam_explainer_set_preset(e, NULL), SCORECAM_E_NULL_POINTER, e);

    /* Dimensions: zero, negative, overflowing; capacity. */
    EXPECT_COMPUTE(SCORECAM_E_SHAPE, e, x, 0, acts, K, &target, 1);
    EXPECT_COMPUTE(SCORECAM_E_SHAPE, e, x, -2, acts, K, &target, 1);
    EXPECT_COMPUTE(SCORECAM_E_SHAPE, e, x, 1, acts, 0, &target, 1);
    EXPECT_COMPUTE(SCORECAM_E_SHAPE, e, x, INT64_MAX / 4, acts, K, &target, 1);
    EXPECT_COMPUTE(SCORECAM_E_SHAPE, e, x, 1, acts, INT64_MAX / 2, &target, 1);
    EXPECT_COMPUTE(SCORECAM_E_INVALID_ARGUMENT, e, x, 1, acts, K, &target, 0);
    fill_sentinel();
    CHECK_STATUS(scorecam_explainer_compute(maps, H * W - 1, e, x, 1, C, H, W, acts, K, AH, AW, &target, 1),
                 SCORECAM_E_BUFFER_TOO_SMALL, e);
    CHECK(untouched());
    /* 2 images of input and activations need 2 maps per target: 2 x 2 x H x W > MAPS. */
    fill_sentinel();
    CHECK_STATUS(scorecam_explainer_compute(maps, MAPS, e, x, 2, C, H, W, acts, K, AH, AW, targets2, 2),
                 SCORECAM_E_BUFFER_TOO_SMALL, e);
    CHECK(untouched());

    /* Targets outside the model's outputs. */
    EXPECT_COMPUTE(SCORECAM_E_INVALID_ARGUMENT, e, x, 1, acts, K, &bad_target, 1);
    EXPECT_COMPUTE(SCORECAM_E_INVALID_ARGUMENT, e, x, 1, acts, K, &negative_target, 1);
    CHECK(strstr(scorecam_last_error(), "-1") != NULL);

    /* NaN / Inf in the input and the activations. */
    x[17] = NAN;
    EXPECT_COMPUTE(SCORECAM_E_NON_FINITE, e, x, 1, acts, K, &target, 1);
    CHECK(strstr(scorecam_last_error(), "input") != NULL);
    x[17] = 0.5f;
    acts[3] = -INFINITY;
    EXPECT_COMPUTE(SCORECAM_E_NON_FINITE, e, x, 1, acts, K, &target, 1);
    CHECK(strstr(scorecam_last_error(), "activations") != NULL);
    acts[3] = 0.25f;

    /* Activations where every channel is constant. */
    {
        float flat[K * AH * AW];
        for (int i = 0; i < K * AH * AW; i++) flat[i] = (float)(i / (AH * AW));
        EXPECT_COMPUTE(SCORECAM_E_DEGENERATE, e, x, 1, flat, K, &target, 1);
    }

    /* Parameters: unknown, out of range, non-integral, non-finite; K' = 0 and K' > K. */
    CHECK_STATUS(scorecam_explainer_set_param(e, 999, 1), SCORECAM_E_INVALID_ARGUMENT, e);
    CHECK_STATUS(scorecam_explainer_get_param(&value, e, 999), SCORECAM_E_INVALID_ARGUMENT, e);
    CHECK_STATUS(scorecam_explainer_set_param(e, SCORECAM_PARAM_BATCH_SIZE, 0), SCORECAM_E_INVALID_ARGUMENT, e);
    CHECK_STATUS(scorecam_explainer_set_param(e, SCORECAM_PARAM_BATCH_SIZE, 2.5), SCORECAM_E_INVALID_ARGUMENT, e);
    CHECK_STATUS(scorecam_explainer_set_param(e, SCORECAM_PARAM_UPSAMPLE, 3), SCORECAM_E_INVALID_ARGUMENT, e);
    CHECK_STATUS(scorecam_explainer_set_param(e, SCORECAM_PARAM_NORM_EPS, -1), SCORECAM_E_INVALID_ARGUMENT, e);
    CHECK_STATUS(scorecam_explainer_set_param(e, SCORECAM_PARAM_BASELINE, NAN), SCORECAM_E_INVALID_ARGUMENT, e);
    CHECK_STATUS(scorecam_explainer_set_param(e, SCORECAM_PARAM_SELECTION_COUNT, 0), SCORECAM_E_INVALID_ARGUMENT, e);
    CHECK_STATUS(scorecam_explainer_set_preset(e, "no-such-preset"), SCORECAM_E_INVALID_ARGUMENT, e);
    CHECK(strstr(scorecam_last_error(), "seed") != NULL); /* the message lists the known presets */
    CHECK_STATUS(scorecam_explainer_get_param(&value, e, SCORECAM_PARAM_BATCH_SIZE), SCORECAM_OK, e);
    CHECK(value == 128); /* failed sets changed nothing */
    CHECK_STATUS(scorecam_explainer_set_param(e, SCORECAM_PARAM_SELECTION, SCORECAM_SELECTION_MAX), SCORECAM_OK, e);
    CHECK_STATUS(scorecam_explainer_set_param(e, SCORECAM_PARAM_SELECTION_COUNT, K + 1), SCORECAM_OK, e);
    EXPECT_COMPUTE(SCORECAM_E_INVALID_ARGUMENT, e, x, 1, acts, K, &target, 1);
    CHECK(strstr(scorecam_last_error(), "K'") != NULL);
    CHECK_STATUS(scorecam_explainer_set_preset(e, "seed"), SCORECAM_OK, e);

    /* Callbacks that fail, produce NaN/Inf, or cancel: the run ends with the error. */
    CHECK_STATUS(scorecam_explainer_set_param(e, SCORECAM_PARAM_BATCH_SIZE, 2), SCORECAM_OK, e);
    model.calls = 0;
    model.fail_on_call = 2;
    EXPECT_COMPUTE(SCORECAM_E_CALLBACK, e, x, 1, acts, K, &target, 1);
    CHECK(strstr(scorecam_last_error(), "42") != NULL);
    CHECK(model.calls == 2); /* stopped at the failing batch */
    model.fail_on_call = 0;
    model.calls = 0;
    model.nan_on_call = 3;
    EXPECT_COMPUTE(SCORECAM_E_NON_FINITE, e, x, 1, acts, K, &target, 1);
    CHECK(strstr(scorecam_last_error(), "forward") != NULL);
    model.nan_on_call = 0;

    CHECK_STATUS(scorecam_explainer_set_scoring(e, failing_scoring, NULL), SCORECAM_OK, e);
    EXPECT_COMPUTE(SCORECAM_E_CALLBACK, e, x, 1, acts, K, NULL, 1);
    CHECK(strstr(scorecam_last_error(), "scoring") != NULL);
    CHECK_STATUS(scorecam_explainer_set_scoring(e, infinite_scoring, NULL), SCORECAM_OK, e);
    EXPECT_COMPUTE(SCORECAM_E_NON_FINITE, e, x, 1, acts, K, NULL, 1);
    CHECK_STATUS(scorecam_explainer_set_scoring(e, NULL, NULL), SCORECAM_OK, e);

    {
        size_t done = 0;
        model.images = 0;
        CHECK_STATUS(scorecam_explainer_set_progress(e, cancel_after_first_batch, &done), SCORECAM_OK, e);
        EXPECT_COMPUTE(SCORECAM_E_CANCELLED, e, x, 1, acts, K, &target, 1);
        CHECK(done == 2 && model.images == 2); /* cancelled mid-run, after the first batch of 2 */
        CHECK_STATUS(scorecam_explainer_set_progress(e, NULL, NULL), SCORECAM_OK, e);
    }

    /* After all that, the same handle still works, and a failed compute clears old details. */
    fill_sentinel();
    CHECK_STATUS(scorecam_explainer_compute(maps, MAPS, e, x, 1, C, H, W, acts, K, AH, AW, &target, 1), SCORECAM_OK, e);
    CHECK(!untouched());
    {
        size_t channels = 0, num_targets = 0;
        int64_t order[K];
        CHECK_STATUS(scorecam_explainer_get_detail_counts(&channels, &num_targets, e, 1), SCORECAM_E_INVALID_ARGUMENT, e);
        CHECK_STATUS(scorecam_explainer_get_details(order, NULL, NULL, NULL, K - 1, e, 0), SCORECAM_E_BUFFER_TOO_SMALL, e);
        EXPECT_COMPUTE(SCORECAM_E_INVALID_ARGUMENT, e, x, 1, acts, K, &bad_target, 1);
        CHECK_STATUS(scorecam_explainer_get_detail_counts(&channels, &num_targets, e, 0), SCORECAM_E_NO_RESULT, e);
    }

    /* Mask rendering: NULLs, capacity, channel indices. */
    {
        int64_t channels[2] = {0, K}, valid[2] = {0, 1};
        fill_sentinel();
        CHECK_STATUS(scorecam_explainer_make_masks(maps, MAPS, e, NULL, 0, H, W, acts, K, AH, AW, channels, 2),
                     SCORECAM_E_INVALID_ARGUMENT, e);
        CHECK(untouched());
        CHECK_STATUS(scorecam_explainer_make_masks(maps, MAPS, e, x, C, H, W, acts, K, AH, AW, valid, 2),
                     SCORECAM_E_BUFFER_TOO_SMALL, e); /* 2 masked images of C x H x W > MAPS */
        CHECK_STATUS(scorecam_explainer_make_masks(maps, H * W - 1, e, NULL, 0, H, W, acts, K, AH, AW, channels, 1),
                     SCORECAM_E_BUFFER_TOO_SMALL, e);
        CHECK_STATUS(scorecam_explainer_make_masks(maps, MAPS, e, NULL, 0, H, W, acts, K, AH, AW, NULL, 1),
                     SCORECAM_E_NULL_POINTER, e);
        CHECK_STATUS(scorecam_explainer_make_masks(NULL, MAPS, e, NULL, 0, H, W, acts, K, AH, AW, channels, 1),
                     SCORECAM_E_NULL_POINTER, e);
        CHECK_STATUS(scorecam_explainer_make_masks(maps, MAPS, e, NULL, 0, 0, W, acts, K, AH, AW, channels, 1),
                     SCORECAM_E_SHAPE, e);
        CHECK(untouched());
    }

    /* Metrics: NULLs, unknown metric, shapes, capacity, targets, non-finite maps. */
    {
        double values[4] = {-7, -7, -7, -7};
        float heat[2 * H * W];
        for (int i = 0; i < 2 * H * W; i++) heat[i] = (float)(i % 13);
        CHECK_STATUS(scorecam_explainer_evaluate(NULL, 4, e, SCORECAM_METRIC_AVERAGE_DROP, x, 1, C, H, W, heat, H, W,
                                                 targets2, 2), SCORECAM_E_NULL_POINTER, e);
        CHECK_STATUS(scorecam_explainer_evaluate(values, 4, e, 9, x, 1, C, H, W, heat, H, W, targets2, 2),
                     SCORECAM_E_INVALID_ARGUMENT, e);
        CHECK_STATUS(scorecam_explainer_evaluate(values, 1, e, SCORECAM_METRIC_DELETION, x, 1, C, H, W, heat, H, W,
                                                 targets2, 2), SCORECAM_E_BUFFER_TOO_SMALL, e);
        CHECK_STATUS(scorecam_explainer_evaluate(values, 4, e, SCORECAM_METRIC_DELETION, x, 1, C, H, W, heat, 0, W,
                                                 targets2, 2), SCORECAM_E_SHAPE, e);
        CHECK_STATUS(scorecam_explainer_evaluate(values, 4, e, SCORECAM_METRIC_INSERTION, x, 1, C, H, W, heat, H, W,
                                                 &bad_target, 1), SCORECAM_E_INVALID_ARGUMENT, e);
        heat[5] = NAN;
        CHECK_STATUS(scorecam_explainer_evaluate(values, 4, e, SCORECAM_METRIC_AVERAGE_DROP, x, 1, C, H, W, heat, H, W,
                                                 targets2, 2), SCORECAM_E_NON_FINITE, e);
        CHECK(values[0] == -7 && values[3] == -7);
        heat[5] = 1;
        CHECK_STATUS(scorecam_explainer_evaluate(values, 4, e, SCORECAM_METRIC_AVERAGE_DROP, x, 1, C, H, W, heat, H, W,
                                                 targets2, 2), SCORECAM_OK, e);
        CHECK(values[0] >= 0 && values[0] <= 1 && values[2] == -7);
        CHECK_STATUS(scorecam_explainer_set_param(e, SCORECAM_PARAM_METRIC_STEPS, 0), SCORECAM_E_INVALID_ARGUMENT, e);
        CHECK_STATUS(scorecam_explainer_set_param(e, SCORECAM_PARAM_METHOD, 3), SCORECAM_E_INVALID_ARGUMENT, e);
        CHECK_STATUS(scorecam_explainer_set_param(e, SCORECAM_PARAM_NOISE_STD, -1), SCORECAM_E_INVALID_ARGUMENT, e);
        CHECK_STATUS(scorecam_explainer_set_param(e, SCORECAM_PARAM_MAP_UPSAMPLE, -2), SCORECAM_E_INVALID_ARGUMENT, e);
        CHECK_STATUS(scorecam_explainer_set_param(e, SCORECAM_PARAM_ADAPTIVE_STEP, 0), SCORECAM_E_INVALID_ARGUMENT, e);
    }

    /* Every status has a name; unknown ones too. */
    for (int s = SCORECAM_E_NO_RESULT; s <= 0; s++) CHECK(strncmp(scorecam_status_string(s), "SCORECAM_", 9) == 0);
    CHECK(strstr(scorecam_status_string(SCORECAM_E_CANCELLED), "CANCELLED") != NULL);
    CHECK(strstr(scorecam_status_string(-999), "UNKNOWN") != NULL);

    scorecam_explainer_destroy(e);
    linear_model_free(&model);
    return test_summary("test_errors");
}
