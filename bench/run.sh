#!/usr/bin/env bash
# The bench suite: builds the default preset, starts offloadd itself on loopback, runs every scenario for about
# SECONDS (default 10) and prints one JSON line per scenario, then a table. Baselines run in the same session
# (absolute numbers drift on shared machines; compare ratios). Benchmarks never assert timings: CI runs
# `bench/run.sh 2` as a smoke test (every scenario runs and prints its line; a scenario that fails to run
# fails the script).
#   bench/run.sh [SECONDS]            (OFFLOAD_BENCH_NO_BUILD=1 skips the build)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
secs=${1:-10}
build=${OFFLOAD_BUILD_DIR:-$root/build}
[[ -n ${OFFLOAD_BENCH_NO_BUILD:-} ]] || "$root/scripts/build.sh" default >&2
bench=$build/bench
offloadd=$build/service/offloadd
child=$build/tests/offload_test_child
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
# 1,000 WebSocket subscribers need more descriptors than the usual soft limit of 1,024.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

# User-code workers (Python and Node SDK echo workers) run when their interpreters exist.
python=$(command -v python3 || echo /usr/bin/python3)
node=$(command -v node || echo /usr/bin/node)
cat >"$work/commands.json" <<JSON
{"commands": {
  "true": {"argv": ["/bin/true"], "result": "exit_code"},
  "cat": {"argv": ["$child", "echo"], "stdin": "input.data", "max_output_bytes": 67108864},
  "flood": {"argv": ["$child", "flood", "{input.mib}"], "max_output_bytes": 4294967296},
  "ticks": {"argv": ["$child", "ticks", "{input.n}", "1000"]},
  "py_echo_once": {"argv": ["$python", "$root/bench/workers/echo_worker.py"], "stdin": "input.request"}
},
 "workers": {
  "py": {"argv": ["$python", "$root/bench/workers/echo_worker.py"], "types": ["py_echo"], "pool": 2},
  "node": {"argv": ["$node", "$root/bench/workers/echo_worker.mjs"], "types": ["node_echo"], "pool": 2}
}}
JSON

results=$work/results.jsonl
emit() {  # emit SCENARIO JSON: adds the scenario name and prints the line
  local line="{\"scenario\":\"$1\",${2#\{}"
  echo "$line" | tee -a "$results"
}

# start_server ARGS…: starts offloadd (SQLite store in a fresh data dir unless ARGS say otherwise), sets $port,
# $server_pid and $data.
servers=0
start_server() {
  servers=$((servers + 1))
  data=${data_keep:-$work/data-$servers}
  "$offloadd" --listen 127.0.0.1:0 --log-level error --config "$work/commands.json" --work-root "$work" \
    --max-queued 2000000 --retain-jobs 2000000 --data-dir "$data" "$@" >"$work/server.out" 2>>"$work/server.err" &
  server_pid=$!
  pids+=("$server_pid")
  for _ in $(seq 2000); do grep -q '^listening on' "$work/server.out" 2>/dev/null && break; sleep 0.01; done
  port=$(sed -n 's/^listening on http:\/\/127.0.0.1://p' "$work/server.out")
  [[ -n $port ]] || { cat "$work/server.err" >&2; exit 1; }
  # Timed runs start once the warm workers are up (2 built-in, and 2 per user-code pool whose interpreter
  # exists), as BullMQ's peer starts its clock once its worker is ready: starting four interpreters takes a
  # second of CPU that would otherwise land in the first second of a row. `cold=1 start_server` returns at
  # the listening line (the recovery row times that).
  [[ -n ${cold:-} ]] && return
  local want=2 _
  [[ -x $python ]] && want=$((want + 2))
  [[ -x $node ]] && want=$((want + 2))
  for _ in $(seq 3000); do (( $(idle_workers) >= want )) && return; sleep 0.01; done
  echo "bench: only $(idle_workers) of $want warm workers ready after 30 s; going on" >&2
}
# idle_workers: warm workers idle now, all pools (from /metrics).
idle_workers() {
  exec 3<>"/dev/tcp/127.0.0.1/$port"
  printf 'GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n' >&3
  awk '$1 ~ /^offload_process_workers\{.*state="idle"/ { n += $2 } END { printf "%d", n }' <&3
  exec 3<&-
}
stop_server() { kill "$server_pid"; wait "$server_pid" 2>/dev/null || true; }
rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
# curl_metric NAME: the value of an unlabelled series from /metrics (bash's /dev/tcp: no curl needed).
curl_metric() {
  exec 3<>"/dev/tcp/127.0.0.1/$port"
  printf 'GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n' >&3
  awk -v m="$1" '$1 == m { printf "%d", $2 }' <&3
  exec 3<&-
}
load() { "$bench/offload_load" --port "$port" --seconds "$secs" "$@"; }
# CPU seconds (user + system, all its threads; not its child processes) the process has used so far.
cpu_seconds() { awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / hz }' "/proc/$1/stat"; }
# with_cpu PID COMMAND…: runs COMMAND (it prints one JSON object) and adds what PID spent meanwhile as
# "server_cpu_s", so that rates can be compared per CPU second too.
with_cpu() {
  local pid=$1 before out
  shift
  before=$(cpu_seconds "$pid")
  out=$("$@")
  echo "${out%\}},\"server_cpu_s\":$(awk -v a="$before" -v b="$(cpu_seconds "$pid")" 'BEGIN { printf "%.2f", b - a }')}"
}
# retain_jobs N: submits N no-op jobs to the server and waits (up to a minute) until it keeps N finished ones.
retain_jobs() {
  "$bench/offload_load" --port "$port" --seconds 600 --connections 16 --requests "$1" --method POST \
    --path /v1/jobs --body '{"type":"echo","input":{"a":1}}' >/dev/null
  for _ in $(seq 600); do
    (( $(curl_metric offload_jobs_retained) >= $1 )) && break
    sleep 0.1
  done
}
post_wait() {  # post_wait BODY [CONNECTIONS]
  load --connections "${2:-16}" --method POST --path '/v1/jobs?wait=30' --body "$1"
}
# Rows whose ratio is a target also run in turns, side by side, for a third of the scenario's time each, so that
# the host's drift (this shared machine's speed moves by a fifth within minutes, and rows of one run are minutes
# apart) falls on both sides alike; the order rotates from turn to turn (A B C, B C A, C A B: a side measured
# right after another one is measured first in the next turn, and so on); the table gives the median of the
# turns' ratios.
turn=$(awk -v s="$secs" 'BEGIN { printf "%.2f", s / 3 }')
turn_rps() {  # turn_rps BODY [CONNECTIONS]: requests/s of a ?wait load of BODY for one turn (16 connections)
  "$bench/offload_load" --port "$port" --seconds "$turn" --connections "${2:-16}" --method POST \
    --path '/v1/jobs?wait=30' --body "$1" | grep -o '"rps":[0-9.]*' | cut -d: -f2
}

echo "bench: $(nproc) CPUs, $(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo), ${secs}s per scenario" >&2

# Baselines first, on an idle machine.
"$bench/offload_baseline_server" >"$work/baseline.out" &
pids+=($!)
for _ in $(seq 100); do grep -q '^listening on' "$work/baseline.out" 2>/dev/null && break; sleep 0.05; done
port=$(sed -n 's/^listening on http:\/\/127.0.0.1://p' "$work/baseline.out")
emit baseline_beast "$(load --connections 16 --method POST --path '/v1/jobs?wait=1' --body '{"type":"echo","input":{"a":1}}')"
# The hand-off floors: the same server, each answer made by one of as many threads (as offloadd's thread lane has)
# or child processes (as its built-in warm workers) and sent back through a pipe: what each lane's design costs
# before any job, log, store or JSON.
for helpers in threads children; do
  "$bench/offload_baseline_server" "--$helpers" "$(nproc)" >"$work/$helpers.out" &
  pids+=($!)
  for _ in $(seq 100); do grep -q '^listening on' "$work/$helpers.out" 2>/dev/null && break; sleep 0.05; done
  port=$(sed -n 's/^listening on http:\/\/127.0.0.1://p' "$work/$helpers.out")
  emit "baseline_$helpers" "$(load --connections 16 --method POST --path '/v1/jobs?wait=1' --body '{"type":"echo","input":{"a":1}}')"
  kill "${pids[-1]}"
done
emit baseline_spawn "$("$bench/offload_spawn_baseline" "$secs" 8)"

# The Node.js peer (bench/node_peer): the same requests served the way a Node back end does without Offload
# (Piscina threads, a fork() pool, execFile), on the same machine in the same run.
peer=$root/bench/node_peer
if command -v node >/dev/null && command -v npm >/dev/null; then
  [[ -f $peer/node_modules/.package-lock.json ]] || (cd "$peer" && npm ci --no-audit --no-fund --loglevel=error >&2)
  node "$peer/server.mjs" >"$work/peer.out" 2>>"$work/server.err" &
  peer_pid=$!
  pids+=("$peer_pid")
  for _ in $(seq 200); do grep -q '^listening on' "$work/peer.out" 2>/dev/null && break; sleep 0.05; done
  port=$(sed -n 's/^listening on http:\/\/127.0.0.1://p' "$work/peer.out")
  emit node_overhead "$(with_cpu "$peer_pid" post_wait '{"type":"echo","input":{"a":1}}')"
  emit node_process "$(with_cpu "$peer_pid" post_wait '{"type":"echo","input":{"a":1},"lane":"process"}')"
  emit node_command "$(with_cpu "$peer_pid" post_wait '{"type":"true"}' 8)"
  kill "$peer_pid"; wait "$peer_pid" 2>/dev/null || true
else
  echo "bench: no node/npm, the Node.js peer is skipped" >&2
fi

start_server
sleep 0.5
emit memory_idle "{\"rss_kib\":$(rss_kib "$server_pid")}"
emit overhead "$(with_cpu "$server_pid" post_wait '{"type":"echo","input":{"a":1}}')"
emit cpu "$(post_wait '{"type":"sum","input":{"n":1000000}}')"
emit process "$(with_cpu "$server_pid" post_wait '{"type":"echo","input":{"a":1},"lane":"process"}')"
emit command "$(with_cpu "$server_pid" post_wait '{"type":"true"}' 8)"
# Warm user-code workers (2 per pool, like the 2 built-in workers of "process") against the built-in worker,
# and the same Python script started once per job as a command.
emit worker_python "$(post_wait '{"type":"py_echo","input":{"a":1}}')"
emit worker_node "$(post_wait '{"type":"node_echo","input":{"a":1}}')"
emit command_python "$(post_wait '{"type":"py_echo_once","input":{"request":"{\"type\":\"py_echo\",\"input\":{\"a\":1}}\n"}}' 8)"
# The SDK workers against the built-in worker, in turns (see turn_rps).
turns=""
declare -A got
sides=(process python node)
declare -A body=([process]='{"type":"echo","input":{"a":1},"lane":"process"}'
  [python]='{"type":"py_echo","input":{"a":1}}' [node]='{"type":"node_echo","input":{"a":1}}')
for k in 0 1 2; do
  for i in 0 1 2; do
    side=${sides[(k + i) % 3]}
    got[$side]=$(turn_rps "${body[$side]}")
  done
  turns+="${turns:+,}{\"process\":${got[process]},\"python\":${got[python]},\"node\":${got[node]}}"
done
emit worker_turns "{\"turns\":[$turns]}"

# Responsiveness: both lanes saturated with CPU work, /healthz probed 200 times a second.
# saturated_healthz: prints the /healthz probe's JSON, measured while both lanes are kept busy.
saturated_healthz() {
  local sat=() body='{"type":"sum","input":{"n":30000000}' lane
  for lane in '' ',"lane":"process"'; do
    "$bench/offload_load" --port "$port" --seconds $((secs + 2)) --connections 8 --method POST \
      --path '/v1/jobs?wait=60' --body "$body$lane}" >/dev/null & sat+=($!)
  done
  sleep 1
  load --rate 200 --path /healthz
  wait "${sat[@]}" 2>/dev/null || true
}
emit responsive "$(saturated_healthz)"
# The same with 20 dashboards open (each a /v1/ws socket watching stats and job changes): what they cost the
# reactor shows as the /healthz tail moving against "responsive" above.
"$bench/offload_ws_bench" "$port" watch 20 $((secs + 3)) >"$work/watch.out" & watchers=$!
healthz=$(saturated_healthz)
wait "$watchers"
emit responsive_dashboards "${healthz%\}},\"dashboards\":$(cat "$work/watch.out")}"
stop_server

# Acknowledged submissions per second, on a fresh server of each store; and overhead with the memory store:
# what durability costs (sqlite ÷ memory).
start_server
emit async "$(load --connections 16 --method POST --path /v1/jobs --body '{"type":"echo","input":{"a":1}}')"
stop_server
# Starting children with a large service: command jobs on a fresh --store memory server, then again once it
# holds 200,000 finished jobs in memory (20,000 per second of the scenario in a smoke run). Children start like
# posix_spawn's (no copy of the service's page tables), so the two should match.
start_server --store memory
emit command_fresh "$(post_wait '{"type":"true"}' 8)"
kept=$(( secs >= 10 ? 200000 : secs * 10000 ))
retain_jobs "$kept"
kept=$(curl_metric offload_jobs_retained)
command=$(post_wait '{"type":"true"}' 8)
emit command_retained "${command%\}},\"retained\":$kept,\"rss_kib\":$(rss_kib "$server_pid")}"
# The same two in turns (see turn_rps): the server that holds the finished jobs stays up and a fresh one starts
# beside it; the load goes to one of them at a time.
declare -A side_port
side_port[retained]=$port
retained_pid=$server_pid
start_server --store memory
side_port[fresh]=$port
turns=""
for order in "fresh retained" "retained fresh" "fresh retained"; do
  for side in $order; do
    port=${side_port[$side]}
    got[$side]=$(turn_rps '{"type":"true"}' 8)
  done
  turns+="${turns:+,}{\"fresh\":${got[fresh]},\"retained\":${got[retained]}}"
done
emit command_turns "{\"turns\":[$turns]}"
stop_server
server_pid=$retained_pid
stop_server
start_server --store memory
emit overhead_memory "$(post_wait '{"type":"echo","input":{"a":1}}')"
emit async_memory "$(load --connections 16 --method POST --path /v1/jobs --body '{"type":"echo","input":{"a":1}}')"
stop_server
# What durability costs under ?wait, in turns of fresh servers (see turn_rps).
turns=""
for order in "sqlite memory" "memory sqlite" "sqlite memory"; do
  for side in $order; do
    if [[ $side == sqlite ]]; then start_server; else start_server --store memory; fi
    got[$side]=$(turn_rps '{"type":"echo","input":{"a":1}}')
    stop_server
  done
  turns+="${turns:+,}{\"sqlite\":${got[sqlite]},\"memory\":${got[memory]}}"
done
emit overhead_turns "{\"turns\":[$turns]}"

# One node on Redis (append-only file, fsync every second: Redis's durable default) against the same two
# figures, and how many Redis calls a job costs (from INFO commandstats; calls made inside scripts counted too):
# the cluster's round trips per job are what scales with nodes; then end to end against BullMQ on the same
# Redis, and 1, 2, 3 nodes with I/O-bound jobs. Skipped with a notice without redis-server.
if command -v redis-server >/dev/null && command -v redis-cli >/dev/null; then
  rport=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  # Configured as the README advises for Offload (stream-node-max-bytes 512), for BullMQ too.
  redis-server --port "$rport" --bind 127.0.0.1 --dir "$work" --save "" --appendonly yes --daemonize no \
    --stream-node-max-bytes 512 --logfile "$work/redis.log" &
  redis_pid=$!
  pids+=("$redis_pid")
  for _ in $(seq 500); do redis-cli -p "$rport" ping >/dev/null 2>&1 && break; sleep 0.01; done
  redis-cli -p "$rport" ping >/dev/null 2>&1 || { echo "bench: redis-server did not start:" >&2; tail -5 "$work/redis.log" >&2; }
fi
if [[ -n ${rport:-} ]] && redis-cli -p "$rport" ping >/dev/null 2>&1; then
  redis_calls() {  # redis_calls: {"scripts":N,"calls":N} since the last reset
    redis-cli -p "$rport" info commandstats | tr -d '\r' | awk -F'[:=,]' '/^cmdstat_/ {
      n += $3; if ($1 ~ /evalsha|eval$/) s += $3 } END { printf "{\"scripts\":%d,\"calls\":%d}", s, n }'
  }
  start_server --store "redis://127.0.0.1:$rport" --node-name bench
  redis-cli -p "$rport" config resetstat >/dev/null
  overhead=$(post_wait '{"type":"echo","input":{"a":1}}')
  emit overhead_redis "${overhead%\}},\"redis\":$(redis_calls)}"
  emit async_redis "$(load --connections 16 --method POST --path /v1/jobs --body '{"type":"echo","input":{"a":1}}')"
  stop_server

  # finished_on PORT…: jobs finished so far on these nodes (their offload_jobs_finished_total, summed).
  finished_on() {
    local p total=0
    for p in "$@"; do
      exec 3<>"/dev/tcp/127.0.0.1/$p"
      printf 'GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n' >&3
      total=$(( total + $(awk '$1 ~ /^offload_jobs_finished_total/ { n += $2 } END { printf "%d", n }' <&3) ))
      exec 3<&-
    done
    echo "$total"
  }
  # end_to_end JOBS BODY PORT…: submits JOBS jobs (e2e_clients connections, 16 unless set, no waiting,
  # spread over the nodes' ports) and prints {"jobs","clients","seconds","per_second","redis"}: the time from
  # the first submission to the last job finished, and the Redis calls it took.
  end_to_end() {
    local n=$1 body=$2 began ended i=0 p loaders=()
    shift 2
    redis-cli -p "$rport" config resetstat >/dev/null
    began=$(date +%s%N)
    for p in "$@"; do
      "$bench/offload_load" --port "$p" --seconds 600 --connections $(( ${e2e_clients:-16} / $# )) \
        --requests $(( n / $# + (i < n % $# ? 1 : 0) )) --method POST --path /v1/jobs --body "$body" >/dev/null &
      loaders+=($!)
      i=$((i + 1))
    done
    wait "${loaders[@]}"
    for _ in $(seq 60000); do (( $(finished_on "$@") >= n )) && break; sleep 0.01; done
    ended=$(date +%s%N)
    awk -v n="$n" -v ns=$((ended - began)) -v r="$(redis_calls)" -v c="${e2e_clients:-16}" \
      'BEGIN { printf "{\"jobs\":%d,\"clients\":%d,\"seconds\":%.3f,\"per_second\":%.0f,\"redis\":%s}", n, c, ns / 1e9, n * 1e9 / ns, r }'
  }

  # End to end (submitted -> succeeded) with no-op jobs on one node with its default thread lane (one slot per
  # CPU), against BullMQ (bench/bullmq: 16 producers, one worker of the same concurrency) on the same Redis,
  # emptied before each run. Three rounds in turns (offloadd then BullMQ, BullMQ then offloadd, …; see
  # turn_rps): each row is its median round, with every round's rate. Then the same with 64 clients and 64
  # producers (rows e2e_redis_64, bullmq_64): submissions that outrun the jobs must not starve their claims.
  bullmq=$root/bench/bullmq
  with_bullmq=
  if command -v node >/dev/null && command -v npm >/dev/null; then
    [[ -f $bullmq/node_modules/.package-lock.json ]] || (cd "$bullmq" && npm ci --no-audit --no-fund --loglevel=error >&2)
    with_bullmq=1
  else
    echo "bench: no node/npm, the BullMQ peer is skipped" >&2
  fi
  # median_round FILE: the round (one JSON object per line) of median per_second, with "rounds": every rate.
  median_round() {
    python3 -c 'import json, sys
rounds = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
m = sorted(rounds, key=lambda r: r["per_second"])[len(rounds) // 2]
m["rounds"] = [r["per_second"] for r in rounds]
print(json.dumps(m, separators=(",", ":")))' "$1"
  }
  for e2e_clients in 16 64; do
    suffix=
    (( e2e_clients == 16 )) || suffix=_$e2e_clients
    : >"$work/e2e.rounds"; : >"$work/bullmq.rounds"
    for order in "offload bullmq" "bullmq offload" "offload bullmq"; do
      for side in $order; do
        redis-cli -p "$rport" flushall >/dev/null
        if [[ $side == offload ]]; then
          start_server --store "redis://127.0.0.1:$rport" --node-name e2e
          end_to_end $((secs * 2000)) '{"type":"echo","input":{"a":1}}' "$port" >>"$work/e2e.rounds"
          echo >>"$work/e2e.rounds"
          stop_server
        elif [[ -n $with_bullmq ]]; then
          node "$bullmq/bench.mjs" --port "$rport" --jobs $((secs * 2000)) --concurrency "$(nproc)" \
            --producers "$e2e_clients" >>"$work/bullmq.rounds"
        fi
      done
    done
    emit "e2e_redis$suffix" "$(median_round "$work/e2e.rounds")"
    [[ -z $with_bullmq ]] || emit "bullmq$suffix" "$(median_round "$work/bullmq.rounds")"
  done
  e2e_clients=16

  # Scaling with I/O-bound jobs (sleep 100 ms; 16 thread slots per node): 1, 2 and 3 nodes on the same Redis,
  # enough jobs for about SECONDS each; completed jobs/s and Redis calls per job (these two cores cannot show
  # CPU-bound scaling: every node shares them).
  for nodes in 1 2 3; do
    redis-cli -p "$rport" flushall >/dev/null
    node_ports=() node_pids=()
    for k in $(seq "$nodes"); do
      start_server --store "redis://127.0.0.1:$rport" --node-name "scale-$k" --threads 16
      node_ports+=("$port") node_pids+=("$server_pid")
    done
    emit "scale_$nodes" "$(end_to_end $((secs * nodes * 150)) '{"type":"sleep","input":{"ms":100}}' "${node_ports[@]}")"
    for p in "${node_pids[@]}"; do kill "$p"; wait "$p" 2>/dev/null || true; done
  done
  kill "$redis_pid"; wait "$redis_pid" 2>/dev/null || true
else
  echo "bench: no redis-server (or it did not start), the Redis rows are skipped" >&2
fi

# WebSocket: 1,000 subscribers to a job printing a line every millisecond (300 per second of the scenario);
# then one subscriber to a job writing 32 MiB per second of the scenario as fast as it can.
start_server --max-log-bytes 4g
emit ws "$("$bench/offload_ws_bench" "$port" fanout 1000 $((secs * 300)))"
emit stream "$("$bench/offload_ws_bench" "$port" stream $((secs * 32)))"
stop_server

# Memory with finished jobs retained (1,000,000 in a full run; 10,000 per second of the scenario otherwise):
# they live on disk, and the data directory's size per job is reported. The RSS once the service is calm too:
# after up to SECONDS for the trim that gives a drained burst's memory back (README, "Memory after a burst").
retained=$(( secs >= 10 ? 1000000 : secs * 10000 ))
start_server
retain_jobs "$retained"
data_bytes=$(du -sb "$data" | cut -f1)
at_end=$(rss_kib "$server_pid")
for _ in $(seq $((secs * 10))); do (( $(curl_metric offload_memory_trims_total) > 0 )) && break; sleep 0.1; done
emit memory_retained "{\"jobs\":$(curl_metric offload_jobs_retained),\"rss_kib\":$at_end,\"calm_rss_kib\":$(rss_kib "$server_pid"),\"trims\":$(curl_metric offload_memory_trims_total),\"data_bytes\":$data_bytes}"
stop_server

# Recovery: 100,000 queued jobs (delayed by an hour, so none runs; 5,000 per second of the scenario in a
# smoke run) in the store when offloadd is killed; the time from its restart to its listening line.
queued=$(( secs >= 10 ? 100000 : secs * 5000 ))
data_keep=$work/data-recovery
start_server
"$bench/offload_load" --port "$port" --seconds 600 --connections 16 --requests "$queued" --method POST \
  --path /v1/jobs --body '{"type":"echo","input":{"a":1},"delay_ms":3600000}' >/dev/null
kill -9 "$server_pid"; wait "$server_pid" 2>/dev/null || true
began=$(date +%s%N)
cold=1 start_server
ended=$(date +%s%N)
emit recovery "{\"jobs\":$queued,\"seconds\":$(awk -v ns=$((ended - began)) 'BEGIN { printf "%.3f", ns / 1e9 }'),\"rss_kib\":$(rss_kib "$server_pid")}"
stop_server
unset data_keep

# The table.
python3 - "$results" <<'PY' || cat "$results"
import json, sys
rows = {}
for line in open(sys.argv[1]):
    r = json.loads(line); rows[r["scenario"]] = r
def ratio(a, b):
    return f"{a / b:.2f}×" if b else "-"
base = rows.get("baseline_beast", {}).get("rps", 0)
floors = {"overhead": rows.get("baseline_threads", {}).get("rps", 0),
          "process": rows.get("baseline_children", {}).get("rps", 0)}
spawn = rows.get("baseline_spawn", {}).get("per_second", 0)
print(f"\n{'scenario':<22}{'result':<62}{'vs baseline':>12}")
def median(xs):
    xs = sorted(xs)
    return xs[len(xs) // 2] if len(xs) % 2 else (xs[len(xs) // 2 - 1] + xs[len(xs) // 2]) / 2
for name in ["overhead", "overhead_memory", "overhead_turns", "overhead_redis", "cpu", "process", "command", "command_fresh", "command_retained", "command_turns", "worker_python", "worker_node", "worker_turns", "command_python", "async", "async_memory", "async_redis", "e2e_redis", "bullmq", "e2e_redis_64", "bullmq_64", "scale_1", "scale_2", "scale_3", "responsive", "responsive_dashboards", "ws", "stream", "memory_idle", "memory_retained", "recovery", "baseline_beast", "baseline_threads", "baseline_children", "baseline_spawn", "node_overhead", "node_process", "node_command"]:
    r = rows.get(name)
    if not r: continue
    if name.startswith("e2e_redis") or name.startswith("scale_"):
        text = f"{r['per_second']:.0f} jobs/s submitted->finished"
        if r.get("clients", 16) != 16:
            text += f", {r['clients']} clients"
        if r.get("redis"):
            text += f"; {r['redis']['scripts'] / r['jobs']:.1f} scripts, {r['redis']['calls'] / r['jobs']:.0f} calls/job"
    elif name.startswith("bullmq"):
        text = f"{r['per_second']:.0f} jobs/s added->completed (concurrency {r['concurrency']})"
        if r.get("producers", 16) != 16:
            text += f", {r['producers']} producers"
    elif name == "worker_turns":
        t = r["turns"]
        py = median([x["process"] / x["python"] for x in t])
        nd = median([x["process"] / x["node"] for x in t])
        text = "process / python / node: " + ", ".join(f"{x['process']:.0f}/{x['python']:.0f}/{x['node']:.0f}" for x in t)
        r["vs"] = f"cost {py:.2f}× {nd:.2f}×"
    elif name == "command_turns":
        t = r["turns"]
        text = "fresh / retained: " + ", ".join(f"{x['fresh']:.0f}/{x['retained']:.0f}" for x in t)
        r["vs"] = f"fresh {median([x['retained'] / x['fresh'] for x in t]):.2f}×"
    elif name == "overhead_turns":
        t = r["turns"]
        text = "sqlite / memory: " + ", ".join(f"{x['sqlite']:.0f}/{x['memory']:.0f}" for x in t)
        r["vs"] = f"sqlite {median([x['sqlite'] / x['memory'] for x in t]):.2f}×"
    elif name == "recovery":
        text = f"{r['jobs']} queued jobs back in {r['seconds']:.2f} s ({r['rss_kib'] / 1024:.1f} MiB RSS)"
    elif name.startswith("async"):
        accepted = r["status"].get("202", 0)
        text = f"{accepted / r['seconds']:.0f} accepted/s ({r['status'].get('429', 0)} × 429 queue_full)"
    elif "rps" in r:
        text = f"{r['rps']:.0f} req/s  p50 {r['p50_ms']:.2f} p99 {r['p99_ms']:.2f} max {r['max_ms']:.2f} ms"
    elif "events_per_s" in r:
        text = f"{r['events_per_s']:.0f} events/s to {r['subscribers']} subscribers"
    elif "mb_per_s" in r:
        text = f"{r['mb_per_s']:.1f} MB/s ({r['reconnects']} reconnects)"
    elif "per_second" in r:
        text = f"{r['per_second']:.0f} children/s (8 in flight)"
    else:
        text = f"{r['rss_kib'] / 1024:.1f} MiB RSS" + (f" with {r['jobs']} jobs retained" if "jobs" in r else "")
        if "calm_rss_kib" in r:
            text += f"; {r['calm_rss_kib'] / 1024:.1f} MiB once calm ({r['trims']} trims)"
        if "data_bytes" in r and r.get("jobs"):
            text += f", {r['data_bytes'] / r['jobs']:.0f} B/job on disk"
    if name.startswith(("e2e_redis", "bullmq")) and r.get("rounds"):
        text += "; rounds " + "/".join(f"{x:.0f}" for x in r["rounds"])
    vs = ratio(r["rps"], base) if name == "overhead" else ratio(r["rps"], spawn) if name == "command" else ""
    if name in ("worker_python", "worker_node") and "process" in rows:
        vs = "cost " + ratio(rows["process"]["rps"], r["rps"])
    if floors.get(name):
        text = text.rstrip() + f"; {ratio(r['rps'], floors[name])} its floor"
    if name in ("baseline_threads", "baseline_children"):
        vs = ratio(r["rps"], base)
    if name == "command_retained":
        text = text.rstrip() + f"; {r['retained']} jobs, {r['rss_kib'] / 1024:.0f} MiB"
        if "command_fresh" in rows:
            vs = "fresh " + ratio(r["rps"], rows["command_fresh"]["rps"])
    if name == "command_python" and "worker_python" in rows:
        vs = "warm " + ratio(rows["worker_python"]["rps"], r["rps"])
    if name == "responsive_dashboards" and "responsive" in rows:
        vs = "p99 " + ratio(r["p99_ms"], rows["responsive"]["p99_ms"])
    if name == "overhead_memory" and "overhead" in rows:
        vs = "sqlite " + ratio(rows["overhead"]["rps"], r["rps"])
    if name == "overhead_redis" and "overhead" in rows:
        vs = "sqlite " + ratio(rows["overhead"]["rps"], r["rps"])
        if r.get("redis") and r.get("requests"):
            n = r["requests"]
            text = text.rstrip() + f"; {r['redis']['scripts'] / n:.1f} scripts, {r['redis']['calls'] / n:.0f} calls/job"
    if name == "async_redis" and "async" in rows:
        vs = "sqlite " + ratio(rows["async"]["status"].get("202", 0), r["status"].get("202", 0))
    if name.startswith("bullmq") and name.replace("bullmq", "e2e_redis") in rows:
        e2e = rows[name.replace("bullmq", "e2e_redis")]
        if r.get("rounds") and len(e2e.get("rounds", [])) == len(r["rounds"]):
            vs = f"offload {median([a / b for a, b in zip(e2e['rounds'], r['rounds'])]):.2f}×"
        else:
            vs = "offload " + ratio(e2e["per_second"], r["per_second"])
    if "vs" in r:
        vs = r["vs"]
    if name.startswith("scale_") and "scale_1" in rows:
        n = int(name[-1])
        vs = f"{r['per_second'] / rows['scale_1']['per_second']:.2f}/{n}"
    if name == "async_memory" and "async" in rows:
        vs = "sqlite " + ratio(rows["async"]["status"].get("202", 0), r["status"].get("202", 0))
    print(f"{name:<22}{text:<62}{vs:>12}")
# Offload against its Node.js peer (the same requests, the same run): how many times Node's rate.
if "node_overhead" in rows:
    print(f"\n{'vs Node.js':<18}{'offloadd':>12}{'node':>12}{'ratio':>10}   requests per server CPU second")
    for ours, theirs in [("overhead", "node_overhead"), ("process", "node_process"), ("command", "node_command")]:
        if ours in rows and theirs in rows:
            a, b = rows[ours]["rps"], rows[theirs]["rps"]
            per = lambda r: r["requests"] / r["server_cpu_s"] if r.get("server_cpu_s") else 0
            floor = f"   floor {ratio(a, floors[ours])} vs {ratio(b, floors[ours])}" if floors.get(ours) else ""
            print(f"{ours:<18}{a:>12.0f}{b:>12.0f}{ratio(a, b):>10}   {per(rows[ours]):.0f} vs {per(rows[theirs]):.0f}{floor}")
PY
