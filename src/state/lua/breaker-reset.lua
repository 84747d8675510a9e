-- Closes the freeze breaker and hands over the withheld freezes (see state/freeze-breaker.ts).
-- KEYS as breaker-take.lua. Returns the withheld hash as a flat list chatId, "alertId|at", ...
local withheld = redis.call('HGETALL', KEYS[3])
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3])
return withheld
