// The public header compiles as C++ (-Wall -Wextra -pedantic -Werror) and links from C++.
#include "scorecam.h"

#include <cstdio>

int main() {
    scorecam_explainer *e = nullptr;
    if (scorecam_explainer_create(&e) != SCORECAM_OK) return 1;
    double batch = 0;
    int status = scorecam_explainer_get_param(&batch, e, SCORECAM_PARAM_BATCH_SIZE);
    scorecam_explainer_destroy(e);
    std::printf("test_header_cpp: version %s, default batch %g\n", scorecam_version_string(), batch);
    return status == SCORECAM_OK && batch == 128 && scorecam_version_number() == SCORECAM_VERSION_NUMBER ? 0 : 1;
}
