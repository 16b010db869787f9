#ifndef FLEET_BUILD_INFO_H
#define FLEET_BUILD_INFO_H

/// The git commit the binaries were built from: the FLEET_GIT_COMMIT environment variable at build
/// time (Package.swift passes it as a -D define; the Dockerfile's ARG GIT_COMMIT sets it), or ""
/// when the build had none.
const char *fleet_build_commit(void);

#endif
