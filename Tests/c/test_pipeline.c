/* The whole pipeline through the C ABI with a deterministic linear model, against a direct,
 * full-resolution implementation of the seed's formula written here independently. */
#include "test_util.h"

enum { C = 3, H = 12, W = 14, K = 6, AH = 3, AW = 4, D = 5 };

/* PyTorch bicubic (align_corners=False, a = -0.75, clamped borders), computed directly in 2-D. */
static double cubic(double x) {
    const double a = -0.75;
    x = fabs(x);
    if (x <= 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
    if (x < 2) return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a;
    return 0;
}

static int clampi(int v, int hi) { return v < 0 ? 0 : (v > hi ? hi : v); }

static void bicubic(const float *src, int ih, int iw, float *dst, int oh, int ow) {
    for (int y = 0; y < oh; y++) {
        double sy = ((double)ih / oh) * (y + 0.5) - 0.5, fy = floor(sy);
        for (int x = 0; x < ow; x++) {
            double sx = ((double)iw / ow) * (x + 0.5) - 0.5, fx = floor(sx), sum = 0;
            for (int j = -1; j <= 2; j++)
                for (int i = -1; i <= 2; i++)
                    sum += cubic(sy - (fy + j)) * cubic(sx - (fx + i)) *
                           src[clampi((int)fy + j, ih - 1) * iw + clampi((int)fx + i, iw - 1)];
            dst[y * ow + x] = (float)sum;
        }
    }
}

/* The seed: L = ReLU(sum_k softmax_k(s_k - s_ref) U_k), U_k = up(A_k), masks min-max of U_k. */
static void reference_map(const linear_model *m, const float *x, const float *acts, int target, float *map) {
    static float up[K][H * W], masked[C * H * W];
    float out[D], scores[K], ref;
    linear_model_apply(m, x, out);
    ref = out[target];
    for (int k = 0; k < K; k++) {
        float lo, hi;
        bicubic(acts + k * AH * AW, AH, AW, up[k], H, W);
        lo = hi = up[k][0];
        for (int i = 1; i < H * W; i++) {
            lo = up[k][i] < lo ? up[k][i] : lo;
            hi = up[k][i] > hi ? up[k][i] : hi;
        }
        for (int c = 0; c < C; c++)
            for (int i = 0; i < H * W; i++) masked[c * H * W + i] = x[c * H * W + i] * ((up[k][i] - lo) / (hi - lo + 1e-10f));
        linear_model_apply(m, masked, out);
        scores[k] = out[target] - ref;
    }
    double top = scores[0], total = 0, weights[K];
    for (int k = 1; k < K; k++) top = scores[k] > top ? scores[k] : top;
    for (int k = 0; k < K; k++) total += weights[k] = exp(scores[k] - top);
    for (int i = 0; i < H * W; i++) {
        double sum = 0;
        for (int k = 0; k < K; k++) sum += weights[k] / total * up[k][i];
        map[i] = sum > 0 ? (float)sum : 0.0f;
    }
}

static float relative_error(const float *a, const float *b, int n) {
    float worst = 0, scale = 0;
    for (int i = 0; i < n; i++) {
        worst = fmaxf(worst, fabsf(a[i] - b[i]));
        scale = fmaxf(scale, fabsf(b[i]));
    }
    return worst / (scale > 0 ? scale : 1);
}

/* Scores a target as output[target] - output[0]: a scoring callback that uses the targets. */
static int contrast_scoring(void *user_data, const float *outputs, int64_t n, int64_t output_dim,
                            const int64_t *targets, size_t num_targets, float *scores) {
    int *calls = user_data;
    (*calls)++;
    for (int64_t i = 0; i < n; i++)
        for (size_t t = 0; t < num_targets; t++)
            scores[i * (int64_t)num_targets + (int64_t)t] = outputs[i * output_dim + targets[t]] - outputs[i * output_dim];
    return 0;
}

static int count_progress(void *user_data, size_t done, size_t total) {
    size_t *last = user_data;
    if (done <= last[0] || done > total) last[2] = 1; /* must be increasing and bounded */
    last[0] = done;
    last[1] = total;
    return 0;
}

int main(void) {
    static float x[2][C * H * W], acts[2][K * AH * AW];
    static float maps[2 * 3 * H * W], single[H * W], expected[H * W];
    unsigned seed = 3;
    linear_model model = linear_model_make(C * H * W, D, 11);
    scorecam_explainer *e = NULL;
    int64_t targets[3] = {4, 1, 2};

    for (int b = 0; b < 2; b++) {
        for (int i = 0; i < C * H * W; i++) x[b][i] = lcg_next(&seed);
        for (int i = 0; i < K * AH * AW; i++) acts[b][i] = lcg_next(&seed) * 3.0f;
    }
    CHECK(scorecam_version_number() == SCORECAM_VERSION_NUMBER);
    {
        char expected_version[32];
        snprintf(expected_version, sizeof expected_version, "%d.%d.%d", SCORECAM_VERSION_MAJOR,
                 SCORECAM_VERSION_MINOR, SCORECAM_VERSION_PATCH);
        CHECK(strcmp(scorecam_version_string(), expected_version) == 0);
    }

    CHECK_STATUS(scorecam_explainer_create(&e), SCORECAM_OK, e);
    CHECK_STATUS(scorecam_explainer_set_forward(e, linear_forward, D, &model), SCORECAM_OK, e);
    CHECK_STATUS(scorecam_explainer_set_param(e, SCORECAM_PARAM_BATCH_SIZE, 4), SCORECAM_OK, e);

    /* Two images, three targets, one call; every map against the direct reference. */
    CHECK_STATUS(scorecam_explainer_compute(maps, 2 * 3 * H * W, e, &x[0][0], 2, C, H, W, &acts[0][0], K, AH, AW,
                                            targets, 3), SCORECAM_OK, e);
    CHECK(model.images == 2 * K); /* one set of K forwards per image serves all three targets */
    for (int b = 0; b < 2; b++)
        for (int t = 0; t < 3; t++) {
            reference_map(&model, x[b], acts[b], (int)targets[t], expected);
            float err = relative_error(maps + (b * 3 + t) * H * W, expected, H * W);
            if (err >= 1e-4f) fprintf(stderr, "image %d target %d: relative error %g\n", b, t, err);
            CHECK(err < 1e-4f);
        }

    /* Multi-target equals per-target runs, bit for bit. */
    for (int t = 0; t < 3; t++) {
        CHECK_STATUS(scorecam_explainer_compute(single, H * W, e, x[1], 1, C, H, W, acts[1], K, AH, AW, &targets[t], 1),
                     SCORECAM_OK, e);
        CHECK(memcmp(single, maps + (3 + t) * H * W, sizeof single) == 0);
    }

    /* Details of the last run: K channels in order, softmax weights summing to one. */
    {
        size_t channels = 0, num_targets = 0;
        int64_t order[K];
        float scores[K], weights[K], base[1];
        double sum = 0;
        CHECK_STATUS(scorecam_explainer_get_detail_counts(&channels, &num_targets, e, 0), SCORECAM_OK, e);
        CHECK(channels == K && num_targets == 1);
        CHECK_STATUS(scorecam_explainer_get_details(order, scores, weights, base, K, e, 0), SCORECAM_OK, e);
        for (int k = 0; k < K; k++) {
            CHECK(order[k] == k);
            sum += weights[k];
        }
        CHECK(fabs(sum - 1) < 1e-5);
        CHECK(isnan(base[0])); /* softmax weighting needs no unmasked pass */
    }

    /* A scoring callback gets the targets and replaces the class-index scores. */
    {
        int scoring_calls = 0;
        int64_t contrast_targets[2] = {3, 2};
        float callback_maps[2 * H * W];
        CHECK_STATUS(scorecam_explainer_set_scoring(e, contrast_scoring, &scoring_calls), SCORECAM_OK, e);
        CHECK_STATUS(scorecam_explainer_compute(callback_maps, 2 * H * W, e, x[0], 1, C, H, W, acts[0], K, AH, AW,
                                                contrast_targets, 2), SCORECAM_OK, e);
        CHECK(scoring_calls == 2); /* K = 6 masked images in batches of 4 */
        CHECK_STATUS(scorecam_explainer_set_scoring(e, NULL, NULL), SCORECAM_OK, e);
        /* softmax(s_t - s_0) differs from softmax(s_t) in general: the callback really was used */
        CHECK_STATUS(scorecam_explainer_compute(single, H * W, e, x[0], 1, C, H, W, acts[0], K, AH, AW, contrast_targets, 1),
                     SCORECAM_OK, e);
        CHECK(memcmp(single, callback_maps, sizeof single) != 0);
    }

    /* CSKIP keeps the K' channels of largest max, and progress counts masked images. */
    {
        size_t progress[3] = {0, 0, 0}, channels = 0, num_targets = 0;
        int64_t order[2];
        CHECK_STATUS(scorecam_explainer_set_param(e, SCORECAM_PARAM_SELECTION, SCORECAM_SELECTION_MAX), SCORECAM_OK, e);
        CHECK_STATUS(scorecam_explainer_set_param(e, SCORECAM_PARAM_SELECTION_COUNT, 2), SCORECAM_OK, e);
        CHECK_STATUS(scorecam_explainer_set_progress(e, count_progress, progress), SCORECAM_OK, e);
        CHECK_STATUS(scorecam_explainer_compute(single, H * W, e, x[0], 1, C, H, W, acts[0], K, AH, AW, targets, 1),
                     SCORECAM_OK, e);
        CHECK(progress[0] == 2 && progress[1] == 2 && progress[2] == 0);
        CHECK_STATUS(scorecam_explainer_get_detail_counts(&channels, &num_targets, e, 0), SCORECAM_OK, e);
        CHECK(channels == 2);
        CHECK_STATUS(scorecam_explainer_get_details(order, NULL, NULL, NULL, 2, e, 0), SCORECAM_OK, e);
        for (int j = 0; j < 2; j++) {
            float top = 0;
            int above = 0;
            for (int i = 0; i < AH * AW; i++) top = fmaxf(top, acts[0][order[j] * AH * AW + i]);
            for (int k = 0; k < K; k++) {
                float m = 0;
                for (int i = 0; i < AH * AW; i++) m = fmaxf(m, acts[0][k * AH * AW + i]);
                above += m > top;
            }
            CHECK(above == j); /* channel j of the plan is the (j+1)-th largest by max */
        }
        /* progress points into this block: unregister it before it goes out of scope */
        CHECK_STATUS(scorecam_explainer_set_progress(e, NULL, NULL), SCORECAM_OK, e);
    }

    /* The masks a run uses, rendered on demand, equal the direct computation. */
    {
        static float masks[2 * H * W], masked[2 * C * H * W], up[H * W];
        int64_t channels[2] = {3, 0};
        CHECK_STATUS(scorecam_explainer_make_masks(masks, 2 * H * W, e, NULL, 0, H, W, acts[0], K, AH, AW, channels, 2),
                     SCORECAM_OK, e);
        CHECK_STATUS(scorecam_explainer_make_masks(masked, 2 * C * H * W, e, x[0], C, H, W, acts[0], K, AH, AW, channels, 2),
                     SCORECAM_OK, e);
        for (int j = 0; j < 2; j++) {
            float lo, hi, worst = 0;
            bicubic(acts[0] + channels[j] * AH * AW, AH, AW, up, H, W);
            lo = hi = up[0];
            for (int i = 1; i < H * W; i++) {
                lo = fminf(lo, up[i]);
                hi = fmaxf(hi, up[i]);
            }
            for (int i = 0; i < H * W; i++) worst = fmaxf(worst, fabsf(masks[j * H * W + i] - (up[i] - lo) / (hi - lo)));
            CHECK(worst < 1e-5f);
            for (int c = 0; c < C; c++)
                for (int i = 0; i < H * W; i++)
                    CHECK(masked[(j * C + c) * H * W + i] == x[0][c * H * W + i] * masks[j * H * W + i]);
        }
    }

    /* Parameters round-trip; presets reset them. */
    {
        double value = 0;
        CHECK_STATUS(scorecam_explainer_set_param(e, SCORECAM_PARAM_NORM_EPS, 1e-8), SCORECAM_OK, e);
        CHECK_STATUS(scorecam_explainer_get_param(&value, e, SCORECAM_PARAM_NORM_EPS), SCORECAM_OK, e);
        CHECK(value == 1e-8);
        CHECK_STATUS(scorecam_explainer_set_preset(e, "seed"), SCORECAM_OK, e);
        CHECK_STATUS(scorecam_explainer_get_param(&value, e, SCORECAM_PARAM_SELECTION), SCORECAM_OK, e);
        CHECK(value == SCORECAM_SELECTION_ALL);
        CHECK_STATUS(scorecam_explainer_get_param(&value, e, SCORECAM_PARAM_BATCH_SIZE), SCORECAM_OK, e);
        CHECK(value == 4); /* execution knobs survive a preset */
    }

    /* Every preset by name; torchcam maps stay at activation size. */
    {
        const char *presets[4] = {"seed", "gradcam", "torchcam", "paper"};
        int64_t map_h = 0, map_w = 0;
        for (int p = 0; p < 4; p++) {
            CHECK_STATUS(scorecam_explainer_set_preset(e, presets[p]), SCORECAM_OK, e);
            CHECK_STATUS(scorecam_explainer_get_map_size(&map_h, &map_w, e, H, W, AH, AW), SCORECAM_OK, e);
            CHECK(p == 2 ? (map_h == AH && map_w == AW) : (map_h == H && map_w == W));
            CHECK_STATUS(scorecam_explainer_compute(single, H * W, e, x[0], 1, C, H, W, acts[0], K, AH, AW, targets, 1),
                         SCORECAM_OK, e);
        }
        /* the paper's and torchcam's maps are normalized to [0, 1] */
        {
            float top = 0;
            for (int i = 0; i < AH * AW; i++) top = fmaxf(top, single[i]);
            CHECK(top <= 1.0f && top > 0.99f);
        }
        CHECK_STATUS(scorecam_explainer_set_preset(e, "seed"), SCORECAM_OK, e);
    }

    scorecam_explainer_destroy(e);
    linear_model_free(&model);
    return test_summary("test_pipeline");
}
