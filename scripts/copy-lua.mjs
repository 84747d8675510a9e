// tsc compiles TypeScript only; the Redis Lua scripts ship beside the compiled state module.
import { cpSync } from 'node:fs';
cpSync(new URL('../src/state/lua', import.meta.url), new URL('../dist/state/lua', import.meta.url), {
  recursive: true,
});
