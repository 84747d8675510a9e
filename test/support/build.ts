/**
 * Compiles src/ into dist/ (what `npm run build` does) for the tests that run `bin/pairguard.js` as
 * a process, so they run the code under test rather than whatever an earlier build left there.
 * Incremental: unchanged sources are not compiled again.
 */
import { exec, execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { promisify } from 'node:util';

const run = promisify(execFile);
const shell = promisify(exec);
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');

export async function buildDist(): Promise<void> {
  try {
    await run(process.execPath, [tsc, '-p', 'tsconfig.build.json']);
  } catch (err) {
    // Exit code 2: type errors, JavaScript emitted anyway. The type check (`npm test` runs it
    // first) reports those; only a build that wrote nothing stops the tests.
    const e = err as { code?: number; stdout?: string };
    if (e.code !== 2) throw new Error(`tsc -p tsconfig.build.json failed:\n${e.stdout ?? String(err)}`, { cause: err });
  }
  // The build script's other steps (Lua scripts, build info), as package.json lists them after tsc.
  const { scripts } = JSON.parse(readFileSync('package.json', 'utf8')) as { scripts: { build: string } };
  for (const step of scripts.build
    .split('&&')
    .map((s) => s.trim())
    .filter((s) => !s.startsWith('tsc ')))
    await shell(step);
}
