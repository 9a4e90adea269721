// scorecam.hpp with SCORECAM_NO_EXCEPTIONS, built with -fno-exceptions: it compiles, it works, and
// a failure prints the engine's message to stderr and aborts: the header's default
// SCORECAM_CXX_API_THROW under SCORECAM_NO_EXCEPTIONS.
//   test_cpp_noexcept         a successful run; exit 0
//   test_cpp_noexcept fail    an invalid parameter: the message on stderr, then SIGABRT
#define SCORECAM_NO_EXCEPTIONS
#include "scorecam.hpp"

#ifndef SCORECAM_CXX_API_THROW
#error "scorecam.hpp must define SCORECAM_CXX_API_THROW when the includer did not"
#endif

#include <cstdio>
#include <cstring>
#include <vector>

int main(int argc, char **argv) {
    scorecam::Explainer e;
    if (argc > 1 && std::strcmp(argv[1], "fail") == 0) {
        e.set_param(scorecam::Param::BatchSize, 0); // aborts
        std::puts("test_cpp_noexcept: no abort");
        return 1;
    }
    // outputs[o] = sum of the image * (o + 1): enough to explain something.
    e.set_forward(
         [](const float *images, int64_t n, int64_t c, int64_t h, int64_t w, float *outputs, int64_t dim) {
             for (int64_t i = 0; i < n; i++) {
                 double sum = 0;
                 for (int64_t j = 0; j < c * h * w; j++) sum += images[i * c * h * w + j] * (j % 3);
                 for (int64_t o = 0; o < dim; o++) outputs[i * dim + o] = static_cast<float>(sum * (o + 1));
             }
         },
         2)
        .set_param(scorecam::Param::BatchSize, 3);
    std::vector<float> x(2 * 4 * 4), acts(3 * 2 * 2);
    for (size_t i = 0; i < x.size(); i++) x[i] = static_cast<float>(i % 5) / 5.0f;
    for (size_t i = 0; i < acts.size(); i++) acts[i] = static_cast<float>((i * 7) % 11);
    size_t progress_calls = 0;
    e.set_progress([&](size_t, size_t) { return ++progress_calls > 0; });
    const std::vector<float> maps = e.compute(x, {1, 2, 4, 4}, acts, {1, 3, 2, 2}, {1});
    const scorecam::Details details = e.details(0);
    const bool ok = maps.size() == 16 && details.num_channels == 3 && progress_calls == 1;
    std::printf("test_cpp_noexcept: %s\n", ok ? "ok" : "FAILED");
    return ok ? 0 : 1;
}
