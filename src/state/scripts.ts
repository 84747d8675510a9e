/** Registers pairguard's Lua scripts (src/state/lua/, one command per file) on an ioredis client. */
import { readFileSync } from 'node:fs';
import type { Result } from 'ioredis';
import type { RedisClient } from './redis-client.js';

declare module 'ioredis' {
  interface RedisCommander<Context> {
    pgToggle(key: string, on: '1' | '0', at: number, ...fields: string[]): Result<number, Context>;
    pgRole(key: string, field: string, role: string, at: number): Result<number, Context>;
    pgHashMax(key: string, ...fieldValues: string[]): Result<number, Context>;
    pgHashSwap(key: string, field: string, expected: string, next: string): Result<number, Context>;
  }
}

/** Command name → [file in lua/, number of keys]. Each script touches one key, so one slot on a cluster. */
const SCRIPTS = {
  pgToggle: ['toggle', 1],
  pgRole: ['role', 1],
  pgHashMax: ['hash-max', 1],
  pgHashSwap: ['hash-swap', 1],
} as const;

const sources = new Map<string, string>();
function source(file: string): string {
  let lua = sources.get(file);
  if (!lua) {
    lua = readFileSync(new URL(`./lua/${file}.lua`, import.meta.url), 'utf8');
    sources.set(file, lua);
  }
  return lua;
}

export function defineScripts<C extends RedisClient>(redis: C): C {
  for (const [command, [file, numberOfKeys]] of Object.entries(SCRIPTS)) {
    if (typeof (redis as unknown as Record<string, unknown>)[command] !== 'function') {
      redis.defineCommand(command, { numberOfKeys, lua: source(file) });
    }
  }
  return redis;
}
