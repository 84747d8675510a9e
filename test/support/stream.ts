/** A generated stream with known answers, and checks that a run's outputs match them exactly. */
import { expect } from 'vitest';
import type { Producer } from 'kafkajs';
import type { AlertRecord, FreezeCommand } from '../../src/actions/records.js';
import type { TestEnv } from './harness.js';
import { readTopic } from './harness.js';

type Rec = { key: string; value: string };

export interface KnownStream {
  approvals: Rec[];
  membership: Rec[];
  messages: Rec[];
  /** `chatId|a|b` of every pairing that must be alerted. */
  expected: Set<string>;
  /** Where each chat's records start in each list (one entry more than chats: the ends). */
  starts: Array<{ approvals: number; membership: number; messages: number }>;
}

/** Every fifth chat pairs two children who never approved each other; everything else is allowed. */
export function knownStream(chats: number, base: number, tag = 's'): KnownStream {
  const json = JSON.stringify;
  const at = (s: number) => new Date(base + s).toISOString();
  const out: KnownStream = { approvals: [], membership: [], messages: [], expected: new Set(), starts: [] };
  const mark = () =>
    out.starts.push({
      approvals: out.approvals.length,
      membership: out.membership.length,
      messages: out.messages.length,
    });
  for (let c = 0; c < chats; c++) {
    mark();
    const chat = `${tag}-chat-${c}`;
    const [a, b, d] = [`${tag}${c}-a`, `${tag}${c}-b`, `${tag}${c}-d`];
    for (const [x, y] of [
      [a, b],
      [a, d],
      [b, d],
    ] as const) {
      if (c % 5 === 0 && x === b && y === d) {
        out.expected.add(`${chat}|${b}|${d}`);
        continue;
      }
      out.approvals.push({
        key: x,
        value: json({
          type: 'contact.approved',
          eventId: `${tag}-ap-${c}-${x}-${y}`,
          occurredAt: at(c),
          childId: x,
          contactId: y,
        }),
      });
      out.approvals.push({
        key: y,
        value: json({
          type: 'contact.approved',
          eventId: `${tag}-ap-${c}-${y}-${x}`,
          occurredAt: at(c),
          childId: y,
          contactId: x,
        }),
      });
    }
    out.membership.push({
      key: chat,
      value: json({
        type: 'chat.created',
        eventId: `${tag}-cc-${c}`,
        occurredAt: at(c + 1),
        chatId: chat,
        createdBy: a,
        members: [a, b],
      }),
    });
    out.membership.push({
      key: chat,
      value: json({
        type: 'member.added',
        eventId: `${tag}-ma-${c}`,
        occurredAt: at(c + 2),
        chatId: chat,
        userId: d,
        addedBy: a,
      }),
    });
    out.messages.push({
      key: chat,
      value: json({
        type: 'message.sent',
        eventId: `${tag}-ms-${c}`,
        occurredAt: at(c + 3),
        chatId: chat,
        messageId: `m${c}`,
        senderId: a,
        text: 'hi',
      }),
    });
  }
  mark();
  return out;
}

/**
 * Produces chats [from, to): their approvals, then their membership, then their messages, so
 * that everything a chat's events depend on is on its topic first (contract §1). Returns how
 * many records it produced.
 */
export async function produceChats(
  producer: Producer,
  env: TestEnv,
  s: KnownStream,
  from: number,
  to: number,
): Promise<number> {
  const [a, b] = [s.starts[from]!, s.starts[to]!];
  const parts = [
    [env.config.topics.approvals, s.approvals.slice(a.approvals, b.approvals)],
    [env.config.topics.membership, s.membership.slice(a.membership, b.membership)],
    [env.config.topics.messages, s.messages.slice(a.messages, b.messages)],
  ] as const;
  for (const [topic, records] of parts) {
    for (let i = 0; i < records.length; i += 2000)
      await producer.send({ topic, messages: records.slice(i, i + 2000), acks: -1 });
  }
  return parts.reduce((n, [, records]) => n + records.length, 0);
}

/** Produces the part [from, to) of the stream, as fractions of its chats (cut between chats), in order. */
export async function produceStream(producer: Producer, env: TestEnv, s: KnownStream, from = 0, to = 1): Promise<void> {
  const chats = s.starts.length - 1;
  await produceChats(producer, env, s, Math.round(chats * from), Math.round(chats * to));
}

export interface RunFigures {
  alertRecords: number;
  duplicateAlertRecords: number;
  freezeRecords: number;
  duplicateFreezeRecords: number;
}

/**
 * Asserts every expected pairing was alerted and nothing else; copies of an alert share its id;
 * each chat got freeze commands for one alert only. Returns counts for the reliability report.
 */
export async function expectExactAnswers(env: TestEnv, s: KnownStream): Promise<RunFigures> {
  const alerts = await readTopic<AlertRecord>(env.admin, env.config.topics.alerts, env.kafka);
  const byPairing = new Map<string, Set<string>>();
  for (const a of alerts) {
    const k = `${a.value.chatId}|${a.value.pair[0]}|${a.value.pair[1]}`;
    byPairing.set(k, (byPairing.get(k) ?? new Set()).add(a.value.alertId));
  }
  expect(new Set(byPairing.keys())).toEqual(s.expected);
  for (const [k, ids] of byPairing) expect(ids.size, `distinct alertIds for ${k}`).toBe(1);

  const freezes = (await readTopic<FreezeCommand>(env.admin, env.config.topics.control, env.kafka)).filter(
    (r) => r.value.type === 'chat.freeze',
  );
  const byChat = new Map<string, Set<string>>();
  for (const f of freezes) byChat.set(f.value.chatId, (byChat.get(f.value.chatId) ?? new Set()).add(f.value.alertId));
  expect(byChat.size).toBe(s.expected.size);
  for (const [chat, ids] of byChat) expect(ids.size, `distinct freezes for ${chat}`).toBe(1);
  return {
    alertRecords: alerts.length,
    duplicateAlertRecords: alerts.length - byPairing.size,
    freezeRecords: freezes.length,
    duplicateFreezeRecords: freezes.length - byChat.size,
  };
}
