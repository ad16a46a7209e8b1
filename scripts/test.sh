#!/usr/bin/env bash
# Quick start, part 2: install what is missing, build, and run the whole test suite.
# An optional preset name runs the suite under it instead (scripts/test.sh asan | tsan | debug); further
# arguments go to ctest (scripts/test.sh tsan -R 'client|job_service').
set -euo pipefail
cd "$(dirname "$0")/.."
preset="${1:-default}"
[[ $# -gt 0 ]] && shift
# Chromium only for the suite (the dashboard's browser tests), not for building or running the service.
scripts/bootstrap.sh chromium
scripts/build.sh "$preset"
ctest --preset "$preset" "$@"
