/**
 * `pairguard generate`: writes a synthetic history (JSONL, the format replay reads) and its answer
 * file. The platform itself is a library (synthetic/platform.ts) the tests and the benchmark use.
 */
import { createWriteStream, writeFileSync } from 'node:fs';
import type { Writable } from 'node:stream';
import type { SyntheticAnswers } from '../synthetic/answers.js';
import type { GeneratorInput } from '../synthetic/options.js';
import { SyntheticPlatform } from '../synthetic/platform.js';

export interface GenerateOptions {
  knobs: GeneratorInput;
  /** Events file; null writes to stdout. */
  out: string | null;
  /** Answer file; null writes none. */
  answers: string | null;
}

/** Where the answers go when only `--out` is given: `history.jsonl` → `history.answers.json`. */
export function defaultAnswersPath(out: string): string {
  return `${out.replace(/\.jsonl?$/, '')}.answers.json`;
}

export async function generateFiles(opts: GenerateOptions): Promise<SyntheticAnswers> {
  const platform = new SyntheticPlatform(opts.knobs);
  const out: Writable = opts.out ? createWriteStream(opts.out) : process.stdout;
  let buffer = '';
  for (const e of platform.events()) {
    buffer += `${JSON.stringify(e)}\n`;
    if (buffer.length >= 1 << 20) {
      if (!out.write(buffer)) await new Promise((r) => out.once('drain', r));
      buffer = '';
    }
  }
  if (opts.out)
    await new Promise<void>((resolve, reject) =>
      out.end(buffer, (err?: Error | null) => (err ? reject(err) : resolve())),
    );
  else if (!out.write(buffer)) await new Promise((r) => out.once('drain', r));
  const answers = platform.answers();
  if (opts.answers) writeFileSync(opts.answers, `${JSON.stringify(answers, null, 2)}\n`);
  return answers;
}
