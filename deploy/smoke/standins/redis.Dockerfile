# Stand-in for redis:<tag> where no registry is reachable: Debian's Redis on the Debian root the
# smoke run made with debootstrap. As the official image: the command is redis-server with its
# arguments, run as the redis user in /data, and reachable from other containers.
ARG BASE
FROM ${BASE}
ARG STANDIN_FOR
RUN apt-get update -qq \
	&& DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends redis-server >/dev/null \
	&& rm -rf /var/lib/apt/lists/* \
	&& mkdir -p /data && chown redis:redis /data
LABEL oes.smoke.standin="${STANDIN_FOR}" oes.smoke.standin.contents="Debian redis-server"
COPY redis-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
WORKDIR /data
VOLUME /data
EXPOSE 6379
ENTRYPOINT ["docker-entrypoint.sh"]
CMD ["redis-server"]
