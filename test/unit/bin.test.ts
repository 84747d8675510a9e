/** bin/pairguard.js before it loads anything: the lines it prints instead of a stack trace. */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

describe('bin/pairguard.js', () => {
  it('in a checkout that was never built, says how to build it', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'pairguard-bin-'));
    try {
      mkdirSync(path.join(dir, 'bin'));
      cpSync('bin/pairguard.js', path.join(dir, 'bin/pairguard.js'));
      cpSync('package.json', path.join(dir, 'package.json'));
      const r = spawnSync(process.execPath, [path.join(dir, 'bin/pairguard.js'), '--version'], { encoding: 'utf8' });
      expect([r.status, r.stdout, r.stderr]).toEqual([
        1,
        '',
        'pairguard: dist/ is not built; run `npm run build` in this checkout\n',
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('on an older Node, says which one it needs in one line', () => {
    // The version check runs first; Node's own version is what it reads, so an older one is
    // faked here (test/integration/package.test.ts runs a real older Node when the machine has one).
    const r = spawnSync(
      process.execPath,
      [
        '--import',
        'data:text/javascript,Object.defineProperty(process.versions, "node", { value: "22.11.0" })',
        'bin/pairguard.js',
        '--version',
      ],
      { encoding: 'utf8' },
    );
    expect([r.status, r.stdout, r.stderr]).toEqual([1, '', 'pairguard needs Node.js 24 or later (this is v22.11.0)\n']);
  });
});
