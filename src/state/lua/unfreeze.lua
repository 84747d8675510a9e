-- Lifts a freeze if the field still holds the expected record (compare-and-delete, as
-- hash-swap.lua), and removes the chat from the index of frozen chats in the same step.
-- KEYS[1] chat decisions hash; KEYS[2] frozen-chats set; ARGV[1] field; ARGV[2] expected; ARGV[3] chatId.
if redis.call('HGET', KEYS[1], ARGV[1]) ~= ARGV[2] then
  return 0
end
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('SREM', KEYS[2], ARGV[3])
return 1
