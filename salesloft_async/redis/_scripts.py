"""The Lua scripts behind `RedisBudget` and `RedisTokenStore`.

Every decision runs inside one script, so it is atomic across processes and hosts, and reads time
from Redis's own ``TIME``: the clocks of the workers never enter a decision.  ARGV[1] of every
budget script may carry a time override (epoch seconds); only tests pass one, so that window and
pause logic is tested without sleeping.  An empty ARGV[1] means "ask Redis".

Budget state, all under the caller's key K (so one Redis Cluster hash tag covers them all):
  K        hash: ws (window start), phase, spent (this window, in-flight included: a lower
           bound), doubt (a working estimate, see BUDGET_SETTLE), carry (cost still in flight
           when the window rolled), inflight, pause (paused until), probe ("" | "need" | holder
           id), probe_dl, obs_rem/obs_seq (the latest remaining count and when it arrived), and
           counters (cost, requests, grants, r429, jumps)
  K:q      sorted set of waiting tickets, scored by arrival (K:seq) -- FIFO across processes
  K:qi     hash ticket id -> "cost|lane|last seen"
  K:costs  hash cost key -> cost learned from x-ratelimit-endpoint-cost
  K:fly    sorted set of granted, unsettled reservations "id|cost|grant time", scored by grant
           order; one whose holder died without settling drops out after `inflight_ttl` seconds
  K:seq    the ticket counter
Every key a script touches is passed in KEYS (Redis Cluster requires it).  Times are written with
microseconds ("%.6f"); a number returned to Python is a string, since Redis would truncate a Lua
float to an integer.
"""

from __future__ import annotations

__all__ = ["BUDGET_RELEASE", "BUDGET_RESERVE", "BUDGET_SETTLE", "BUDGET_STATS", "TOKEN_CAS"]

#: KEYS[1] token hash; ARGV: expected fingerprint ("" = store must be empty), new fp, token JSON.
TOKEN_CAS = """
local current = redis.call('HGET', KEYS[1], 'fp')
if (current or '') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'fp', ARGV[2], 'token', ARGV[3])
return 1
"""

_COMMON = """
local K, Q, QI, FLY, SEQ = KEYS[1], KEYS[2], KEYS[3], KEYS[5], KEYS[6]
local function clock()
  if ARGV[1] ~= '' then return tonumber(ARGV[1]) end
  local t = redis.call('TIME')
  return tonumber(t[1]) + tonumber(t[2]) / 1000000
end
local function fmt(x) return string.format('%.6f', x) end
local function num(field, default)
  local v = redis.call('HGET', K, field)
  if v then return tonumber(v) end
  return default
end
local now = clock()
local limit = tonumber(ARGV[2])
local window = tonumber(ARGV[3])
local ttl = math.max(60, math.ceil(window * 10))
local fly_ttl = tonumber(ARGV[4])

-- Forget reservations whose holder never settled them (it died): they would hold budget forever.
local function expire_inflight()
  local gone = 0
  for _, m in ipairs(redis.call('ZRANGE', FLY, 0, -1)) do
    local c, t = string.match(m, '^[^|]*|([^|]*)|([^|]*)$')
    if tonumber(t) and now - tonumber(t) > fly_ttl then
      redis.call('ZREM', FLY, m)
      gone = gone + (tonumber(c) or 0)
    end
  end
  if gone > 0 then
    redis.call('HSET', K, 'inflight', math.max(0, num('inflight', 0) - gone))
  end
end

-- Take a reservation off the in-flight set; false when it was not there (settled or expired).
local function land(id, cost, seq, granted)
  return redis.call('ZREM', FLY, id .. '|' .. cost .. '|' .. granted) == 1
end

-- The current window: [ws, ws + window), aligned to the learned phase.  It only moves forward.
local function roll()
  local ws = num('ws', nil)
  if ws ~= nil and now < ws + window then return ws end
  local phase = num('phase', 0)
  local start = math.floor((now - phase) / window) * window + phase
  if ws ~= nil and start < ws then start = ws end
  -- Requests granted in the old window and still in flight may land in the new one: count them.
  expire_inflight()
  local inflight = num('inflight', 0)
  redis.call('HSET', K, 'ws', fmt(start), 'spent', inflight, 'carry', inflight)
  redis.call('HDEL', K, 'obs_rem', 'obs_seq', 'doubt')
  -- The first request of a window goes alone: if the server's window has not rolled yet (its
  -- clock lags Redis's), or others spent while this state was empty (a fresh or restarted
  -- Redis), that costs one 429 and its answer corrects the books, instead of a burst of 429s.
  redis.call('HSET', K, 'probe', 'need')
  return start
end
local ws = roll()
"""

#: KEYS: K, K:q, K:qi, K:costs, K:fly, K:seq.  ARGV: now, limit, window, inflight ttl, id,
#: predicted cost, lane ("i"|"b"), bulk reserve (cost units bulk may not touch), cost key,
#: stale (s), probe timeout (s), max pause (s).  Returns {1, ws, is_probe, cost, remaining, seq,
#: grant time}
#: when granted, {0, reason, wait, cost} otherwise (reason: paused|probe|doubt|budget).
BUDGET_RESERVE = (
    _COMMON
    + """
local id, lane = ARGV[5], ARGV[7]
local bulk_reserve, ckey = tonumber(ARGV[8]), ARGV[9]
local stale, probe_timeout = tonumber(ARGV[10]), tonumber(ARGV[11])
local max_pause = tonumber(ARGV[12])
local cost = tonumber(ARGV[6])
if ckey ~= '' then
  local learned = redis.call('HGET', KEYS[4], ckey)
  if learned then cost = tonumber(learned) end
end
cost = math.min(cost, limit)  -- dearer than the whole window: it may still go, alone

local function enqueue()
  if not redis.call('ZSCORE', Q, id) then
    redis.call('ZADD', Q, redis.call('INCR', SEQ), id)
  end
  redis.call('HSET', QI, id, cost .. '|' .. lane .. '|' .. fmt(now))
  redis.call('EXPIRE', Q, ttl)
  redis.call('EXPIRE', QI, ttl)
  redis.call('EXPIRE', SEQ, ttl)
end
local function dequeue()
  redis.call('ZREM', Q, id)
  redis.call('HDEL', QI, id)
end
-- Waiting renews only the queue's keys: the state K lives on by real traffic (grants, answers),
-- not by waiters asking again.
local function waiting(reason, wait)
  enqueue()
  return {0, reason, fmt(math.max(wait, 0)), tostring(cost)}
end

local pause = num('pause', 0)
if pause > now + max_pause then
  pause = now + max_pause  -- stored by an older client, or against the rules: never longer
  redis.call('HSET', K, 'pause', fmt(pause))
end
if now < pause then return waiting('paused', pause - now) end

local probe = redis.call('HGET', K, 'probe') or ''
if probe ~= '' and probe ~= 'need' and probe ~= id then
  if now < num('probe_dl', 0) then return waiting('probe', num('probe_dl', 0) - now) end
  probe = 'need'  -- the probe's holder vanished: the next grant probes instead
end

-- What the tickets queued ahead of this one will take first.  Interactive calls only queue
-- behind interactive ones; bulk calls queue behind every interactive ticket and older bulk ones.
local ahead = 0
local tickets = redis.call('ZRANGE', Q, 0, -1)
for _, other in ipairs(tickets) do
  if other == id then
    if lane == 'i' then break end
  else
    local info = redis.call('HGET', QI, other)
    local ocost, olane, seen = 0, 'i', 0
    if info then
      local a, b, c = string.match(info, '^([^|]*)|([^|]*)|([^|]*)$')
      ocost, olane, seen = tonumber(a) or 0, b, tonumber(c) or 0
    end
    if (not info) or now - seen > stale then
      redis.call('ZREM', Q, other)  -- its waiter died or was cancelled without telling us
      redis.call('HDEL', QI, other)
    elseif lane == 'i' then
      if olane == 'i' then ahead = ahead + ocost end
    elseif olane == 'i' or not redis.call('ZSCORE', Q, id) or
        redis.call('ZSCORE', Q, other) < redis.call('ZSCORE', Q, id) then
      ahead = ahead + ocost
    end
  end
end

-- Grant when the working estimate has room; when only the lower bound has, go alone (nothing
-- else in flight), so that this answer settles the doubt before anything else is sent.
local spent = num('spent', 0)
local room = limit - spent
local likely = limit - math.max(spent, num('doubt', 0))
if lane == 'b' then
  room = room - bulk_reserve
  likely = likely - bulk_reserve
end
if cost + ahead > likely then
  if cost + ahead > room then return waiting('budget', ws + window - now) end
  if num('inflight', 0) > 0 then return waiting('doubt', ws + window - now) end
end

dequeue()
spent = spent + cost
local is_probe = 0
if probe == 'need' then
  is_probe = 1
  redis.call('HSET', K, 'probe', id, 'probe_dl', fmt(now + probe_timeout))
end
redis.call('HSET', K, 'spent', spent)
redis.call('HINCRBY', K, 'inflight', cost)
local seq = redis.call('HINCRBY', K, 'grants', 1)
redis.call('ZADD', FLY, seq, id .. '|' .. cost .. '|' .. fmt(now))
redis.call('EXPIRE', K, ttl)
redis.call('EXPIRE', FLY, ttl)
local left = limit - math.max(spent, num('doubt', 0))
return {1, fmt(ws), is_probe, tostring(cost), tostring(left), seq, fmt(now)}
"""
)

#: KEYS: K, K:q, K:qi, K:costs, K:fly, K:seq.  ARGV: now, limit, window, inflight ttl, id,
#: reserved cost, reserved window start, is_probe, status, actual cost ("" unknown), remaining
#: ("" unknown), retry-after seconds ("" none), cost key, grant seq, grant time, max pause (s).
#: Returns {remaining believed, paused until, ws}.
BUDGET_SETTLE = (
    _COMMON
    + """
local id, reserved, res_ws = ARGV[5], tonumber(ARGV[6]), ARGV[7]
local is_probe, status = ARGV[8] == '1', tonumber(ARGV[9])
local actual, remaining, retry_after = tonumber(ARGV[10]), tonumber(ARGV[11]), tonumber(ARGV[12])
local ckey, seq, granted = ARGV[13], tonumber(ARGV[14]), ARGV[15]
local max_pause = tonumber(ARGV[16])
if retry_after and not (retry_after >= 0 and retry_after <= max_pause) then
  -- not a number, negative or beyond the cap: the cap where it is a number, absent otherwise
  if retry_after > max_pause then retry_after = max_pause else retry_after = nil end
end
local same = res_ws == fmt(ws)

local inflight = num('inflight', 0)
if land(id, reserved, seq, granted) then
  inflight = math.max(0, inflight - reserved)
  redis.call('HSET', K, 'inflight', inflight)
  if not same then
    redis.call('HSET', K, 'carry', math.max(0, num('carry', 0) - reserved))
  end
else
  same = false  -- expired as abandoned: its cost has already left the books
end
local spent = num('spent', 0)

if status == 429 then
  redis.call('HINCRBY', K, 'r429', 1)
  local untill
  if retry_after then
    untill = now + retry_after
  elseif same then
    untill = ws + window  -- the server says this window is spent: wait for the next one
  else
    untill = now          -- a verdict on a window already over: only probe before going on
  end
  untill = math.min(untill, now + max_pause)
  if untill > num('pause', 0) then redis.call('HSET', K, 'pause', fmt(untill)) end
  if same and not retry_after then spent = limit end
  redis.call('HSET', K, 'spent', spent, 'probe', 'need')
else
  if is_probe and redis.call('HGET', K, 'probe') == id then
    redis.call('HSET', K, 'probe', '')
  end
  local charged = actual or reserved
  if actual and ckey ~= '' then
    redis.call('HSET', KEYS[4], ckey, actual)
    redis.call('EXPIRE', KEYS[4], 86400)
  end
  redis.call('HINCRBY', K, 'cost', charged)
  redis.call('HINCRBY', K, 'requests', 1)
  if same then
    spent = spent - reserved + charged
    if remaining then
      -- The server is the authority.  Which of our requests in flight it had counted when it
      -- answered is unknowable, so two readings are kept: the lower bound assumes it had
      -- counted all of them (it never invents spend); the working estimate ("doubt", the
      -- latest answer wins) assumes it had counted exactly those granted before this one.
      local later = 0
      for _, m in ipairs(redis.call('ZRANGEBYSCORE', FLY, '(' .. seq, '+inf')) do
        later = later + (tonumber(string.match(m, '^[^|]*|([^|]*)|')) or 0)
      end
      local hopeful = limit - remaining
      -- Within one server window the count only goes down.  A higher count on a request
      -- granted after a lower one had arrived means the server's window rolled before ours.
      local obs_rem, obs_seq = num('obs_rem', nil), num('obs_seq', nil)
      if obs_rem and seq and seq > obs_seq and remaining > obs_rem then
        local phase = now - math.floor(now / window) * window
        redis.call('HSET', K, 'ws', fmt(now), 'phase', fmt(phase), 'carry', 0)
        redis.call('HINCRBY', K, 'jumps', 1)
        ws = now
        spent = hopeful
        later = inflight
      elseif hopeful > spent then
        spent = hopeful  -- others of the team are spending too
      end
      redis.call('HSET', K, 'doubt', hopeful + later)
      redis.call('HSET', K, 'obs_rem', remaining, 'obs_seq', num('grants', 0))
    end
  end
  redis.call('HSET', K, 'spent', spent)
end
redis.call('EXPIRE', K, ttl)
return {tostring(limit - math.max(spent, num('doubt', 0))), fmt(num('pause', 0)), fmt(ws)}
"""
)

#: KEYS: K, K:q, K:qi, K:costs, K:fly, K:seq.  ARGV: now, limit, window, inflight ttl, id,
#: reserved cost ("" = a ticket only: the waiter gave up), reserved window start, is_probe,
#: grant seq, grant time.  Returns 1.
BUDGET_RELEASE = (
    _COMMON
    + """
local id, reserved, res_ws, is_probe = ARGV[5], tonumber(ARGV[6]), ARGV[7], ARGV[8] == '1'
redis.call('ZREM', Q, id)
redis.call('HDEL', QI, id)
-- No answer will come.  The charge stays (the request may have reached the server and been
-- counted); it only stops being in flight.
if reserved and land(id, reserved, ARGV[9], ARGV[10]) then
  redis.call('HSET', K, 'inflight', math.max(0, num('inflight', 0) - reserved))
  if res_ws ~= fmt(ws) then
    redis.call('HSET', K, 'carry', math.max(0, num('carry', 0) - reserved))
  end
  if is_probe and redis.call('HGET', K, 'probe') == id then
    redis.call('HSET', K, 'probe', 'need')  -- no verdict came back: the next grant probes
  end
end
return 1
"""
)

#: KEYS: K, K:q, K:qi, K:costs, K:fly, K:seq.  ARGV: now, limit, window, inflight ttl.
#: Returns a flat field/value list.
BUDGET_STATS = (
    _COMMON
    + """
local out = redis.call('HGETALL', K)
table.insert(out, 'now'); table.insert(out, fmt(now))
table.insert(out, 'queued'); table.insert(out, tostring(redis.call('ZCARD', Q)))
return out
"""
)
