-- Compare-and-set of one hash field: replaces it only when it still holds the expected value,
-- so a decision taken on a read is never applied over a newer decision by someone else.
-- KEYS[1] hash; ARGV[1] field; ARGV[2] expected value; ARGV[3] new value ("" deletes the field).
if redis.call('HGET', KEYS[1], ARGV[1]) ~= ARGV[2] then
  return 0
end
if ARGV[3] == '' then
  redis.call('HDEL', KEYS[1], ARGV[1])
else
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
end
return 1
