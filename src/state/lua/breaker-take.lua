-- The freeze breaker's one decision, atomic across instances (see state/freeze-breaker.ts).
-- KEYS[1] zset chatId → when frozen (the sliding window); KEYS[2] hash, present while open;
-- KEYS[3] hash chatId → "alertId|at" of withheld freezes.
-- ARGV: now, windowMs, limit, chatId, alertId. Returns 1 granted, 0 withheld, -1 tripped now.
local now, window, limit = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
if redis.call('EXISTS', KEYS[2]) == 1 then
  redis.call('HSETNX', KEYS[3], ARGV[4], ARGV[5] .. '|' .. ARGV[1])
  return 0
end
-- The window starts at now - window, exclusive (windowStart in state/freeze-breaker.ts).
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZSCORE', KEYS[1], ARGV[4]) then
  -- Frozen again within the window (after a reviewer's unfreeze): one chat, counted once.
  redis.call('ZADD', KEYS[1], now, ARGV[4])
  return 1
end
local n = redis.call('ZCARD', KEYS[1])
if n >= limit then
  redis.call('HSET', KEYS[2], 'trippedAt', ARGV[1], 'frozenInWindow', n)
  redis.call('HSETNX', KEYS[3], ARGV[4], ARGV[5] .. '|' .. ARGV[1])
  return -1
end
redis.call('ZADD', KEYS[1], now, ARGV[4])
redis.call('PEXPIRE', KEYS[1], window)
return 1
