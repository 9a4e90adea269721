/* Compiles the public header once as part of the build, so a header that does not compile as C
 * fails here first. The Swift ABI layer implements every declaration (`@c @implementation`). */
#include "scorecam.h"
