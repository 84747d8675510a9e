import { describe, expect, it } from 'vitest';
import { formatDuration } from '../../src/audit/report-text.js';
import { parseLine } from '../../src/cli/replay.js';
import { exportLine } from '../../src/history/export-line.js';
import type { HistoryRole } from '../../src/history/history-record.js';
import { classify } from '../../src/history/history-record.js';

const limits = { maxValueBytes: 4096, maxMembers: 10 };
const at = '2026-11-21T10:00:00.000Z';

function record(role: HistoryRole, value: Buffer | null, key: string | null = 'k') {
  const c = classify(role, value, limits, 0);
  return {
    role,
    topic: `t.${role}`,
    partition: 0,
    offset: '7',
    key: key === null ? null : Buffer.from(key),
    value,
    at: c.at,
    timed: c.timed,
    content: c.content,
  };
}

describe('export lines', () => {
  it('writes a valid event as itself, without its text, keeping unknown fields', () => {
    const msg = {
      type: 'message.sent',
      eventId: 'e',
      occurredAt: at,
      chatId: 'c',
      messageId: 'm',
      senderId: 's',
      text: 'SECRET',
      extra: 1,
    };
    const { line, raw, redacted } = exportLine(record('messages', Buffer.from(JSON.stringify(msg))));
    expect([raw, redacted]).toEqual([false, true]);
    expect(JSON.parse(line)).toEqual({
      type: 'message.sent',
      eventId: 'e',
      occurredAt: at,
      chatId: 'c',
      messageId: 'm',
      senderId: 's',
      extra: 1,
    });
    expect(parseLine(line, 1)!.role).toBe('messages');
  });

  it('writes other records as raw lines that replay turns back into the same bytes', () => {
    const bad = Buffer.from('{not json');
    const line = exportLine(record('approvals', bad)).line;
    expect(JSON.parse(line)).toEqual({ $topic: 'approvals', $key: 'k', $value: '{not json' });
    expect(parseLine(line, 1)).toEqual({ role: 'approvals', message: { key: 'k', value: bad } });

    const bytes = Buffer.from([0x7b, 0xff]);
    const b64 = exportLine(record('membership', bytes, null)).line;
    expect(JSON.parse(b64)).toEqual({ $topic: 'membership', $valueBase64: bytes.toString('base64') });
    expect(parseLine(b64, 1)!.message.value).toEqual(bytes);

    const freeze = JSON.stringify({
      type: 'chat.freeze',
      chatId: 'c',
      alertId: 'a',
      reason: 'unapproved-pairing',
      requestedAt: at,
    });
    expect(JSON.parse(exportLine(record('control', Buffer.from(freeze))).line)).toEqual({
      $topic: 'control',
      $key: 'k',
      $value: freeze,
    });
    expect(JSON.parse(exportLine(record('membership', null)).line)).toEqual({ $topic: 'membership', $key: 'k' });
  });

  it('never writes text: stripped from a malformed object, withheld when a messages record does not parse', () => {
    const malformed = exportLine(
      record('messages', Buffer.from(JSON.stringify({ type: 'message.sent', occurredAt: 'never', text: 'SECRET' }))),
    );
    expect(malformed).toMatchObject({ raw: true, redacted: true });
    expect(JSON.parse(malformed.line)).toEqual({
      $topic: 'messages',
      $key: 'k',
      $value: '{"type":"message.sent","occurredAt":"never"}',
    });
    const unparseable = exportLine(record('messages', Buffer.from('"SECRET"')));
    expect(JSON.parse(unparseable.line)).toEqual({ $topic: 'messages', $key: 'k', $redacted: ['value'] });
    expect(unparseable.line + malformed.line).not.toContain('SECRET');
  });
});

describe('durations in the audit table', () => {
  it.each([
    [0, '0ms'],
    [999, '999ms'],
    [2_000, '2s'],
    [61_000, '1m 1s'],
    [3_600_000, '1h'],
    [90_061_000, '1d 1h'],
  ])('%i ms is %s', (ms, text) => expect(formatDuration(ms)).toBe(text));
});
