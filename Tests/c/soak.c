/* Leak soak: `soak OK FAILING [MAX_GROWTH_KB]` runs OK successful and FAILING failing computes (callback errors,
 * cancellations, bad arguments, non-finite data, in turn) on fresh and reused explainers, and
 * fails if the resident set grows by more than MAX_GROWTH_KB (default 4096) after warm-up; a
 * negative limit skips that check (under AddressSanitizer, whose quarantine holds freed memory,
 * LeakSanitizer proves instead that nothing is left allocated at exit). */
#include "test_util.h"

enum { C = 3, H = 16, W = 16, K = 8, AH = 4, AW = 4, D = 6 };

static long resident_kb(void) {
    long pages = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f == NULL) return 0;
    if (fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
    fclose(f);
    return resident * 4;
}

static int cancel_now(void *user_data, size_t done, size_t total) {
    (void)user_data; (void)done; (void)total;
    return 1;
}

int main(int argc, char **argv) {
    long ok_runs = argc > 1 ? atol(argv[1]) : 20000, failing_runs = argc > 2 ? atol(argv[2]) : 5000;
    long max_growth_kb = argc > 3 ? atol(argv[3]) : 4096;
    unsigned seed = 11;
    static float x[C * H * W], acts[K * AH * AW], bad[C * H * W], maps[2 * H * W];
    int64_t targets[2] = {0, 5}, wrong = D;
    linear_model model = linear_model_make(C * H * W, D, 2);
    scorecam_explainer *reused = NULL;
    long baseline_kb = 0, ok = 0, failed = 0;

    for (int i = 0; i < C * H * W; i++) x[i] = bad[i] = lcg_next(&seed);
    for (int i = 0; i < K * AH * AW; i++) acts[i] = lcg_next(&seed);
    bad[7] = NAN;
    CHECK(scorecam_explainer_create(&reused) == SCORECAM_OK);
    CHECK(scorecam_explainer_set_forward(reused, linear_forward, D, &model) == SCORECAM_OK);
    CHECK(scorecam_explainer_set_param(reused, SCORECAM_PARAM_BATCH_SIZE, 3) == SCORECAM_OK);
    long total = ok_runs + failing_runs, warmup = total / 10;
    for (long i = 0; i < total; i++) {
        int failing = ((i + 1) * failing_runs) / total > (i * failing_runs) / total; /* evenly spread */
        int fresh = i % 2 == 0;
        scorecam_explainer *e = reused;
        if (fresh) {
            CHECK(scorecam_explainer_create(&e) == SCORECAM_OK);
            CHECK(scorecam_explainer_set_forward(e, linear_forward, D, &model) == SCORECAM_OK);
        }
        int status;
        model.fail_on_call = 0;
        if (!failing) {
            status = scorecam_explainer_compute(maps, 2 * H * W, e, x, 1, C, H, W, acts, K, AH, AW, targets, 2);
            CHECK(status == SCORECAM_OK);
            ok++;
        } else {
            switch (failed % 4) {
            case 0: model.fail_on_call = model.calls + 1; break;
            case 1: CHECK(scorecam_explainer_set_progress(e, cancel_now, NULL) == SCORECAM_OK); break;
            default: break;
            }
            status = scorecam_explainer_compute(maps, 2 * H * W, e, failed % 4 == 3 ? bad : x, 1, C, H, W, acts, K, AH,
                                                AW, failed % 4 == 2 ? &wrong : targets, failed % 4 == 2 ? 1 : 2);
            CHECK(status != SCORECAM_OK);
            CHECK(scorecam_explainer_set_progress(e, NULL, NULL) == SCORECAM_OK);
            failed++;
        }
        if (fresh) scorecam_explainer_destroy(e);
        if (i == warmup) baseline_kb = resident_kb();
    }
    long growth = resident_kb() - baseline_kb;
    printf("soak: %ld ok + %ld failing computes; resident set %+ld KB after warm-up\n", ok, failed, growth);
    CHECK(ok == ok_runs && failed == failing_runs);
    if (max_growth_kb >= 0) CHECK(growth < max_growth_kb);
    scorecam_explainer_destroy(reused);
    linear_model_free(&model);
    return test_summary("soak");
}
