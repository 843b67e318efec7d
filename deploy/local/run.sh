#!/usr/bin/env bash
# Runs the system in the foreground for `make run`: migrate, seed, then the api and the email
# worker side by side. Ctrl-C (or either process exiting) stops both. DATABASE_URL and
# REDIS_URL come from with-services.sh, which wraps this script.
set -euo pipefail
bin=${1:-.local/bin}

export LOG_FORMAT=${LOG_FORMAT:-text}
export HTTP_ADDR=${HTTP_ADDR:-127.0.0.1:8080}
export HEALTH_ADDR=${HEALTH_ADDR:-127.0.0.1:8081}
token_note="(from ADMIN_TOKEN)"
if [[ -z ${ADMIN_TOKEN:-} ]]; then
	# A fixed token for local runs only; deployments set their own secret.
	export ADMIN_TOKEN=local-admin-token
	token_note="local-admin-token"
fi

"$bin/api" migrate
"$bin/api" seed

pids=()
stop() {
	trap - INT TERM
	kill -TERM "${pids[@]}" 2>/dev/null || true
	wait "${pids[@]}" 2>/dev/null || true
}
trap 'stop; exit 0' INT TERM

"$bin/emailworker" &
pids+=($!)
"$bin/api" &
pids+=($!)

cat >&2 <<MSG

  api           http://${HTTP_ADDR}/api/v1/exams   (health: /healthz, /readyz)
  emailworker   http://${HEALTH_ADDR}/readyz
  admin token   ${token_note}   e.g. curl -X DELETE -H "Authorization: Bearer \$ADMIN_TOKEN" http://${HTTP_ADDR}/api/v1/admin/cache
  Ctrl-C stops everything.

MSG

# Whichever exits first takes the other down with it.
status=0
wait -n "${pids[@]}" || status=$?
stop
exit "$status"
