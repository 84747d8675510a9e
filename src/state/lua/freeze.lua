-- Records a freeze unless one is in force, and adds the chat to the index of frozen chats in the
-- same step, so the index (and the pairguard_frozen_chats gauge read from it) is never off by a
-- crash or a race between two judges.
-- KEYS[1] chat decisions hash; KEYS[2] frozen-chats set; ARGV[1] field; ARGV[2] record; ARGV[3] chatId.
if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 0 then
  return 0
end
redis.call('SADD', KEYS[2], ARGV[3])
return 1
