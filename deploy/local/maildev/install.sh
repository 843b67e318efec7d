#!/usr/bin/env bash
# Installs MailDev, the local mail catcher of `make run` (and of the test that opens its inbox
# in Chromium), into the git-ignored .local/: its npm packages exactly as package-lock.json
# beside this script pins them (every version, with its integrity hash) in .local/npm/maildev,
# and a launcher at .local/bin/maildev. MailDev's web UI ships built in its package.
#
# Needs Node.js 20 or later with npm. `make` runs it when the launcher is missing or older
# than package.json, package-lock.json or this script; run again with nothing changed, it
# only rewrites the launcher.
#
# To move to another MailDev: set its version in package.json, then run
#   npm install --package-lock-only --omit-lockfile-registry-resolved
# here (the lock names no registry: npm uses the one it is configured with).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd -P)
repo=$(cd "$here/../../.." && pwd -P)
local_dir=$repo/.local
dest=$local_dir/npm/maildev
launcher=$local_dir/bin/maildev
entry=node_modules/maildev/dist/bin/maildev.js

die() { printf '%s\n' "$@" >&2; exit 1; }

node_missing() {
	die "maildev: $1; the local mail catcher needs Node.js 20 or later with npm." \
		"  Install them, then run this again:" \
		"    Debian/Ubuntu:    sudo apt-get install nodejs npm" \
		"    macOS (Homebrew): brew install node"
}
command -v node >/dev/null 2>&1 || node_missing "node not found on PATH"
command -v npm >/dev/null 2>&1 || node_missing "npm not found on PATH"
major=$(node -p 'process.versions.node.split(".")[0]')
[ "$major" -ge 20 ] || node_missing "node $(node --version) is too old"

# One install at a time: `make run` and `make test` may start together from a clean clone.
mkdir -p "$local_dir/bin" "$local_dir/npm"
lock=$dest.lock
tries=0
until mkdir "$lock" 2>/dev/null; do
	holder=$(cat "$lock/pid" 2>/dev/null || true)
	if [ -n "$holder" ] && ! kill -0 "$holder" 2>/dev/null; then
		rm -rf "$lock" # its holder died
		continue
	fi
	tries=$((tries + 1))
	[ "$tries" -lt 600 ] || die "maildev: $lock has been held for 5 minutes; remove it if no install is running"
	sleep 0.5
done
echo $$ >"$lock/pid"
tmp=''
trap 'rm -rf "$lock" ${tmp:+"$tmp"}' EXIT

installed() {
	[ -f "$dest/$entry" ] &&
		cmp -s "$here/package.json" "$dest/package.json" &&
		cmp -s "$here/package-lock.json" "$dest/package-lock.json"
}

if ! installed; then
	echo "maildev: installing the pinned MailDev (local mail catcher) into .local/npm/maildev" >&2
	# Installed beside the old one and swapped in once complete, so an interrupted install
	# never leaves a half-installed catcher behind.
	tmp=$(mktemp -d "$dest.XXXXXX")
	chmod 755 "$tmp"
	cp "$here/package.json" "$here/package-lock.json" "$tmp/"
	# npm ci installs exactly the lock, and fails rather than resolve anything anew. No package
	# of the lock needs an install script, so none runs. Only errors are shown: npm would warn
	# that one dependency (content-disposition 3) asks for node 22, and it works on 20.
	(cd "$tmp" && npm ci --prefer-offline --ignore-scripts --no-audit --no-fund --loglevel=error)
	[ -f "$tmp/$entry" ] || die "maildev: npm ci did not install $entry"
	rm -rf "$dest"
	mv "$tmp" "$dest"
	tmp=''
fi

version=$(node -p 'require(process.argv[1]).version' "$dest/node_modules/maildev/package.json")
cat >"$launcher.tmp" <<LAUNCHER
#!/bin/sh
# MailDev $version, installed by deploy/local/maildev/install.sh from its package-lock.json.
exec node "\$(dirname "\$0")/../npm/maildev/$entry" "\$@"
LAUNCHER
chmod +x "$launcher.tmp"
mv "$launcher.tmp" "$launcher"
echo "maildev: MailDev $version ready at .local/bin/maildev" >&2
