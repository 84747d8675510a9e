-- Merges one on/off switch into the histories of several fields of one hash.
-- KEYS[1] hash; ARGV[1] "1" to switch on, "0" to switch off; ARGV[2..5] the stamp (moment, rank,
-- partition, offset); ARGV[6..] fields.
--- @include "history-merge"
local flag = ARGV[1] == '1' and '1' or '0'
local stamp = { tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5]) }
for i = 6, #ARGV do
  local merged = merge_entry(redis.call('HGET', KEYS[1], ARGV[i]), stamp, flag)
  if merged then redis.call('HSET', KEYS[1], ARGV[i], merged) end
end
return 1
