/**
 * Command-line flags validated with zod, like the environment in config.ts: a bad value ends the
 * command with one line naming the flag, e.g. `invalid --since: must be an ISO-8601 date-time (got "yesterday")`.
 */
import { z } from 'zod';
import type { Topics } from '../config.js';
import { PairguardError } from '../errors.js';

/** A bad flag: exits with status 2, like a bad setting. */
export function usageError(message: string): PairguardError {
  return new PairguardError('USAGE_INVALID', message);
}

const kebab = (key: string) => key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

/**
 * Parses commander's option values. `flagOf` names the flag of an issue's path when it is not the
 * kebab-case of its first key (nested knobs).
 */
export function parseFlags<S extends z.ZodType>(
  schema: S,
  raw: Record<string, unknown>,
  flagOf?: (path: PropertyKey[]) => string | undefined,
): z.output<S> {
  const result = schema.safeParse(raw);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const flag = flagOf?.(issue.path) ?? `--${kebab(String(issue.path[0] ?? 'option'))}`;
  const got = issue.path.reduce<unknown>(
    (v, k) => (v && typeof v === 'object' ? (v as Record<PropertyKey, unknown>)[k] : undefined),
    raw,
  );
  const shown =
    got === undefined || typeof got === 'object' ? '' : ` (got ${JSON.stringify(String(got)).slice(0, 80)})`;
  throw usageError(`invalid ${flag}: ${issue.message}${shown}`);
}

/** An ISO-8601 date-time, as epoch ms. */
export const timeFlag = z.iso
  .datetime({ offset: true, message: 'must be an ISO-8601 date-time such as 2026-11-21T09:00:00Z' })
  .transform((s) => Date.parse(s));

/** A number given as text. */
export const numberFlag = (check: z.ZodNumber) =>
  z
    .string()
    .trim()
    .refine((s) => s !== '' && Number.isFinite(Number(s)), 'must be a number')
    .transform(Number)
    .pipe(check);

/** Prepended to every topic name (`--topic-prefix t1.` reads and writes `t1.kids.approvals`, …). */
export const topicPrefixFlag = z
  .string()
  .regex(/^[a-zA-Z0-9._-]{0,100}$/, 'must be letters, digits, ".", "_" or "-"')
  .default('');

export function withTopicPrefix(topics: Topics, prefix: string): Topics {
  if (!prefix) return topics;
  return Object.fromEntries(Object.entries(topics).map(([role, name]) => [role, `${prefix}${name}`])) as Topics;
}
