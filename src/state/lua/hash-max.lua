-- Raises numeric hash fields to at least the given values (never lowers them), so a consumer
-- that lost its partition cannot move another's progress backwards.
-- KEYS[1] hash; ARGV: field1, value1, field2, value2, ...
for i = 1, #ARGV, 2 do
  local cur = tonumber(redis.call('HGET', KEYS[1], ARGV[i]) or '-1')
  if tonumber(ARGV[i + 1]) > cur then
    redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
  end
end
return 1
