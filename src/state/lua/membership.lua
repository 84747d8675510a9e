-- Applies a chunk's membership switches to one chat, in record order, and returns the chat as
-- it was just before them: its membership toggles and its decisions (open episodes, freeze).
-- Atomic, so no other writer's switch can fall between what is returned and what is applied:
-- replaying the switches on what is returned gives the chat as each record left it.
-- KEYS[1] members hash; KEYS[2] decisions hash of the same chat (same slot).
-- ARGV: groups of  flag ("1" joins, "0" leaves), moment, count, then `count` user ids.
-- Returns { members before, as HGETALL gives them; decisions, as HGETALL gives them }.
--- @include "toggle-merge"
local before = redis.call('HGETALL', KEYS[1])
local i = 1
while i <= #ARGV do
  local on_switch, at, n = ARGV[i] == '1', tonumber(ARGV[i + 1]), tonumber(ARGV[i + 2])
  for j = i + 3, i + 2 + n do
    local merged = merge_switch(redis.call('HGET', KEYS[1], ARGV[j]), on_switch, at)
    if merged then redis.call('HSET', KEYS[1], ARGV[j], merged) end
  end
  i = i + 3 + n
end
return { before, redis.call('HGETALL', KEYS[2]) }
