#!/bin/sh
# redis-entrypoint [health]: runs redis-server (as PID 1's replacement, so `docker stop` reaches it) with an
# append-only file in /data (fsync every second: Redis's own durability promise) and its password from
# REDIS_PASSWORD, read by redis-server from its standard input so that it is in no process's argv. Refuses to
# start without a password: every container of the network can reach the server. `health` answers the
# image's HEALTHCHECK (redis-cli takes the password from REDISCLI_AUTH, not argv). `stream-node-max-bytes 512`:
# every job has an event stream of a few small entries, and Redis gives a new stream a first node of that size
# (4 KiB by default) that it never shrinks.
set -eu
case ${REDIS_PASSWORD:-} in
  "") echo "redis-entrypoint: set REDIS_PASSWORD (the compose file passes OFFLOAD_REDIS_PASSWORD)" >&2; exit 2 ;;
  *[!A-Za-z0-9._~+/=-]*) echo "redis-entrypoint: REDIS_PASSWORD: use letters, digits and ._~+/=- only" >&2; exit 2 ;;
esac
if [ "${1:-}" = health ]; then
  REDISCLI_AUTH=$REDIS_PASSWORD redis-cli --no-auth-warning ping | grep -q PONG
  exit
fi
exec redis-server --bind 0.0.0.0 --port 6379 --dir /data \
  --appendonly yes --appendfsync everysec --save "" --maxmemory-policy noeviction \
  --stream-node-max-bytes 512 - <<CONFIG
requirepass "$REDIS_PASSWORD"
CONFIG
