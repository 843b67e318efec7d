# Stand-in for postgres:<tag> where no registry is reachable: Debian's PostgreSQL on the Debian
# root the smoke run made with debootstrap, with an entrypoint that honours what compose.yaml
# sets (POSTGRES_DB, POSTGRES_USER, POSTGRES_PASSWORD, the data directory) and pg_isready for
# its health check. Debian's major version may differ from the tag's; the label says which.
ARG BASE
FROM ${BASE}
ARG STANDIN_FOR
ARG PG_MAJOR=15
# No cluster at install time: the entrypoint makes one in the volume on first start.
RUN mkdir -p /etc/postgresql-common/createcluster.d \
	&& echo "create_main_cluster = false" >/etc/postgresql-common/createcluster.d/no-main.conf \
	&& apt-get update -qq \
	&& DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql-${PG_MAJOR} >/dev/null \
	&& rm -rf /var/lib/apt/lists/* \
	&& mkdir -p /var/lib/postgresql/data /run/postgresql \
	&& chown postgres:postgres /var/lib/postgresql/data /run/postgresql \
	&& chmod 700 /var/lib/postgresql/data
LABEL oes.smoke.standin="${STANDIN_FOR}" oes.smoke.standin.contents="Debian postgresql-${PG_MAJOR}"
ENV PATH=/usr/lib/postgresql/${PG_MAJOR}/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
ENV PGDATA=/var/lib/postgresql/data
COPY postgres-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
VOLUME /var/lib/postgresql/data
# Fast shutdown, as the official image: SIGTERM would wait for every client to disconnect.
STOPSIGNAL SIGINT
EXPOSE 5432
ENTRYPOINT ["docker-entrypoint.sh"]
CMD ["postgres"]
