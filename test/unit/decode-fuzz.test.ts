/** Fuzzed input: decoding never throws, always gives a stable reason, and never echoes message text. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { DecodeFailure } from '../../src/events/decode.js';
import { decodeInput } from '../../src/events/decode.js';
import type { Stream } from '../../src/events/schema.js';

const limits = { maxValueBytes: 16 * 1024, maxMembers: 50 };
const REASONS: DecodeFailure[] = ['empty-value', 'too-large', 'invalid-utf8', 'invalid-json', 'not-an-object', 'unknown-type', 'wrong-topic', 'too-many-members', 'invalid-fields'];
const streams = fc.constantFrom<Stream>('approvals', 'membership', 'messages');
const SECRET = 'zz-secret-text-zz';

function checkDecodes(stream: Stream, value: Buffer) {
  const d = decodeInput(stream, value, limits);
  if (!d.ok) {
    expect(REASONS).toContain(d.reason);
    expect(d.detail.length).toBeLessThan(400);
  } else {
    expect(Number.isFinite(d.at)).toBe(true);
  }
  expect(JSON.stringify(d)).not.toContain(SECRET);
}

const validMessage = { type: 'message.sent', eventId: 'e1', occurredAt: '2026-11-21T10:00:00Z', chatId: 'c', messageId: 'm', senderId: 's', text: SECRET };
const validMember = { type: 'member.added', eventId: 'e2', occurredAt: '2026-11-21T10:00:00Z', chatId: 'c', userId: 'u', addedBy: 'a' };

describe('decoding fuzzed records', () => {
  it('any bytes', () => {
    fc.assert(fc.property(streams, fc.uint8Array({ maxLength: 300 }), (s, bytes) => checkDecodes(s, Buffer.from(bytes))), { numRuns: 2000 });
  });

  it('any JSON value, including objects with __proto__ and constructor keys', () => {
    const keys = fc.constantFrom('type', 'eventId', 'occurredAt', 'chatId', 'userId', 'members', 'text', '__proto__', 'constructor', 'prototype');
    const obj = fc.dictionary(keys, fc.jsonValue({ maxDepth: 2 }));
    fc.assert(fc.property(streams, fc.oneof(fc.jsonValue(), obj), (s, v) => checkDecodes(s, Buffer.from(JSON.stringify(v) ?? 'null'))), { numRuns: 2000 });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('valid events with one field removed, retyped or nulled', () => {
    const mutation = fc.record({
      base: fc.constantFrom<Record<string, unknown>>(validMessage, validMember),
      field: fc.constantFrom('type', 'eventId', 'occurredAt', 'chatId', 'userId', 'senderId', 'messageId', 'text'),
      to: fc.constantFrom<unknown>(undefined, null, 42, true, [], {}, '', 'x'.repeat(300), '\u0000'),
    });
    fc.assert(
      fc.property(mutation, ({ base, field, to }) => {
        const v = { ...base, [field]: to };
        checkDecodes(base === validMessage ? 'messages' : 'membership', Buffer.from(JSON.stringify(v)));
      }),
      { numRuns: 1000 },
    );
  });
});
