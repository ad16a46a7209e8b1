#!/usr/bin/env bash
# Installs the client into a temporary prefix, builds client/examples against it with find_package, and runs
# both examples (blocking and coroutine) against a real offloadd. Usage: check_install.sh BUILD_DIR SOURCE_DIR OFFLOADD
set -euo pipefail
build=$1 source=$2 offloadd=$3
work=$(mktemp -d)
server_pid=
cleanup() {
  [[ -n $server_pid ]] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

# start_server PROGRAM ARGS…: starts an offloadd (or one built on offload::server) on a free port, in memory;
# sets $server_pid and $url once it listens (polled: a condition with a deadline of 10 s).
start_server() {
  local program=$1 out="$work/server-$RANDOM.out"
  shift
  "$program" --listen 127.0.0.1:0 --log-level warn --store memory "$@" >"$out" &
  server_pid=$!
  for _ in $(seq 200); do
    grep -q '^listening on ' "$out" 2>/dev/null && break
    sleep 0.05
  done
  url=$(sed -n 's/^listening on //p' "$out")
  [[ -n $url ]] || { echo "$program did not start" >&2; exit 1; }
}

cmake --install "$build" --prefix "$work/prefix" >/dev/null
test -f "$work/prefix/lib/cmake/offload/offloadConfig.cmake"
test -f "$work/prefix/include/offload/client/client.hpp"
test -f "$work/prefix/include/offload/proto/job_spec.hpp"
test -f "$work/prefix/include/offload/worker/worker.hpp"
test -f "$work/prefix/share/offload/python/offload_worker.py"
test -f "$work/prefix/share/offload/node/worker/offload-worker.mjs"
test -x "$work/prefix/bin/offload"
test -x "$work/prefix/bin/offloadd"
"$work/prefix/bin/offloadd" --version | grep -q '^offloadd '
test -f "$work/prefix/share/offload/systemd/offloadd.service"
if command -v systemd-analyze >/dev/null; then
  # The unit's syntax and options: unknown keys or values are errors (a missing binary or user here is not).
  systemd-analyze verify --man=no "$work/prefix/share/offload/systemd/offloadd.service" >"$work/unit.err" 2>&1 || true
  if grep -E 'Unknown (key|section)|Invalid|Failed to parse|ignoring' "$work/unit.err" >&2; then exit 1; fi
fi

cmake -S "$source/client/examples" -B "$work/example" -DCMAKE_PREFIX_PATH="$work/prefix" \
  -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$work/example" >/dev/null

# The C++ worker example, built against the install, serves `square` as a warm worker pool.
cat >"$work/workers.json" <<JSON
{"workers": {"squares": {"argv": ["$work/example/square_worker"], "types": ["square"], "pool": 1}}}
JSON
start_server "$offloadd" --config "$work/workers.json"

output=$("$work/example/sum_job" "$url")
echo "$output"
[[ $output == 'succeeded {"sum":"499999500000"}' ]]
async_output=$("$work/example/async_sum_job" "$url")
echo "$async_output"
[[ $(tail -n 1 <<<"$async_output") == 'succeeded {"sum":"499999500000"}' ]]
grep -q '^1 queued$' <<<"$async_output"
square=$("$work/prefix/bin/offload" --url "$url" submit square n=12 --wait)
echo "$square"
grep -q '"square": *144' <<<"$square"
"$work/prefix/bin/offload" --url "$url" health
kill "$server_pid" && wait "$server_pid" 2>/dev/null || true
server_pid=

# An offloadd of one's own on offload::server: its type in both lanes, the built-ins beside it.
test -f "$work/prefix/include/offload/server/server.hpp"
cmake -S "$source/service/examples" -B "$work/server_example" -DCMAKE_PREFIX_PATH="$work/prefix" \
  -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$work/server_example" >/dev/null
start_server "$work/server_example/my_offloadd"
for lane in thread process; do
  reversed=$("$work/prefix/bin/offload" --url "$url" submit reverse text=stressed --lane "$lane" --wait)
  echo "$reversed"
  grep -q '"text": *"desserts"' <<<"$reversed"
done
"$work/prefix/bin/offload" --url "$url" submit sum n=10 --wait | grep -q '"sum": *"45"'
if "$work/prefix/bin/offload" --url "$url" submit reverse text=1 extra=2 2>"$work/invalid.err"; then
  echo "an input outside the schema was accepted" >&2; exit 1
fi
grep -q 'input.extra: unknown field (known: text)' "$work/invalid.err"
