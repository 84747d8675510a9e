import { describe, expect, it } from 'vitest';
import { decodeControl, decodeInput } from '../../src/events/decode.js';

const limits = { maxValueBytes: 4096, maxMembers: 5 };
const buf = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v));
const at = '2026-11-21T10:00:00.000Z';

describe('decoding input records', () => {
  it('accepts a valid event, ignores unknown fields and gives its moment', () => {
    const d = decodeInput(
      'membership',
      buf({ type: 'member.added', eventId: 'e1', occurredAt: at, chatId: 'c', userId: 'u', addedBy: 'a', extra: 1 }),
      limits,
    );
    expect(d).toEqual({
      ok: true,
      at: Date.parse(at),
      event: { type: 'member.added', eventId: 'e1', occurredAt: at, chatId: 'c', userId: 'u', addedBy: 'a' },
    });
  });

  it('drops message text at parse time', () => {
    const d = decodeInput(
      'messages',
      buf({
        type: 'message.sent',
        eventId: 'e',
        occurredAt: at,
        chatId: 'c',
        messageId: 'm',
        senderId: 's',
        text: 'SECRET',
      }),
      limits,
    );
    expect(d.ok).toBe(true);
    expect(JSON.stringify(d)).not.toContain('SECRET');
  });

  it.each([
    ['empty-value', null],
    ['invalid-utf8', Buffer.from([0x7b, 0xff, 0xfe, 0x7d])],
    ['invalid-json', Buffer.from('{"type": "message.sent", "text": "hello secret')],
    ['not-an-object', buf('[1,2]')],
    ['unknown-type', buf({ type: 'chat.deleted', eventId: 'e', occurredAt: at })],
    ['unknown-type', buf({ eventId: 'e' })],
    ['wrong-topic', buf({ type: 'contact.approved', eventId: 'e', occurredAt: at, childId: 'a', contactId: 'b' })],
    ['invalid-fields', buf({ type: 'member.added', eventId: 'e', occurredAt: at, chatId: 'c' })],
    ['invalid-fields', buf({ type: 'member.added', eventId: 'e', occurredAt: 'yesterday', chatId: 'c', userId: 'u' })],
    ['invalid-fields', buf({ type: 'member.added', eventId: '', occurredAt: at, chatId: 'c', userId: 'u' })],
    ['invalid-fields', buf({ type: 'member.added', eventId: 'e', occurredAt: at, chatId: 'c', userId: 42 })],
    [
      'too-many-members',
      buf({
        type: 'chat.created',
        eventId: 'e',
        occurredAt: at,
        chatId: 'c',
        createdBy: 'a',
        members: ['a', 'b', 'c', 'd', 'e', 'f'],
      }),
    ],
    ['too-large', Buffer.alloc(5000, 0x20)],
  ])('rejects %s', (reason, value) => {
    const d = decodeInput('membership', value as Buffer | null, limits);
    expect(d).toMatchObject({ ok: false, reason });
  });

  it("never quotes the input in a JSON error (it may be a child's message)", () => {
    const d = decodeInput('messages', Buffer.from('{"text": "meet me at the park'), limits);
    expect(d.ok).toBe(false);
    expect(JSON.stringify(d)).not.toContain('park');
  });

  it('rejects a wrongly typed text without echoing it', () => {
    const d = decodeInput(
      'messages',
      buf({
        type: 'message.sent',
        eventId: 'e',
        occurredAt: at,
        chatId: 'c',
        messageId: 'm',
        senderId: 's',
        text: { secret: 'x' },
      }),
      limits,
    );
    expect(d).toMatchObject({ ok: false, reason: 'invalid-fields' });
    expect(JSON.stringify(d)).not.toContain('secret');
  });

  it('is not fooled by __proto__ keys', () => {
    const d = decodeInput(
      'membership',
      Buffer.from(
        `{"type":"member.added","eventId":"e","occurredAt":"${at}","chatId":"c","userId":"u","__proto__":{"polluted":true}}`,
      ),
      limits,
    );
    expect(d.ok).toBe(true);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe('decoding control records', () => {
  it('reads chat.unfrozen and ignores everything else', () => {
    expect(decodeControl(buf({ type: 'chat.unfrozen', chatId: 'c', by: 'rev', occurredAt: at }), limits)).toMatchObject(
      { ok: true, event: { chatId: 'c' } },
    );
    expect(decodeControl(buf({ type: 'chat.freeze', chatId: 'c' }), limits)).toBeNull();
    expect(decodeControl(buf({ type: 'chat.unfrozen', by: 'rev', occurredAt: at }), limits)).toMatchObject({
      ok: false,
      reason: 'invalid-fields',
    });
  });
});

describe('decoding never throws', () => {
  it('on a type whose conversion to a string throws (found by the fuzzer)', () => {
    const value = Buffer.from('{"type":[{"toString":""}]}');
    expect(decodeInput('approvals', value, limits)).toEqual({
      ok: false,
      reason: 'unknown-type',
      detail: 'unknown event type (an array)',
    });
  });

  it('on a control record nobody foresaw: decodeControl is as total as decodeInput', () => {
    const depth = 100_000;
    const bomb = Buffer.from(
      `{"type":"chat.unfrozen","chatId":"c","by":"r","occurredAt":"${at}","x":${'['.repeat(depth)}${']'.repeat(depth)}}`,
    );
    expect(decodeControl(bomb, { ...limits, maxValueBytes: 1 << 20 })).toMatchObject({
      ok: true,
      event: { chatId: 'c' },
    });
    expect(
      decodeControl(Buffer.from('{"type":"chat.unfrozen","toString":1,"toJSON":2,"__proto__":{}}'), limits),
    ).toMatchObject({ ok: false, reason: 'invalid-fields' });
  });
});

describe('naming an unknown type in the error', () => {
  it('quotes what reads as an event type name, and only counts the characters of anything else (it may be words)', () => {
    const detail = (type: unknown) => {
      const d = decodeInput('messages', buf({ type, eventId: 'e' }), limits);
      return d.ok ? null : d.detail;
    };
    expect(detail('chat.deleted')).toBe('unknown event type "chat.deleted"');
    expect(detail('meet me at the park')).toBe('unknown event type (a string of 19 characters)');
    expect(detail('Chat.Deleted')).toBe('unknown event type (a string of 12 characters)');
    expect(detail(`a.${'b'.repeat(60)}`)).toBe('unknown event type (a string of 62 characters)');
  });
});
