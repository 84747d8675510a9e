/**
 * Removing a child's message text from a record value before it leaves pairguard (exports). A
 * value that cannot be parsed as a JSON object could itself be the text, so callers withhold it
 * whole when it may hold text. Dead letters use a stricter allowlist (stream/dead-letter.ts).
 * Never throws: a record nobody foresaw must not stop an export halfway.
 */

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The value without its top-level `text` field; `no-text` when it had none; `unparseable` when it is not a JSON object. */
export function withoutText(value: Buffer): Buffer | 'no-text' | 'unparseable' {
  let parsed: unknown;
  try {
    parsed = JSON.parse(utf8.decode(value));
  } catch {
    return 'unparseable';
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    // A bare string or array on the messages topic could itself be the text.
    return 'unparseable';
  }
  if (!Object.hasOwn(parsed, 'text')) return 'no-text';
  const { text: _text, ...rest } = parsed as Record<string, unknown>;
  return Buffer.from(serialised(rest), 'utf8');
}

/**
 * The object as JSON. JSON.parse reads nesting that JSON.stringify cannot write back (RangeError
 * past some thousands of levels): such a field is left out, as the text is, rather than thrown on.
 */
function serialised(obj: Record<string, unknown>): string {
  try {
    return JSON.stringify(obj);
  } catch {
    const writable: Record<string, unknown> = {};
    for (const [field, v] of Object.entries(obj)) {
      try {
        JSON.stringify(v);
        writable[field] = v;
      } catch {
        // Too deep to write: left out.
      }
    }
    return JSON.stringify(writable);
  }
}
