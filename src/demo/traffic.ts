/**
 * Synthetic platform traffic for demos (the docker-compose `demo` profile): an endless series of
 * small scenes — families and friends chatting with every pairing approved, and now and then the
 * 2019 group-chat flaw, a revoked approval, or a malformed record. Pure: the producer in
 * producer.ts writes the records; a unit test judges them and counts the alerts.
 */
import type { TopicRole } from '../config.js';
import { routeOf } from '../events/routing.js';

/** One record to write: its topic role, key and value. */
export interface DemoRecord {
  /** Which input topic. */
  role: TopicRole;
  /** Kafka key. */
  key: string | null;
  /** Kafka value (JSON, or deliberately broken bytes for a malformed scene). */
  value: string;
}

/** A few records that tell one small story. */
export interface Scene {
  /** allowed: no alert; violation: exactly one unapproved pairing; malformed: one dead letter. */
  kind: 'allowed' | 'violation' | 'malformed';
  /** One line for the demo's output. */
  story: string;
  /** The records, in the order they must be written. */
  records: DemoRecord[];
}

export interface TrafficOptions {
  /** Prefix of every id, so runs never collide. */
  run: string;
  /** Every n-th scene is a violation (a flawed group chat or a revocation, alternately). */
  violationEvery: number;
  /** Every n-th scene is a malformed record (wins over violationEvery on common multiples). */
  malformedEvery: number;
  /** Wall clock (ms) for occurredAt. */
  now?: () => number;
}

export function* syntheticTraffic(opts: TrafficOptions): Generator<Scene> {
  const now = opts.now ?? Date.now;
  let n = 0;
  const id = (kind: string) => `demo-${opts.run}-${kind}${++n}`;
  const records: DemoRecord[] = [];
  const emit = (type: string, fields: Record<string, unknown>) => {
    const event = { type, eventId: id('e'), occurredAt: new Date(now()).toISOString(), ...fields };
    const route = routeOf(event)!;
    records.push({ role: route.role, key: route.key, value: JSON.stringify(event) });
  };
  const take = (): DemoRecord[] => records.splice(0, records.length);
  const child = () => {
    const u = id('kid');
    emit('user.registered', { userId: u, role: 'child' });
    return u;
  };
  const approve = (childId: string, contactId: string) =>
    emit('contact.approved', { childId, contactId, approvedBy: `${childId}-parent` });
  const befriend = (a: string, b: string) => {
    approve(a, b);
    approve(b, a);
  };
  const chat = (members: string[]) => {
    const c = id('chat');
    emit('chat.created', { chatId: c, createdBy: members[0], members });
    return c;
  };
  const say = (chatId: string, senderId: string) =>
    emit('message.sent', { chatId, messageId: id('m'), senderId, text: 'see you at the park' });
  /** The latest chat of two approved children, for a later revocation. */
  let friends: { chatId: string; a: string; b: string } | null = null;

  for (let scene = 1; ; scene++) {
    if (scene % opts.malformedEvery === 0) {
      yield {
        kind: 'malformed',
        story: 'a platform bug writes a truncated chat.created',
        records: [{ role: 'membership', key: id('chat'), value: '{"type":"chat.created","chatId":' }],
      };
    } else if (scene % opts.violationEvery === 0 && (scene / opts.violationEvery) % 2 === 1) {
      const [a, b, c] = [child(), child(), child()];
      befriend(a, b);
      befriend(a, c);
      const g = chat([a, b, c]);
      say(g, b);
      say(g, c);
      yield {
        kind: 'violation',
        story: `${a} starts a group with ${b} and ${c}, who never approved each other`,
        records: take(),
      };
    } else if (scene % opts.violationEvery === 0 && friends) {
      const { chatId, a, b } = friends;
      friends = null;
      emit('contact.revoked', { childId: a, contactId: b, revokedBy: `${a}-parent` });
      say(chatId, b);
      yield { kind: 'violation', story: `${a}'s parent revokes ${b}, who is still in ${chatId}`, records: take() };
    } else if (scene % 2 === 0) {
      const [a, b] = [child(), child()];
      befriend(a, b);
      const f = chat([a, b]);
      say(f, a);
      say(f, b);
      friends = { chatId: f, a, b };
      yield { kind: 'allowed', story: `${a} and ${b}, approved both ways, chat`, records: take() };
    } else {
      const kid = child();
      const parent = id('adult');
      emit('user.registered', { userId: parent, role: 'adult' });
      approve(kid, parent);
      const f = chat([parent, kid]);
      say(f, parent);
      say(f, kid);
      yield { kind: 'allowed', story: `${kid} chats with an approved adult`, records: take() };
    }
  }
}
