/* scorecam_explainer_set_channels with counts no host can back (issue 20, A1 and A2): a count
 * above INT64_MAX is SCORECAM_E_INVALID_ARGUMENT, NULL or not; a list larger than this machine's
 * memory is SCORECAM_E_OUT_OF_MEMORY, refused before any entry is read (the 4 entries given here
 * are all there is) and never an abort, under ASan too. Every message names the count, and a
 * refused call keeps the list set before it. */
#define _POSIX_C_SOURCE 200809L
#include <unistd.h>

#include "test_util.h"

static scorecam_explainer *g_explainer;
static const int64_t g_list[4] = {3, 1, 2, 0};

/* set_channels(channels, count) fails with `expected`, names `count`, keeps the 4-entry list. */
static void check_refused(const int64_t *channels, size_t count, int expected) {
    char number[32];
    size_t kept = 0;
    snprintf(number, sizeof number, "%zu", count);
    CHECK_STATUS(scorecam_explainer_set_channels(g_explainer, channels, count), expected, g_explainer);
    if (strstr(scorecam_explainer_last_error(g_explainer), number) == NULL) {
        CHECK(!"the message names the count");
        fprintf(stderr, "  count %s, message: %s\n", number, scorecam_explainer_last_error(g_explainer));
    }
    CHECK_STATUS(scorecam_explainer_get_channel_count(&kept, g_explainer), SCORECAM_OK, g_explainer);
    CHECK(kept == 4);
}

int main(void) {
    const size_t above_int64 = (size_t)INT64_MAX + 1, honest_huge = (size_t)1 << 34;
    double memory = (double)sysconf(_SC_PHYS_PAGES) * (double)sysconf(_SC_PAGESIZE);

    CHECK_STATUS(scorecam_explainer_create(&g_explainer), SCORECAM_OK, NULL);
    CHECK_STATUS(scorecam_explainer_set_channels(g_explainer, g_list, 4), SCORECAM_OK, g_explainer);

    /* A2: SIZE_MAX and 2^63 are no counts: refused with or without a list (NULL with SIZE_MAX
     * used to clear the list and return OK). */
    check_refused(NULL, SIZE_MAX, SCORECAM_E_INVALID_ARGUMENT);
    check_refused(g_list, SIZE_MAX, SCORECAM_E_INVALID_ARGUMENT);
    check_refused(NULL, above_int64, SCORECAM_E_INVALID_ARGUMENT);
    check_refused(g_list, above_int64, SCORECAM_E_INVALID_ARGUMENT);

    /* A1: an honest-looking count whose list cannot fit in memory (it aborted on reserveCapacity). */
    check_refused(g_list, (size_t)INT64_MAX, SCORECAM_E_OUT_OF_MEMORY);
    check_refused(g_list, (size_t)1 << 60, SCORECAM_E_OUT_OF_MEMORY);
    /* 2^34 channels take 128 GiB as int64: more than the host could hand over here, unless this
     * machine has room for it and a copy (then the library may rightly start reading). */
    if ((double)honest_huge * 16.0 > memory) check_refused(g_list, honest_huge, SCORECAM_E_OUT_OF_MEMORY);
    else printf("test_channel_counts: 2^34 skipped, this machine has %.0f bytes of memory\n", memory);

    /* The kept list still explains: a compute over exactly its 4 channels. */
    {
        enum { C = 1, H = 4, W = 4, K = 4, AH = 2, AW = 2 };
        float x[C * H * W], acts[K * AH * AW], maps[H * W];
        int64_t target = 0, order[4];
        unsigned seed = 3;
        linear_model model = linear_model_make(C * H * W, 2, 9);
        for (int i = 0; i < C * H * W; i++) x[i] = lcg_next(&seed);
        for (int i = 0; i < K * AH * AW; i++) acts[i] = lcg_next(&seed);
        CHECK_STATUS(scorecam_explainer_set_forward(g_explainer, linear_forward, 2, &model), SCORECAM_OK, g_explainer);
        CHECK_STATUS(scorecam_explainer_compute(maps, H * W, g_explainer, x, 1, C, H, W, acts, K, AH, AW, &target, 1),
                     SCORECAM_OK, g_explainer);
        CHECK_STATUS(scorecam_explainer_get_details(order, NULL, NULL, NULL, 4, g_explainer, 0), SCORECAM_OK, g_explainer);
        CHECK(memcmp(order, g_list, sizeof order) == 0);
        linear_model_free(&model);
    }

    /* NULL with a real count is still a NULL pointer; NULL, 0 still clears. */
    CHECK_STATUS(scorecam_explainer_set_channels(g_explainer, NULL, 4), SCORECAM_E_NULL_POINTER, g_explainer);
    CHECK_STATUS(scorecam_explainer_set_channels(g_explainer, NULL, 0), SCORECAM_OK, g_explainer);
    {
        size_t count = 9;
        CHECK_STATUS(scorecam_explainer_get_channel_count(&count, g_explainer), SCORECAM_OK, g_explainer);
        CHECK(count == 0);
    }
    scorecam_explainer_destroy(g_explainer);
    return test_summary("test_channel_counts");
}
