#include "fleet_build_info.h"

#ifndef FLEET_GIT_COMMIT
#define FLEET_GIT_COMMIT ""
#endif

const char *fleet_build_commit(void) { return FLEET_GIT_COMMIT; }
