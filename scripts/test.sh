#!/usr/bin/env bash
# Quick start, part 2: install what is missing, build, and run the whole test suite.
# An optional preset name runs the suite under it instead: scripts/test.sh asan | tsan | debug
set -euo pipefail
cd "$(dirname "$0")/.."
preset="${1:-default}"
scripts/build.sh "$preset"
ctest --preset "$preset"
