#!/usr/bin/env bash
# Installs the package's dependencies from the lock file (when missing or stale), compiles it, and runs its
# tests against a real offloadd (OFFLOAD_TEST_OFFLOADD or OFFLOAD_OFFLOADD, else build/service/offloadd): all of them on the WebSocket
# this Node has by default, then the streaming tests again on the other one (Node's global WebSocket, or the
# ws package), so that both paths are tested.
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ ! -f node_modules/.package-lock.json || package-lock.json -nt node_modules/.package-lock.json ]]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
npx tsc -p tsconfig.json
node --test test/
major=$(node -p 'process.versions.node.split(".")[0]')
if ((major >= 22)); then
  OFFLOAD_TEST_WEBSOCKET=ws node --test test/events.test.mjs
elif node --experimental-websocket -e 'process.exit(typeof WebSocket === "function" ? 0 : 1)' 2>/dev/null; then
  node --experimental-websocket --test test/events.test.mjs
else
  echo "node $(node --version) has no global WebSocket: the streaming tests ran on the ws package only" >&2
fi
