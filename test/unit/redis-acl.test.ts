/** The Redis ACL that README documents covers every command pairguard's Lua scripts call. */
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { PAIRGUARD_ACL_COMMANDS } from '../support/redis-acl.js';

const LUA = 'src/state/lua';

function luaFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? luaFiles(path.join(dir, e.name)) : e.name.endsWith('.lua') ? [path.join(dir, e.name)] : [],
  );
}

describe('the Redis ACL pairguard needs', () => {
  it('grants every command a Lua script calls', () => {
    const called = new Set(
      luaFiles(LUA).flatMap((f) =>
        [...readFileSync(f, 'utf8').matchAll(/redis\.p?call\(\s*['"]([A-Za-z]+)['"]/g)].map(
          (m) => `+${m[1]!.toLowerCase()}`,
        ),
      ),
    );
    expect(called.size).toBeGreaterThan(0);
    expect([...called].filter((c) => !(PAIRGUARD_ACL_COMMANDS as readonly string[]).includes(c))).toEqual([]);
  });

  it('is the one README documents', () => {
    expect(readFileSync('README.md', 'utf8')).toContain(
      `resetkeys ~pg:* resetchannels -@all ${PAIRGUARD_ACL_COMMANDS.join(' ')}\n`,
    );
  });
});
