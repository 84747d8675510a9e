-- Merges one registration into a user's role history (mirrors applyRegistration in
-- src/policy/timeline.ts). Field value: "role,at,prevRole,prevAt".
-- KEYS[1] user hash; ARGV[1] field; ARGV[2] role; ARGV[3] moment.
local role, at = ARGV[2], tonumber(ARGV[3])
local r, rat, p, pat = '', 0, '', 0
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if cur then
  local a, b, c, d = string.match(cur, '^(%a*),(%d+),(%a*),(%d+)$')
  r, rat, p, pat = a or '', tonumber(b) or 0, c or '', tonumber(d) or 0
end
if at > rat then
  p, pat, r, rat = r, rat, role, at
elseif at == rat then
  r = role
elseif at > pat then
  p, pat = role, at
else
  return 0
end
redis.call('HSET', KEYS[1], ARGV[1], string.format('%s,%d,%s,%d', r, rat, p, pat))
return 1
