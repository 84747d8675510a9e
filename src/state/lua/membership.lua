-- Applies a chunk's membership switches to one chat, in record order, and returns the chat as
-- it was just before them: its membership histories and its decisions (episodes, freeze).
-- Atomic, so no other writer's switch can fall between what is returned and what is applied:
-- replaying the switches on what is returned gives the chat as each record left it.
-- KEYS[1] members hash; KEYS[2] decisions hash of the same chat (same slot).
-- ARGV: groups of  flag ("1" joins, "0" leaves), the stamp (moment, rank, partition, offset),
-- count, then `count` user ids.
-- Returns { members before, as HGETALL gives them; decisions, as HGETALL gives them }.
--- @include "history-merge"
local before = redis.call('HGETALL', KEYS[1])
local toggles = {}
for i = 1, #before, 2 do toggles[before[i]] = before[i + 1] end
-- Merged in memory, written once: a large chat's creation is one HSET, not one per member.
local changed, order = {}, {}
local i = 1
while i <= #ARGV do
  local flag = ARGV[i] == '1' and '1' or '0'
  local stamp = { tonumber(ARGV[i + 1]), tonumber(ARGV[i + 2]), tonumber(ARGV[i + 3]), tonumber(ARGV[i + 4]) }
  local n = tonumber(ARGV[i + 5])
  for j = i + 6, i + 5 + n do
    local user = ARGV[j]
    local merged = merge_entry(toggles[user], stamp, flag)
    if merged then
      toggles[user] = merged
      if not changed[user] then
        changed[user] = true
        order[#order + 1] = user
      end
    end
  end
  i = i + 6 + n
end
-- In slices, as unpack's stack is bounded.
for first = 1, #order, 500 do
  local fields = {}
  for k = first, math.min(#order, first + 499) do
    fields[#fields + 1] = order[k]
    fields[#fields + 1] = toggles[order[k]]
  end
  redis.call('HSET', KEYS[1], unpack(fields))
end
return { before, redis.call('HGETALL', KEYS[2]) }
