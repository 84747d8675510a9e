/** Java sources the tests run (test/support/java/), compiled once per source version. */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

/**
 * Compiles `source` against the jars in `libs` into `<outBase>/<hash of the source>` unless that
 * is already there; returns the folder to put on the classpath.
 */
export function compileJava(source: string, libs: string, outBase: string): string {
  const hash = createHash('sha256').update(readFileSync(source)).digest('hex').slice(0, 12);
  const dir = path.resolve(outBase, hash);
  const cls = `${path.basename(source, '.java')}.class`;
  if (!existsSync(path.join(dir, cls))) {
    mkdirSync(dir, { recursive: true });
    execFileSync('javac', ['-d', dir, '-cp', `${libs}/*`, source], { stdio: 'pipe' });
  }
  return dir;
}
