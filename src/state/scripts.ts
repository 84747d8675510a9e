/**
 * Registers pairguard's Lua scripts (src/state/lua/, one command per file) on an ioredis client.
 * A line `--- @include "name"` in a script is replaced by lua/includes/name.lua, so a merge that
 * two scripts need is written once.
 */
import { readFileSync } from 'node:fs';
import type { Result } from 'ioredis';
import type { RedisClient } from './redis-client.js';

declare module 'ioredis' {
  interface RedisCommander<Context> {
    pgToggle(key: string, on: '1' | '0', ...stampAndFields: Array<string | number>): Result<number, Context>;
    pgMembership(
      members: string,
      decisions: string,
      ...switches: Array<string | number>
    ): Result<[string[], string[]], Context>;
    pgRole(key: string, field: string, role: string, ...stamp: number[]): Result<number, Context>;
    pgHashMax(key: string, ...fieldValues: string[]): Result<number, Context>;
    pgHashSwap(key: string, field: string, expected: string, next: string): Result<number, Context>;
    pgBreakerTake(
      window: string,
      open: string,
      withheld: string,
      now: number,
      windowMs: number,
      limit: number,
      chatId: string,
      alertId: string,
    ): Result<number, Context>;
    pgBreakerReset(window: string, open: string, withheld: string): Result<string[], Context>;
  }
}

/** Command name → [file in lua/, number of keys]. The keys of a script share one slot on a cluster. */
const SCRIPTS = {
  pgToggle: ['toggle', 1],
  pgMembership: ['membership', 2],
  pgRole: ['role', 1],
  pgHashMax: ['hash-max', 1],
  pgHashSwap: ['hash-swap', 1],
  pgBreakerTake: ['breaker-take', 3],
  pgBreakerReset: ['breaker-reset', 3],
} as const;

const INCLUDE = /^--- @include "([a-z-]+)"$/gm;

const sources = new Map<string, string>();
function read(path: string): string {
  return readFileSync(new URL(`./lua/${path}.lua`, import.meta.url), 'utf8');
}

/** A script's source with its includes expanded. */
export function scriptSource(file: string): string {
  let lua = sources.get(file);
  if (!lua) {
    lua = read(file).replace(INCLUDE, (_, name: string) => read(`includes/${name}`).trimEnd());
    sources.set(file, lua);
  }
  return lua;
}

export function defineScripts<C extends RedisClient>(redis: C): C {
  for (const [command, [file, numberOfKeys]] of Object.entries(SCRIPTS)) {
    if (typeof (redis as unknown as Record<string, unknown>)[command] !== 'function') {
      redis.defineCommand(command, { numberOfKeys, lua: scriptSource(file) });
    }
  }
  return redis;
}
