/*
 * Engine-only throughput: a no-op model, so every second measured is the engine's own work
 * (selection, upsampling, normalization, masking, batching, weighting, final maps).
 *
 *   make bench
 *   engine_bench [repeats [K size]]   (one configuration only when K and size are given:
 *                                      `valgrind --tool=callgrind engine_bench 1 1280 224`)
 *
 * Prints masked images per second, the time spent outside the forward callback, and the ratio to
 * the write-bandwidth bound: the bytes of the masked images (K x 3 x H x W floats) over the best
 * memset bandwidth measured here, 512 MiB from this thread, best of 5. One explainer serves all
 * repeats, as a long-running host uses it.
 */
#define _POSIX_C_SOURCE 199309L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "scorecam.h"

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

typedef struct {
    double inside; /* seconds spent in the callback */
    volatile float sink;
} noop_model;

/* Touches one value per image (so the batch is really read) and writes zero outputs. */
static int noop_forward(void *user_data, const float *images, int64_t n, int64_t c, int64_t h, int64_t w,
                        float *outputs, int64_t output_dim) {
    noop_model *m = user_data;
    double start = now();
    for (int64_t i = 0; i < n; i++) m->sink += images[i * c * h * w + (c * h * w) / 2];
    for (int64_t i = 0; i < n * output_dim; i++) outputs[i] = (float)(i % 7);
    m->inside += now() - start;
    return 0;
}

/* GB/s of memset over 512 MiB, best of 5 (glibc uses non-temporal stores at this size). */
static double write_bandwidth(void) {
    const size_t bytes = (size_t)512 << 20;
    /* Through a volatile pointer: a memset the compiler can see freed unread would be elided. */
    void *(*volatile fill)(void *, int, size_t) = memset;
    char *buffer = malloc(bytes);
    double best = 1e30;
    if (buffer == NULL) return 0;
    fill(buffer, 1, bytes); /* fault the pages in first */
    for (int r = 0; r < 5; r++) {
        double start = now();
        fill(buffer, r, bytes);
        double elapsed = now() - start;
        if (elapsed < best) best = elapsed;
    }
    free(buffer);
    return (double)bytes / best / 1e9;
}

static int run(int64_t k, int64_t size, int repeats, double bandwidth) {
    const int64_t c = 3, ah = 7, aw = 7, d = 1000, batch = 128;
    float *x = malloc(sizeof(float) * (size_t)(c * size * size));
    float *acts = malloc(sizeof(float) * (size_t)(k * ah * aw));
    float *map = malloc(sizeof(float) * (size_t)(size * size));
    int64_t target = 243;
    unsigned seed = 1;
    scorecam_explainer *e = NULL;
    noop_model model = {0, 0};
    double best = 1e30, best_inside = 0;
    int status;

    for (int64_t i = 0; i < c * size * size; i++) x[i] = (float)(seed = seed * 1664525u + 1013904223u) / 4294967296.0f;
    for (int64_t i = 0; i < k * ah * aw; i++) acts[i] = (float)(seed = seed * 1664525u + 1013904223u) / 4294967296.0f;
    status = scorecam_explainer_create(&e);
    if (status == SCORECAM_OK) status = scorecam_explainer_set_forward(e, noop_forward, d, &model);
    if (status == SCORECAM_OK) status = scorecam_explainer_set_param(e, SCORECAM_PARAM_BATCH_SIZE, (double)batch);
    for (int r = 0; r < repeats && status == SCORECAM_OK; r++) {
        double start = now();
        model.inside = 0;
        status = scorecam_explainer_compute(map, (size_t)(size * size), e, x, 1, c, size, size, acts, k, ah, aw, &target, 1);
        double elapsed = now() - start;
        if (elapsed < best) {
            best = elapsed;
            best_inside = model.inside;
        }
    }
    if (status != SCORECAM_OK) {
        fprintf(stderr, "compute failed: %s: %s\n", scorecam_status_string(status), scorecam_last_error());
    } else {
        double bytes = (double)k * (double)(c * size * size) * sizeof(float);
        double bound = bandwidth > 0 ? bytes / (bandwidth * 1e9) : 0;
        printf("%6lld  %4lldx%-4lld  %8.3f  %12.0f  %10.3f  %10.2f  %8.4f  %8.2f\n", (long long)k, (long long)size,
               (long long)size, best, (double)k / best, best - best_inside, bytes / best / 1e9, bound, bound > 0 ? best / bound : 0);
    }
    scorecam_explainer_destroy(e);
    free(x);
    free(acts);
    free(map);
    return status == SCORECAM_OK ? 0 : 1;
}

int main(int argc, char **argv) {
    int repeats = argc > 1 ? atoi(argv[1]) : 5;
    int failed = 0;
    /* One configuration (e.g. under callgrind): no bandwidth run, no bound. */
    double bandwidth = argc > 3 ? 0 : write_bandwidth();
    printf("libscorecam %s engine-only bench: no-op forward, C=3, activations 7x7, batch 128, best of %d\n",
           scorecam_version_string(), repeats);
    printf("write bandwidth (memset, 512 MiB, best of 5): %.1f GB/s\n", bandwidth);
    printf("%6s  %9s  %8s  %12s  %10s  %10s  %8s  %8s\n", "K", "HxW", "total s", "masked img/s", "outside s",
           "GB/s masks", "bound s", "vs bound");
    if (argc > 3) return run(atoll(argv[2]), atoll(argv[3]), repeats, bandwidth);
    const int64_t ks[] = {512, 1280, 2048}, sizes[] = {224, 448};
    for (int s = 0; s < 2; s++)
        for (int i = 0; i < 3; i++) failed |= run(ks[i], sizes[s], repeats, bandwidth);
    return failed;
}
