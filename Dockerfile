# syntax=docker/dockerfile:1
#
# One image for the whole fleet: ingest-scorer, evaluator, dispatcher and fleet-admin in
# /usr/local/bin. There is no ENTRYPOINT: each Deployment (and the chart's preflight Job) picks
# its executable with `command:`.
#
#   docker build -t registry.example.com/account-health-fleet:0.1.0 .
#   docker run --rm registry.example.com/account-health-fleet:0.1.0 fleet-admin --help
#
# The runtime stage installs exactly RUNTIME_PACKAGES on debian:12-slim. scripts/check-image-deps
# proves that is enough: it builds the release binaries the same way as the build stage below and
# maps every shared library they load (ldd) to its Debian package, which must be one of
# RUNTIME_PACKAGES, one of their dependencies, or part of the base image.

# ---- build: Swift 6 on Debian 12 (bookworm), the same distribution as the runtime ----
ARG SWIFT_IMAGE=swift:6.3-bookworm
FROM ${SWIFT_IMAGE} AS build

RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        librdkafka-dev libcurl4-openssl-dev pkg-config \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /src
# Tests/ too: Package.swift declares targets there, and SwiftPM checks every target's folder.
COPY Package.swift ./
COPY Sources ./Sources
COPY Tests ./Tests

# The executable products of Package.swift (scripts/check-image-deps fails when a product declared
# there is missing from this list).
ARG PRODUCTS="ingest-scorer evaluator dispatcher fleet-admin"
# The cache mount keeps .build between builds (dependencies and unchanged modules).
RUN --mount=type=cache,target=/src/.build \
    set -eu; \
    mkdir -p /out/bin; \
    for product in $PRODUCTS; do \
        swift build -c release --static-swift-stdlib --product "$product"; \
    done; \
    bin="$(swift build -c release --static-swift-stdlib --show-bin-path)"; \
    for product in $PRODUCTS; do \
        install -m 0755 "$bin/$product" /out/bin/; \
    done; \
    strip /out/bin/*

# ---- runtime: debian:12-slim with librdkafka, libcurl and the CA bundle, nothing else ----
FROM debian:12-slim AS runtime

ARG RUNTIME_PACKAGES="librdkafka1 libcurl4 ca-certificates"
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${RUNTIME_PACKAGES} \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb /var/log/apt /var/log/dpkg.log

# A fixed non-root user (the chart runs as 10001:10001 with a read-only root filesystem).
RUN groupadd --system --gid 10001 fleet \
 && useradd --system --uid 10001 --gid fleet --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin fleet

COPY --from=build /out/bin/ /usr/local/bin/
# Defaults for running the image outside the chart (the chart mounts its own files over this
# directory): the example scoring and rules files and the topic catalog.
COPY config/scoring.yaml config/rules.yaml topics/topics.yaml /etc/account-health-fleet/

# Nothing is written to the image at run time: logs go to stdout, state lives in Kafka, and
# temporary files (if any) go to /tmp, which the chart mounts as an emptyDir.
ENV SCORING_FILE=/etc/account-health-fleet/scoring.yaml \
    RULES_FILE=/etc/account-health-fleet/rules.yaml \
    HTTP_PORT=8080 \
    LOG_FORMAT=json \
    TMPDIR=/tmp
USER 10001:10001
WORKDIR /
EXPOSE 8080
CMD ["fleet-admin", "--help"]
