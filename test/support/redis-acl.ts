/**
 * What pairguard's Redis user is granted in the tests, as README ("Secured clusters") tells
 * operators to grant it: its key prefix and these commands, nothing else. Commands that Lua
 * scripts call are checked against the ACL like any other, so they are listed too.
 */
export const PAIRGUARD_ACL_COMMANDS = [
  '+ping',
  '+info',
  '+client|setname',
  '+select',
  '+evalsha',
  '+eval',
  '+exists',
  '+set',
  '+pexpire',
  '+zadd',
  '+zscore',
  '+zcard',
  '+zcount',
  '+zremrangebyscore',
  '+del',
  '+hget',
  '+hexists',
  '+hgetall',
  '+hmget',
  '+hset',
  '+hsetnx',
  '+hdel',
  '+sadd',
  '+srem',
  '+scard',
  '+smembers',
  '+sscan',
] as const;

/** ACL SETUSER rules for a user limited to `prefix` and PAIRGUARD_ACL_COMMANDS. */
export function pairguardAclRules(prefix: string): string[] {
  return ['resetkeys', `~${prefix}*`, 'resetchannels', '-@all', ...PAIRGUARD_ACL_COMMANDS];
}
