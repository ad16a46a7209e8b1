#!/usr/bin/env bash
# Builds the image with a private dockerd and checks it for real, from outside the container: health, a thread
# job, a process job, a command job, a WebSocket event stream, the Docker HEALTHCHECK, a non-root user, a
# graceful `docker stop`, and jobs kept on the data volume across `docker start` and `docker kill`. Lints the
# Dockerfile. Run as root on Debian 12; touches no other process and only
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
"$root/scripts/bootstrap.sh" docker.io debootstrap
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

cleanup() {
  set +e
  if [[ -n $dockerd_pid ]]; then
    "$docker" rm -f "$container" >/dev/null 2>&1
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
fi
size=$("$docker" image inspect -f '{{.Size}}' offload:ci 2>/dev/null) \
  || { echo "docker-check: no image offload:ci; run docker/check.sh build first" >&2; exit 1; }
say "image offload:ci: $(( size / 1024 / 1024 )) MiB"
[[ $phase == build ]] && exit 0

# A free loopback port: nothing answers on it.
port=
for _ in $(seq 50); do
  candidate=$(( 20000 + RANDOM % 40000 ))
  if ! (exec 3<>"/dev/tcp/127.0.0.1/$candidate") 2>/dev/null; then port=$candidate; break; fi
done
[[ -n $port ]] || { echo "no free port" >&2; exit 1; }
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

if command -v npx >/dev/null; then
  say "dockerfilelint"
  (cd "$root" && npx --yes dockerfilelint@1.8.0 Dockerfile) || fail "dockerfilelint found problems"
else
  say "npx not found: dockerfilelint skipped"
fi
say "all checks passed (image $(( size / 1024 / 1024 )) MiB)"
