# Offload: offloadd and the offload CLI on Debian 12.
#   docker build -t offload .
#   docker run --rm -p 8080:8080 --init offload

# Build stage: Debian's -dev packages, a Release build, and the unit tests must pass.
FROM debian:bookworm-slim AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      cmake g++ make libboost1.81-dev libboost-filesystem1.81-dev nlohmann-json3-dev libssl-dev libsqlite3-dev \
      libhiredis-dev \
      libgtest-dev libgmock-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY CMakeLists.txt CMakePresets.json ./
COPY cmake cmake
COPY support support
COPY proto proto
COPY service service
COPY client client
COPY tests tests
RUN cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS_RELEASE="-O2 -DNDEBUG" -DOFFLOAD_BUILD_BENCH=OFF \
 && cmake --build build -j"$(nproc)" --target offloadd offload offload_unit_tests offload_test_child \
 && build/tests/offload_unit_tests --gtest_brief=1 \
 && strip build/service/offloadd build/client/offload

# Runtime stage: the two binaries, their shared libraries, tini as PID 1, and an unprivileged user.
FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends libboost-filesystem1.81.0 libssl3 libsqlite3-0 libhiredis0.14 tini \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --user-group --home-dir /var/lib/offload --create-home --shell /usr/sbin/nologin offload \
 && mkdir -p /etc/offload
COPY --from=build /src/build/service/offloadd /src/build/client/offload /usr/local/bin/
COPY docker/commands.json /etc/offload/commands.json
# The worker SDKs, for images built FROM this one that add their own workers (Python or Node).
COPY client/python/offload_worker.py /usr/local/share/offload/python/
COPY client/node/worker/package.json client/node/worker/offload-worker.mjs client/node/worker/offload-worker.d.ts \
     /usr/local/share/offload/node/worker/
# Commands' private working directories go under the user's home; the allow-list can be replaced by mounting
# a directory over /etc/offload. Jobs are kept in SQLite on the /var/lib/offload/data volume: they survive
# `docker restart` and, with the volume kept, a new container.
ENV OFFLOAD_LISTEN=0.0.0.0:8080 \
    OFFLOAD_CONFIG=/etc/offload/commands.json \
    OFFLOAD_WORK_ROOT=/var/lib/offload \
    OFFLOAD_DATA_DIR=/var/lib/offload/data \
    OFFLOAD_URL=http://127.0.0.1:8080
RUN mkdir -p /var/lib/offload/data && chown offload:offload /var/lib/offload/data && chmod 0700 /var/lib/offload/data
VOLUME ["/etc/offload", "/var/lib/offload/data"]
USER offload:offload
WORKDIR /var/lib/offload
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --retries=3 CMD ["/usr/local/bin/offload", "health"]
# SIGTERM starts the graceful drain (--drain-seconds, default 30): give `docker stop -t` a bit more.
STOPSIGNAL SIGTERM
# tini reaps orphaned grandchildren of commands and forwards signals to offloadd (-s: also when `docker run
# --init` makes it PID 2).
ENTRYPOINT ["/usr/bin/tini", "-s", "--", "/usr/local/bin/offloadd"]
