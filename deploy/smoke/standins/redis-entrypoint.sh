#!/bin/sh
# The redis stand-in's entrypoint: as root, own /data and drop to the redis user; then run
# redis-server without protected mode (no config file: protected mode would refuse every other
# container), as the official image does.
set -eu
first=${1:-}
if [ -z "$first" ] || [ "${first#-}" != "$first" ]; then
	set -- redis-server "$@"
fi
if [ "${1:-}" = redis-server ] && [ "$(id -u)" = 0 ]; then
	chown -R redis:redis .
	exec setpriv --reuid=redis --regid=redis --init-groups "$0" "$@"
fi
if [ "${1:-}" = redis-server ]; then
	set -- "$@" --protected-mode no
fi
exec "$@"
