#!/usr/bin/env bash
# Lints the API's OpenAPI document with Redocly CLI, the version package-lock.json beside this
# script pins (with its integrity hash), under redocly.yaml. The CLI is installed with npm ci
# into .local/npm/openapi-lint the first time and again whenever the lock file changes. Exits
# non-zero when the linter reports any problem.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
prefix=$root/.local/npm/openapi-lint
redocly=$prefix/node_modules/.bin/redocly

if ! cmp -s "$here/package-lock.json" "$prefix/installed.lock" || [[ ! -x $redocly ]]; then
	command -v npm >/dev/null || { echo "lint.sh: npm is needed to install the OpenAPI linter" >&2; exit 1; }
	echo "installing the OpenAPI linter (Redocly CLI) into ${prefix#"$root"/}" >&2
	rm -rf "$prefix"
	mkdir -p "$prefix"
	cp "$here/package.json" "$here/package-lock.json" "$prefix/"
	npm ci --prefer-offline --prefix "$prefix" --no-audit --no-fund --loglevel=error >&2
	cp "$here/package-lock.json" "$prefix/installed.lock"
fi

# No usage data leaves the machine, and no check for a newer version.
export REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true
exec "$redocly" lint --config "$here/redocly.yaml" --format stylish "$root/cmd/api/internal/httpapi/openapi.yaml"
