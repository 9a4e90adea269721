// scorecam.hpp with the host's own SCORECAM_CXX_API_THROW, defined before the header: every failure
// the wrapper reports (the engine's, its own checks, an empty explainer) goes through it, with the
// status and message; an exception thrown by a callback still comes out of compute() as it was.
//   test_cpp_throw           the checks; exit 0
//   test_cpp_throw returns   the macro returns instead of throwing: the wrapper aborts (SIGABRT)
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

struct HostError {
    int status;
    std::string message;
};

static int g_reported = 0;
static bool g_return = false;

static void host_throw(int status, const std::string &message) {
    g_reported++;
    if (g_return) {
        std::fprintf(stderr, "host: %d %s\n", status, message.c_str());
        return;
    }
    throw HostError{status, message};
}

#define SCORECAM_CXX_API_THROW(status, message) host_throw((status), (message))
#include "scorecam.hpp"

#include "check.hpp"

// `body` must report through host_throw (once) with `status` and a message containing `substring`.
template <class Body> static void expect_host(int line, int status, const char *substring, Body &&body) {
    const int before = g_reported;
    g_checks++;
    try {
        body();
        std::fprintf(stderr, "%s:%d: nothing thrown\n", __FILE__, line);
    } catch (const HostError &e) {
        if (e.status == status && e.message.find(substring) != std::string::npos && g_reported == before + 1) return;
        std::fprintf(stderr, "%s:%d: HostError %d \"%s\", want %d \"%s\"\n", __FILE__, line, e.status,
                     e.message.c_str(), status, substring);
    } catch (const scorecam::Error &e) {
        std::fprintf(stderr, "%s:%d: scorecam::Error, not the host's: %s\n", __FILE__, line, e.what());
    }
    g_failures++;
}
#define EXPECT_HOST(status, substring, ...) expect_host(__LINE__, status, substring, [&] { __VA_ARGS__; })

int main(int argc, char **argv) {
    using scorecam::Param;
    scorecam::Explainer e;
    if (argc > 1 && std::strcmp(argv[1], "returns") == 0) {
        g_return = true;
        e.set_param(Param::BatchSize, 0); // reported, then the wrapper aborts
        std::puts("test_cpp_throw: no abort");
        return 1;
    }

    // The engine's failures, the wrapper's own checks, an unknown name, an explainer without a handle.
    EXPECT_HOST(SCORECAM_E_INVALID_ARGUMENT, "BATCH_SIZE", e.set_param(Param::BatchSize, 0));
    EXPECT_HOST(SCORECAM_E_INVALID_ARGUMENT, "\"no_such\"", e.set_param("no_such", 1));
    EXPECT_HOST(SCORECAM_E_NO_FORWARD, "", e.compute({0, 0}, {1, 1, 1, 2}, {0}, {1, 1, 1, 1}, {0}));
    EXPECT_HOST(SCORECAM_E_SHAPE, "input", e.compute({0, 0, 0}, {1, 1, 1, 2}, {0}, {1, 1, 1, 1}, {0}));
    scorecam::Explainer empty(nullptr);
    EXPECT_HOST(SCORECAM_E_NULL_POINTER, "holds no handle", empty.get_param(Param::Threads));
    scorecam::Explainer released;
    scorecam_explainer_destroy(released.release());
    EXPECT_HOST(SCORECAM_E_NULL_POINTER, "holds no handle", released.set_preset("seed"));

    // A callback's own exception is not a failure of the wrapper: it comes back as it was.
    e.set_forward([](const float *, int64_t, int64_t, int64_t, int64_t, float *, int64_t) {
        throw std::logic_error("model broke");
    }, 1);
    const int before = g_reported;
    bool rethrown = false;
    try {
        (void)e.compute({1, 1}, {1, 1, 1, 2}, {0, 1}, {1, 1, 1, 2}, {0});
    } catch (const std::logic_error &error) {
        rethrown = std::strcmp(error.what(), "model broke") == 0;
    } catch (const HostError &error) {
        std::fprintf(stderr, "HostError %d %s\n", error.status, error.message.c_str());
    }
    CHECK(rethrown && g_reported == before);

    std::printf("test_cpp_throw: %d checks, %d failures\n", g_checks, g_failures);
    return g_failures == 0 ? 0 : 1;
}
