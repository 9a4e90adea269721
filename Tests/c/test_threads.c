/* Two explainers on two threads at once give the same maps as one explainer alone. */
#include <pthread.h>

#include "test_util.h"

enum { C = 3, H = 16, W = 16, K = 12, AH = 4, AW = 4, D = 6, RUNS = 10 };

static float x[C * H * W], acts[K * AH * AW];

typedef struct {
    linear_model model;
    float maps[2 * H * W];
    int status;
    int identical;
} worker;

static int explain(linear_model *model, float *maps) {
    scorecam_explainer *e = NULL;
    int64_t targets[2] = {1, 5};
    int status = scorecam_explainer_create(&e);
    if (status == SCORECAM_OK) status = scorecam_explainer_set_forward(e, linear_forward, D, model);
    if (status == SCORECAM_OK) status = scorecam_explainer_set_param(e, SCORECAM_PARAM_BATCH_SIZE, 5);
    if (status == SCORECAM_OK)
        status = scorecam_explainer_compute(maps, 2 * H * W, e, x, 1, C, H, W, acts, K, AH, AW, targets, 2);
    scorecam_explainer_destroy(e);
    return status;
}

static float reference[2 * H * W];

static void *run(void *arg) {
    worker *w = arg;
    w->identical = 1;
    for (int i = 0; i < RUNS && w->status == SCORECAM_OK; i++) {
        w->status = explain(&w->model, w->maps);
        w->identical &= memcmp(w->maps, reference, sizeof reference) == 0;
    }
    return NULL;
}

int main(void) {
    unsigned seed = 21;
    pthread_t threads[2];
    worker workers[2];
    linear_model model = linear_model_make(C * H * W, D, 4);

    for (int i = 0; i < C * H * W; i++) x[i] = lcg_next(&seed);
    for (int i = 0; i < K * AH * AW; i++) acts[i] = lcg_next(&seed);
    CHECK(explain(&model, reference) == SCORECAM_OK);

    for (int t = 0; t < 2; t++) {
        memset(&workers[t], 0, sizeof workers[t]);
        workers[t].model = linear_model_make(C * H * W, D, 4); /* each thread its own model state */
        CHECK(pthread_create(&threads[t], NULL, run, &workers[t]) == 0);
    }
    for (int t = 0; t < 2; t++) {
        CHECK(pthread_join(threads[t], NULL) == 0);
        CHECK(workers[t].status == SCORECAM_OK);
        CHECK(workers[t].identical);
        CHECK(workers[t].model.images == RUNS * K);
        linear_model_free(&workers[t].model);
    }
    linear_model_free(&model);
    return test_summary("test_threads");
}
