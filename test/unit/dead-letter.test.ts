import { describe, expect, it } from 'vitest';
import { deadLetterOf } from '../../src/stream/dead-letter.js';

const src = (value: Buffer | null) => ({ topic: 't', partition: 2, offset: '41', key: Buffer.from('chat-1'), value });

describe('dead-letter records', () => {
  it('carry the reason, where the record was, its key and the original bytes', () => {
    const value = Buffer.from([0x7b, 0xff]);
    expect(deadLetterOf(src(value), 'invalid-utf8: x', false)).toEqual({
      error: 'invalid-utf8: x', topic: 't', partition: 2, offset: 41, key: 'chat-1', value: value.toString('base64'),
    });
  });

  it('remove message text from records of the messages topic', () => {
    const dl = deadLetterOf(src(Buffer.from(JSON.stringify({ type: 'message.sent', chatId: 'c', text: 'SECRET' }))), 'invalid-fields: x', true);
    expect(dl.redacted).toEqual(['text']);
    const decoded = Buffer.from(dl.value!, 'base64').toString();
    expect(decoded).not.toContain('SECRET');
    expect(JSON.parse(decoded)).toEqual({ type: 'message.sent', chatId: 'c' });
  });

  it('withhold an unparseable messages-topic value, which could be text', () => {
    const dl = deadLetterOf(src(Buffer.from('{"text":"SECRET')), 'invalid-json: x', true);
    expect(dl).toMatchObject({ value: null, redacted: ['value'], offset: 41 });
  });

  it('keep the exact bytes of a messages-topic record without text', () => {
    const raw = Buffer.from('{ "type": "message.sent" }');
    expect(deadLetterOf(src(raw), 'e', true).value).toBe(raw.toString('base64'));
  });
});
