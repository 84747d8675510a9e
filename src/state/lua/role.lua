-- Merges one registration into a user's role history (mirrors applyRegistration in
-- src/policy/timeline.ts): entries "at,rank,partition,offset,c|a" in stamp order.
-- KEYS[1] user hash; ARGV[1] field; ARGV[2] role; ARGV[3..6] the stamp.
--- @include "history-merge"
local flag = ARGV[2] == 'adult' and 'a' or 'c'
local stamp = { tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6]) }
local merged = merge_entry(redis.call('HGET', KEYS[1], ARGV[1]), stamp, flag)
if not merged then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], merged)
return 1
