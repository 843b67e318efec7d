# The api image: a static binary on an empty base. Build from the repository root, since the
# workspace spans several modules:
#
#	docker build -f deploy/docker/api.Dockerfile -t oes-api .
#
# The same image runs `api serve` (the default), `api migrate` and `api seed`.

FROM golang:1.26 AS build
WORKDIR /src

# Module files first, so the download layer is reused until a dependency changes. The deploy
# module holds only the manifest tests and the bench module the benchmark programs; both are
# dropped from the workspace so the image does not depend on them.
COPY go.work go.work.sum ./
COPY db/go.mod db/go.sum db/
COPY pkg/go.mod pkg/go.sum pkg/
COPY cmd/api/go.mod cmd/api/go.sum cmd/api/
COPY cmd/emailworker/go.mod cmd/emailworker/go.sum cmd/emailworker/
RUN go work edit -dropuse=./deploy -dropuse=./bench && go mod download

COPY db/ db/
COPY pkg/ pkg/
COPY cmd/api/ cmd/api/

# No cgo: the binary must run on an image without a C library. nomsgpack drops Gin's MessagePack
# codec, which the api never speaks (6 MB).
RUN CGO_ENABLED=0 go build -trimpath -buildvcs=false -tags nomsgpack -ldflags "-s -w" -o /out/api ./cmd/api

FROM scratch
# The api dials Postgres and Redis over TLS when their URLs ask for it.
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /out/api /api
# A numeric user: scratch has no /etc/passwd, and runAsNonRoot can only verify a numeric one.
USER 65532:65532
EXPOSE 8080 9090
ENTRYPOINT ["/api"]
CMD ["serve"]
