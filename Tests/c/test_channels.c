/* scorecam_explainer_set_channels: the engine explains exactly the channels a host gives, in its
 * order; a list equal to the engine's own CSKIP plan gives the same maps; bad lists are refused. */
#include "test_util.h"

enum { C = 3, H = 10, W = 12, K = 8, AH = 3, AW = 4, D = 5 };

int main(void) {
    static float x[2][C * H * W], acts[2][K * AH * AW];
    static float cskip_maps[2 * H * W], explicit_maps[2 * H * W], reordered[2 * H * W];
    unsigned seed = 7;
    linear_model model = linear_model_make(C * H * W, D, 5);
    scorecam_explainer *e = NULL;
    int64_t target = 2;
    size_t count = 99;

    for (int b = 0; b < 2; b++) {
        for (int i = 0; i < C * H * W; i++) x[b][i] = lcg_next(&seed);
        for (int i = 0; i < K * AH * AW; i++) acts[b][i] = lcg_next(&seed) * 3.0f;
    }
    /* channel 5 of image 1 is constant: alone it carries no information */
    for (int i = 0; i < AH * AW; i++) acts[1][5 * AH * AW + i] = 1.5f;

    CHECK_STATUS(scorecam_explainer_create(&e), SCORECAM_OK, e);
    CHECK_STATUS(scorecam_explainer_set_forward(e, linear_forward, D, &model), SCORECAM_OK, e);
    CHECK_STATUS(scorecam_explainer_get_channel_count(&count, e), SCORECAM_OK, e);
    CHECK(count == 0);

    /* The engine's own CSKIP plan for image 0, then the same list given explicitly. */
    {
        int64_t plan[3];
        size_t used = 0, targets = 0;
        CHECK_STATUS(scorecam_explainer_set_param(e, SCORECAM_PARAM_SELECTION, SCORECAM_SELECTION_MAX), SCORECAM_OK, e);
        CHECK_STATUS(scorecam_explainer_set_param(e, SCORECAM_PARAM_SELECTION_COUNT, 3), SCORECAM_OK, e);
        CHECK_STATUS(scorecam_explainer_compute(cskip_maps, H * W, e, x[0], 1, C, H, W, acts[0], K, AH, AW, &target, 1),
                     SCORECAM_OK, e);
        CHECK_STATUS(scorecam_explainer_get_details(plan, NULL, NULL, NULL, 3, e, 0), SCORECAM_OK, e);
        CHECK_STATUS(scorecam_explainer_set_param(e, SCORECAM_PARAM_SELECTION, SCORECAM_SELECTION_ALL), SCORECAM_OK, e);
        CHECK_STATUS(scorecam_explainer_set_channels(e, plan, 3), SCORECAM_OK, e);
        CHECK_STATUS(scorecam_explainer_get_channel_count(&count, e), SCORECAM_OK, e);
        CHECK(count == 3);
        model.images = 0;
        CHECK_STATUS(scorecam_explainer_compute(explicit_maps, H * W, e, x[0], 1, C, H, W, acts[0], K, AH, AW, &target, 1),
                     SCORECAM_OK, e);
        CHECK(model.images == 3);
        CHECK(memcmp(cskip_maps, explicit_maps, H * W * sizeof(float)) == 0);
        CHECK_STATUS(scorecam_explainer_get_detail_counts(&used, &targets, e, 0), SCORECAM_OK, e);
        CHECK(used == 3 && targets == 1);
    }

    /* Any order, any channels, every image of a batch; the details report the list as given. */
    {
        int64_t mine[4] = {6, 0, 5, 2}, order[4];
        CHECK_STATUS(scorecam_explainer_set_channels(e, mine, 4), SCORECAM_OK, e);
        CHECK_STATUS(scorecam_explainer_compute(reordered, 2 * H * W, e, &x[0][0], 2, C, H, W, &acts[0][0], K, AH, AW,
                                                &target, 1), SCORECAM_OK, e);
        for (int b = 0; b < 2; b++) {
            CHECK_STATUS(scorecam_explainer_get_details(order, NULL, NULL, NULL, 4, e, b), SCORECAM_OK, e);
            CHECK(memcmp(order, mine, sizeof mine) == 0);
        }
        /* presets keep the list (it is not a parameter) */
        CHECK_STATUS(scorecam_explainer_set_preset(e, "gradcam"), SCORECAM_OK, e);
        CHECK_STATUS(scorecam_explainer_get_channel_count(&count, e), SCORECAM_OK, e);
        CHECK(count == 4);
        CHECK_STATUS(scorecam_explainer_set_preset(e, "seed"), SCORECAM_OK, e);
    }

    /* Refused: negative, repeated, NULL with a count, a count of 0 with a list; out of range at
     * compute time. A refused list leaves the previous one in place. */
    {
        int64_t negative[2] = {1, -1}, repeated[3] = {1, 4, 1}, too_big[2] = {0, K};
        CHECK_STATUS(scorecam_explainer_set_channels(e, negative, 2), SCORECAM_E_INVALID_ARGUMENT, e);
        CHECK_STATUS(scorecam_explainer_set_channels(e, repeated, 3), SCORECAM_E_INVALID_ARGUMENT, e);
        CHECK_STATUS(scorecam_explainer_set_channels(e, NULL, 2), SCORECAM_E_NULL_POINTER, e);
        CHECK_STATUS(scorecam_explainer_set_channels(e, negative, 0), SCORECAM_E_INVALID_ARGUMENT, e);
        CHECK_STATUS(scorecam_explainer_set_channels(NULL, negative, 1), SCORECAM_E_NULL_POINTER, NULL);
        CHECK_STATUS(scorecam_explainer_get_channel_count(NULL, e), SCORECAM_E_NULL_POINTER, e);
        CHECK_STATUS(scorecam_explainer_get_channel_count(&count, e), SCORECAM_OK, e);
        CHECK(count == 4);
        CHECK_STATUS(scorecam_explainer_set_channels(e, too_big, 2), SCORECAM_OK, e);
        memset(reordered, 0, sizeof reordered);
        CHECK_STATUS(scorecam_explainer_compute(reordered, H * W, e, x[0], 1, C, H, W, acts[0], K, AH, AW, &target, 1),
                     SCORECAM_E_INVALID_ARGUMENT, e);
        CHECK(reordered[0] == 0.0f); /* the caller's buffer is untouched */
        /* only a constant channel: nothing to explain */
        {
            int64_t constant[1] = {5};
            CHECK_STATUS(scorecam_explainer_set_channels(e, constant, 1), SCORECAM_OK, e);
            CHECK_STATUS(scorecam_explainer_compute(reordered, 2 * H * W, e, &x[0][0], 2, C, H, W, &acts[0][0], K, AH, AW,
                                                    &target, 1), SCORECAM_E_DEGENERATE, e);
        }
    }

    /* NULL, 0 restores the engine's selection: the CSKIP maps again. */
    CHECK_STATUS(scorecam_explainer_set_channels(e, NULL, 0), SCORECAM_OK, e);
    CHECK_STATUS(scorecam_explainer_get_channel_count(&count, e), SCORECAM_OK, e);
    CHECK(count == 0);
    CHECK_STATUS(scorecam_explainer_set_param(e, SCORECAM_PARAM_SELECTION, SCORECAM_SELECTION_MAX), SCORECAM_OK, e);
    CHECK_STATUS(scorecam_explainer_set_param(e, SCORECAM_PARAM_SELECTION_COUNT, 3), SCORECAM_OK, e);
    CHECK_STATUS(scorecam_explainer_compute(explicit_maps, H * W, e, x[0], 1, C, H, W, acts[0], K, AH, AW, &target, 1),
                 SCORECAM_OK, e);
    CHECK(memcmp(cskip_maps, explicit_maps, H * W * sizeof(float)) == 0);

    scorecam_explainer_destroy(e);
    linear_model_free(&model);
    return test_summary("test_channels");
}
