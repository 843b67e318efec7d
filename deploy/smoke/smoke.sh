#!/usr/bin/env bash
# The images built and run for real: both Dockerfiles built, deploy/compose.yaml brought up, a
# user registered through the api container's published port and the verification email read
# back from the mail catcher's API, then the api and worker containers checked (non-root,
# read-only root filesystem) and stopped with SIGTERM (exit 0 within their grace periods), and
# everything torn down again. Figures (image sizes, build and start times) are printed at the end.
#
# Usage: deploy/smoke/smoke.sh [run|images|stop-engine]
#   run          the whole smoke run (`make smoke`)
#   images       build the api and emailworker images only (`make images`)
#   stop-engine  stop a private engine an earlier run left running
#
# Works offline, given the Go module proxy and Debian's mirror:
# - With no Docker engine answering, it starts a private one as root (Debian's docker.io,
#   installed with apt-get if dockerd is missing), its state under .local/docker. That engine
#   writes no firewall rule and changes no sysctl (--iptables=false --ip-forward=false
#   --bridge=none): builds use the host's network, and the stack its own bridge, which
#   containers reach each other over and which the published ports (docker-proxy) reach.
# - Base images no registry provides are replaced by local stand-ins under the same tags (see
#   standins/): a Debian root made with debootstrap, the machine's Go toolchain and CA bundle
#   for golang, Debian's PostgreSQL and Redis, Mailpit built from its Go module.
# - Without the Compose v2 plugin, Compose is built from its Go module and installed as a CLI
#   plugin under .local/docker-config.
# Built images, stand-ins and the plugin stay cached for the next run; containers, networks and
# volumes do not.
#
# Knobs: OES_DOCKER_DIR (the private engine's state, .local/docker), OES_SMOKE_KEEP_ENGINE=1
# (leave a private engine running: export the DOCKER_HOST printed to use it), OES_SMOKE_PULL=0
# (do not try registries before building stand-ins), COMPOSE_VERSION (a v5 release, v5.6.0).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd -P)
REPO=$(cd "$HERE/../.." && pwd -P)
LOCAL=$REPO/.local
ENGINE_DIR=${OES_DOCKER_DIR:-$LOCAL/docker}
WORK=$LOCAL/smoke
COMPOSE_FILE=$REPO/deploy/compose.yaml
COMPOSE_VERSION=${COMPOSE_VERSION:-v5.6.0}
# A project name of its own, so the run never touches a stack started from compose.yaml by hand.
PROJECT=oes-smoke

say() { printf '%s\n' "$*" >&2; }
die() { printf 'smoke: %s\n' "$@" >&2; exit 1; }
have() { command -v "$1" >/dev/null 2>&1; }
rel() { printf '%s' "${1#"$REPO"/}"; }

# Seconds since $1 (an $EPOCHREALTIME), with one decimal.
since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }'; }

FIGURES=()
figure() {
	FIGURES+=("$(printf '%-32s %s' "$1" "$2")")
	say "smoke: $1: $2"
}

# The images compose.yaml runs: ours (built here) and the ones it takes from a registry.
compose_images() { sed -n 's/^ *image: *\([^ #]*\).*/\1/p' "$COMPOSE_FILE" | sort -u; }
API_IMAGE=$(compose_images | grep '^oes-api:' || true)
WORKER_IMAGE=$(compose_images | grep '^oes-emailworker:' || true)
[ -n "$API_IMAGE" ] && [ -n "$WORKER_IMAGE" ] || die "compose.yaml names no oes-api or oes-emailworker image"

# --- packages ------------------------------------------------------------------------------

install_debian_packages() {
	local why=$1
	shift
	[ -f /etc/debian_version ] && have apt-get || die "$why; install $* and run again"
	[ "$(id -u)" = 0 ] || die "$why; installing $* needs root"
	say "smoke: $why: installing Debian's $* with apt-get"
	local apt=(apt-get -y -qq -o DPkg::Lock::Timeout=600)
	DEBIAN_FRONTEND=noninteractive "${apt[@]}" install "$@" >/dev/null ||
		{ "${apt[@]}" update >/dev/null && DEBIAN_FRONTEND=noninteractive "${apt[@]}" install "$@" >/dev/null; }
}

# --- the engine ----------------------------------------------------------------------------

OWN_ENGINE_PID=''
PRIVATE_ENGINE=0
BUILD_NETWORK=()

engine_answers() { docker version --format '{{.Server.Version}}' >/dev/null 2>&1; }

# What the private engine must leave as it found it: the firewall and IP forwarding.
firewall_state() {
	cat /proc/sys/net/ipv4/ip_forward
	local save
	for save in iptables-save ip6tables-save; do
		if have "$save"; then "$save" 2>&1 | sed -e '/^#/d' -e 's/\[[0-9]*:[0-9]*\]//'; fi
	done
}

engine_up() {
	local private=unix://$ENGINE_DIR/docker.sock i
	if [ "${DOCKER_HOST:-}" != "$private" ] && { [ -n "${DOCKER_HOST:-}" ] || [ -S /var/run/docker.sock ]; }; then
		engine_answers || die "the Docker engine at ${DOCKER_HOST:-/var/run/docker.sock} does not answer"
		say "smoke: using the Docker engine at ${DOCKER_HOST:-/var/run/docker.sock}"
		return
	fi
	export DOCKER_HOST=$private
	PRIVATE_ENGINE=1
	# Builds run on the host's network: the private engine gives containers no route out.
	BUILD_NETWORK=(--network host)
	if engine_answers; then
		say "smoke: using the private Docker engine an earlier run left running ($DOCKER_HOST)"
		return
	fi
	[ "$(id -u)" = 0 ] || die "no Docker engine answers, and starting one needs root"
	have dockerd || install_debian_packages "no Docker engine answers and there is no dockerd" docker.io
	mkdir -p "$ENGINE_DIR"
	firewall_state >"$ENGINE_DIR/firewall.before"
	say "smoke: starting a private Docker engine (state in $(rel "$ENGINE_DIR"), log in $(rel "$ENGINE_DIR")/dockerd.log)"
	# setsid: Ctrl-C reaches this script, which tears the stack down before stopping the engine.
	setsid dockerd --data-root "$ENGINE_DIR/data" --exec-root "$ENGINE_DIR/run" \
		--pidfile "$ENGINE_DIR/dockerd.pid" -H "$DOCKER_HOST" \
		--iptables=false --ip-forward=false --bridge=none \
		>"$ENGINE_DIR/dockerd.log" 2>&1 </dev/null &
	OWN_ENGINE_PID=$!
	for i in $(seq 120); do
		engine_answers && return
		kill -0 "$OWN_ENGINE_PID" 2>/dev/null || { tail -n 20 "$ENGINE_DIR/dockerd.log" >&2; die "dockerd exited"; }
		sleep 0.5
	done
	die "dockerd did not answer within a minute (see $(rel "$ENGINE_DIR")/dockerd.log)"
}

# Stops the private engine whose PID is $1, which must be a dockerd on this engine's state.
stop_engine() {
	local pid=$1 i mounts
	tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q "dockerd .*--data-root $ENGINE_DIR/data" ||
		die "PID $pid is not the private engine's dockerd"
	say "smoke: stopping the private Docker engine (PID $pid)"
	kill -TERM "$pid"
	for i in $(seq 120); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.5
	done
	kill -0 "$pid" 2>/dev/null && die "dockerd (PID $pid) still runs a minute after SIGTERM"
	# dockerd leaves its default network namespace mounted under its exec root.
	mounts=$(findmnt -rn -o TARGET | grep "^$ENGINE_DIR/" || true)
	[ -z "$mounts" ] || sort -r <<<"$mounts" | xargs -n 1 umount
	if [ -f "$ENGINE_DIR/firewall.before" ]; then
		firewall_state | cmp -s - "$ENGINE_DIR/firewall.before" ||
			say "smoke: WARNING: the firewall or IP forwarding differs from before the engine started"
	fi
}

engine_down() {
	[ -n "$OWN_ENGINE_PID" ] || return 0
	if [ "${OES_SMOKE_KEEP_ENGINE:-0}" = 1 ]; then
		say "smoke: the private engine keeps running: export DOCKER_HOST=$DOCKER_HOST to use it," \
			"deploy/smoke/smoke.sh stop-engine to stop it"
		return 0
	fi
	stop_engine "$OWN_ENGINE_PID"
}

# --- Compose -------------------------------------------------------------------------------

compose_plugin() {
	docker compose version >/dev/null 2>&1 && return
	export DOCKER_CONFIG=$LOCAL/docker-config
	docker compose version >/dev/null 2>&1 && return
	local plugin=$DOCKER_CONFIG/cli-plugins/docker-compose dir
	say "smoke: no Compose v2 plugin: building Compose $COMPOSE_VERSION from its Go module into $(rel "$plugin")"
	# `go install` refuses the module (its go.mod has exclude directives); its own directory
	# builds with its own go.mod and go.sum.
	dir=$(GOWORK=off GOFLAGS='' go mod download -json "github.com/docker/compose/v5@$COMPOSE_VERSION" |
		sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
	[ -d "$dir" ] || die "could not download github.com/docker/compose/v5@$COMPOSE_VERSION"
	mkdir -p "$(dirname "$plugin")"
	(cd "$dir" && GOWORK=off GOFLAGS='' CGO_ENABLED=0 go build -trimpath \
		-ldflags "-s -w -X github.com/docker/compose/v5/internal.Version=$COMPOSE_VERSION" -o "$plugin.tmp" ./cmd)
	mv "$plugin.tmp" "$plugin"
	docker compose version >/dev/null || die "the Compose plugin built, but docker compose does not run"
}

compose() { docker compose -p "$PROJECT" -f "$COMPOSE_FILE" -f "$HERE/compose.smoke.yaml" "$@"; }

# --- base images and their stand-ins -------------------------------------------------------

STANDIN_BASE=''
PULL=${OES_SMOKE_PULL:-1}

# The Debian root every stand-in starts from: debootstrap's minimal variant, with the machine's
# CA bundle (outgoing TLS may be re-signed by a local CA, which Debian's bundle does not know).
standin_base() {
	[ -z "$STANDIN_BASE" ] || return 0
	local suite=bookworm root
	# shellcheck disable=SC1091
	[ "$(. /etc/os-release 2>/dev/null && echo "$ID")" = debian ] && suite=$(. /etc/os-release && echo "$VERSION_CODENAME")
	STANDIN_BASE=oes-smoke/debian:$suite
	docker image inspect "$STANDIN_BASE" >/dev/null 2>&1 && return
	[ "$(id -u)" = 0 ] || die "making the stand-ins' Debian root needs root (debootstrap)"
	have debootstrap || install_debian_packages "the stand-ins need a Debian root" debootstrap
	root=$(mktemp -d "$WORK/root.XXXXXX")
	TMP_DIRS+=("$root")
	chmod 755 "$root" # the image's / (mktemp makes it private)
	say "smoke: making $STANDIN_BASE with debootstrap (log in $(rel "$WORK")/debootstrap.log)"
	debootstrap --variant=minbase --include=ca-certificates,git "$suite" "$root" >"$WORK/debootstrap.log" 2>&1 ||
		{ tail -n 20 "$WORK/debootstrap.log" >&2; die "debootstrap failed"; }
	cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"
	# Services installed in an image build are not started.
	printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
	chmod 755 "$root/usr/sbin/policy-rc.d"
	rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
	tar -C "$root" -c . | docker import --change "LABEL oes.smoke.standin=debian:$suite" \
		--change 'CMD ["bash"]' - "$STANDIN_BASE" >/dev/null
	rm -rf "$root"
}

# Builds a stand-in from standins/<recipe>.Dockerfile; the context is $3 (default standins/).
build_standin() {
	local image=$1 recipe=$2 context=${3:-$HERE/standins}
	DOCKER_BUILDKIT=0 docker build -q "${BUILD_NETWORK[@]}" -f "$context/$recipe.Dockerfile" \
		--build-arg "BASE=$STANDIN_BASE" --build-arg "STANDIN_FOR=$image" -t "$image" "$context" \
		>"$WORK/standin-$recipe.log" 2>&1 ||
		{ tail -n 30 "$WORK/standin-$recipe.log" >&2; die "building the stand-in $image failed"; }
}

standin_golang() {
	local image=$1 version=${1##*:} goroot gover ctx
	goroot=$(go env GOROOT)
	gover=$(go env GOVERSION)
	case $gover in
	"go$version" | "go$version".*) ;;
	*) die "the stand-in for $image takes the machine's Go, which is $gover" ;;
	esac
	ctx=$(mktemp -d "$WORK/golang.XXXXXX")
	TMP_DIRS+=("$ctx")
	cp "$HERE/standins/golang.Dockerfile" "$ctx/"
	# Hard links where the file system allows: the toolchain is a quarter of a gigabyte.
	cp -al "$goroot" "$ctx/go" 2>/dev/null || cp -a "$goroot" "$ctx/go"
	build_standin "$image" golang "$ctx"
	rm -rf "$ctx"
}

standin_mailpit() {
	local image=$1 ctx
	ctx=$(mktemp -d "$WORK/mailpit.XXXXXX")
	TMP_DIRS+=("$ctx")
	cp "$HERE/standins/mailpit.Dockerfile" "$ctx/"
	# The image's tag is Mailpit's release; its module pins its dependencies in its go.sum.
	GOWORK=off GOFLAGS='' CGO_ENABLED=0 GOBIN=$ctx go install -trimpath -ldflags "-s -w" \
		"github.com/axllent/mailpit@${image##*:}" || die "could not build Mailpit ${image##*:} from its Go module"
	build_standin "$image" mailpit "$ctx"
	rm -rf "$ctx"
}

# Makes sure $1 is there: cached, pulled, or built as a stand-in; ENSURED says which.
ENSURED=''
ensure_image() {
	local image=$1 name=${1%:*}
	ENSURED=cached
	docker image inspect "$image" >/dev/null 2>&1 && return
	if [ "$PULL" = 1 ]; then
		ENSURED=pulled
		timeout 30 docker pull -q "$image" >/dev/null 2>&1 && return
		say "smoke: $image cannot be pulled: building a local stand-in (no further pulls tried)"
		PULL=0
	fi
	say "smoke: building a stand-in for $image"
	standin_base
	case ${name##*/} in
	golang) standin_golang "$image" ;;
	postgres) build_standin "$image" postgres ;;
	redis) build_standin "$image" redis ;;
	mailpit) standin_mailpit "$image" ;;
	*) die "no stand-in recipe for $image (see deploy/smoke/standins)" ;;
	esac
	ENSURED="stand-in built"
}

# ensure_images image...: records how long it took and where each image came from.
ensure_images() {
	local t0=$EPOCHREALTIME image summary=''
	for image in "$@"; do
		ensure_image "$image"
		summary+="${summary:+, }$image $ENSURED"
	done
	figure "base images" "$(since "$t0") s ($summary)"
}

# The golang image the Dockerfiles' build stages start from.
build_base() { sed -n 's/^FROM \(golang:[^ ]*\) .*/\1/p' "$REPO"/deploy/docker/*.Dockerfile | sort -u; }

# --- our images ----------------------------------------------------------------------------

build_images() {
	local name image t0 log build
	for name in api emailworker; do
		image=$API_IMAGE
		[ "$name" = api ] || image=$WORKER_IMAGE
		log=$WORK/build-$name.log
		say "smoke: building $image from deploy/docker/$name.Dockerfile (log in $(rel "$log"))"
		t0=$EPOCHREALTIME
		# The classic builder: BuildKit would fetch a frontend image for any `# syntax=` line and
		# needs the buildx plugin; these Dockerfiles need neither.
		build=(env DOCKER_BUILDKIT=0 docker build "${BUILD_NETWORK[@]}" -f "$REPO/deploy/docker/$name.Dockerfile")
		"${build[@]}" -t "$image" "$REPO" >"$log" 2>&1 || { tail -n 30 "$log" >&2; die "building $image failed"; }
		# The build stage under a name of its own (all from cache): an untagged stage would be
		# pruned below, and the module download with it.
		"${build[@]}" -q --target build -t "oes-smoke/$name-build:cache" "$REPO" >/dev/null 2>&1 ||
			die "naming the build stage of $image failed"
		figure "image $image" "$(since "$t0") s to build, $(image_size "$image")"
	done
	# On the private engine, the images the previous run's sources built (untagged now) go.
	[ "$PRIVATE_ENGINE" = 0 ] || docker image prune -f >/dev/null
}

image_size() { docker image inspect -f '{{.Size}}' "$1" | awk '{ printf "%.1f MB", $1 / 1e6 }'; }

# --- the stack -----------------------------------------------------------------------------

STACK_UP=0

api_url() { echo "http://$(compose port api 8080)"; }
mail_url() { echo "http://$(compose port mailpit 8025)"; }

container_of() { compose ps -a -q "$1"; }

# Fails unless the service's container runs as a non-root user on a read-only root file system:
# the configuration, and where the engine runs on this host, the process itself.
check_confinement() {
	local svc=$1 id user ro pid uids opts
	id=$(container_of "$svc")
	user=$(docker inspect -f '{{.Config.User}}' "$id")
	ro=$(docker inspect -f '{{.HostConfig.ReadonlyRootfs}}' "$id")
	[[ ${user%%:*} =~ ^[0-9]+$ ]] && [ "${user%%:*}" != 0 ] || die "$svc runs as user '$user', not a numeric non-root one"
	[ "$ro" = true ] || die "$svc's root file system is writable"
	pid=$(docker inspect -f '{{.State.Pid}}' "$id")
	if [ -r "/proc/$pid/status" ]; then
		uids=$(awk '/^Uid:/ { print $2, $3, $4, $5 }' "/proc/$pid/status")
		[[ " $uids " != *" 0 "* ]] || die "$svc's process has uid 0 among $uids"
		opts=$(awk '$5 == "/" { print $6 }' "/proc/$pid/mountinfo" | tail -n 1)
		[[ ,$opts, == *,ro,* ]] || die "$svc's root is mounted $opts"
		say "smoke: $svc runs as $user (process uids $uids), root file system mounted $opts"
	else
		say "smoke: $svc runs as $user, ReadonlyRootfs=$ro (its process is not on this host to inspect)"
	fi
}

# SIGTERM (docker stop) must end the service within its grace period (stop_grace_period, else
# Docker's 10 s) with exit code 0; a container still running at the end would be killed (137).
check_stop() {
	local svc=$1 id grace t0 took code
	id=$(container_of "$svc")
	grace=$(docker inspect -f '{{if .Config.StopTimeout}}{{.Config.StopTimeout}}{{else}}10{{end}}' "$id")
	t0=$EPOCHREALTIME
	docker stop "$id" >/dev/null
	took=$(since "$t0")
	code=$(docker inspect -f '{{.State.ExitCode}}' "$id")
	figure "$svc stopped by SIGTERM" "exit $code after $took s (grace $grace s)"
	[ "$code" = 0 ] || { docker logs --tail 20 "$id" >&2; die "$svc exited $code on SIGTERM"; }
	awk -v t="$took" -v g="$grace" 'BEGIN { exit !(t < g) }' || die "$svc took $took s, its grace period is $grace s"
}

smoke_stack() {
	local t0 api mail id email password reply body message token i
	# Fresh secrets for this run only; compose.yaml refuses to start without them.
	JWT_SECRET=$(openssl rand -base64 48)
	CACHE_ENCRYPTION_KEY=$(openssl rand -base64 32)
	export JWT_SECRET CACHE_ENCRYPTION_KEY

	say "smoke: docker compose up (project $PROJECT)"
	[ ${#BUILD_NETWORK[@]} = 0 ] ||
		say "smoke: (the private engine forwards nothing: its \"IPv4 forwarding is disabled\" warnings are expected)"
	t0=$EPOCHREALTIME
	STACK_UP=1
	compose up -d --no-build --quiet-pull
	api=$(api_url)
	for i in $(seq 240); do
		curl -fsS -o /dev/null "$api/readyz" 2>/dev/null && break
		[ "$(docker inspect -f '{{.State.Running}}' "$(container_of api)")" = true ] || die "the api container stopped"
		[ "$i" -lt 240 ] || die "the api was not ready within two minutes"
		sleep 0.5
	done
	for id in $(compose ps -q); do
		[ "$(docker inspect -f '{{.State.Running}}' "$id")" = true ] || die "$(docker inspect -f '{{.Name}}' "$id") is not running"
	done
	figure "compose up to ready" "$(since "$t0") s"

	# A student registers; the verification email goes api -> outbox -> worker -> queue -> SMTP.
	email="smoke-$(openssl rand -hex 6)@example.org"
	password=$(openssl rand -hex 12)
	t0=$EPOCHREALTIME
	reply=$(curl -fsS -X POST -H 'Content-Type: application/json' \
		-d "{\"email\":\"$email\",\"name\":\"Smoke Run\",\"password\":\"$password\"}" "$api/api/v1/auth/register") ||
		die "registration failed"
	[ "$(jq -r .queued <<<"$reply")" = true ] || die "registration answered $reply"
	mail=$(mail_url)
	message=''
	for i in $(seq 120); do
		message=$(curl -fsS "$mail/api/v1/messages" |
			jq -r --arg to "$email" 'first(.messages[] | select(any(.To[]; .Address == $to)) | .ID) // empty')
		[ -n "$message" ] && break
		[ "$i" -lt 120 ] || die "no email to $email within a minute"
		sleep 0.5
	done
	body=$(curl -fsS "$mail/api/v1/message/$message")
	[ "$(jq -r .Subject <<<"$body")" = "Verify your email address" ] || die "the email to $email is $(jq -r .Subject <<<"$body")"
	figure "verification email delivered" "$(since "$t0") s after registering"
	# Its link works: the token verifies the address.
	token=$(jq -r .Text <<<"$body" | grep -o 'token=[A-Za-z0-9_-]*' | head -n 1)
	[ -n "$token" ] || die "the verification email has no link with a token"
	reply=$(curl -fsS "$api/api/v1/auth/verify?$token") || die "the emailed token did not verify"
	[ "$(jq -r '.user.email_verified_at // empty' <<<"$reply")" != "" ] || die "verification answered $reply"
	say "smoke: $email registered, emailed and verified"

	check_confinement api
	check_confinement emailworker
	check_stop api
	check_stop emailworker
	teardown
}

teardown() {
	[ "$STACK_UP" = 1 ] || return 0
	local left
	compose down --volumes --remove-orphans --timeout 60
	STACK_UP=0
	left=$(
		docker ps -aq --filter "label=com.docker.compose.project=$PROJECT"
		docker network ls -q --filter "label=com.docker.compose.project=$PROJECT"
		docker volume ls -q --filter "label=com.docker.compose.project=$PROJECT"
	)
	[ -z "$left" ] || die "containers, networks or volumes of $PROJECT remain: $left"
}

# --- entry ---------------------------------------------------------------------------------

TMP_DIRS=()
cleanup() {
	local rc=$?
	set +e
	if [ "$STACK_UP" = 1 ]; then
		if [ "$rc" != 0 ]; then
			say "smoke: stopped (exit $rc); the stack's last log lines:"
			compose logs --no-color --tail 30 >&2
		fi
		compose down --volumes --remove-orphans --timeout 60
	fi
	[ ${#TMP_DIRS[@]} = 0 ] || rm -rf "${TMP_DIRS[@]}"
	engine_down
	exit "$rc"
}

main() {
	local cmd=${1:-run} t0=$EPOCHREALTIME
	case $cmd in
	run | images) ;;
	stop-engine)
		[ -f "$ENGINE_DIR/dockerd.pid" ] || die "no private engine runs (no $(rel "$ENGINE_DIR")/dockerd.pid)"
		stop_engine "$(cat "$ENGINE_DIR/dockerd.pid")"
		return
		;;
	*) die "usage: $0 [run|images|stop-engine]" ;;
	esac
	local tool
	for tool in curl jq openssl; do
		have "$tool" || install_debian_packages "the smoke run needs $tool" "$tool"
	done
	mkdir -p "$WORK"
	trap cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM

	local t1=$EPOCHREALTIME
	engine_up
	figure "engine" "$(since "$t1") s to answer ($(docker version --format 'server {{.Server.Version}}'))"
	if [ "$cmd" = images ]; then
		# shellcheck disable=SC2046
		ensure_images $(build_base)
		build_images
		return
	fi
	t1=$EPOCHREALTIME
	compose_plugin
	figure "compose plugin" "$(since "$t1") s ($(docker compose version --short))"
	# shellcheck disable=SC2046
	ensure_images $(build_base) $(compose_images | grep -v -e '^oes-api:' -e '^oes-emailworker:')
	build_images
	smoke_stack
	figure "total" "$(since "$t0") s"
	printf '\nsmoke: passed\n' >&2
	printf '  %s\n' "${FIGURES[@]}" >&2
}

main "$@"
