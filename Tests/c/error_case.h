/* The small case of the error tests (test_errors, test_limits): its input, activations and a maps
 * buffer filled with a sentinel, so "outputs untouched on error" can be checked. */
#ifndef SCORECAM_ERROR_CASE_H
#define SCORECAM_ERROR_CASE_H

enum { C = 2, H = 8, W = 8, K = 5, AH = 2, AW = 2, D = 4, MAPS = 2 * H * W };
#define SENTINEL 12345.0f

static float x[C * H * W], acts[K * AH * AW], maps[MAPS];

static void fill_sentinel(void) {
    for (int i = 0; i < MAPS; i++) maps[i] = SENTINEL;
}

static int untouched(void) {
    for (int i = 0; i < MAPS; i++)
        if (maps[i] != SENTINEL) return 0;
    return 1;
}

#endif
