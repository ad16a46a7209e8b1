#!/usr/bin/env bash
# Builds the image with a private dockerd and checks it for real, from outside the container: health, a thread
# job, a process job, a command job, a WebSocket event stream, the Docker HEALTHCHECK, a non-root user, a
# graceful `docker stop`, and jobs kept on the data volume across `docker start` and `docker kill`; then
# docker/compose.cluster.yml (three nodes on one Redis) with one node killed mid-job. Lints the Dockerfile. Run as root on Debian 12; touches no other process and only
# contacts 127.0.0.1 (plus the Debian mirror while building).
#   docker/check.sh [all]      build, then check (OFFLOAD_DOCKER_WORK=/var/tmp/offload-docker keeps the base
#                              image and the build cache between runs)
#   docker/check.sh prepare    only install docker.io/debootstrap and make the base rootfs (network-bound)
#   docker/check.sh build      only build the image offload:ci
#   docker/check.sh run        only check an image built before
# CI runs prepare and build in the background while it compiles and tests other things, then run.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
W=${OFFLOAD_DOCKER_WORK:-/var/tmp/offload-docker}
started=$(date +%s)
say() { echo "docker-check [$(( $(date +%s) - started ))s] $*"; }

[[ $(id -u) -eq 0 ]] || { echo "docker/check.sh must run as root (it starts a private dockerd)" >&2; exit 1; }
"$root/scripts/bootstrap.sh" docker.io debootstrap docker-compose
docker=/usr/bin/docker
mkdir -p "$W"

# The base image's root file system, made once with debootstrap when the machine cannot pull images.
make_rootfs() {
  [[ -f $W/bookworm-rootfs.tar ]] && return 0
  local mirror
  mirror=$(awk '/^URIs:/ { print $2; exit }' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
  mirror=${mirror:-http://deb.debian.org/debian}
  say "debootstrap bookworm from $mirror"
  rm -rf "$W/rootfs"
  debootstrap --variant=minbase bookworm "$W/rootfs" "$mirror" >"$W/debootstrap.log" 2>&1 \
    || { tail -20 "$W/debootstrap.log" >&2; exit 1; }
  tar -C "$W/rootfs" -cf "$W/bookworm-rootfs.tar.part" .
  mv "$W/bookworm-rootfs.tar.part" "$W/bookworm-rootfs.tar"
  rm -rf "$W/rootfs"
  say "base rootfs ready"
}
phase=${1:-all}
case $phase in
  prepare) make_rootfs; exit 0 ;;
  build | run | all) ;;
  *) echo "usage: docker/check.sh [all | prepare | build | run]" >&2; exit 2 ;;
esac

container=offload-ci-$$
dockerd_pid=
cluster=  # the compose project, while it is up
cluster_compose() { docker-compose --ansi never -p "$cluster" -f "$root/docker/compose.cluster.yml" "$@"; }

cleanup() {
  set +e
  if [[ -n $dockerd_pid ]]; then
    "$docker" rm -f "$container" >/dev/null 2>&1
    [[ -n $cluster ]] && cluster_compose down -v --timeout 5 >/dev/null 2>&1
    kill "$dockerd_pid" 2>/dev/null
    for _ in $(seq 100); do kill -0 "$dockerd_pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$dockerd_pid" 2>/dev/null
  fi
  # Mounts dockerd may leave under its exec root, deepest first.
  awk -v w="$W/" 'index($2, w) == 1 { print $2 }' /proc/mounts | sort -r | while read -r m; do umount -l "$m"; done
  rm -rf "$W/exec" "$W/docker.sock"
}
trap cleanup EXIT

say "starting a private dockerd"
dockerd --iptables=false --ip6tables=false --bridge=none --data-root="$W/data" --exec-root="$W/exec" \
  --pidfile="$W/dockerd.pid" -H "unix://$W/docker.sock" >"$W/dockerd.log" 2>&1 &
dockerd_pid=$!
export DOCKER_HOST="unix://$W/docker.sock"
for _ in $(seq 120); do "$docker" info >/dev/null 2>&1 && break; sleep 0.5; done
"$docker" info >/dev/null || { tail -20 "$W/dockerd.log" >&2; exit 1; }

if [[ $phase != run ]]; then
  if ! "$docker" image inspect debian:bookworm-slim >/dev/null 2>&1; then
    make_rootfs
    "$docker" import "$W/bookworm-rootfs.tar" debian:bookworm-slim >/dev/null
  fi
  say "building the image"
  build_started=$(date +%s)
  "$docker" build --network host -t offload:ci "$root" >"$W/build.log" 2>&1 || { tail -40 "$W/build.log" >&2; exit 1; }
  say "image built in $(( $(date +%s) - build_started ))s"
  # The Redis image of compose.cluster.yml (Debian's redis-server).
  "$docker" build --network host -t offload-redis:latest "$root/docker/redis" >"$W/build-redis.log" 2>&1 \
    || { tail -20 "$W/build-redis.log" >&2; exit 1; }
fi
size=$("$docker" image inspect -f '{{.Size}}' offload:ci 2>/dev/null) \
  || { echo "docker-check: no image offload:ci; run docker/check.sh build first" >&2; exit 1; }
say "image offload:ci: $(( size / 1024 / 1024 )) MiB"
[[ $phase == build ]] && exit 0

# free_port: prints a loopback port nothing answers on.
free_port() {
  local candidate
  for _ in $(seq 50); do
    candidate=$(( 20000 + RANDOM % 40000 ))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$candidate") 2>/dev/null; then echo "$candidate"; return; fi
  done
  echo "no free port" >&2
  exit 1
}
port=$(free_port)
url="http://127.0.0.1:$port"

say "running on $url"
"$docker" run -d --name "$container" --network host --init \
  -e OFFLOAD_LISTEN="127.0.0.1:$port" -e OFFLOAD_URL="$url" -e OFFLOAD_DRAIN_SECONDS=20 offload:ci >/dev/null
# The image's own CLI, run from outside: the checks go over the network like any client's.
"$docker" cp "$container:/usr/local/bin/offload" "$W/offload"
cli() { "$W/offload" --url "$url" "$@"; }
for _ in $(seq 100); do cli health >/dev/null 2>&1 && break; sleep 0.2; done
cli health

fail() { echo "docker-check: $*" >&2; "$docker" logs "$container" 2>&1 | tail -20 >&2; exit 1; }
expect() {  # expect NAME EXPECTED ACTUAL
  [[ $2 == "$3" ]] || fail "$1: expected '$2', got '$3'"
  say "ok: $1"
}
json_field() { sed -n "s/.*\"$1\":\"\\([^\"]*\\)\".*/\\1/p" | head -1; }

expect "thread job" "499999500000" "$(cli --json submit sum n=1000000 --wait | json_field sum)"
expect "process job" "succeeded" "$(cli --json submit sha256 data=abc --lane process --wait | json_field state)"
expect "command job" "succeeded" "$(cli --json submit wc 'data=hello docker world' --wait | json_field state)"
events=$(cli --json submit primes limit=5000000 --follow)
expect "event stream ends succeeded" "succeeded" "$(tail -1 <<<"$events" | json_field type)"
(( $(grep -c '"type":"progress"' <<<"$events") >= 3 )) || fail "event stream: too few progress events"
say "ok: event stream with $(wc -l <<<"$events") events"

# The dashboard is in the image (compiled in, nothing fetched): the page and the statistics it shows.
page=$(exec 3<>"/dev/tcp/127.0.0.1/$port"; printf 'GET /ui/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' >&3; cat <&3)
grep -q '^HTTP/1.1 200' <<<"$page" || fail "dashboard: GET /ui/ did not answer 200"
grep -qi "^Content-Security-Policy: default-src 'none'" <<<"$page" || fail "dashboard: no Content-Security-Policy"
expect "offload stats sees the jobs above" "jobs: 0 queued (0 delayed), 0 running, 4 submitted, 4 finished, 4 retained" \
  "$(cli stats | sed -n 2p)"

uid=$("$docker" exec "$container" sh -c 'for s in /proc/[0-9]*/status; do
  grep -q "^Name:[[:space:]]*offloadd" "$s" && awk "/^Uid:/ { print \$2; exit }" "$s" && break; done')
expect "offloadd runs as uid 10001, not root" "10001" "$uid"

for _ in $(seq 60); do
  health=$("$docker" inspect -f '{{.State.Health.Status}}' "$container")
  [[ $health == healthy ]] && break
  sleep 1
done
expect "docker HEALTHCHECK" "healthy" "$health"

# A job running at `docker stop` finishes within the drain, then offloadd exits 0. A delayed job stays queued.
delayed=$(cli submit echo --delay 600000 --key docker-check-delayed)
running=$(cli submit sleep ms=1500)
stop_started=$(date +%s)
"$docker" stop -t 30 "$container" >/dev/null
stop_seconds=$(( $(date +%s) - stop_started ))
expect "exit code after docker stop" "0" "$("$docker" inspect -f '{{.State.ExitCode}}' "$container")"
(( stop_seconds < 30 )) || fail "docker stop took ${stop_seconds}s: SIGTERM did not drain and exit"
"$docker" logs "$container" 2>&1 | grep -q '"msg":"offloadd stopped"' || fail "no clean stop in the logs"
say "ok: docker stop drained job $running and exited 0 in ${stop_seconds}s"

# Jobs live on the data volume: after `docker start`, and after a SIGKILL (`docker kill`) and another start,
# the finished job and the queued one are still there, with the same ids.
wait_healthy() { for _ in $(seq 100); do cli health >/dev/null 2>&1 && return; sleep 0.2; done; fail "no answer after start"; }
for how in "docker stop" "docker kill"; do
  "$docker" start "$container" >/dev/null
  wait_healthy
  expect "finished job kept after $how" "succeeded" "$(cli --json status "$running" | json_field state)"
  expect "queued job kept after $how" "queued" "$(cli --json status "$delayed" | json_field state)"
  expect "idempotency key kept after $how" "$delayed" "$(cli submit echo --delay 600000 --key docker-check-delayed)"
  [[ $how == "docker stop" ]] && "$docker" kill "$container" >/dev/null
done
"$docker" stop -t 30 "$container" >/dev/null
expect "exit code after the last docker stop" "0" "$("$docker" inspect -f '{{.State.ExitCode}}' "$container")"

# The cluster: docker/compose.cluster.yml as a user runs it (the image above as offload:latest, Redis from
# docker/redis), each node published on its own loopback port. Six sleeping jobs (two attempts each) fill the
# three nodes' six thread slots; one node that runs some is killed with SIGKILL; every job must still end
# `succeeded` exactly once, the killed node's on a second attempt, as every surviving node sees it.
say "cluster: three nodes on one Redis (docker/compose.cluster.yml)"
"$docker" tag offload:ci offload:latest
cluster=offload-ci-cluster-$$
export OFFLOAD_REDIS_PASSWORD
OFFLOAD_REDIS_PASSWORD=$(od -An -N18 -tx1 /dev/urandom | tr -d ' \n')
export OFFLOAD_LEASE_MS=3000  # a shorter lease: the take-over comes within seconds
nodes=()
for n in 1 2 3; do
  node_port=$(free_port)
  export "OFFLOAD_PUBLISH_$n=127.0.0.1:$node_port"
  nodes+=("http://127.0.0.1:$node_port")
done
cluster_compose up -d --no-build >"$W/cluster.log" 2>&1 || { cat "$W/cluster.log" >&2; exit 1; }
cluster_fail() { echo "docker-check: cluster: $*" >&2; cluster_compose logs --tail 20 >&2; exit 1; }
fail() { cluster_fail "$@"; }  # (what `expect` calls)
on() { local n=$1; shift; "$W/offload" --url "${nodes[n - 1]}" "$@"; }
# Ready, not only alive: /readyz answers 200 once the node's Redis connections are up.
ready_on() {
  local hostport=${nodes[$1 - 1]#http://}
  (exec 3<>"/dev/tcp/${hostport%:*}/${hostport#*:}" &&
    printf 'GET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' >&3 &&
    head -1 <&3 | grep -q '^HTTP/1.1 200') 2>/dev/null
}
for n in 1 2 3; do
  for _ in $(seq 300); do ready_on "$n" && break; sleep 0.2; done
  ready_on "$n" || cluster_fail "node $n not ready after 60 s"
done
say "ok: three nodes ready"
# running_on N: the jobs node N runs now, from its /metrics.
running_on() {
  local hostport=${nodes[$1 - 1]#http://}
  exec 3<>"/dev/tcp/${hostport%:*}/${hostport#*:}"
  printf 'GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' >&3
  awk '$1 ~ /^offload_jobs_running/ { n += $2 } END { printf "%d", n }' <&3
  exec 3<&-
}
jobs=()
for i in 1 2 3 4 5 6; do jobs+=("$(on 1 submit sleep ms=6000 --attempts 2 --key "cluster-check-$i")"); done
victim=
for _ in $(seq 100); do
  total=0
  for n in 1 2 3; do total=$(( total + $(running_on "$n") )); done
  (( total == 6 )) && break
  sleep 0.1
done
(( total == 6 )) || cluster_fail "the six jobs did not all start (running: $total)"
for n in 3 2 1; do
  count=$(running_on "$n")
  (( count > 0 )) && { victim=$n; killed_jobs=$count; break; }
done
say "ok: six jobs run on three nodes; killing node $victim (it runs $killed_jobs)"
cluster_compose kill -s SIGKILL "offload-$victim" >/dev/null 2>&1
survivors=()
for n in 1 2 3; do (( n != victim )) && survivors+=("$n"); done
json_number() { sed -n "s/.*\"$1\":\([0-9]*\).*/\1/p" | head -1; }
retried=0
for id in "${jobs[@]}"; do
  for _ in $(seq 300); do
    # (`offload status` exits non-zero for a job that failed: the state says why, below.)
    state=$(on "${survivors[0]}" --json status "$id" | json_field state || true)
    [[ $state == succeeded || $state == failed || $state == cancelled ]] && break
    sleep 0.1
  done
  [[ $state == succeeded ]] || cluster_fail "job $id ended '$state' after node $victim died"
  for n in "${survivors[@]}"; do
    view=$(on "$n" --json status "$id" || true)
    [[ $(json_field state <<<"$view") == succeeded ]] || cluster_fail "node $n sees job $id otherwise: $view"
  done
  attempt=$(json_number attempt <<<"$view")
  (( attempt == 2 )) && retried=$(( retried + 1 ))
  (( attempt <= 2 )) || cluster_fail "job $id ran $attempt times"
done
expect "jobs taken over from the killed node (second attempts)" "$killed_jobs" "$retried"
expect "an idempotency key is global" "${jobs[0]}" "$(on "${survivors[1]}" submit sleep ms=6000 --attempts 2 --key cluster-check-1)"
restarted=$(date +%s)
cluster_compose start "offload-$victim" >/dev/null 2>&1
for _ in $(seq 300); do ready_on "$victim" && break; sleep 0.2; done
ready_on "$victim" || cluster_fail "node $victim not ready $(( $(date +%s) - restarted ))s after docker start"
say "ok: node $victim ready again $(( $(date +%s) - restarted ))s after docker start"
answer=$(on "$victim" --json submit sum n=1000000 --wait 2>&1) ||
  cluster_fail "the restarted node did not run a job: $answer"
[[ $(json_field sum <<<"$answer") == 499999500000 ]] || cluster_fail "the restarted node ran a job wrong: $answer"
say "ok: the restarted node runs jobs again"
cluster_compose down -v --timeout 20 >/dev/null 2>&1
cluster=
say "ok: cluster checks passed"

if command -v npx >/dev/null; then
  say "dockerfilelint"
  (cd "$root" && npx --yes dockerfilelint@1.8.0 Dockerfile) || fail "dockerfilelint found problems"
else
  say "npx not found: dockerfilelint skipped"
fi
say "all checks passed (image $(( size / 1024 / 1024 )) MiB)"
