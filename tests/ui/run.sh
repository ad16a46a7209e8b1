#!/usr/bin/env bash
# The dashboard's browser tests: installs playwright-core from the lock file when missing or stale, then runs
# every test against a real offloadd (OFFLOAD_TEST_OFFLOADD or OFFLOAD_OFFLOADD, else build/service/offloadd)
# in Debian's Chromium (OFFLOAD_CHROMIUM, else /usr/bin/chromium; scripts/bootstrap.sh installs it).
# Screenshots: OFFLOAD_UI_ARTIFACTS, else build/tests/ui.
set -euo pipefail
cd "$(dirname "$0")"
chromium=${OFFLOAD_CHROMIUM:-/usr/bin/chromium}
if [[ ! -x $chromium ]]; then
  echo "no Chromium at $chromium: run scripts/bootstrap.sh (Debian package chromium) or set OFFLOAD_CHROMIUM" >&2
  exit 1
fi
if [[ ! -f node_modules/.package-lock.json || package-lock.json -nt node_modules/.package-lock.json ]]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
node --test --test-concurrency=1 dashboard.test.mjs
