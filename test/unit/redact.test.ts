import { describe, expect, it } from 'vitest';
import { withoutText } from '../../src/events/redact.js';

describe('removing text from a value', () => {
  it('removes the top-level text, keeps the rest, and says when there was none or the value is not an object', () => {
    expect(withoutText(Buffer.from('{"type":"message.sent","text":"SECRET","extra":1}'))!.toString()).toBe(
      '{"type":"message.sent","extra":1}',
    );
    expect(withoutText(Buffer.from('{"type":"member.added"}'))).toBe('no-text');
    for (const raw of ['"SECRET"', '["SECRET"]', '{"text":"SECRET', '\u00ff'])
      expect(withoutText(Buffer.from(raw))).toBe('unparseable');
    expect(withoutText(Buffer.from([0x7b, 0xff, 0x7d]))).toBe('unparseable');
  });

  it('never throws on a depth bomb that JSON.stringify cannot write: that field is left out too', () => {
    const depth = 100_000;
    const bomb = Buffer.from(
      `{"type":"message.sent","chatId":"c","text":"SECRET","x":${'['.repeat(depth)}${']'.repeat(depth)}}`,
    );
    const out = withoutText(bomb);
    expect(Buffer.isBuffer(out)).toBe(true);
    expect(JSON.parse(out.toString())).toEqual({ type: 'message.sent', chatId: 'c' });
  });
});
