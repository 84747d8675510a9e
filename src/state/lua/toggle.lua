-- Merges one on/off switch into several fields of one hash (mirrors applySwitch in
-- src/policy/timeline.ts). Field value: "on,off,lastOn" in milliseconds.
-- KEYS[1] hash; ARGV[1] "1" to switch on, "0" to switch off; ARGV[2] moment; ARGV[3..] fields.
local on_switch = ARGV[1] == '1'
local at = tonumber(ARGV[2])
for i = 3, #ARGV do
  local field = ARGV[i]
  local on, off, last = 0, 0, 0
  local cur = redis.call('HGET', KEYS[1], field)
  if cur then
    local a, b, c = string.match(cur, '^(%d+),(%d+),(%d)$')
    on, off, last = tonumber(a) or 0, tonumber(b) or 0, tonumber(c) or 0
  end
  local changed = false
  if on_switch and at >= on then
    on = at
    if at >= off then last = 1 end
    changed = true
  elseif (not on_switch) and at >= off then
    off = at
    if at >= on then last = 0 end
    changed = true
  end
  if changed then
    redis.call('HSET', KEYS[1], field, string.format('%d,%d,%d', on, off, last))
  end
end
return 1
