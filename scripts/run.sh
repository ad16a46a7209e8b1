#!/usr/bin/env bash
# Quick start, part 1: install what is missing, build, and run offloadd on its defaults
# (http://127.0.0.1:8080) with the example allow-list docker/commands.json (wc, sha256sum, true: programs
# every Debian machine has). Extra arguments go to offloadd, e.g. scripts/run.sh --listen 0.0.0.0:8080;
# a --config of your own (or OFFLOAD_CONFIG) replaces the example's.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh default
config=(--config docker/commands.json)
for arg in "$@"; do
  case "$arg" in --config | --config=*) config=() ;; esac
done
[[ -n "${OFFLOAD_CONFIG:-}" ]] && config=()
exec build/service/offloadd "${config[@]}" "$@"
