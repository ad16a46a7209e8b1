#!/usr/bin/env bash
# Runs every fuzz target for SECONDS each (default 60) from a scratch copy of its seed corpus. A crash
# leaves its input in tests/fuzz/regressions/TARGET/ (add it to git: the replay tests then run it forever)
# and fails the script. Usage: tests/fuzz/run.sh BUILD_DIR [SECONDS]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$1 seconds=${2:-60}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
status=0
for target in job_spec worker_protocol ws_request command_template http_request cli_input worker_config ws_subprotocol cgroup_files redis_url job_view proc_stat; do
  exe=$(find "$build" -name "fuzz_$target" -type f -perm -u+x | head -1)
  [[ -n $exe ]] || { echo "fuzz_$target not built in $build" >&2; exit 1; }
  mkdir -p "$work/$target" "$here/regressions/$target"
  cp "$here/corpus/$target/"* "$work/$target/"
  log="$work/$target.log"
  if "$exe" "$work/$target" "$here/corpus/$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=4096 \
       -max_len=65536 -print_final_stats=1 -artifact_prefix="$here/regressions/$target/" >"$log" 2>&1; then
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1)
    echo "fuzz $target: ${runs:-?} executions in ${seconds}s, $cov, no crash"
  else
    echo "fuzz $target: FAILED" >&2
    tail -40 "$log" >&2
    status=1
  fi
done
exit $status
