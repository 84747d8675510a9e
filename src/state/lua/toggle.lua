-- Merges one on/off switch into several fields of one hash.
-- KEYS[1] hash; ARGV[1] "1" to switch on, "0" to switch off; ARGV[2] moment; ARGV[3..] fields.
--- @include "toggle-merge"
local on_switch = ARGV[1] == '1'
local at = tonumber(ARGV[2])
for i = 3, #ARGV do
  local merged = merge_switch(redis.call('HGET', KEYS[1], ARGV[i]), on_switch, at)
  if merged then redis.call('HSET', KEYS[1], ARGV[i], merged) end
end
return 1
