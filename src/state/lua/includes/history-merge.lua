-- Merges one switch into a fact history (mirrors insertByStamp in src/policy/timeline.ts). A history
-- is its entries in stamp order, "at,rank,partition,offset,flag" joined by ";"; the flag is "1" or
-- "0" for a fact switched on or off, "c" or "a" for a role. The same stamp is the same record:
-- applied again, it changes nothing. Returns the new value, or nil when nothing changed.
local function stamp_less(a, b)
  for k = 1, 4 do
    if a[k] ~= b[k] then return a[k] < b[k] end
  end
  return false
end

local function entry_string(e)
  return string.format('%d,%d,%d,%d,%s', e[1], e[2], e[3], e[4], e[5])
end

local function parse_entry(s)
  local at, rank, part, off, flag = string.match(s, '^(%-?%d+),(%d+),(%d+),(%d+),(%w)$')
  if not at then return nil end
  return { tonumber(at), tonumber(rank), tonumber(part), tonumber(off), flag }
end

-- The forms before histories: a toggle "on,off,lastOn", or a role "role,at,prevRole,prevAt".
local function parse_legacy(cur)
  local on, off, last = string.match(cur, '^(%d+),(%d+),(%d)$')
  if on then
    on, off = tonumber(on), tonumber(off)
    if on > 0 and on == off then return { { on, 0, 0, 0, last == '1' and '1' or '0' } } end
    local out = {}
    if on > 0 then out[#out + 1] = { on, 0, 0, 0, '1' } end
    if off > 0 then out[#out + 1] = { off, 0, 0, 0, '0' } end
    if #out == 2 and out[2][1] < out[1][1] then out[1], out[2] = out[2], out[1] end
    return out
  end
  local r, rat, p, pat = string.match(cur, '^(%a*),(%d+),(%a*),(%d+)$')
  if rat then
    local out = {}
    local letter = function(x) return x == 'adult' and 'a' or 'c' end
    if p ~= '' and tonumber(pat) > 0 then out[#out + 1] = { tonumber(pat), 0, 0, 0, letter(p) } end
    if r ~= '' and tonumber(rat) > 0 then out[#out + 1] = { tonumber(rat), 0, 0, 0, letter(r) } end
    return out
  end
  return {}
end

local function merge_entry(cur, stamp, flag)
  local new = { stamp[1], stamp[2], stamp[3], stamp[4], flag }
  if not cur or cur == '' then return entry_string(new) end
  -- The common case, a switch later than every other: appended without reading the rest.
  -- Anchored: an unanchored '([^;]*)$' is tried from every position, quadratic in the value's length.
  local last = parse_entry(string.match(cur, '^.*;([^;]*)$') or cur)
  if last and stamp_less(last, new) then return cur .. ';' .. entry_string(new) end
  local entries = {}
  if last then
    for s in string.gmatch(cur, '[^;]+') do entries[#entries + 1] = parse_entry(s) end
  else
    entries = parse_legacy(cur)
  end
  local i = #entries
  while i > 0 and stamp_less(new, entries[i]) do i = i - 1 end
  if i > 0 and not stamp_less(entries[i], new) then
    if entries[i][5] == flag then return nil end
    entries[i][5] = flag
  else
    table.insert(entries, i + 1, new)
  end
  local out = {}
  for k = 1, #entries do out[k] = entry_string(entries[k]) end
  return table.concat(out, ';')
end
