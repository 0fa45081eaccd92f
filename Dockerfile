# The forgeproof gateway (forgeproof serve), as a static binary on a
# minimal, non-root base image.
#
#   docker build -t forgeproof .
#   docker run --rm -p 8080:8080 -v "$PWD/forgeproof.yaml:/etc/forgeproof/forgeproof.yaml:ro" \
#     -e FORGEPROOF_KEY="$(forgeproof keygen)" forgeproof
#
# The configuration must listen on all interfaces inside the container
# (addr: 0.0.0.0:8080; admin.addr: 0.0.0.0:9090 for probes on a private
# network). See docs/SERVE.md.

FROM golang:1.26 AS build
WORKDIR /src
# Module files first, so that dependencies are cached between builds.
COPY go.mod ./
COPY redisstore/go.mod redisstore/go.sum ./redisstore/
COPY cmd/forgeproof/go.mod cmd/forgeproof/go.sum ./cmd/forgeproof/
RUN cd cmd/forgeproof && GOWORK=off go mod download
COPY . .
RUN cd cmd/forgeproof && CGO_ENABLED=0 GOWORK=off go build -trimpath -buildvcs=false \
      -ldflags="-s -w" -o /out/forgeproof . \
    && /out/forgeproof version

# distroless/static: CA certificates and tzdata, no shell, no package
# manager; the nonroot tag runs as UID 65532.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/forgeproof /usr/local/bin/forgeproof
USER 65532:65532
EXPOSE 8080 9090
ENTRYPOINT ["/usr/local/bin/forgeproof"]
CMD ["serve", "--config", "/etc/forgeproof/forgeproof.yaml"]
