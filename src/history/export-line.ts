/**
 * One history record as a line of the JSONL that `pairguard replay` reads, with message text
 * removed (contract §2: text is never exported). A valid event becomes the event itself; anything
 * else (a malformed record, a control-topic record) becomes a raw-record line
 * `{"$topic", "$key"?, "$value" | "$valueBase64"?}` that replay writes back byte for byte.
 */
import { withoutText } from '../events/redact.js';
import type { HistoryRecord } from './history-record.js';

/** The line, without its newline; `redacted` says whether text (or a whole value) was withheld. */
export function exportLine(r: HistoryRecord): { line: string; raw: boolean; redacted: boolean } {
  if (r.content.kind === 'event' && r.value) {
    const stripped = withoutText(r.value);
    // A valid event always parses; only its text can differ from the original bytes.
    return {
      line: stripped === 'no-text' || stripped === 'unparseable' ? r.value.toString('utf8') : stripped.toString('utf8'),
      raw: false,
      redacted: Buffer.isBuffer(stripped),
    };
  }
  const line: Record<string, unknown> = { $topic: r.role };
  if (r.key) line.$key = r.key.toString('utf8');
  let redacted = false;
  if (r.value && r.value.length > 0) {
    const stripped = withoutText(r.value);
    if (stripped === 'unparseable' && r.role === 'messages') {
      // Bytes on the messages topic that do not parse could be the text itself: withhold them all.
      line.$redacted = ['value'];
      redacted = true;
    } else if (Buffer.isBuffer(stripped)) {
      line.$value = stripped.toString('utf8');
      redacted = true;
    } else {
      const text = utf8(r.value);
      if (text === null) line.$valueBase64 = r.value.toString('base64');
      else line.$value = text;
    }
  } else if (r.value) line.$value = '';
  return { line: JSON.stringify(line), raw: true, redacted };
}

const decoder = new TextDecoder('utf-8', { fatal: true });

function utf8(b: Buffer): string | null {
  try {
    return decoder.decode(b);
  } catch {
    return null;
  }
}
