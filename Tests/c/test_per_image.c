/* compute_per_image and evaluate_per_image: each image its own targets, in one call whose forward
 * batches hold several images' masked images. Every map and metric value must equal, bit for bit,
 * what the one-image calls give, with fewer forward calls; scoring callbacks see one image's rows
 * with that image's targets; bad targets are refused with exact statuses. */
#include "test_util.h"

enum { B = 3, T = 2, C = 3, H = 10, W = 12, K = 6, AH = 3, AW = 4, D = 5 };

/* Scores a target as output[target] - output[0], and checks that every call's rows belong to one
 * image: the targets pointer it gets must be that image's row of the caller's table. */
typedef struct {
    const int64_t *table; /* B x T */
    int calls, wrong_rows;
} scoring_log;

static int contrast_scoring(void *user_data, const float *outputs, int64_t n, int64_t output_dim,
                            const int64_t *targets, size_t num_targets, float *scores) {
    scoring_log *log = user_data;
    log->calls++;
    if (num_targets != T || targets == NULL) log->wrong_rows++;
    else if (log->table != NULL && (targets < log->table || targets >= log->table + B * T || (targets - log->table) % T))
        log->wrong_rows++;
    for (int64_t i = 0; i < n; i++)
        for (size_t t = 0; t < num_targets; t++)
            scores[i * (int64_t)num_targets + (int64_t)t] = outputs[i * output_dim + targets[t]] - outputs[i * output_dim];
    return 0;
}

static float x[B][C * H * W], acts[B][K * AH * AW];
static const int64_t table[B * T] = {4, 1, /* image 1 */ 0, 3, /* image 2 */ 2, 2};

/* Maps of all images in one per-image call equal each image's own compute, bit for bit. */
static void check_against_single(scorecam_explainer *e, linear_model *model, const char *what) {
    static float together[B * T * H * W], alone[T * H * W];
    int calls_before = model->calls, calls_together, calls_alone = 0;
    CHECK_STATUS(scorecam_explainer_compute_per_image(together, B * T * H * W, e, &x[0][0], B, C, H, W, &acts[0][0],
                                                      K, AH, AW, table, T), SCORECAM_OK, e);
    calls_together = model->calls - calls_before;
    for (int b = 0; b < B; b++) {
        size_t channels = 0, targets = 0;
        CHECK_STATUS(scorecam_explainer_get_detail_counts(&channels, &targets, e, b), SCORECAM_OK, e);
        CHECK(channels == K && targets == T);
    }
    for (int b = 0; b < B; b++) {
        calls_before = model->calls;
        CHECK_STATUS(scorecam_explainer_compute(alone, T * H * W, e, x[b], 1, C, H, W, acts[b], K, AH, AW,
                                                table + b * T, T), SCORECAM_OK, e);
        calls_alone += model->calls - calls_before;
        if (memcmp(alone, together + b * T * H * W, sizeof alone) != 0) fprintf(stderr, "%s: image %d differs\n", what, b);
        CHECK(memcmp(alone, together + b * T * H * W, sizeof alone) == 0);
    }
    /* batches of 4: 18 masked images in 5 calls together, 2 calls per image alone */
    if (calls_together >= calls_alone) fprintf(stderr, "%s: %d calls together, %d alone\n", what, calls_together, calls_alone);
    CHECK(calls_together < calls_alone);
}

int main(void) {
    unsigned seed = 7;
    linear_model model = linear_model_make(C * H * W, D, 5);
    scorecam_explainer *e = NULL;
    for (int b = 0; b < B; b++) {
        for (int i = 0; i < C * H * W; i++) x[b][i] = lcg_next(&seed);
        for (int i = 0; i < K * AH * AW; i++) acts[b][i] = lcg_next(&seed) * 2.0f;
    }
    CHECK_STATUS(scorecam_explainer_create(&e), SCORECAM_OK, e);
    CHECK_STATUS(scorecam_explainer_set_forward(e, linear_forward, D, &model), SCORECAM_OK, e);
    CHECK_STATUS(scorecam_explainer_set_param(e, SCORECAM_PARAM_BATCH_SIZE, 4), SCORECAM_OK, e);

    check_against_single(e, &model, "seed");
    /* RAW weights of (score - unmasked score): the unmasked passes of all images come first */
    CHECK_STATUS(scorecam_explainer_set_param(e, SCORECAM_PARAM_WEIGHTING, SCORECAM_WEIGHTING_RAW), SCORECAM_OK, e);
    check_against_single(e, &model, "raw weights with the unmasked pass");
    CHECK_STATUS(scorecam_explainer_set_param(e, SCORECAM_PARAM_SCORE, SCORECAM_SCORE_SOFTMAX), SCORECAM_OK, e);
    check_against_single(e, &model, "softmax scores");
    CHECK_STATUS(scorecam_explainer_set_preset(e, "seed"), SCORECAM_OK, e);

    /* A scoring callback: called per run of one image's rows, with that image's targets. */
    {
        scoring_log log = {table, 0, 0};
        CHECK_STATUS(scorecam_explainer_set_scoring(e, contrast_scoring, &log), SCORECAM_OK, e);
        check_against_single(e, &model, "scoring callback");
        CHECK(log.calls > 0 && log.wrong_rows == 0);
        CHECK_STATUS(scorecam_explainer_set_scoring(e, NULL, NULL), SCORECAM_OK, e);
    }

    /* Metrics: evaluate_per_image equals evaluate image by image. */
    {
        static float maps[B * T * H * W];
        double together[B * T], alone[T];
        CHECK_STATUS(scorecam_explainer_compute_per_image(maps, B * T * H * W, e, &x[0][0], B, C, H, W, &acts[0][0],
                                                          K, AH, AW, table, T), SCORECAM_OK, e);
        for (int metric = SCORECAM_METRIC_AVERAGE_DROP; metric <= SCORECAM_METRIC_DELETION; metric++) {
            CHECK_STATUS(scorecam_explainer_evaluate_per_image(together, B * T, e, metric, &x[0][0], B, C, H, W, maps,
                                                               H, W, table, T), SCORECAM_OK, e);
            for (int b = 0; b < B; b++) {
                CHECK_STATUS(scorecam_explainer_evaluate(alone, T, e, metric, x[b], 1, C, H, W, maps + b * T * H * W,
                                                         H, W, table + b * T, T), SCORECAM_OK, e);
                CHECK(memcmp(alone, together + b * T, sizeof alone) == 0);
            }
        }
    }

    /* Bad targets: exact statuses, nothing written. */
    {
        static float maps[B * T * H * W];
        double values[B * T];
        int64_t outside[B * T] = {4, 1, 0, 3, 2, 5};
        maps[0] = 123.0f;
        CHECK_STATUS(scorecam_explainer_compute_per_image(maps, B * T * H * W, e, &x[0][0], B, C, H, W, &acts[0][0],
                                                          K, AH, AW, NULL, T), SCORECAM_E_NULL_POINTER, e);
        CHECK_STATUS(scorecam_explainer_compute_per_image(maps, B * T * H * W, e, &x[0][0], B, C, H, W, &acts[0][0],
                                                          K, AH, AW, outside, T), SCORECAM_E_INVALID_ARGUMENT, e);
        CHECK(strstr(scorecam_last_error(), "image 2's target 1 is class 5") != NULL);
        CHECK_STATUS(scorecam_explainer_compute_per_image(maps, B * T * H * W, e, &x[0][0], B, C, H, W, &acts[0][0],
                                                          K, AH, AW, table, 0), SCORECAM_E_INVALID_ARGUMENT, e);
        CHECK_STATUS(scorecam_explainer_compute_per_image(maps, B * T * H * W - 1, e, &x[0][0], B, C, H, W, &acts[0][0],
                                                          K, AH, AW, table, T), SCORECAM_E_BUFFER_TOO_SMALL, e);
        CHECK_STATUS(scorecam_explainer_compute_per_image(maps, B * T * H * W, e, &x[0][0], B, C, H, W, &acts[0][0],
                                                          K, AH, AW, table, (size_t)-1), SCORECAM_E_INVALID_ARGUMENT, e);
        CHECK(maps[0] == 123.0f);
        CHECK_STATUS(scorecam_explainer_evaluate_per_image(values, B * T, e, SCORECAM_METRIC_INSERTION, &x[0][0], B, C,
                                                           H, W, maps, H, W, NULL, T), SCORECAM_E_NULL_POINTER, e);
        CHECK_STATUS(scorecam_explainer_evaluate_per_image(values, B * T, e, SCORECAM_METRIC_INSERTION, &x[0][0], B, C,
                                                           H, W, maps, H, W, outside, T), SCORECAM_E_INVALID_ARGUMENT, e);
    }

    scorecam_explainer_destroy(e);
    linear_model_free(&model);
    return test_summary("test_per_image");
}
