import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { deadLetterOf } from '../../src/stream/dead-letter.js';

const src = (value: Buffer | null) => ({ topic: 't', partition: 2, offset: '41', key: Buffer.from('chat-1'), value });
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const carried = (value: string | undefined) => JSON.parse(Buffer.from(value!, 'base64').toString('utf8'));

describe('dead-letter records', () => {
  it('carry the reason, where the record is, its key and the size and hash of its bytes', () => {
    const value = Buffer.from([0x7b, 0xff]);
    expect(deadLetterOf(src(value), 'invalid-utf8: x')).toEqual({
      schemaVersion: 1, error: 'invalid-utf8: x', topic: 't', partition: 2, offset: 41, key: 'chat-1', valueBytes: 2, valueSha256: sha256(value),
    });
  });

  it('carry no value for a record without one, and describe it as no bytes', () => {
    const dl = deadLetterOf({ ...src(null), key: null }, 'empty-value: x');
    expect(dl).toMatchObject({ key: null, valueBytes: 0, valueSha256: sha256(Buffer.alloc(0)) });
    expect(dl).not.toHaveProperty('value');
  });

  it('keep only the fields the contract names of a JSON object: never text, never an unknown field', () => {
    const original = Buffer.from(JSON.stringify({ type: 'message.sent', chatId: 'c', senderId: 7, text: 'SECRET', note: 'SECRET too', __proto__x: 1 }));
    const dl = deadLetterOf(src(original), 'invalid-fields: x');
    expect(carried(dl.value)).toEqual({ type: 'message.sent', chatId: 'c', senderId: 7 });
    expect(dl.valueBytes).toBe(original.length);
    expect(dl.valueSha256).toBe(sha256(original));
  });

  it('leave out a named field that holds an object, whose content nobody vetted', () => {
    const dl = deadLetterOf(src(Buffer.from('{"type":"chat.created","chatId":{"text":"SECRET"},"members":["a",{"text":"SECRET"}],"createdBy":"a","__proto__":{"text":"SECRET"}}')), 'invalid-fields: x');
    expect(carried(dl.value)).toEqual({ type: 'chat.created', createdBy: 'a' });
  });

  it('keep the named fields of any topic, members lists and the reviewer fields included', () => {
    const dl = deadLetterOf(src(Buffer.from('{"type":"chat.unfrozen","chatId":"c","by":"rev","members":["a","b"],"occurredAt":"yesterday"}')), 'invalid-fields: x');
    expect(carried(dl.value)).toEqual({ type: 'chat.unfrozen', chatId: 'c', by: 'rev', members: ['a', 'b'], occurredAt: 'yesterday' });
  });

  it('carry no value when it is not a JSON object, which could itself be the text', () => {
    for (const raw of ['{"text":"SECRET', '"SECRET"', '["SECRET"]', 'null']) {
      const dl = deadLetterOf(src(Buffer.from(raw)), 'invalid-json: x');
      expect(dl).not.toHaveProperty('value');
      expect(JSON.stringify(dl)).not.toContain('SECRET');
      expect(dl.valueBytes).toBe(Buffer.byteLength(raw));
    }
  });
});
