# syntax=docker/dockerfile:1
#
# gofailover in a container: a static binary on an empty base image, run as
# an unprivileged user, with the cache on a volume.
#
#   docker build -t gofailover .
#   docker run -p 3131:3131 -v gofailover-cache:/cache \
#     -e GOFAILOVER_UPSTREAMS=https://mirror-a.example,https://mirror-b.example gofailover
#
# The image has no go command, so GOFAILOVER_UPSTREAMS (or GOPROXY) must be set.

ARG GO_VERSION=1.26

FROM golang:${GO_VERSION}-bookworm AS build
WORKDIR /src
# Dependencies first, so that source edits do not invalidate this layer.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
# The image has no go command to ask for the default checksum database and
# its key (GOFAILOVER_SUMDB's default), so they are read from this
# toolchain's GOSUMDB and its list of known keys, and linked in.
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    name="$(go env GOSUMDB)" && \
    key="$(sed -n "s|^[[:space:]]*\"${name}\": \"\(.*\)\",\$|\1|p" "$(go env GOROOT)/src/cmd/go/internal/modfetch/key.go")" && \
    CGO_ENABLED=0 go build -trimpath -ldflags="-s -w -X main.builtinSumDB=${key:-$name}" -o /out/gofailover ./cmd/gofailover
# The cache directory, owned by the unprivileged user the server runs as.
RUN mkdir -p /out/cache

FROM scratch
# CA certificates for https upstreams.
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /out/gofailover /gofailover
COPY --from=build --chown=65532:65532 /out/cache /cache
USER 65532:65532
ENV GOFAILOVER_LISTEN=0.0.0.0:3131 \
    GOFAILOVER_CACHE_DIR=/cache \
    GOFAILOVER_LOG_FORMAT=json
VOLUME ["/cache"]
EXPOSE 3131
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
    CMD ["/gofailover", "healthcheck"]
ENTRYPOINT ["/gofailover"]
CMD ["serve"]
