import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { deadLetter } from '../../src/actions/records.js';
import { MAX_DEAD_LETTER_BYTES, MAX_ERROR_CHARS, MAX_KEY_CHARS, deadLetterOf } from '../../src/stream/dead-letter.js';

const src = (value: Buffer | null) => ({ topic: 't', partition: 2, offset: '41', key: Buffer.from('chat-1'), value });
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const carried = (value: string | undefined) => JSON.parse(Buffer.from(value!, 'base64').toString('utf8'));

describe('dead-letter records', () => {
  it('carry the reason, where the record is, its key and the size and hash of its bytes', () => {
    const value = Buffer.from([0x7b, 0xff]);
    expect(deadLetterOf(src(value), 'invalid-utf8: x')).toEqual({
      schemaVersion: 1,
      error: 'invalid-utf8: x',
      topic: 't',
      partition: 2,
      offset: 41,
      key: 'chat-1',
      valueBytes: 2,
      valueSha256: sha256(value),
    });
  });

  it('carry no value for a record without one, and describe it as no bytes', () => {
    const dl = deadLetterOf({ ...src(null), key: null }, 'empty-value: x');
    expect(dl).toMatchObject({ key: null, valueBytes: 0, valueSha256: sha256(Buffer.alloc(0)) });
    expect(dl).not.toHaveProperty('value');
  });

  it('keep only the fields the contract names of a JSON object: never text, never an unknown field', () => {
    const original = Buffer.from(
      JSON.stringify({
        type: 'message.sent',
        chatId: 'c',
        senderId: 7,
        text: 'SECRET',
        note: 'SECRET too',
        __proto__x: 1,
      }),
    );
    const dl = deadLetterOf(src(original), 'invalid-fields: x');
    expect(carried(dl.value)).toEqual({ type: 'message.sent', chatId: 'c', senderId: 7 });
    expect(dl.valueBytes).toBe(original.length);
    expect(dl.valueSha256).toBe(sha256(original));
  });

  it('leave out a named field that holds an object, whose content nobody vetted', () => {
    const dl = deadLetterOf(
      src(
        Buffer.from(
          '{"type":"chat.created","chatId":{"text":"SECRET"},"members":["a",{"text":"SECRET"}],"createdBy":"a","__proto__":{"text":"SECRET"}}',
        ),
      ),
      'invalid-fields: x',
    );
    expect(carried(dl.value)).toEqual({ type: 'chat.created', createdBy: 'a' });
  });

  it('keep the named fields of any topic, members lists and the reviewer fields included', () => {
    const dl = deadLetterOf(
      src(
        Buffer.from(
          '{"type":"chat.unfrozen","chatId":"c","by":"rev","members":["a","b"],"occurredAt":"2026-13-45T99:00Z"}',
        ),
      ),
      'invalid-fields: x',
    );
    expect(carried(dl.value)).toEqual({
      type: 'chat.unfrozen',
      chatId: 'c',
      by: 'rev',
      members: ['a', 'b'],
      occurredAt: '2026-13-45T99:00Z',
    });
  });

  it('carry a named field only with a value of its shape, so no words travel under a field name', () => {
    const words = 'meet me at the park after school';
    const value = {
      type: words,
      role: words,
      occurredAt: `tomorrow, ${words}`,
      chatId: 'c'.repeat(257),
      createdBy: words, // short enough for an id, but ids are tokens without spaces
      senderId: 'a\u0000b',
      members: ['a', words.repeat(10)],
      eventId: 'e-1',
      userId: 12,
      messageId: false,
      childId: null,
    };
    const dl = deadLetterOf(src(Buffer.from(JSON.stringify(value))), 'unknown-type: x');
    expect(carried(dl.value)).toEqual({ eventId: 'e-1', userId: 12, messageId: false, childId: null });
    expect(JSON.stringify(dl)).not.toContain('park');
    expect(carried(deadLetterOf(src(Buffer.from('{"type":"member.added","role":"adult"}')), 'x: y').value)).toEqual({
      type: 'member.added',
      role: 'adult',
    });
  });

  it('carry a message.sent on any topic without its text, and never any field holding it, however named', () => {
    const message = {
      type: 'message.sent',
      eventId: 'e',
      occurredAt: '2026-11-21T10:00:00Z',
      chatId: 'c',
      messageId: 'm',
      senderId: 's',
      text: 'SECRET',
      body: 'SECRET',
      content: { text: 'SECRET' },
      Text: 'SECRET',
    };
    for (const topic of ['kids.membership', 'kids.approvals', 'kids.messages', 'elsewhere']) {
      const dl = deadLetterOf({ ...src(Buffer.from(JSON.stringify(message))), topic }, 'wrong-topic: x');
      expect(carried(dl.value)).toEqual({
        type: 'message.sent',
        eventId: 'e',
        occurredAt: '2026-11-21T10:00:00Z',
        chatId: 'c',
        messageId: 'm',
        senderId: 's',
      });
      expect(JSON.stringify(dl)).not.toContain('SECRET');
    }
  });

  it('carry no value when it is not a JSON object, which could itself be the text', () => {
    for (const raw of ['{"text":"SECRET', '"SECRET"', '["SECRET"]', 'null']) {
      const dl = deadLetterOf(src(Buffer.from(raw)), 'invalid-json: x');
      expect(dl).not.toHaveProperty('value');
      expect(JSON.stringify(dl)).not.toContain('SECRET');
      expect(dl.valueBytes).toBe(Buffer.byteLength(raw));
    }
  });

  it('survive a depth bomb that makes JSON.stringify throw, and say where the record is', () => {
    const depth = 100_000;
    const bomb = Buffer.from(
      `{"type":"message.sent","eventId":"e","chatId":"c","text":"SECRET","x":${'['.repeat(depth)}${']'.repeat(depth)}}`,
    );
    expect(() => JSON.stringify(JSON.parse(bomb.toString()))).toThrow(RangeError);
    const dl = deadLetterOf(src(bomb), 'invalid-fields: x');
    expect(deadLetter.parse(dl)).toEqual(dl);
    expect(carried(dl.value)).toEqual({ type: 'message.sent', eventId: 'e', chatId: 'c' });
    expect(dl.valueBytes).toBe(bomb.length);
  });

  it('stay small whatever the record: a value near the size limit, a long key, a long error', () => {
    const members = Array.from({ length: 1000 }, (_, i) => `member-${i}-${'m'.repeat(240)}`);
    const huge = Buffer.from(
      JSON.stringify({ type: 'chat.created', chatId: 'c', members: members.slice(0, 100), pad: 'p'.repeat(100_000) }),
    );
    const dl = deadLetterOf({ ...src(huge), key: Buffer.alloc(500_000, 0x01) }, `too-large: ${'d'.repeat(10_000)}`);
    expect(deadLetter.parse(dl)).toEqual(dl);
    expect(dl).not.toHaveProperty('value'); // the vetted fields are over MAX_CARRIED_VALUE_BYTES: left out whole
    expect(dl.key).toHaveLength(MAX_KEY_CHARS);
    expect(dl.error).toHaveLength(MAX_ERROR_CHARS);
    expect(Buffer.byteLength(JSON.stringify(dl))).toBeLessThanOrEqual(MAX_DEAD_LETTER_BYTES);
    expect(dl).toMatchObject({ valueBytes: huge.length, valueSha256: sha256(huge) });
    // The same record with a few members fits, and is carried.
    const small = Buffer.from(JSON.stringify({ type: 'chat.created', chatId: 'c', members: members.slice(0, 3) }));
    expect(carried(deadLetterOf(src(small), 'x: y').value)).toEqual({
      type: 'chat.created',
      chatId: 'c',
      members: members.slice(0, 3),
    });
  });

  it('spend no time on a members list too long to carry', () => {
    const members = Buffer.from(
      JSON.stringify({
        type: 'chat.created',
        chatId: 'c',
        members: Array.from({ length: 150_000 }, (_, i) => `m${i}`),
      }),
    );
    const started = performance.now();
    const dl = deadLetterOf(src(members), 'too-large: x');
    expect(carried(dl.value)).toEqual({ type: 'chat.created', chatId: 'c' });
    expect(performance.now() - started).toBeLessThan(500);
  });

  it('fall back to a minimal record, never a throw, when building one fails', () => {
    // A source whose key throws when read: the kind of surprise the fallback is for.
    const key = Buffer.from('k');
    Object.defineProperty(key, 'toString', {
      value: () => {
        throw new RangeError('trap');
      },
    });
    const value = Buffer.from('{"type":"message.sent","text":"SECRET"}');
    const dl = deadLetterOf({ ...src(value), key }, 'invalid-fields: detail');
    expect(dl).toEqual({
      schemaVersion: 1,
      error: 'invalid-fields: the dead letter could not be built in full',
      topic: 't',
      partition: 2,
      offset: 41,
      key: null,
      valueBytes: value.length,
      valueSha256: sha256(value),
    });
    expect(deadLetter.parse(dl)).toEqual(dl);
  });

  it('are not fooled by toJSON, toString or __proto__ keys in the record', () => {
    const raw =
      '{"type":"member.added","chatId":"c","toJSON":"SECRET","toString":"SECRET","__proto__":{"toJSON":"SECRET"},"constructor":{"prototype":{"text":"SECRET"}}}';
    const dl = deadLetterOf(src(Buffer.from(raw)), 'invalid-fields: x');
    expect(carried(dl.value)).toEqual({ type: 'member.added', chatId: 'c' });
    expect(JSON.stringify(dl)).not.toContain('SECRET');
    expect(({} as Record<string, unknown>).toJSON).toBeUndefined();
  });
});
