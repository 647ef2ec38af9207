# cofferd (and the coffer client) in a container, on Debian 12 (bookworm).
#
#   docker build -t coffer .
#   docker run --rm coffer --print-config
#
# Two stages: the first has the compiler, CMake and the -dev packages and
# builds a release; the second has only the shared libraries the binaries link
# and runs as the unprivileged user coffer (uid 10001). docker-compose.yml at
# the top of the tree runs two of these behind NGINX; docs/scaling.md explains
# that setup.
#
# Configuration, in cofferd's usual order (later wins): the image's
# /etc/coffer/cofferd.conf (conf/cofferd.conf with the two container changes
# below), a file of your own mounted over it, COFFER_<OPTION> environment
# variables, --option=value arguments. Secrets belong in files or variables
# given at run time (docker-compose.yml shows how), never in the image.

FROM debian:bookworm-slim AS build

# The list of COFFER_BUILD_PACKAGES in scripts/lib/deps.sh, less what only the
# tests use (cmocka is kept: CMake refuses to configure without it).
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        gcc make cmake pkg-config \
        libmicrohttpd-dev libjwt-dev libpq-dev libzstd-dev libssl-dev libjansson-dev libinih-dev \
        libcurl4-openssl-dev libsodium-dev libcmocka-dev \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /src
COPY . .

# Only the binaries, not the unit tests.
RUN cmake -S . -B /build -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    && cmake --build /build -j"$(nproc)" --target cofferd coffer \
    && install -D -m 755 /build/bin/cofferd /out/usr/local/bin/cofferd \
    && install -m 755 /build/bin/coffer /out/usr/local/bin/coffer

# The shipped configuration with two changes for a container: listen on every
# interface (the proxy is another container, not loopback) and keep the fs
# backend's files on the volume below. The grep fails the build if
# conf/cofferd.conf ever words these lines differently and sed missed them.
RUN sed -e 's|^listen_address = .*|listen_address = 0.0.0.0|' \
        -e 's|^storage_path = .*|storage_path = /var/lib/coffer/storage|' \
        conf/cofferd.conf >/out/cofferd.conf \
    && grep -qx 'listen_address = 0.0.0.0' /out/cofferd.conf \
    && grep -qx 'storage_path = /var/lib/coffer/storage' /out/cofferd.conf

FROM debian:bookworm-slim

# The runtime halves of the -dev packages above (tests/integration/test_compose.sh
# checks this list against what cofferd really links), plus curl for the
# health check and CA certificates for an S3 endpoint over TLS.
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        libmicrohttpd12 libjwt0 libpq5 libzstd1 libssl3 libjansson4 libinih1 libcurl4 libsodium23 \
        ca-certificates curl \
    && rm -rf /var/lib/apt/lists/*

# A fixed uid, so that NGINX in another container can run as the same one:
# NGINX writes handed-off uploads with mode 0600, readable by their owner only
# (docs/deployment.md, "The user cofferd runs as").
RUN groupadd --system --gid 10001 coffer \
    && useradd --system --uid 10001 --gid coffer --home-dir /var/lib/coffer --no-create-home \
        --shell /usr/sbin/nologin coffer \
    && install -d -m 755 -o root -g root /var/lib/coffer /etc/coffer \
    && install -d -m 700 -o coffer -g coffer /var/lib/coffer/storage /var/lib/coffer/nginx-body

COPY --from=build /out/usr/local/bin/ /usr/local/bin/
COPY --from=build /out/cofferd.conf /etc/coffer/cofferd.conf

# storage: the fs backend's versions (unused with storage_backend = s3).
# nginx-body: NGINX's client_body_temp_path, shared with the NGINX container.
VOLUME ["/var/lib/coffer/storage", "/var/lib/coffer/nginx-body"]

USER coffer:coffer
WORKDIR /var/lib/coffer
EXPOSE 8080

# /live: the process answers. Not /ready, which fails while PostgreSQL is
# away: a supervisor acting on that would restart every instance for nothing
# (docs/monitoring.md). The shell form lets COFFER_PORT move the port.
HEALTHCHECK --interval=15s --timeout=5s --start-period=10s --retries=3 \
    CMD curl -fsS -o /dev/null "http://127.0.0.1:${COFFER_PORT:-8080}/live" || exit 1

ENTRYPOINT ["/usr/local/bin/cofferd"]
CMD ["serve"]
