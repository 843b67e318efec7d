# Stand-in for axllent/mailpit:<version> where no registry is reachable: Mailpit built from its
# Go module at that version (the build context holds the static binary) on the Debian root the
# smoke run made with debootstrap (Mailpit keeps its database under /tmp). Its API works; its
# web UI is not in the Go module, so the inbox page loads blank.
ARG BASE
FROM ${BASE}
ARG STANDIN_FOR
LABEL oes.smoke.standin="${STANDIN_FOR}"
COPY mailpit /mailpit
ENV MP_DISABLE_VERSION_CHECK=true
EXPOSE 1025 8025
ENTRYPOINT ["/mailpit"]
