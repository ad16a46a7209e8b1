// The Lua scripts of the Redis store: every step that touches more than one key runs in one of them, so
// that it is atomic. Times come from Redis's own clock (`TIME`), so that nodes whose clocks differ agree on
// leases and due times. Keys (prefix `offload:`):
//   job:<id>    hash: the record (`job_codec` fields; an empty value stands for an absent one), spec, queue
//               key `q`, queue score `score`, submitting node `origin`, owner node `owner`, fencing token
//               `claim`, and `run`: the token of a claim made to start the job at once (a free slot waited
//               for it), else 0
//   ev:<id>     stream: the job's events, entry id `0-<seq>` (so XADD refuses an event twice), fields `t`
//               (type) and `f` (frame)
//   key:<key>   string: the id of the job an idempotency key was used for
//   q:<lane>:<type>  sorted set: queued jobs, by priority then submission time
//   delayed     sorted set: queued jobs not yet due, by due time (ms)
//   running     sorted set: claimed jobs, by lease expiry (ms)
//   jobs        sorted set: every job, by seq (listings)
//   finished    sorted set: finished jobs, by finish time (ms) (retention)
//   seq         string: the last seq handed out
//   nodes       sorted set: live nodes, by when their last heartbeat expires (ms)
// Channels: `offload:wake` carries the queue key of each queue that got a claimable job, `offload:changed`
// the ids (space-separated) of the jobs that got new events, `offload:node:<node>` the ids of jobs to cancel
// that run on that node.
#pragma once

#include <array>
#include <string_view>

namespace offload::core::redis_scripts {

enum index : std::size_t { add, claim, take, write, renew, expired, evict, read, list, heartbeat, count };

// Shared by the scripts below (each script is loaded on its own). Notifications are collected while a script
// runs and published once at its end (`publish_all`): the node that made the changes and the ids of the jobs
// that got events, space-separated, on `offload:changed` (a node skips its own), and each queue that got a
// claimable job once on `offload:wake`.
#define OFFLOAD_REDIS_LUA_PRELUDE                                                                           \
  "-- Redis's clock, read once per script.\n"                                                               \
  "local now\n"                                                                                             \
  "local function now_ms()\n"                                                                               \
  "  if not now then\n"                                                                                     \
  "    local t = redis.call('TIME')\n"                                                                      \
  "    now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"                                   \
  "  end\n"                                                                                                 \
  "  return now\n"                                                                                          \
  "end\n"                                                                                                   \
  "local function job_key(id) return 'offload:job:' .. id end\n"                                            \
  "local changed, woken, seen = {}, {}, {}\n"                                                               \
  "local function publish_all(node)\n"                                                                      \
  "  if #changed > 0 then\n"                                                                                \
  "    redis.call('PUBLISH', 'offload:changed', node .. ' ' .. table.concat(changed, ' '))\n"               \
  "  end\n"                                                                                                 \
  "  for _, q in ipairs(woken) do redis.call('PUBLISH', 'offload:wake', q) end\n"                           \
  "end\n"                                                                                                   \
  "-- Events are stream entries with id 0-<seq>: XADD refuses one at or below the stream's last id, so an " \
  "event\n"                                                                                                 \
  "-- sent twice (a write sent again after a reconnect) is added once. Quiet: no change notice.\n"          \
  "local function add_events(id, from, to, args, quiet)\n"                                                  \
  "  if to < from then return end\n"                                                                        \
  "  local stream = 'offload:ev:' .. id\n"                                                                  \
  "  for i = from, to, 3 do\n"                                                                              \
  "    redis.pcall('XADD', stream, '0-' .. args[i], 't', args[i + 1], 'f', args[i + 2])\n"                  \
  "  end\n"                                                                                                 \
  "  if not quiet and not seen[id] then seen[id] = true table.insert(changed, id) end\n"                    \
  "end\n"                                                                                                   \
  "-- Fields are set in one HSET; an empty value stands for an absent field.\n"                             \
  "local function set_fields(job, args, from, n)\n"                                                         \
  "  if n > 0 then redis.call('HSET', job, unpack(args, from, from + 2 * n - 1)) end\n"                     \
  "end\n"                                                                                                   \
  "-- One command for many items (`step` at a time: unpack has a bound).\n"                                 \
  "local function in_slices(command, key, items, step)\n"                                                   \
  "  for first = 1, #items, step do\n"                                                                      \
  "    redis.call(command, key, unpack(items, first, math.min(first + step - 1, #items)))\n"                \
  "  end\n"                                                                                                 \
  "end\n"                                                                                                   \
  "local function wake(q)\n"                                                                                \
  "  if not seen[q] then seen[q] = true table.insert(woken, q) end\n"                                       \
  "end\n"                                                                                                   \
  "-- Queues a job: in its queue (and wakes the nodes), or in `delayed` when its not_before (µs) is "      \
  "ahead.\n"                                                                                                \
  "-- With `batch`, the job waits in batch[q] for the caller's one ZADD per queue.\n"                       \
  "local function enqueue(id, q, score, not_before, batch)\n"                                               \
  "  local nb = tonumber(not_before or '')\n"                                                               \
  "  if nb and nb / 1000 > now_ms() then\n"                                                                 \
  "    -- Due at the first whole ms not before not_before: claims compare with now_ms(), rounded down.\n"   \
  "    redis.call('ZADD', 'offload:delayed', math.ceil(nb / 1000), id)\n"                                   \
  "    return\n"                                                                                            \
  "  end\n"                                                                                                 \
  "  if batch then\n"                                                                                       \
  "    local items = batch[q] or {}\n"                                                                      \
  "    batch[q] = items\n"                                                                                  \
  "    table.insert(items, score)\n"                                                                        \
  "    table.insert(items, id)\n"                                                                           \
  "  else\n"                                                                                                \
  "    redis.call('ZADD', q, score, id)\n"                                                                  \
  "  end\n"                                                                                                 \
  "  wake(q)\n"                                                                                             \
  "end\n"                                                                                                   \
  "local function job_reply(id, job, claim)\n"                                                              \
  "  return {id, claim, redis.call('HGETALL', job), redis.call('XRANGE', 'offload:ev:' .. id, '-', '+')}\n" \
  "end\n"                                                                                                   \
  "local function segment(args, i)\n"                                                                       \
  "  local n = tonumber(args[i])\n"                                                                         \
  "  local events = i + 1 + 2 * n\n"                                                                        \
  "  local ne = tonumber(args[events])\n"                                                                   \
  "  return n, events + 1, events + 3 * ne, events + 3 * ne + 1\n"                                          \
  "end\n"

// A job's fields and events in ARGV (`segment` reads them from index i): n, n field/value pairs, n events,
// then that many seq/type/frame triples; `segment` returns n, where the events start and end, and where the
// next part begins.

/// Stores and queues several jobs in one call (group commit: the submissions of one reactor turn).
/// KEYS: jobs, delayed, running. ARGV: node, count, lease ms, how many pools, then per pool: how many
/// queues, the queue keys; then per job: id, seq, idempotency key ('' for none), not_before (µs, or ''), the
/// pool (1-based among those sent) to claim it for ('' for none), then its fields (`q` and `score` first;
/// when a pool is named, `claim`, `owner` and `run` last) and events. A job named with a pool is claimed
/// for this node at once (token 1, a lease, never in a queue) when it is due and no job a claim would take
/// first can wait: every queue of the pool empty, no delayed job due, no job of this call queued before it.
/// Returns one element per job: '' (stored and queued), 1 (stored and claimed), or the id of the job that
/// already holds its idempotency key (then nothing of it is stored).
inline constexpr std::string_view add_lua = OFFLOAD_REDIS_LUA_PRELUDE R"lua(
local node, lease = ARGV[1], tonumber(ARGV[3])
local pools = {}
local i = 5
for p = 1, tonumber(ARGV[4]) do
  local n = tonumber(ARGV[i])
  pools[p] = {i + 1, i + n}
  i = i + n + 1
end
-- Whether a claim could take another job before one of pool p: read once per call (a job this call
-- queues holds back every later claim of the call through queued_one).
local waiting = {}
local function something_waits(p)
  if waiting[p] == nil then
    local any = #redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now_ms(), 'LIMIT', 0, 1) > 0
    for k = pools[p][1], pools[p][2] do
      if any then break end
      any = redis.call('EXISTS', ARGV[k]) == 1
    end
    waiting[p] = any
  end
  return waiting[p]
end
-- One ZADD each for the listing, each queue and the leases, after the loop.
local out, leased, listed, queued = {}, {}, {}, {}
local queued_one = false
for _ = 1, tonumber(ARGV[2]) do
  local id, seq, key, not_before, pool = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], tonumber(ARGV[i + 4])
  local n, first, last, next = segment(ARGV, i + 5)
  local fields = i + 6
  i = next
  local existing = key ~= '' and redis.call('GET', 'offload:key:' .. key)
  if existing then
    table.insert(out, existing)
  else
    if key ~= '' then redis.call('SET', 'offload:key:' .. key, id) end
    local nb = tonumber(not_before)
    local claim = pool and not queued_one and not (nb and nb / 1000 > now_ms()) and not something_waits(pool)
    local job = job_key(id)
    -- The claim's fields come last: left out when the job is queued.
    set_fields(job, ARGV, fields, (pool and not claim) and n - 3 or n)
    -- Nobody follows a job that was not there a moment ago: no change notice.
    add_events(id, first, last, ARGV, true)
    table.insert(listed, seq)
    table.insert(listed, id)
    if claim then
      table.insert(leased, now_ms() + lease)
      table.insert(leased, id)
      table.insert(out, 1)
    else
      enqueue(id, ARGV[fields + 1], ARGV[fields + 3], not_before, queued)
      queued_one = true
      table.insert(out, '')
    end
  end
end
in_slices('ZADD', KEYS[1], listed, 1024)
for q, items in pairs(queued) do in_slices('ZADD', q, items, 1024) end
in_slices('ZADD', KEYS[3], leased, 1024)
publish_all(node)
return out
)lua";

/// KEYS: the queues to claim from, then `delayed`, then `running`. ARGV: node, lease ms, how many, the
/// lowest seq the node still holds its own submissions from, how many of the jobs it claims start at once
/// (`run`), then how many at most from each queue. First makes due delayed jobs claimable; then takes up to
/// `how many` of the lowest scores among the queues' heads (each queue up to its bound), and makes this
/// node their owner with a new fencing token and a lease (the first `run` of them claimed to run at once).
/// Returns {'', due} followed by one reply per claimed job; `due` is when the next delayed job is due (ms of
/// Redis time) or ''. A job this node submitted (at or past that seq) and nobody claimed before is answered
/// {id, token}: it is unchanged since, and the node has it. Any other is answered with job_reply.
inline constexpr std::string_view claim_lua = OFFLOAD_REDIS_LUA_PRELUDE R"lua(
local nq = #KEYS - 2
local delayed, running = KEYS[nq + 1], KEYS[nq + 2]
local node, lease, want, held_from = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local run = tonumber(ARGV[5])
local now = now_ms()
for _, id in ipairs(redis.call('ZRANGEBYSCORE', delayed, '-inf', now, 'LIMIT', 0, 100)) do
  redis.call('ZREM', delayed, id)
  local job = job_key(id)
  local q, score = unpack(redis.call('HMGET', job, 'q', 'score'))
  if q then
    redis.call('ZADD', q, score, id)
    wake(q)
  end
end
-- The candidates: each queue's first jobs up to its bound, most urgent first (score, then id, as ZRANGE).
local candidates = {}
for i = 1, nq do
  local bound = math.min(tonumber(ARGV[5 + i] or want), want)
  if bound > 0 then
    local head = redis.call('ZRANGE', KEYS[i], 0, bound - 1, 'WITHSCORES')
    for k = 1, #head, 2 do table.insert(candidates, {head[k], tonumber(head[k + 1]), i}) end
  end
end
table.sort(candidates, function(a, b) return a[2] < b[2] or (a[2] == b[2] and a[1] < b[1]) end)
local out = {''}
local taken, leased = {}, {}
for k = 1, math.min(want, #candidates) do
  local id, queue = candidates[k][1], candidates[k][3]
  taken[queue] = taken[queue] or {}
  table.insert(taken[queue], id)
  local job = job_key(id)
  local claim, origin, seq = unpack(redis.call('HMGET', job, 'claim', 'origin', 'seq'))
  claim = (tonumber(claim) or 0) + 1
  redis.call('HSET', job, 'claim', claim, 'owner', node, 'run', k <= run and claim or 0)
  table.insert(leased, now + lease)
  table.insert(leased, id)
  if claim == 1 and origin == node and (tonumber(seq) or -1) >= held_from then
    table.insert(out, {id, claim})
  else
    table.insert(out, job_reply(id, job, claim))
  end
end
-- One call per queue and one for the leases.
for queue, ids in pairs(taken) do in_slices('ZREM', KEYS[queue], ids, 512) end
in_slices('ZADD', running, leased, 1024)
if #out == 1 then
  local next = redis.call('ZRANGE', delayed, 0, 0, 'WITHSCORES')
  out = {next[2] or ''}
else
  out[1] = ''
end
publish_all(node)
return out
)lua";

/// KEYS: job, running, delayed. ARGV: node, lease ms, id, what ('expired': a claimed job whose lease
/// passed, which this node runs at once; 'queued': a queued job, for a cancel). Makes this node the job's
/// owner as `claim` does and returns job_reply followed by 1 when the job had been claimed to run at once
/// and Redis has no start of it (its attempt may have begun), else 0; or {''} when the job is not (or no
/// longer) in that situation.
inline constexpr std::string_view take_lua = OFFLOAD_REDIS_LUA_PRELUDE R"lua(
local now = now_ms()
local id = ARGV[3]
if redis.call('EXISTS', KEYS[1]) == 0 then return {''} end
if ARGV[4] == 'expired' then
  local lease = redis.call('ZSCORE', KEYS[2], id)
  if not lease or tonumber(lease) >= now then return {''} end
else
  if redis.call('HGET', KEYS[1], 'state') ~= '0' or (redis.call('HGET', KEYS[1], 'owner') or '') ~= '' then
    return {''}
  end
  redis.call('ZREM', redis.call('HGET', KEYS[1], 'q'), id)
  redis.call('ZREM', KEYS[3], id)
end
local state, run, held = unpack(redis.call('HMGET', KEYS[1], 'state', 'run', 'claim'))
local begun = ARGV[4] == 'expired' and state ~= '1' and run ~= false and run ~= '0' and run == held
local claim = redis.call('HINCRBY', KEYS[1], 'claim', 1)
redis.call('HSET', KEYS[1], 'owner', ARGV[1], 'run', ARGV[4] == 'expired' and claim or 0)
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[2]), id)
local reply = job_reply(id, KEYS[1], claim)
table.insert(reply, begun and 1 or 0)
return reply
)lua";

/// Several fenced writes in one call, in order (the writes of one reactor turn). KEYS: running, finished.
/// ARGV: node, count, then per write: claim, action ('save', 'finish', 'requeue'), id, then its fields and
/// events. A write applies nothing unless this node owns the job under that claim. `finish` releases the job
/// and lists it as finished; `requeue` releases it and queues it again (delayed when its `not_before` is
/// ahead); the fields of both set `owner` to '' (no owner). Returns one element per write: 1 (applied) or 0
/// (refused by fencing).
inline constexpr std::string_view write_lua = OFFLOAD_REDIS_LUA_PRELUDE R"lua(
local out = {}
local released, finished = {}, {}
local i = 3
for _ = 1, tonumber(ARGV[2]) do
  local claim, action, id = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  local n, first, last, next = segment(ARGV, i + 3)
  local fields = i + 4
  i = next
  local job = job_key(id)
  local owner, current = unpack(redis.call('HMGET', job, 'owner', 'claim'))
  if owner ~= ARGV[1] or current ~= claim then
    table.insert(out, 0)
  else
    set_fields(job, ARGV, fields, n)
    add_events(id, first, last, ARGV)
    if action ~= 'save' then
      table.insert(released, id)
      if action == 'finish' then
        table.insert(finished, now_ms())
        table.insert(finished, id)
      else
        enqueue(id, unpack(redis.call('HMGET', job, 'q', 'score', 'not_before')))
      end
    end
    table.insert(out, 1)
  end
end
in_slices('ZREM', KEYS[1], released, 512)
in_slices('ZADD', KEYS[2], finished, 1024)
publish_all(ARGV[1])
return out
)lua";

/// KEYS: running. ARGV: node, lease ms, then id/claim pairs. Extends the lease of each job this node still
/// owns under that claim; returns the ids it no longer owns (another node took them over).
inline constexpr std::string_view renew_lua = OFFLOAD_REDIS_LUA_PRELUDE R"lua(
local now = now_ms()
local lost = {}
for i = 3, #ARGV, 2 do
  local job = job_key(ARGV[i])
  if redis.call('HGET', job, 'owner') == ARGV[1] and redis.call('HGET', job, 'claim') == ARGV[i + 1] then
    redis.call('ZADD', KEYS[1], 'XX', now + tonumber(ARGV[2]), ARGV[i])
  else
    table.insert(lost, ARGV[i])
  end
end
return lost
)lua";

/// KEYS: running. ARGV: limit. The ids of claimed jobs whose lease has passed.
inline constexpr std::string_view expired_lua = OFFLOAD_REDIS_LUA_PRELUDE R"lua(
return redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. now_ms(), 'LIMIT', 0, tonumber(ARGV[1]))
)lua";

/// KEYS: finished, jobs. ARGV: keep ms, keep count, limit. Deletes finished jobs older than `keep ms`, and
/// the oldest beyond `keep count`, at most `limit` of them: record, events, idempotency key, index entries.
/// Returns {deleted, finished jobs left}.
inline constexpr std::string_view evict_lua = OFFLOAD_REDIS_LUA_PRELUDE R"lua(
local limit = tonumber(ARGV[3])
local victims = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. (now_ms() - tonumber(ARGV[1])), 'LIMIT', 0, limit)
local over = redis.call('ZCARD', KEYS[1]) - #victims - tonumber(ARGV[2])
if over > 0 and #victims < limit then
  for _, id in ipairs(redis.call('ZRANGE', KEYS[1], #victims, #victims + math.min(over, limit - #victims) - 1)) do
    table.insert(victims, id)
  end
end
for _, id in ipairs(victims) do
  local job = job_key(id)
  local key = redis.call('HGET', job, 'key')
  if key and key ~= '' then redis.call('DEL', 'offload:key:' .. key) end
  redis.call('DEL', job, 'offload:ev:' .. id)
  redis.call('ZREM', KEYS[1], id)
  redis.call('ZREM', KEYS[2], id)
end
return {#victims, redis.call('ZCARD', KEYS[1])}
)lua";

/// KEYS: job, events. ARGV: after (an event seq, 0 for all). Returns {fields (HGETALL), events after
/// `after` (XRANGE)}; empty fields when there is no such job.
inline constexpr std::string_view read_lua = R"lua(
local from = ARGV[1] == '0' and '-' or '(0-' .. ARGV[1]
return {redis.call('HGETALL', KEYS[1]), redis.call('XRANGE', KEYS[2], from, '+')}
)lua";

/// KEYS: nodes, then queues. ARGV: node, ttl ms, then each queue's lane. Marks this node alive for `ttl`,
/// forgets nodes whose mark passed, and returns {nodes alive, queued in lane 0, queued in lane 1}.
inline constexpr std::string_view heartbeat_lua = OFFLOAD_REDIS_LUA_PRELUDE R"lua(
local now = now_ms()
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local queued = {0, 0}
for i = 2, #KEYS do
  local lane = tonumber(ARGV[i + 1]) + 1
  queued[lane] = queued[lane] + redis.call('ZCARD', KEYS[i])
end
return {redis.call('ZCARD', KEYS[1]), queued[1], queued[2]}
)lua";

/// KEYS: jobs. ARGV: after (seq), newest first ('1'/'0'), state ('' or its number), type ('' or a name),
/// limit, with results ('1'/'0'), scan cap. Walks the index from `after` in the order asked, keeping jobs
/// that match, until it has `limit` + 1 of them or has looked at `scan cap` jobs. Returns {seq of the last
/// job looked at, or '' when the index ended; then per match: fields (HGETALL), result frame or ''}.
inline constexpr std::string_view list_lua = R"lua(
local after, newest = tonumber(ARGV[1]), ARGV[2] == '1'
local want_state, want_type = ARGV[3], ARGV[4]
local limit, with_results, cap = tonumber(ARGV[5]), ARGV[6] == '1', tonumber(ARGV[7])
local out = {''}
local looked, matched, cursor = 0, 0, after
while looked < cap and matched <= limit do
  local ids
  if newest then
    ids = redis.call('ZREVRANGEBYSCORE', KEYS[1], '(' .. cursor, '-inf', 'WITHSCORES', 'LIMIT', 0, 200)
  else
    ids = redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. cursor, '+inf', 'WITHSCORES', 'LIMIT', 0, 200)
  end
  if #ids == 0 then return out end
  for i = 1, #ids, 2 do
    local id = ids[i]
    cursor = tonumber(ids[i + 1])
    looked = looked + 1
    local job = 'offload:job:' .. id
    local state, type = unpack(redis.call('HMGET', job, 'state', 'type'))
    if state and (want_state == '' or state == want_state) and (want_type == '' or type == want_type) then
      local frame = ''
      if with_results and state == '2' then
        local last = redis.call('XREVRANGE', 'offload:ev:' .. id, '+', '-', 'COUNT', 1)
        if last[1] then frame = last[1][2][4] end
      end
      table.insert(out, redis.call('HGETALL', job))
      table.insert(out, frame)
      matched = matched + 1
      if matched > limit then break end
    end
    if looked >= cap then break end
  end
end
out[1] = tostring(cursor)
return out
)lua";

#undef OFFLOAD_REDIS_LUA_PRELUDE

/// In `index` order.
inline constexpr std::array<std::string_view, count> all = {add_lua,   claim_lua,    take_lua,  write_lua,
                                                            renew_lua, expired_lua,  evict_lua, read_lua,
                                                            list_lua,  heartbeat_lua};

}  // namespace offload::core::redis_scripts
