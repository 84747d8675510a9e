/** Which pairguard is running: `pairguard --version`, the "pairguard started" log line and `pairguard_build_info`. */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

export interface BuildInfo {
  /** package.json's version. */
  version: string;
  /** The git commit it was built from (scripts/build-info.mjs), or "unknown". */
  revision: string;
  /** The Node.js version running it, e.g. v24.11.1. */
  node: string;
}

/**
 * Written beside the compiled code at build time: an installed package or an image has no git
 * checkout to ask. Absent when running from source.
 */
const STAMP = new URL('../build-info.json', import.meta.url);

let cached: BuildInfo | undefined;

export function buildInfo(): BuildInfo {
  if (cached) return cached;
  // src/observability/ and dist/observability/ are both two levels below package.json.
  const { version } = createRequire(import.meta.url)('../../package.json') as { version: string };
  let revision = 'unknown';
  try {
    const stamp = JSON.parse(readFileSync(STAMP, 'utf8')) as { revision?: unknown };
    if (typeof stamp.revision === 'string' && stamp.revision !== '') revision = stamp.revision;
  } catch {
    // not built (running from source): the revision stays unknown
  }
  cached = { version, revision, node: process.version };
  return cached;
}

/** One line for `pairguard --version`. */
export function versionLine(b: BuildInfo = buildInfo()): string {
  return `pairguard ${b.version} (revision ${b.revision}, node ${b.node})`;
}
