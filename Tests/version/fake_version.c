/* A stand-in for a newer (or older) libscorecam: it reports the version SCORECAM_VERSION_NUMBER +
 * FAKE_VERSION_DELTA and forwards everything else to the real library it is linked against.
 * Preloaded under a C++ host (LD_PRELOAD) or loaded by Python (SCORECAM_LIBRARY), it drives the
 * bindings' real compatibility checks; tests/test_version.py and `make test-version` build it. */
#include <scorecam.h>
#include <stdio.h>

#ifndef FAKE_VERSION_DELTA
#error "build with -DFAKE_VERSION_DELTA=N (added to SCORECAM_VERSION_NUMBER)"
#endif

int scorecam_version_number(void) { return SCORECAM_VERSION_NUMBER + (FAKE_VERSION_DELTA); }

const char *scorecam_version_string(void) {
    static char text[32];
    const int number = scorecam_version_number();
    snprintf(text, sizeof text, "%d.%d.%d", number / 10000, number / 100 % 100, number % 100);
    return text;
}
