// png_check W H FILE... — every FILE exists and decodes (OpenCV) to a W x H, 3-channel 8-bit image.
// Used by `make test-opencv-example` on the overlays examples/cpp/explain_opencv writes.
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include <cstdio>
#include <cstdlib>

int main(int argc, char **argv) {
    if (argc < 4) {
        std::fprintf(stderr, "usage: png_check W H FILE...\n");
        return 2;
    }
    const int w = std::atoi(argv[1]), h = std::atoi(argv[2]);
    int failures = 0;
    for (int i = 3; i < argc; ++i) {
        const cv::Mat image = cv::imread(argv[i], cv::IMREAD_UNCHANGED);
        if (image.empty()) {
            std::fprintf(stderr, "FAIL: %s: missing or not decodable\n", argv[i]);
            ++failures;
        } else if (image.cols != w || image.rows != h || image.type() != CV_8UC3) {
            std::fprintf(stderr, "FAIL: %s: %dx%d, %d channel(s), depth %d; expected %dx%d, 3 x 8 bit\n", argv[i],
                         image.cols, image.rows, image.channels(), image.depth(), w, h);
            ++failures;
        } else {
            std::printf("ok: %s decodes (%dx%d)\n", argv[i], w, h);
        }
    }
    return failures == 0 ? 0 : 1;
}
