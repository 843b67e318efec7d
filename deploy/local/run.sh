#!/usr/bin/env bash
# Runs the system in the foreground for `make run`: migrate, seed, then MailDev (the local mail
# catcher, which deploy/local/maildev/install.sh installs), the api and the email worker side by
# side. Ctrl-C (or any of them exiting) stops them all. DATABASE_URL and REDIS_URL come from
# with-services.sh, which wraps this script.
set -euo pipefail
bin=${1:-.local/bin}

export LOG_FORMAT=${LOG_FORMAT:-text}
export HTTP_ADDR=${HTTP_ADDR:-127.0.0.1:8080}
export HEALTH_ADDR=${HEALTH_ADDR:-127.0.0.1:8081}
export METRICS_ADDR=${METRICS_ADDR:-127.0.0.1:9090}
mail_smtp=${MAIL_CATCHER_SMTP:-127.0.0.1:1025}
mail_ui=${MAIL_CATCHER_UI:-127.0.0.1:8025}
# The worker delivers to MailDev unless pointed elsewhere.
export SMTP_HOST=${SMTP_HOST:-${mail_smtp%:*}}
export SMTP_PORT=${SMTP_PORT:-${mail_smtp##*:}}
export SMTP_TLS=${SMTP_TLS:-none}
export APP_BASE_URL=${APP_BASE_URL:-http://${HTTP_ADDR}}
if [[ -z ${JWT_SECRET:-} ]]; then
	# A fresh secret for each local run; deployments set their own. Access tokens signed by an
	# earlier run stop working, which costs a local user one sign-in.
	JWT_SECRET=$(head -c 48 /dev/urandom | base64 | tr -d '\n')
	export JWT_SECRET
fi
# A cache encryption key made by the api at start-up, for this run only; deployments set a key
# shared by their replicas, and the api refuses to start without one.
export CACHE_ENCRYPTION_KEY=${CACHE_ENCRYPTION_KEY:-generate}

"$bin/api" migrate
"$bin/api" seed

# MailDev keeps this run's emails in a directory of its own, gone when the run ends (without
# one it would share a directory under /tmp with every other MailDev). Its banner (stdout) is
# left out, since the list below names its addresses; its errors (stderr) are shown.
mail_dir=$(mktemp -d "${TMPDIR:-/tmp}/oes-maildev.XXXXXX")
pids=()
stop() {
	# A second signal must not cut the wait short: with-services.sh stops Postgres and Redis
	# as soon as this script exits, and the worker needs Redis to hand back unfinished jobs.
	trap "" INT TERM
	kill -TERM "${pids[@]}" 2>/dev/null || true
	wait "${pids[@]}" 2>/dev/null || true
	rm -rf "$mail_dir"
}
trap 'stop; exit 0' INT TERM

"$bin/maildev" --ip "${mail_smtp%:*}" --smtp "${mail_smtp##*:}" --web-ip "${mail_ui%:*}" --web "${mail_ui##*:}" \
	--mail-directory "$mail_dir" >/dev/null &
pids+=($!)
"$bin/emailworker" &
pids+=($!)
"$bin/api" &
pids+=($!)

cat >&2 <<MSG

  api           http://${HTTP_ADDR}/api/v1/exams   (health: /healthz, /readyz)
  emailworker   http://${HEALTH_ADDR}/readyz   (delivers to ${SMTP_HOST}:${SMTP_PORT})
  dashboard     http://${HTTP_ADDR}/admin/queues/   (the email queue in asynqmon; sign in as the admin below)
  api docs      http://${HTTP_ADDR}/docs
  metrics       http://${METRICS_ADDR}/metrics (api), http://${HEALTH_ADDR}/metrics (emailworker)
  mail inbox    http://${mail_ui}   (MailDev; SMTP ${mail_smtp}: every email the system sends lands here)
  accounts      admin@oes.local / admin-password-1 (admin), student@oes.local / student-password-1 (student)
                sign in:  curl -s -X POST -H 'Content-Type: application/json' \\
                            -d '{"email":"admin@oes.local","password":"admin-password-1"}' http://${HTTP_ADDR}/api/v1/auth/login
                then send the token it returns: -H "Authorization: Bearer <token>"
  Ctrl-C stops everything.

MSG

# Whichever exits first takes the other down with it.
status=0
wait -n "${pids[@]}" || status=$?
stop
exit "$status"
