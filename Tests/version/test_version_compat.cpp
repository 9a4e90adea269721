// Runtime compatibility of scorecam.hpp: the same major version and a library at least as new as
// the header. `make test-version` runs this program under fake_version.c's stand-ins (LD_PRELOAD):
//   test_version_compat accept   a newer minor must serve this program: an Explainer computes a map
//   test_version_compat refuse   another major, or an older library, must be refused with a message
#include "scorecam.hpp"

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

// The rule itself, at compile time: MAJOR * 10000 + MINOR * 100 + PATCH.
static_assert(scorecam::version_compatible(10000, 10000), "same version");
static_assert(scorecam::version_compatible(10100, 10000), "newer minor");
static_assert(scorecam::version_compatible(10001, 10000), "newer patch");
static_assert(!scorecam::version_compatible(10000, 10100), "older minor");
static_assert(!scorecam::version_compatible(9999, 10000), "older major");
static_assert(!scorecam::version_compatible(20000, 10000), "newer major");

static int explain_once() {
    // One 1x2x2 image, one 2x2 channel, a model whose output is the image's sum.
    scorecam::Explainer explainer;
    explainer.set_forward(
        [](const float *images, int64_t n, int64_t c, int64_t h, int64_t w, float *outputs, int64_t) {
            for (int64_t i = 0; i < n; i++) {
                outputs[i] = 0;
                for (int64_t j = 0; j < c * h * w; j++) outputs[i] += images[i * c * h * w + j];
            }
        },
        1);
    const std::vector<float> maps =
        explainer.compute({1, 2, 3, 4}, {1, 1, 2, 2}, {0, 1, 2, 3}, {1, 1, 2, 2}, {0});
    return maps.size() == 4 ? 0 : 1;
}

int main(int argc, char **argv) {
    const bool accept = argc == 2 && std::strcmp(argv[1], "accept") == 0;
    if (argc != 2 || (!accept && std::strcmp(argv[1], "refuse") != 0)) {
        std::fprintf(stderr, "usage: test_version_compat accept|refuse\n");
        return 2;
    }
    std::printf("header %d.%d.%d, library %s: ", SCORECAM_VERSION_MAJOR, SCORECAM_VERSION_MINOR,
                SCORECAM_VERSION_PATCH, scorecam::version().c_str());
    try {
        const int status = explain_once();
        std::printf("%s\n", status == 0 ? "served" : "wrong map size");
        return accept ? status : 1;
    } catch (const scorecam::Error &e) {
        std::printf("refused: %s\n", e.what());
        const bool explained = std::string(e.what()).find("not compatible") != std::string::npos;
        return !accept && explained && e.code() == scorecam::Status::InvalidArgument ? 0 : 1;
    }
}
