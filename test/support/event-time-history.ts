/**
 * Random small histories for the event-time property tests (test/unit/event-time-judge.property.test.ts):
 * users of random roles (some never registered, some registered again with another role),
 * approvals given, revoked and given again, chats created, members added, removed and added
 * again, messages by members and by non-members. Every event has its own millisecond (unless
 * `ties` asks for some to share one), in history order, and is placed on its topic's partition (by
 * key, or at random per record) at the next offset there, so each partition is written in time
 * order (PARTITIONING.md, "Event time assumes each partition is written in time order").
 *
 * Two oracles judge a history in event time (stamp order, which is `occurredAt` order when every
 * event has its own millisecond): the audit's HistoryJudge, and a brute force written out here that
 * shares no rule code with src/: after every event, every pair of every chat is checked with the
 * rule of contract §1.
 */
import fc from 'fast-check';
import { HistoryJudge } from '../../src/audit/history-judge.js';
import { DEFAULT_TOPICS } from '../../src/config.js';
import { eventStamp } from '../../src/events/event-time.js';
import type { InputEvent, Stream } from '../../src/events/schema.js';
import { streamOfType } from '../../src/events/schema.js';
import type { Stamp } from '../../src/policy/timeline.js';
import { compareMoments } from '../../src/policy/timeline.js';

export const T0 = Date.parse('2026-11-21T10:00:00.000Z');

/** One record of a history: its event and where it sits. */
export interface PlacedRecord {
  event: InputEvent;
  /** `occurredAt` in ms. */
  at: number;
  stream: Stream;
  topic: string;
  partition: number;
  offset: number;
  stamp: Stamp;
}

export interface History {
  /** Every record, in history (occurredAt) order. */
  records: PlacedRecord[];
  /** Partitions per input topic. */
  partitions: Record<Stream, number>;
}

/** What an alert or an episode says: chat, pair, the event it began at, and the approvals missing then. */
export interface EpisodeKey {
  chatId: string;
  pair: [string, string];
  eventId: string;
  missing: Array<{ childId: string; contactId: string }>;
}

export const episodeLine = (e: EpisodeKey): string =>
  `${e.chatId} ${e.pair.join('+')} @${e.eventId} missing ${e.missing.map((m) => `${m.childId}->${m.contactId}`).join(',')}`;

const KINDS = [
  'approve',
  'approve',
  'friends',
  'friends',
  'friends',
  'revoke',
  'revoke',
  'reg',
  'create',
  'create',
  'add',
  'add',
  'remove',
  'remove',
  'message',
  'message',
  'message',
] as const;
type Kind = (typeof KINDS)[number];

/** A history's recipe: small numbers that `buildHistory` interprets against the state so far. */
export interface HistoryPlan {
  users: number;
  chats: number;
  roles: Array<'child' | 'adult' | null>;
  /** Per pair of users (i < j, row by row), approved before anything else: 0 neither, 1 i→j, 2 j→i, else both. */
  approvals: number[];
  steps: Array<[Kind, number, number, number]>;
  partitions: Record<Stream, number>;
  /** Per user (then per chat): which partition its key goes to. */
  keyParts: number[];
  /** Records of one key spread over partitions at random (not by key). */
  spread: boolean;
  /** Per event: it happens in the same millisecond as the one before (ties broken by stamp); empty: never. */
  ties: boolean[];
}

const MAX_USERS = 8;
const MAX_CHATS = 3;
const PAIRS = (MAX_USERS * (MAX_USERS - 1)) / 2;

export function historyPlan(opts: { spread?: boolean; ties?: boolean } = {}): fc.Arbitrary<HistoryPlan> {
  return fc.record({
    users: fc.integer({ min: 4, max: MAX_USERS }),
    chats: fc.integer({ min: 1, max: MAX_CHATS }),
    roles: fc.array(fc.constantFrom<'child' | 'adult' | null>('child', 'adult', null), {
      minLength: MAX_USERS,
      maxLength: MAX_USERS,
    }),
    approvals: fc.array(fc.nat(9), { minLength: PAIRS, maxLength: PAIRS }),
    steps: fc.array(fc.tuple(fc.constantFrom(...KINDS), fc.nat(255), fc.nat(255), fc.nat(255)), {
      minLength: 15,
      maxLength: 50,
      size: 'max',
    }),
    partitions: fc.record({
      approvals: fc.integer({ min: 1, max: 3 }),
      membership: fc.integer({ min: 1, max: 3 }),
      messages: fc.integer({ min: 1, max: 3 }),
    }),
    keyParts: fc.array(fc.nat(5), { minLength: MAX_USERS + MAX_CHATS, maxLength: MAX_USERS + MAX_CHATS }),
    spread: fc.constant(opts.spread ?? false),
    ties: opts.ties ? fc.array(fc.boolean(), { minLength: 160, maxLength: 160 }) : fc.constant([]),
  });
}

/** The events of a plan, each interpreted against the platform's state so far so that histories look real. */
export function buildHistory(plan: HistoryPlan): History {
  const users = Array.from({ length: plan.users }, (_, i) => `u${i}`);
  const chats = Array.from({ length: plan.chats }, (_, i) => `g${i}`);
  const approved = new Set<string>();
  const members = new Map<string, Set<string>>();
  const ever = new Map<string, Set<string>>();
  const out: Array<{ event: InputEvent; spread: number }> = [];
  let seq = 0;
  let ms = T0;
  const stamp = () => {
    if (!plan.ties[seq++]) ms += 10;
    return { eventId: `e${seq}`, occurredAt: new Date(ms).toISOString() };
  };
  const push = (event: InputEvent, spread: number) => out.push({ event, spread });
  const approve = (a: string, b: string, z: number) =>
    push({ type: 'contact.approved', ...stamp(), childId: a, contactId: b }, z);
  const join = (chat: string, u: string) => {
    members.get(chat)!.add(u);
    ever.get(chat)!.add(u);
  };
  users.forEach((u, i) => {
    const role = plan.roles[i];
    if (role) push({ type: 'user.registered', ...stamp(), userId: u, role }, i);
  });
  // Most pairs approved both ways to begin with, so that violations are the exception.
  let pair = 0;
  for (let i = 0; i < MAX_USERS; i++)
    for (let j = i + 1; j < MAX_USERS; j++, pair++) {
      const v = plan.approvals[pair]!;
      if (j >= users.length || v === 0) continue;
      const [a, b] = [users[i]!, users[j]!];
      if (v !== 2) {
        approved.add(`${a}>${b}`);
        approve(a, b, v + pair);
      }
      if (v !== 1) {
        approved.add(`${b}>${a}`);
        approve(b, a, v + 2 * pair);
      }
    }
  const created = () => chats.filter((c) => members.has(c));
  const create = (x: number, y: number, z: number) => {
    const chat = chats.find((c) => !members.has(c));
    if (!chat) return add(x, y, z);
    const creator = users[x % users.length]!;
    const list = [creator, ...users.filter((u, i) => u !== creator && y & (1 << (i % 8)))].slice(0, 4);
    members.set(chat, new Set());
    ever.set(chat, new Set());
    for (const u of list) join(chat, u);
    push({ type: 'chat.created', ...stamp(), chatId: chat, createdBy: creator, members: list }, z);
  };
  const add = (x: number, y: number, z: number): void => {
    const open = created();
    if (open.length === 0) return create(x, y, z);
    const chat = open[x % open.length]!;
    const outside = users.filter((u) => !members.get(chat)!.has(u));
    const back = outside.filter((u) => ever.get(chat)!.has(u));
    const pool = z % 2 === 0 && back.length > 0 ? back : outside;
    if (pool.length === 0) return message(x, y, z);
    const u = pool[y % pool.length]!;
    join(chat, u);
    push({ type: 'member.added', ...stamp(), chatId: chat, userId: u }, z);
  };
  const remove = (x: number, y: number, z: number): void => {
    const open = created().filter((c) => members.get(c)!.size > 0);
    if (open.length === 0) return add(x, y, z);
    const chat = open[x % open.length]!;
    const inside = [...members.get(chat)!];
    const u = inside[y % inside.length]!;
    members.get(chat)!.delete(u);
    push({ type: 'member.removed', ...stamp(), chatId: chat, userId: u }, z);
  };
  const message = (x: number, y: number, z: number): void => {
    const open = created();
    if (open.length === 0) return create(x, y, z);
    const chat = open[x % open.length]!;
    const inside = [...members.get(chat)!];
    const outside = users.filter((u) => !members.get(chat)!.has(u));
    const pool = (z % 10 < 3 && outside.length > 0) || inside.length === 0 ? outside : inside;
    const u = pool[y % pool.length]!;
    join(chat, u);
    push({ type: 'message.sent', ...stamp(), chatId: chat, messageId: `m${seq}`, senderId: u }, z);
  };
  /** Pairs of co-members with an approval missing, as [child, contact]: what an approval can end. */
  const unapproved = () =>
    [...members.values()].flatMap((m) =>
      [...m].flatMap((x) => [...m].filter((y) => y !== x && !approved.has(`${x}>${y}`)).map((y) => [x, y] as const)),
    );
  for (const [kind, x, y, z] of plan.steps) {
    let a = users[x % users.length]!;
    let b = users[y % users.length]!;
    if (b === a) b = users[(y + 1) % users.length]!;
    const fixable = unapproved();
    if ((kind === 'approve' || kind === 'friends') && z % 2 === 0 && fixable.length > 0)
      [a, b] = fixable[x % fixable.length]!;
    switch (kind) {
      case 'reg':
        push({ type: 'user.registered', ...stamp(), userId: a, role: z % 2 ? 'adult' : 'child' }, z);
        break;
      case 'approve':
        approved.add(`${a}>${b}`);
        approve(a, b, z);
        break;
      case 'friends':
        approved.add(`${a}>${b}`).add(`${b}>${a}`);
        approve(a, b, z);
        approve(b, a, z >> 2);
        break;
      case 'revoke': {
        const given = [...approved].sort();
        if (given.length === 0) {
          approved.add(`${a}>${b}`);
          approve(a, b, z);
          break;
        }
        const edge = given[z % given.length]!;
        approved.delete(edge);
        const [childId, contactId] = edge.split('>') as [string, string];
        push({ type: 'contact.revoked', ...stamp(), childId, contactId }, z);
        break;
      }
      case 'create':
        create(x, y, z);
        break;
      case 'add':
        add(x, y, z);
        break;
      case 'remove':
        remove(x, y, z);
        break;
      case 'message':
        message(x, y, z);
        break;
    }
  }
  return place(
    out,
    plan,
    (u) => users.indexOf(u),
    (c) => MAX_USERS + chats.indexOf(c),
  );
}

/** Each event on its topic, at the next offset of its partition (by key, or at random when spread). */
function place(
  events: Array<{ event: InputEvent; spread: number }>,
  plan: HistoryPlan,
  userIndex: (u: string) => number,
  chatIndex: (c: string) => number,
): History {
  const next = new Map<string, number>();
  const records = events.map(({ event, spread }): PlacedRecord => {
    const stream = streamOfType[event.type];
    const n = plan.partitions[stream];
    const key =
      event.type === 'user.registered'
        ? userIndex(event.userId)
        : event.type === 'contact.approved' || event.type === 'contact.revoked'
          ? userIndex(event.childId)
          : chatIndex(event.chatId);
    const partition = (plan.spread ? spread : plan.keyParts[key]!) % n;
    return placed(next, event, stream, partition);
  });
  return { records, partitions: plan.partitions };
}

/** An event placed at the next offset of its partition (`next` holds each partition's next offset). */
function placed(next: Map<string, number>, event: InputEvent, stream: Stream, partition: number): PlacedRecord {
  const where = `${stream}/${partition}`;
  const offset = next.get(where) ?? 0;
  next.set(where, offset + 1);
  const at = Date.parse(event.occurredAt);
  return {
    event,
    at,
    stream,
    topic: DEFAULT_TOPICS[stream],
    partition,
    offset,
    stamp: eventStamp(event.type, at, partition, offset),
  };
}

/** A history written out by hand: each event on the partition named (`membership/0`), at the next offset there. */
export function handHistory(partitions: Record<Stream, number>, events: ReadonlyArray<[string, InputEvent]>): History {
  const next = new Map<string, number>();
  const records = events.map(([where, event]): PlacedRecord => {
    const [stream, p] = where.split('/') as [Stream, string];
    return placed(next, event, stream, Number(p));
  });
  return { records, partitions };
}

/** Records in event time: by stamp (the same as history order when every event has its own millisecond). */
export const inEventTime = (records: readonly PlacedRecord[]): PlacedRecord[] =>
  [...records].sort((x, y) => compareMoments(x.stamp, y.stamp));

/** The audit's episodes (every one, ongoing or ended) over the records in history order. */
export function auditEpisodes(records: readonly PlacedRecord[]): EpisodeKey[] {
  const judge = new HistoryJudge();
  for (const r of inEventTime(records))
    judge.apply({
      event: r.event,
      at: r.at,
      ref: { eventId: r.event.eventId, type: r.event.type, topic: r.topic, partition: r.partition, offset: r.offset },
    });
  return judge.report().flatMap((chat) =>
    chat.pairs.flatMap((p) =>
      p.episodes.map((ep) => ({
        chatId: chat.chatId,
        pair: p.pair,
        eventId: ep.opened.eventId,
        missing: ep.missing,
      })),
    ),
  );
}

/**
 * The rule by brute force, in history order: after each event, every pair of every chat; an
 * episode begins at an event after which the pair are both members and not allowed, and were not
 * just before it. A message from a non-member makes the sender a member (contract §1).
 */
export function bruteForceEpisodes(records: readonly PlacedRecord[]): EpisodeKey[] {
  const role = new Map<string, string>();
  const approved = new Set<string>();
  const members = new Map<string, Set<string>>();
  const bad = new Map<string, Set<string>>();
  const out: EpisodeKey[] = [];
  const side = (x: string, y: string) => role.get(x) === 'adult' || approved.has(`${x}>${y}`);
  const chat = (c: string) => members.get(c) ?? members.set(c, new Set()).get(c)!;
  for (const { event: e } of inEventTime(records)) {
    switch (e.type) {
      case 'user.registered':
        role.set(e.userId, e.role);
        break;
      case 'contact.approved':
        approved.add(`${e.childId}>${e.contactId}`);
        break;
      case 'contact.revoked':
        approved.delete(`${e.childId}>${e.contactId}`);
        break;
      case 'chat.created':
        for (const u of [...e.members, e.createdBy]) chat(e.chatId).add(u);
        break;
      case 'member.added':
        chat(e.chatId).add(e.userId);
        break;
      case 'member.removed':
        chat(e.chatId).delete(e.userId);
        break;
      case 'message.sent':
        chat(e.chatId).add(e.senderId);
        break;
    }
    for (const [chatId, set] of members) {
      const now = new Set<string>();
      const list = [...set].sort();
      for (let i = 0; i < list.length; i++)
        for (let j = i + 1; j < list.length; j++) {
          const [x, y] = [list[i]!, list[j]!];
          if (side(x, y) && side(y, x)) continue;
          const key = `${x} ${y}`;
          now.add(key);
          if (bad.get(chatId)?.has(key)) continue;
          const missing = [];
          if (!side(x, y)) missing.push({ childId: x, contactId: y });
          if (!side(y, x)) missing.push({ childId: y, contactId: x });
          out.push({ chatId, pair: [x, y], eventId: e.eventId, missing });
        }
      bad.set(chatId, now);
    }
  }
  return out;
}

/** A history as lines a person can read: occurredAt offset, place, event. */
export function describeHistory(h: History): string {
  return h.records
    .map((r) => {
      const { type, eventId, occurredAt: _o, ...rest } = r.event as InputEvent & Record<string, unknown>;
      const fields = Object.entries(rest)
        .map(([k, v]) => `${k}=${Array.isArray(v) ? `[${v.join(',')}]` : String(v)}`)
        .join(' ');
      return `  ${eventId.padEnd(4)} t+${r.at - T0} ${r.stream}/${r.partition}@${r.offset} ${type} ${fields}`;
    })
    .join('\n');
}
