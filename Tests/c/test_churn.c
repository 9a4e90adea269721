/* Many explainers on many threads with create/destroy churn, re-entrant callbacks, failing and
 * cancelled runs mixed in: every run gets the maps a lone explainer gets. Also run under
 * ThreadSanitizer (make test-tsan), against a library built with -sanitize=thread. */
#include <pthread.h>

#include "test_util.h"

enum { C = 2, H = 12, W = 12, K = 9, AH = 3, AW = 3, D = 5, THREADS = 8, ROUNDS = 40 };

static float x[C * H * W], acts[K * AH * AW], reference[2 * H * W];
static int64_t targets[2] = {1, 4};

typedef struct {
    linear_model model;
    scorecam_explainer *self;
    int round, failures, nested;
} worker;

/* Every third round the forward also asks its own explainer for a parameter and a mask. */
static int worker_forward(void *user_data, const float *images, int64_t n, int64_t c, int64_t h, int64_t w,
                          float *outputs, int64_t output_dim) {
    worker *me = user_data;
    if (me->round % 3 == 0 && me->nested == 0) {
        double value = 0;
        float mask[H * W];
        int64_t channel = 2;
        me->nested++;
        if (scorecam_explainer_get_param(&value, me->self, SCORECAM_PARAM_BATCH_SIZE) != SCORECAM_OK) me->failures++;
        if (scorecam_explainer_make_masks(mask, H * W, me->self, NULL, 0, H, W, acts, K, AH, AW, &channel, 1) != SCORECAM_OK)
            me->failures++;
        me->nested--;
    }
    return linear_forward(&me->model, images, n, c, h, w, outputs, output_dim);
}

static int cancel_early(void *user_data, size_t done, size_t total) {
    (void)user_data; (void)total;
    return done >= 3;
}

static int explain(worker *me, float *maps, int batch, int mode) {
    int status = scorecam_explainer_create(&me->self);
    if (status == SCORECAM_OK) status = scorecam_explainer_set_forward(me->self, worker_forward, D, me);
    if (status == SCORECAM_OK) status = scorecam_explainer_set_param(me->self, SCORECAM_PARAM_BATCH_SIZE, batch);
    if (status == SCORECAM_OK) status = scorecam_explainer_set_param(me->self, SCORECAM_PARAM_THREADS, 1 + batch % 3);
    if (status == SCORECAM_OK && mode == 1) status = scorecam_explainer_set_progress(me->self, cancel_early, NULL);
    if (status == SCORECAM_OK && mode == 2) me->model.fail_on_call = me->model.calls + 1;
    if (status == SCORECAM_OK)
        status = scorecam_explainer_compute(maps, 2 * H * W, me->self, x, 1, C, H, W, acts, K, AH, AW, targets, 2);
    me->model.fail_on_call = 0;
    scorecam_explainer_destroy(me->self);
    me->self = NULL;
    return status;
}

static void *run(void *arg) {
    worker *me = arg;
    float maps[2 * H * W];
    for (me->round = 0; me->round < ROUNDS; me->round++) {
        int mode = me->round % 4 == 3 ? 1 + (me->round / 4) % 2 : 0; /* some runs cancelled or failing */
        int status = explain(me, maps, 1 + (me->round * 5) % 11, mode);
        int expected = mode == 0 ? SCORECAM_OK : mode == 1 ? SCORECAM_E_CANCELLED : SCORECAM_E_CALLBACK;
        if (status != expected) me->failures++;
        if (status == SCORECAM_OK && memcmp(maps, reference, sizeof reference) != 0) me->failures++;
    }
    return NULL;
}

int main(void) {
    unsigned seed = 3;
    pthread_t threads[THREADS];
    worker workers[THREADS];
    worker alone;

    for (int i = 0; i < C * H * W; i++) x[i] = lcg_next(&seed);
    for (int i = 0; i < K * AH * AW; i++) acts[i] = lcg_next(&seed);
    memset(&alone, 0, sizeof alone);
    alone.model = linear_model_make(C * H * W, D, 4);
    alone.round = 1;
    CHECK(explain(&alone, reference, 128, 0) == SCORECAM_OK);
    for (int t = 0; t < THREADS; t++) {
        memset(&workers[t], 0, sizeof workers[t]);
        workers[t].model = linear_model_make(C * H * W, D, 4);
        CHECK(pthread_create(&threads[t], NULL, run, &workers[t]) == 0);
    }
    for (int t = 0; t < THREADS; t++) {
        CHECK(pthread_join(threads[t], NULL) == 0);
        CHECK(workers[t].failures == 0);
        linear_model_free(&workers[t].model);
    }
    linear_model_free(&alone.model);
    return test_summary("test_churn");
}
