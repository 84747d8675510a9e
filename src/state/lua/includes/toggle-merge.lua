-- Merges one on/off switch into a toggle "on,off,lastOn" in milliseconds (mirrors applySwitch
-- in src/policy/timeline.ts). Returns the new value, or nil when the switch is older than the
-- toggle's own and changes nothing.
local function merge_switch(cur, on_switch, at)
  -- A fact switched for the first time (most of a new chat's members): nothing to merge.
  if not cur then
    if at < 0 then return nil end
    if on_switch then return string.format('%d,0,1', at) end
    return string.format('0,%d,0', at)
  end
  local on, off, last = 0, 0, 0
  if cur then
    local a, b, c = string.match(cur, '^(%d+),(%d+),(%d)$')
    on, off, last = tonumber(a) or 0, tonumber(b) or 0, tonumber(c) or 0
  end
  if on_switch then
    if at < on then return nil end
    on = at
    if at >= off then last = 1 end
  else
    if at < off then return nil end
    off = at
    if at >= on then last = 0 end
  end
  return string.format('%d,%d,%d', on, off, last)
end
