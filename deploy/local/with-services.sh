#!/usr/bin/env bash
# Runs a command with Postgres and Redis available: the servers named by DATABASE_URL and
# REDIS_URL when they answer, otherwise throwaway local servers started from the installed
# binaries (state under .local/ at the repo root) and stopped again when the command ends.
#
# Usage: deploy/local/with-services.sh [--quiet] -- command [args...]
#
# Knobs: OES_PG_BINDIR (directory holding postgres, initdb, pg_ctl) and OES_REDIS_SERVER (path
# of redis-server) replace the search for the binaries.
# Cleanup and signal functions run from traps, and the single-quoted strings are scripts for
# bash -c that expand their own arguments.
# shellcheck disable=SC2317,SC2016
set -euo pipefail

usage() {
	echo "usage: $0 [--quiet] -- command [args...]"
}

QUIET=0
while [ $# -gt 0 ]; do
	case $1 in
	-q | --quiet) QUIET=1; shift ;;
	-h | --help) usage; exit 0 ;;
	--) shift; break ;;
	-*) echo "with-services: unknown option $1" >&2; usage >&2; exit 2 ;;
	*) break ;;
	esac
done
if [ $# -eq 0 ]; then
	usage >&2
	exit 2
fi

# The repo root comes from the script's own location so any clone folder works.
REPO=$(cd "$(dirname "$0")/../.." && pwd -P)
LOCAL=$REPO/.local
ME=$$

say() { [ "$QUIET" = 1 ] || printf '%s\n' "$*" >&2; }
die() { printf '%s\n' "$@" >&2; exit 1; }
have() { command -v "$1" >/dev/null 2>&1; }

# command -v also reports a non-executable file when nothing better is on PATH.
exe_on_path() {
	local p
	p=$(command -v "$1" 2>/dev/null) && [ -f "$p" ] && [ -x "$p" ] && echo "$p"
}

# macOS has no timeout(1) unless coreutils is installed, hence the hand-made fallback.
with_timeout() {
	local secs=$1 pid watcher rc=0
	shift
	if have timeout; then
		timeout "$secs" "$@"
		return
	fi
	"$@" &
	pid=$!
	(sleep "$secs"; kill "$pid" 2>/dev/null) &
	watcher=$!
	wait "$pid" || rc=$?
	kill "$watcher" 2>/dev/null || true
	wait "$watcher" 2>/dev/null || true
	return "$rc"
}

# A plain TCP connect: no psql or redis-cli needed to know whether something listens.
tcp_open() {
	with_timeout 1 bash -c 'exec 3<>"/dev/tcp/$1/$2"' _ "$1" "$2" 2>/dev/null
}

redis_ping() {
	with_timeout 2 bash -c 'exec 3<>"/dev/tcp/$1/$2" || exit 1
		printf "PING\r\n" >&3
		IFS= read -r line <&3 || exit 1
		[[ $line == "+PONG"* ]]' _ "$1" "$2" 2>/dev/null
}

# Process state from /proc where there is one, since slim containers often lack ps.
proc_state() {
	if [ -r "/proc/$1/stat" ]; then
		sed -e 's/.*) \(.\).*/\1/' "/proc/$1/stat" 2>/dev/null || true
	else
		ps -o stat= -p "$1" 2>/dev/null | cut -c1 || true
	fi
}

proc_args() {
	if [ -r "/proc/$1/cmdline" ]; then
		tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null || true
	else
		ps -o args= -p "$1" 2>/dev/null || true
	fi
}

# A zombie counts as gone: it no longer serves anything, it only waits to be reaped.
alive() {
	local s
	s=$(proc_state "$1")
	[ -n "$s" ] && [ "$s" != Z ]
}

# Pids in lock and client files are trusted only while they still belong to this script, so
# a recycled pid cannot keep a lock or a throwaway server alive forever.
is_peer() {
	alive "$1" && case $(proc_args "$1") in *with-services*) true ;; *) false ;; esac
}

# True when this script is in the terminal's foreground process group: a Ctrl-C then already
# reached the command directly, and forwarding it would deliver SIGINT twice.
tty_foreground() {
	local pgrp tpgid
	if [ -r "/proc/$ME/stat" ]; then
		read -r pgrp tpgid < <(sed -e 's/.*) //' "/proc/$ME/stat" | awk '{print $3, $6}')
	else
		read -r tpgid pgrp < <(ps -o tpgid=,pgid= -p "$ME" 2>/dev/null)
	fi
	[ -n "${pgrp:-}" ] && [ "${tpgid:-}" = "$pgrp" ]
}

# Splits scheme://[user[:password]@]host[:port][/path][?query] into U_HOST, U_PORT, U_PATH
# and U_QUERY.
parse_url() {
	local url=$1 rest authority hostport p
	U_HOST='' U_PORT='' U_PATH='' U_QUERY=''
	case $url in
	*://*) rest=${url#*://} ;;
	*) rest=$url ;;
	esac
	case $rest in *'#'*) rest=${rest%%#*} ;; esac
	case $rest in *'?'*) U_QUERY=${rest#*\?}; rest=${rest%%\?*} ;; esac
	authority=${rest%%/*}
	U_PATH=${rest#"$authority"}
	hostport=${authority##*@}
	# With a libpq-style host list the first host is the one tried first.
	hostport=${hostport%%,*}
	case $hostport in
	\[*\]*)
		U_HOST=${hostport#\[}
		U_HOST=${U_HOST%%\]*}
		p=${hostport##*\]}
		U_PORT=${p#:}
		;;
	*:*) U_HOST=${hostport%%:*}; U_PORT=${hostport#*:} ;;
	*) U_HOST=$hostport ;;
	esac
	[ -n "$U_PORT" ] || U_PORT=$2
	[ -n "$U_HOST" ] || U_HOST=localhost
	case $U_HOST in %2[Ff]*) U_HOST=$(printf '%s' "$U_HOST" | sed -e 's/%2[Ff]/\//g') ;; esac
	return 0
}

# Passwords end up in terminal scrollback and CI logs, so they are never printed.
mask_url() {
	printf '%s' "$1" | sed -E -e 's|(://[^:/?#@]*):[^/?#]*@|\1:****@|' -e 's/([?&]password=)[^&]*/\1****/g'
}

# A host that is a directory means a unix socket; otherwise a TCP connect decides.
answers() {
	local host=$1 port=$2 sockname=$3
	case $host in
	/*) [ -S "$host/$sockname" ] ;;
	*) tcp_open "$host" "$port" ;;
	esac
}

free_port() {
	local p=$1
	while [ "$p" -lt $(($1 + 100)) ]; do
		if ! tcp_open 127.0.0.1 "$p"; then
			echo "$p"
			return 0
		fi
		p=$((p + 1))
	done
	return 1
}

sh_quote() {
	printf "'%s'" "$(printf '%s' "$1" | sed "s/'/'\\\\''/g")"
}

tail_log() {
	[ -f "$1" ] || return 0
	echo "--- last lines of $1 ---" >&2
	tail -n 25 "$1" >&2 || true
}

# Shown relative to the repo when inside it, so the message stays short.
show_path() {
	case $1 in "$REPO"/*) echo "${1#"$REPO"/}" ;; *) echo "$1" ;; esac
}

# --- lock shared by concurrent invocations from this repo ------------------------------------
# A mkdir lock works on Linux and macOS alike (flock(1) is Linux only). It serialises the
# start/reuse decision and the stop decision, so two runs never start two servers on one data
# directory and one run never stops a server another run has just decided to reuse.
LOCK_DIR=$LOCAL/.lock
LOCK_HELD=0

lock() {
	local tries=0 holder
	[ "$LOCK_HELD" = 1 ] && return 0
	mkdir -p "$LOCAL"
	until mkdir "$LOCK_DIR" 2>/dev/null; do
		holder=$(cat "$LOCK_DIR/pid" 2>/dev/null || true)
		# A holder that died (SIGKILL, power loss) must not block everyone after it; an empty
		# pid file is only legitimate for the instant between mkdir and the write.
		if { [ -n "$holder" ] && ! is_peer "$holder"; } || { [ -z "$holder" ] && [ "$tries" -gt 25 ]; }; then
			rm -rf "$LOCK_DIR"
			continue
		fi
		tries=$((tries + 1))
		[ "$tries" -lt 300 ] || die "with-services: $LOCK_DIR has been held by pid $holder for 60 s; remove it if that process is gone"
		sleep 0.2
	done
	echo "$ME" >"$LOCK_DIR/pid"
	LOCK_HELD=1
}

unlock() {
	if [ "$LOCK_HELD" = 1 ]; then
		rm -rf "$LOCK_DIR"
		LOCK_HELD=0
	fi
}

# Every run using a throwaway server registers itself; the last one to leave stops the server,
# whoever started it, so nothing is left running and nothing is stopped under a live user.
register() {
	mkdir -p "$1/clients"
	: >"$1/clients/$ME"
}

other_clients() {
	local f pid found=1
	for f in "$1"/clients/*; do
		[ -e "$f" ] || continue
		pid=${f##*/}
		[ "$pid" = "$ME" ] && continue
		if is_peer "$pid"; then
			found=0
		else
			rm -f "$f"
		fi
	done
	return "$found"
}

# --- Postgres ---------------------------------------------------------------------------------
PG_USER='' PG_BASE='' PG_DATA='' PG_PORT='' PG_FRESH=0 PG_REGISTERED=0 PG_STARTING=0
PG_POSTGRES='' PG_INITDB='' PG_CTL='' PG_ISREADY=''

pg_try_dir() {
	[ -x "$1/postgres" ] && [ -x "$1/initdb" ] && [ -x "$1/pg_ctl" ] || return 1
	PG_POSTGRES=$1/postgres PG_INITDB=$1/initdb PG_CTL=$1/pg_ctl PG_ISREADY=''
	[ ! -x "$1/pg_isready" ] || PG_ISREADY=$1/pg_isready
}

# Newest version first: Debian/Ubuntu install server binaries off PATH, one dir per major.
# The version is the path component before /bin (".../15/bin", ".../postgresql@16/bin");
# sorting it numerically avoids sort -V, which older macOS sort lacks.
pg_try_glob() {
	local d v
	while IFS= read -r d; do
		pg_try_dir "$d" && return 0
	done < <(for d in "$@"; do
		[ -d "$d" ] || continue
		v=${d%/bin}
		v=${v##*[/@]}
		printf '%s\t%s\n' "$v" "$d"
	done | sort -t "$(printf '\t')" -k1,1nr | cut -f2-)
	return 1
}

find_pg() {
	local prefix
	if [ -n "${OES_PG_BINDIR:-}" ]; then
		pg_try_dir "$OES_PG_BINDIR"
		return
	fi
	pg_try_glob /usr/lib/postgresql/*/bin && return 0
	if PG_POSTGRES=$(exe_on_path postgres) && PG_INITDB=$(exe_on_path initdb) && PG_CTL=$(exe_on_path pg_ctl); then
		PG_ISREADY=$(exe_on_path pg_isready || true)
		return 0
	fi
	if have brew && prefix=$(brew --prefix 2>/dev/null) && [ -n "$prefix" ]; then
		pg_try_glob "$prefix"/opt/postgresql@*/bin && return 0
		pg_try_dir "$prefix/opt/postgresql/bin" && return 0
	fi
	return 1
}

pg_missing() {
	local where="/usr/lib/postgresql/*/bin, PATH and Homebrew"
	[ -z "${OES_PG_BINDIR:-}" ] || where="OES_PG_BINDIR=$OES_PG_BINDIR"
	printf '%s\n' "postgres: nothing answers at $1:$2 and no PostgreSQL server binaries (postgres, initdb, pg_ctl) were found in $where." \
		"  Install them, then run this again:" \
		"    Debian/Ubuntu:    sudo apt-get install postgresql" \
		"    macOS (Homebrew): brew install postgresql@16" \
		"  Or set DATABASE_URL to a running server." >&2
}

# PostgreSQL refuses to run as root, so root runs it as nobody.
as_pg() {
	if [ -z "$PG_USER" ]; then
		(cd / && "$@")
	elif have runuser; then
		(cd / && runuser -u "$PG_USER" -- "$@")
	elif have setpriv; then
		(cd / && setpriv --reuid="$(id -u "$PG_USER")" --regid="$(id -g "$PG_USER")" --clear-groups -- "$@")
	else
		die "postgres: running as root needs runuser or setpriv to start the server as $PG_USER; run as a normal user instead"
	fi
}

# As root the cluster must be reachable by nobody through every parent directory; a repo
# under /root is not, so the cluster then lives in a per-repo directory under /tmp.
pg_choose_base() {
	local top hash
	PG_BASE=$LOCAL/postgres
	if [ "$(id -u)" != 0 ]; then
		PG_DATA=$PG_BASE/data
		return 0
	fi
	PG_USER=nobody
	if [ ! -d "$LOCAL" ]; then
		mkdir -p "$LOCAL"
		chmod 755 "$LOCAL"
	fi
	if ! as_pg test -x "$LOCAL"; then
		hash=$(printf '%s' "$REPO" | cksum | awk '{print $1}')
		top=/tmp/oes-local-$(id -u)-$hash
		[ -d "$top" ] || mkdir -m 755 "$top"
		# A predictable name under /tmp could have been planted by someone else.
		if [ -L "$top" ] || [ ! -d "$top" ] || [ ! -O "$top" ]; then
			die "postgres: $top is not a directory owned by $(id -un); refusing to use it"
		fi
		chmod 755 "$top"
		PG_BASE=$top/postgres
		say "postgres: $LOCAL is not reachable by user $PG_USER (a parent directory is not searchable), so the throwaway cluster lives in $PG_BASE"
	fi
	PG_DATA=$PG_BASE/data
}

pg_wait_ready() {
	local port=$1 i=0
	while [ "$i" -lt 60 ]; do
		if [ -n "$PG_ISREADY" ]; then
			"$PG_ISREADY" -q -t 1 -h 127.0.0.1 -p "$port" -U postgres -d postgres && return 0
		else
			tcp_open 127.0.0.1 "$port" && return 0
		fi
		sleep 0.5
		i=$((i + 1))
	done
	return 1
}

# Sets PG_PORT when a live postmaster already serves this data directory.
pg_running() {
	local pid port
	[ -f "$PG_DATA/postmaster.pid" ] || return 1
	pid=$(sed -n 1p "$PG_DATA/postmaster.pid" 2>/dev/null || true)
	port=$(sed -n 4p "$PG_DATA/postmaster.pid" 2>/dev/null || true)
	[ -n "$pid" ] && [ -n "$port" ] && alive "$pid" || return 1
	if ! pg_wait_ready "$port"; then
		die "postgres: a server (pid $pid) runs on $(show_path "$PG_DATA") but does not answer on 127.0.0.1:$port" \
			"  (is it in another network namespace or container?). Stop it or remove $(show_path "$PG_BASE")."
	fi
	PG_PORT=$port
}

# initdb into a temporary name and rename, so an interrupted initdb never looks like a cluster.
pg_ensure_cluster() {
	local version major made tmp flags=()
	PG_FRESH=0
	version=$("$PG_POSTGRES" --version | awk '{print $3}')
	major=${version%%[!0-9]*}
	if [ -f "$PG_DATA/PG_VERSION" ]; then
		made=$(cat "$PG_DATA/PG_VERSION")
		[ "$made" != "$major" ] || return 0
		say "postgres: the throwaway cluster was made by PostgreSQL $made, the binaries are $major; re-creating it"
	fi
	rm -rf "$PG_DATA"
	tmp=$PG_BASE/data.initdb
	rm -rf "$tmp"
	! "$PG_INITDB" --help 2>/dev/null | grep -q -- --no-instructions || flags+=(--no-instructions)
	# C locale: always available, unlike whatever LANG names, and the tests do not depend on
	# collation rules.
	if ! as_pg "$PG_INITDB" -D "$tmp" -U postgres --auth=trust -E UTF8 --locale=C ${flags[@]+"${flags[@]}"} >"$PG_BASE/initdb.log" 2>&1; then
		tail_log "$PG_BASE/initdb.log"
		die "postgres: initdb failed (log in $(show_path "$PG_BASE")/initdb.log)"
	fi
	mv "$tmp" "$PG_DATA"
	PG_FRESH=1
}

pg_stop() {
	local pid i=0
	[ -f "$PG_DATA/postmaster.pid" ] || return 0
	pid=$(sed -n 1p "$PG_DATA/postmaster.pid" 2>/dev/null || true)
	[ -n "$pid" ] && alive "$pid" || return 0
	if ! as_pg "$PG_CTL" -D "$PG_DATA" -m fast -w -t 30 stop >/dev/null 2>&1; then
		# SIGINT is the postmaster's own "fast shutdown" request.
		kill -INT "$pid" 2>/dev/null || true
		while alive "$pid" && [ "$i" -lt 60 ]; do
			sleep 0.5
			i=$((i + 1))
		done
	fi
	if alive "$pid"; then
		echo "postgres: the throwaway server (pid $pid) did not stop; log in $PG_BASE/log" >&2
	else
		say "postgres: stopped throwaway server"
	fi
}

# Uses DATABASE_URL when it answers; otherwise checks that a throwaway server can be started.
PG_WANTED=0 PG_DB=oes
check_postgres() {
	local url=${DATABASE_URL:-postgres://localhost:5432/oes?sslmode=disable}
	parse_url "$url" 5432
	if answers "$U_HOST" "$U_PORT" ".s.PGSQL.$U_PORT"; then
		export DATABASE_URL=$url
		say "postgres: using $(mask_url "$url")"
		return 0
	fi
	if ! find_pg; then
		pg_missing "$U_HOST" "$U_PORT"
		return 1
	fi
	# The app creates the database named in the URL, so keep that name on the throwaway server.
	PG_DB=${U_PATH#/}
	[ -n "$PG_DB" ] || PG_DB=oes
	PG_WANTED=1
}

start_postgres() {
	local db=$PG_DB port sockdir opts rc=0
	pg_choose_base
	mkdir -p "$PG_BASE"
	if [ -n "$PG_USER" ]; then
		chown -R "$PG_USER:$(id -gn "$PG_USER")" "$PG_BASE"
	elif [ -e "$PG_DATA" ] && [ ! -O "$PG_DATA" ]; then
		die "postgres: $(show_path "$PG_DATA") belongs to another user (a run as root?); remove $(show_path "$PG_BASE") and try again"
	fi

	lock
	register "$PG_BASE"
	PG_REGISTERED=1
	if pg_running; then
		port=$PG_PORT
		unlock
		export DATABASE_URL="postgres://postgres@127.0.0.1:$port/$db?sslmode=disable"
		say "postgres: reusing throwaway server on 127.0.0.1:$port (data in $(show_path "$PG_BASE"))"
		return 0
	fi
	pg_ensure_cluster
	port=$(free_port 55432) || die "postgres: no free port in 55432-55531"
	sockdir=$PG_BASE
	# A unix socket path is limited to about 100 bytes; deep checkouts go TCP-only instead.
	[ $((${#sockdir} + 16)) -le 100 ] || sockdir=''
	# pg_ctl hands -o to /bin/sh, hence the single quotes around the socket path.
	opts="-h 127.0.0.1 -p $port -k $(sh_quote "$sockdir") -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
	PG_STARTING=1
	as_pg "$PG_CTL" -D "$PG_DATA" -l "$PG_BASE/log" -o "$opts" -w -t 30 start >/dev/null || rc=$?
	if [ "$rc" != 0 ] || ! pg_wait_ready "$port"; then
		tail_log "$PG_BASE/log"
		die "postgres: the throwaway server did not start on 127.0.0.1:$port (log in $(show_path "$PG_BASE")/log)"
	fi
	unlock
	export DATABASE_URL="postgres://postgres@127.0.0.1:$port/$db?sslmode=disable"
	if [ "$PG_FRESH" = 1 ]; then
		say "postgres: started throwaway server on 127.0.0.1:$port (new cluster in $(show_path "$PG_BASE"))"
	else
		say "postgres: started throwaway server on 127.0.0.1:$port (data in $(show_path "$PG_BASE"))"
	fi
}

teardown_postgres() {
	[ "$PG_REGISTERED" = 1 ] || return 0
	rm -f "$PG_BASE/clients/$ME"
	PG_REGISTERED=0
	if other_clients "$PG_BASE"; then
		say "postgres: leaving the throwaway server running for another run that still uses it"
		return 0
	fi
	# Interrupted during pg_ctl start: the postmaster may be up before its pid file is.
	if [ "$PG_STARTING" = 1 ] && [ ! -f "$PG_DATA/postmaster.pid" ]; then
		local i=0
		while [ ! -f "$PG_DATA/postmaster.pid" ] && [ "$i" -lt 10 ]; do
			sleep 0.5
			i=$((i + 1))
		done
	fi
	pg_stop
}

# --- Redis ------------------------------------------------------------------------------------
RD_BASE=$LOCAL/redis RD_REGISTERED=0 RD_SERVER=''

find_redis() {
	local prefix
	if [ -n "${OES_REDIS_SERVER:-}" ]; then
		[ -x "$OES_REDIS_SERVER" ] && RD_SERVER=$OES_REDIS_SERVER
		return
	fi
	RD_SERVER=$(exe_on_path redis-server) && return 0
	if have brew && prefix=$(brew --prefix 2>/dev/null) && [ -x "$prefix/bin/redis-server" ]; then
		RD_SERVER=$prefix/bin/redis-server
		return 0
	fi
	return 1
}

redis_missing() {
	local where=PATH
	[ -z "${OES_REDIS_SERVER:-}" ] || where="OES_REDIS_SERVER=$OES_REDIS_SERVER"
	printf '%s\n' "redis: nothing answers at $1:$2 and redis-server was not found ($where)." \
		"  Install it, then run this again:" \
		"    Debian/Ubuntu:    sudo apt-get install redis-server" \
		"    macOS (Homebrew): brew install redis" \
		"  Or set REDIS_URL to a running server." >&2
}

# "pid port" of a live throwaway Redis recorded by an earlier or concurrent run.
redis_running_port() {
	local pid port
	[ -f "$RD_BASE/server" ] || return 1
	read -r pid port <"$RD_BASE/server" || true
	[ -n "${pid:-}" ] && [ -n "${port:-}" ] && alive "$pid" || return 1
	case $(proc_args "$pid") in *redis-server*) ;; *) return 1 ;; esac
	redis_ping 127.0.0.1 "$port" || return 1
	echo "$port"
}

redis_stop() {
	local pid port i=0
	[ -f "$RD_BASE/server" ] || return 0
	read -r pid port <"$RD_BASE/server" || true
	rm -f "$RD_BASE/server"
	[ -n "${pid:-}" ] && alive "$pid" || return 0
	case $(proc_args "$pid") in *redis-server*) ;; *) return 0 ;; esac
	kill -TERM "$pid" 2>/dev/null || true
	while alive "$pid" && [ "$i" -lt 40 ]; do
		sleep 0.25
		i=$((i + 1))
	done
	# Reap it when it is this script's own child.
	wait "$pid" 2>/dev/null || true
	if alive "$pid"; then
		echo "redis: the throwaway server (pid $pid) did not stop; log in $RD_BASE/log" >&2
	else
		say "redis: stopped throwaway server"
	fi
}

# Uses REDIS_URL when it answers; otherwise checks that a throwaway server can be started.
RD_WANTED=0 RD_DB=0
check_redis() {
	local url=${REDIS_URL:-redis://localhost:6379/0} host port
	parse_url "$url" 6379
	if [ "${url%%://*}" = unix ]; then
		host=$U_PATH port=socket
		[ -S "$U_PATH" ] && host=''
	else
		host=$U_HOST port=$U_PORT
		tcp_open "$host" "$port" && host=''
	fi
	if [ -z "$host" ]; then
		export REDIS_URL=$url
		say "redis: using $(mask_url "$url")"
		return 0
	fi
	if ! find_redis; then
		redis_missing "$host" "$port"
		return 1
	fi
	RD_DB=${U_PATH#/}
	case $RD_DB in '' | *[!0-9]*) RD_DB=0 ;; esac
	RD_WANTED=1
}

start_redis() {
	local db=$RD_DB port pid i=0
	mkdir -p "$RD_BASE"
	lock
	register "$RD_BASE"
	RD_REGISTERED=1
	if port=$(redis_running_port); then
		unlock
		export REDIS_URL="redis://127.0.0.1:$port/$db"
		say "redis: reusing throwaway server on 127.0.0.1:$port"
		return 0
	fi
	port=$(free_port 56379) || die "redis: no free port in 56379-56478"
	# Its own session keeps a terminal Ctrl-C away from it, so this script decides when it stops.
	local args=(--bind 127.0.0.1 --port "$port" --save "" --appendonly no --dir "$RD_BASE" --daemonize no)
	if have setsid; then
		setsid "$RD_SERVER" "${args[@]}" </dev/null >>"$RD_BASE/log" 2>&1 &
	else
		"$RD_SERVER" "${args[@]}" </dev/null >>"$RD_BASE/log" 2>&1 &
	fi
	pid=$!
	echo "$pid $port" >"$RD_BASE/server"
	until redis_ping 127.0.0.1 "$port"; do
		i=$((i + 1))
		if ! alive "$pid" || [ "$i" -ge 60 ]; then
			tail_log "$RD_BASE/log"
			die "redis: the throwaway server did not start on 127.0.0.1:$port (log in $(show_path "$RD_BASE")/log)"
		fi
		sleep 0.5
	done
	unlock
	export REDIS_URL="redis://127.0.0.1:$port/$db"
	say "redis: started throwaway server on 127.0.0.1:$port (log in $(show_path "$RD_BASE")/log)"
}

teardown_redis() {
	[ "$RD_REGISTERED" = 1 ] || return 0
	rm -f "$RD_BASE/clients/$ME"
	RD_REGISTERED=0
	if other_clients "$RD_BASE"; then
		say "redis: leaving the throwaway server running for another run that still uses it"
		return 0
	fi
	redis_stop
}

# --- running the command ----------------------------------------------------------------------
CHILD=''

cleanup() {
	local rc=$?
	# Stopping the servers must not be cut short by a second Ctrl-C.
	trap '' INT TERM HUP
	set +e
	if [ -n "$CHILD" ] && kill -0 "$CHILD" 2>/dev/null; then
		kill -TERM "$CHILD" 2>/dev/null
		wait "$CHILD" 2>/dev/null
	fi
	if [ "$PG_REGISTERED" = 1 ] || [ "$RD_REGISTERED" = 1 ]; then
		lock
		teardown_redis
		teardown_postgres
	fi
	unlock
	exit "$rc"
}

on_signal() {
	local sig=$1 code=$2
	if [ -z "$CHILD" ]; then
		exit "$code"
	fi
	if [ "$sig" = INT ] && tty_foreground; then
		return 0
	fi
	kill -s "$sig" "$CHILD" 2>/dev/null || true
}

trap cleanup EXIT
trap 'on_signal INT 130' INT
trap 'on_signal TERM 143' TERM
trap 'on_signal HUP 129' HUP

# Both checks run before anything starts, so a missing binary is reported without first
# starting (and stopping) the other server.
missing=0
check_postgres || missing=1
check_redis || missing=1
[ "$missing" = 0 ] || exit 1
[ "$PG_WANTED" = 0 ] || start_postgres
[ "$RD_WANTED" = 0 ] || start_redis

if [ -z "${TEST_DATABASE_URL:-}" ]; then
	# Same server and credentials, but the maintenance database, which always exists.
	parse_url "$DATABASE_URL" 5432
	base=${DATABASE_URL%%\?*}
	base=${base%%#*}
	base=${base%"$U_PATH"}
	TEST_DATABASE_URL=$base/postgres${U_QUERY:+?$U_QUERY}
fi
export TEST_DATABASE_URL
export TEST_REDIS_URL=${TEST_REDIS_URL:-$REDIS_URL}

# A background job of a non-interactive shell starts with SIGINT ignored and stdin on
# /dev/null; the subshell restores both so the command behaves as if run directly, while this
# script stays free to forward signals and clean up afterwards.
(
	trap - INT QUIT
	exec "$@"
) 0<&0 &
CHILD=$!

status=0
while :; do
	status=0
	wait "$CHILD" || status=$?
	# wait also returns when a trapped signal arrives; keep waiting while the command runs.
	kill -0 "$CHILD" 2>/dev/null || break
done
CHILD=''
exit "$status"
