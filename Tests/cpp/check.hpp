// The C++ tests' counters and CHECK (the C tests have theirs in Tests/c/test_util.h).
#ifndef SCORECAM_TEST_CHECK_HPP
#define SCORECAM_TEST_CHECK_HPP

#include <cstdio>

static int g_checks = 0;
static int g_failures = 0;

#define CHECK(cond)                                                                    \
    do {                                                                               \
        g_checks++;                                                                    \
        if (!(cond)) {                                                                 \
            g_failures++;                                                              \
            std::fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
        }                                                                              \
    } while (0)

#endif
