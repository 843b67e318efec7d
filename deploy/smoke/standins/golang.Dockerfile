# Stand-in for golang:<version> where no registry is reachable: the Debian root the smoke run
# made with debootstrap, plus the machine's own Go toolchain (the build context holds it as go/).
# Only what the images' build stages use: go, git, the CA bundle (the base's, which is the
# machine's, so the module proxy's certificate verifies wherever the machine's does).
ARG BASE
FROM ${BASE}
ARG STANDIN_FOR
LABEL oes.smoke.standin="${STANDIN_FOR}"
COPY go/ /usr/local/go/
# As the official image: GOPATH /go, the local toolchain only.
ENV GOPATH=/go GOTOOLCHAIN=local
ENV PATH=/go/bin:/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
RUN go version && mkdir -p /go/bin /go/src
WORKDIR /go
