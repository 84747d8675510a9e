/**
 * Removing a child's message text from a record value before it leaves pairguard (dead letters,
 * exports). A value that cannot be parsed as a JSON object could itself be the text, so callers
 * withhold it whole when it may hold text.
 */

/** The value without its top-level `text` field; `no-text` when it had none; `unparseable` when it is not a JSON object. */
export function withoutText(value: Buffer): Buffer | 'no-text' | 'unparseable' {
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(value));
  } catch {
    return 'unparseable';
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    // A bare string or array on the messages topic could itself be the text.
    return 'unparseable';
  }
  if (!Object.hasOwn(parsed, 'text')) return 'no-text';
  const { text: _text, ...rest } = parsed as Record<string, unknown>;
  return Buffer.from(JSON.stringify(rest), 'utf8');
}
