#!/usr/bin/env bash
# Quick start, part 1: install what is missing, build, and run offloadd on its defaults
# (http://127.0.0.1:8080). Extra arguments go to offloadd, e.g. scripts/run.sh --listen 0.0.0.0:8080
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh default
exec build/service/offloadd "$@"
