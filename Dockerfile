# syntax=docker/dockerfile:1
#
# Sesame in a container: a static binary (pure-Go SQLite driver, no cgo) on
# distroless/static, running as the unprivileged user 65532.
#
#   docker build -t sesame --build-arg VERSION=$(git describe --always) .
#   docker run -p 8080:8080 -e SESAME_ISSUER=http://localhost:8080 sesame
#
# The image has no shell and no curl: probe GET /healthz (liveness) and
# GET /readyz (readiness: 503 while the database does not answer) from the
# orchestrator or load balancer, as docs/deploy.md shows.

ARG GO_VERSION=1.26.8

FROM golang:${GO_VERSION}-bookworm AS build
WORKDIR /src
# Modules first, so that a source change does not download them again.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
ARG VERSION=dev
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 GOOS=linux go build -trimpath -tags nomsgpack \
      -ldflags "-s -w -X main.version=${VERSION}" \
      -o /out/sesame ./cmd/sesame
# The working directory of the SQLite default, owned by the runtime user.
RUN mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot
# distroless/static brings CA certificates (outbound TLS to Postgres and
# to clients' jwks_uri) and time zone data.
COPY --from=build /out/sesame /usr/local/bin/sesame
COPY --from=build --chown=65532:65532 /out/data /data
WORKDIR /data
USER 65532:65532
ENV SESAME_LISTEN=0.0.0.0:8080 \
    SESAME_DATABASE_URL=sqlite:/data/sesame.db \
    SESAME_LOG_FORMAT=json
EXPOSE 8080
VOLUME ["/data"]
ENTRYPOINT ["/usr/local/bin/sesame"]
CMD ["serve"]
