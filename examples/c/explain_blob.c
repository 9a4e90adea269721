/*
 * The smallest complete Score-CAM host, in plain C: a hand-written "model" and its activations,
 * explained through libscorecam, with the map printed as ASCII art.
 *
 *   make demo            (or: make -C ../.. lib && cc explain_blob.c -I../../include -L../../build/lib -lscorecam -lm)
 *
 * The image is 1 x 32 x 32 with a bright square in the top-right corner and a dimmer one in the
 * bottom-left. The model scores class 0 ("top-right thing") and class 1 ("bottom-left thing") as
 * the mean brightness of its quadrant. The explained layer has 16 channels on a 4 x 4 grid: channel
 * k fires on grid cell k, in proportion to the brightness there (a position-tuned detector).
 * Score-CAM should light up the top-right square for class 0 and the bottom-left one for class 1.
 */
#include <stdio.h>

#include "scorecam.h"

enum { H = 32, W = 32, GRID = 4, K = GRID * GRID, D = 2 };

static float quadrant_mean(const float *image, int top, int left) {
    float sum = 0;
    for (int y = top; y < top + H / 2; y++)
        for (int x = left; x < left + W / 2; x++) sum += image[y * W + x];
    return sum / (H / 2 * W / 2);
}

/* The model: images n x 1 x H x W -> outputs n x 2. Returns non-zero on error, as the ABI asks. */
static int forward(void *user_data, const float *images, int64_t n, int64_t c, int64_t h, int64_t w,
                   float *outputs, int64_t output_dim) {
    (void)user_data;
    if (c != 1 || h != H || w != W || output_dim != D) return 1;
    for (int64_t i = 0; i < n; i++) {
        const float *image = images + i * H * W;
        outputs[i * D + 0] = 40 * quadrant_mean(image, 0, W / 2);
        outputs[i * D + 1] = 40 * quadrant_mean(image, H / 2, 0);
    }
    return 0;
}

static void print_map(const char *title, const float *map) {
    const char *shades = " .:-=+*#%@";
    float top = 0;
    for (int i = 0; i < H * W; i++) top = map[i] > top ? map[i] : top;
    printf("%s\n", title);
    for (int y = 0; y < H; y += 2) {
        for (int x = 0; x < W; x++) putchar(shades[top > 0 ? (int)(9.99f * map[y * W + x] / top) : 0]);
        putchar('\n');
    }
}

int main(void) {
    static float image[H * W], activations[K * GRID * GRID], maps[D * H * W];
    const int64_t targets[D] = {0, 1};
    scorecam_explainer *explainer = NULL;
    int status;

    for (int y = 4; y < 12; y++)
        for (int x = 20; x < 28; x++) image[y * W + x] = 1.0f;
    for (int y = 20; y < 28; y++)
        for (int x = 4; x < 12; x++) image[y * W + x] = 0.6f;
    for (int k = 0; k < K; k++) {
        int cell_y = k / GRID, cell_x = k % GRID, cell = H / GRID;
        float sum = 0;
        for (int y = 0; y < cell; y++)
            for (int x = 0; x < cell; x++) sum += image[(cell_y * cell + y) * W + cell_x * cell + x];
        activations[k * GRID * GRID + cell_y * GRID + cell_x] = sum / (cell * cell);
    }

    status = scorecam_explainer_create(&explainer);
    if (status == SCORECAM_OK) status = scorecam_explainer_set_forward(explainer, forward, D, NULL);
    if (status == SCORECAM_OK) status = scorecam_explainer_set_param(explainer, SCORECAM_PARAM_BATCH_SIZE, 8);
    if (status == SCORECAM_OK)
        status = scorecam_explainer_compute(maps, D * H * W, explainer, image, 1, 1, H, W, activations, K,
                                            GRID, GRID, targets, D);
    if (status != SCORECAM_OK) {
        fprintf(stderr, "scorecam failed: %s\n%s\n", scorecam_status_string(status), scorecam_last_error());
        scorecam_explainer_destroy(explainer);
        return 1;
    }
    printf("libscorecam %s: explained 2 classes with %d masked forward passes\n\n", scorecam_version_string(), K);
    print_map("class 0 (top-right square):", maps);
    print_map("\nclass 1 (bottom-left square):", maps + H * W);
    scorecam_explainer_destroy(explainer);
    return 0;
}
