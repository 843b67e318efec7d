#!/bin/sh
# The postgres stand-in's entrypoint: as root, own the data directory and drop to the postgres
# user; as postgres, make the cluster on first start (superuser POSTGRES_USER with
# POSTGRES_PASSWORD, database POSTGRES_DB, password logins from the network), then exec postgres.
set -eu
if [ "${1:-}" = postgres ] && [ "$(id -u)" = 0 ]; then
	mkdir -p "$PGDATA" /run/postgresql
	chown -R postgres:postgres "$PGDATA" /run/postgresql
	chmod 700 "$PGDATA"
	exec setpriv --reuid=postgres --regid=postgres --init-groups "$0" "$@"
fi
if [ "${1:-}" = postgres ] && [ ! -s "$PGDATA/PG_VERSION" ]; then
	: "${POSTGRES_PASSWORD:?the postgres stand-in needs POSTGRES_PASSWORD}"
	user=${POSTGRES_USER:-postgres}
	db=${POSTGRES_DB:-$user}
	pwfile=$(mktemp)
	printf '%s\n' "$POSTGRES_PASSWORD" >"$pwfile"
	initdb -D "$PGDATA" -U "$user" --pwfile="$pwfile" -E UTF8 --locale=C.UTF-8 \
		--auth-local=trust --auth-host=scram-sha-256 >/dev/null
	rm -f "$pwfile"
	echo "host all all all scram-sha-256" >>"$PGDATA/pg_hba.conf"
	echo "listen_addresses = '*'" >>"$PGDATA/postgresql.conf"
	if [ "$db" != postgres ]; then
		pg_ctl -D "$PGDATA" -o "-c listen_addresses=''" -w start >/dev/null
		createdb -U "$user" -- "$db"
		pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
	fi
	echo "postgres stand-in: cluster made, database $db, owner $user"
fi
exec "$@"
