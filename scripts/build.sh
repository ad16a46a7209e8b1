#!/usr/bin/env bash
# Configures and builds one CMake preset (default: "default", RelWithDebInfo in build/).
set -euo pipefail
cd "$(dirname "$0")/.."
preset="${1:-default}"
"$(dirname "$0")/bootstrap.sh"
cmake --preset "$preset" >/dev/null
cmake --build --preset "$preset"
