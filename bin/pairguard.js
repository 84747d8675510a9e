#!/usr/bin/env node
// Runs the compiled CLI (dist/, built by `npm run build`, and by `prepack` into the package).
// Plain JavaScript any ESM-capable Node can parse, so an older Node gets this line rather than an
// error from deep inside code it cannot run.
import { existsSync } from 'node:fs';

const [major] = process.versions.node.split('.').map(Number);
if (major < 24) {
  process.stderr.write(`pairguard needs Node.js 24 or later (this is v${process.versions.node})\n`);
  process.exit(1);
}
const main = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(main)) {
  process.stderr.write('pairguard: dist/ is not built; run `npm run build` in this checkout\n');
  process.exit(1);
}
await import(main.href);
