/* Tiny test harness and a deterministic linear model shared by the C tests. */
#ifndef SCORECAM_TEST_UTIL_H
#define SCORECAM_TEST_UTIL_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scorecam.h"

static int g_failures = 0;
static int g_checks = 0;

#define CHECK(cond)                                                                   \
    do {                                                                              \
        g_checks++;                                                                   \
        if (!(cond)) {                                                                \
            g_failures++;                                                             \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
        }                                                                             \
    } while (0)

/* A call must fail with `expected` and leave a message on the handle and the thread. */
#define CHECK_STATUS(call, expected, handle)                                                   \
    do {                                                                                       \
        int status_ = (call);                                                                  \
        g_checks++;                                                                            \
        if (status_ != (expected)) {                                                           \
            g_failures++;                                                                      \
            fprintf(stderr, "%s:%d: %s returned %d (%s), expected %d; message: %s\n", __FILE__, \
                    __LINE__, #call, status_, scorecam_status_string(status_), (int)(expected), \
                    scorecam_last_error());                                                    \
        } else if ((expected) != SCORECAM_OK) {                                                \
            CHECK(strlen(scorecam_last_error()) > 0);                                          \
            if ((handle) != NULL) CHECK(strcmp(scorecam_explainer_last_error(handle),          \
                                               scorecam_last_error()) == 0);                   \
        }                                                                                      \
    } while (0)

static int test_summary(const char *name) {
    printf("%s: %d checks, %d failures\n", name, g_checks, g_failures);
    return g_failures == 0 ? 0 : 1;
}

/* Deterministic pseudo-random floats in [0, 1). */
static float lcg_next(unsigned *state) {
    *state = *state * 1664525u + 1013904223u;
    return (float)(*state >> 8) / 16777216.0f;
}

/* outputs = W x + bias, with W and bias drawn from a fixed seed. */
typedef struct {
    int64_t in_size, out_dim;
    float *weight, *bias;
    int calls;          /* forward calls so far */
    int64_t images;     /* images seen so far */
    int fail_on_call;   /* return an error on this call (1-based), 0 = never */
    int nan_on_call;    /* write a NaN output on this call, 0 = never */
} linear_model;

static linear_model linear_model_make(int64_t in_size, int64_t out_dim, unsigned seed) {
    linear_model m;
    memset(&m, 0, sizeof m);
    m.in_size = in_size;
    m.out_dim = out_dim;
    m.weight = malloc(sizeof(float) * (size_t)(in_size * out_dim));
    m.bias = malloc(sizeof(float) * (size_t)out_dim);
    for (int64_t i = 0; i < in_size * out_dim; i++) m.weight[i] = (lcg_next(&seed) - 0.5f) * 0.2f;
    for (int64_t i = 0; i < out_dim; i++) m.bias[i] = lcg_next(&seed) - 0.5f;
    return m;
}

static void linear_model_free(linear_model *m) {
    free(m->weight);
    free(m->bias);
}

static void linear_model_apply(const linear_model *m, const float *x, float *out) {
    for (int64_t o = 0; o < m->out_dim; o++) {
        double sum = m->bias[o];
        for (int64_t j = 0; j < m->in_size; j++) sum += (double)m->weight[o * m->in_size + j] * x[j];
        out[o] = (float)sum;
    }
}

static int linear_forward(void *user_data, const float *images, int64_t n, int64_t c, int64_t h,
                          int64_t w, float *outputs, int64_t output_dim) {
    linear_model *m = user_data;
    m->calls++;
    if (m->calls == m->fail_on_call) return 42;
    if (c * h * w != m->in_size || output_dim != m->out_dim) return 1;
    for (int64_t i = 0; i < n; i++) linear_model_apply(m, images + i * m->in_size, outputs + i * output_dim);
    if (m->calls == m->nan_on_call) outputs[0] = NAN;
    m->images += n;
    return 0;
}

#endif
