# scratchnet — container image.
#
#   docker build -t scratchnet .
#   docker run -p 8080:8080 -v scratchnet-data:/data scratchnet
#
# Two stages: Debian 12 with the compilers builds the binary exactly as `make scratchnet`
# does; a slim Debian 12 runs it with only the three shared libraries it links. Settings
# are environment variables (or flags after the image name), see `scratchnet --help`.
# The database lives on the volume /data, so it survives a new container.

# ---- build ---------------------------------------------------------------------------
FROM debian:12 AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        build-essential pkg-config libmicrohttpd-dev libcjson-dev libsqlite3-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# The whole tree (less what .dockerignore leaves out): the Makefile embeds
# migrations/, docs/openapi.yaml and web/ into the binary.
COPY . .
RUN make scratchnet

# ---- run -----------------------------------------------------------------------------
FROM debian:12-slim
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        libmicrohttpd12 libcjson1 libsqlite3-0 \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --user-group --uid 10001 --home-dir /data --no-create-home \
        --shell /usr/sbin/nologin scratchnet \
 && mkdir -p /data \
 && chown scratchnet:scratchnet /data
COPY --from=build /src/scratchnet /usr/local/bin/scratchnet

ENV SCRATCHNET_DB=/data/scratchnet.db \
    SCRATCHNET_BIND=0.0.0.0 \
    SCRATCHNET_PORT=8080
# Declared after the chown so a fresh named volume starts owned by scratchnet.
VOLUME ["/data"]
WORKDIR /data
USER scratchnet:scratchnet
EXPOSE 8080

# No curl in the image: bash opens the TCP connection itself, sends GET /healthz and
# checks the status line for 200. Assumes the server listens on the loopback address
# too (true for the default SCRATCHNET_BIND=0.0.0.0).
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
    CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/${SCRATCHNET_PORT:-8080} && printf 'GET /healthz HTTP/1.1\\r\\nHost: localhost\\r\\nConnection: close\\r\\n\\r\\n' >&3 && head -n 1 <&3 | grep -q ' 200 '"]

# docker stop sends SIGTERM to the server (PID 1), which drains and exits.
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/scratchnet"]
