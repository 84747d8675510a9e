/**
 * A deterministic synthetic platform: families of adults and children, approvals within families
 * and between friends (school classes and clubs), chats of realistic sizes, messages, approvals
 * and revocations over time — and, at chosen rates, injected violations of each kind:
 *
 *  - `group-flaw`: a child starts a group with two friends who never approved each other (2019);
 *  - `revocation-in-chat`: a guardian revokes a contact the child is in a live chat with;
 *  - `unknown-user`: a user nobody registered is added to a chat;
 *  - `non-member-message`: someone who is not a member, and not approved, posts in a chat.
 *
 * Ordinary traffic is checked never to begin a violation and every injection to begin one, and the
 * world model (world.ts) works out the answers by brute force. Same knobs and seed, same bytes.
 */
import type { SyntheticAnswers } from './answers.js';
import { ANSWERS_FORMAT } from './answers.js';
import type { GeneratorInput, GeneratorOptions, ViolationKind } from './options.js';
import { VIOLATION_KINDS, generatorOptionsSchema } from './options.js';
import { Random } from './random.js';
import type { SyntheticEvent } from './world.js';
import { World } from './world.js';

export type { SyntheticEvent } from './world.js';

type Body = { type: string } & Record<string, unknown>;

interface Family {
  adults: string[];
  children: string[];
}

/** A later event that ends an injected violation, computed when it is due. */
interface Fix {
  at: number;
  seq: number;
  run: () => Body[];
}

const WORDS = [
  'see',
  'you',
  'at',
  'practice',
  'did',
  'finish',
  'the',
  'homework',
  'lol',
  'my',
  'dog',
  'is',
  'so',
  'funny',
  'can',
  'we',
  'play',
  'later',
  'game',
  'tomorrow',
  'ok',
  'cool',
  'thanks',
  'bring',
  'snacks',
  'ball',
  'park',
  'after',
  'school',
  'yes',
];
const MAX_CHAT = 12;

export class SyntheticPlatform {
  readonly options: GeneratorOptions;
  private readonly rng: Random;
  private readonly world = new World();
  private readonly familyOf = new Map<string, Family>();
  private readonly families: Family[] = [];
  private readonly children: string[] = [];
  private readonly adults: string[] = [];
  /** Children each child was made friends with (may be stale after a revocation: always re-checked). */
  private readonly friends = new Map<string, string[]>();
  private readonly circles: string[][] = [];
  private readonly chats: string[] = [];
  private fixes: Fix[] = [];
  private readonly injected = Object.fromEntries(VIOLATION_KINDS.map((k) => [k, 0])) as Record<ViolationKind, number>;
  private clock: number;
  private readonly meanGap: number;
  private readonly startFamilies: number;
  private count = 0;
  private seq = 0;
  private ids = { user: 0, chat: 0, message: 0, stranger: 0 };
  private state: 'new' | 'running' | 'done' = 'new';

  constructor(input: GeneratorInput = {}) {
    this.options = generatorOptionsSchema.parse(input);
    this.rng = new Random(this.options.seed);
    this.clock = Date.parse(this.options.start) - 1;
    this.meanGap = (this.options.days * 86_400_000) / this.options.events;
    this.startFamilies = this.options.families || Math.max(4, Math.round(this.options.events / 250));
  }

  /** The events, in time order (every `occurredAt` distinct). Can be iterated once. */
  *events(): Generator<SyntheticEvent> {
    if (this.state !== 'new') throw new Error('a SyntheticPlatform generates its history once');
    this.state = 'running';
    yield* this.setup();
    const joinChance = (this.startFamilies * 0.2) / this.options.events;
    while (this.count < this.options.events) {
      const fix = this.fixes[0];
      if (fix && fix.at <= this.clock) {
        this.fixes.shift();
        yield* this.emit(fix.run());
        continue;
      }
      const kind = VIOLATION_KINDS.find((k) => this.rng.chance(this.options.rates[k] / 10_000));
      if (kind) {
        const bodies = this.inject(kind);
        if (bodies.length > 0) {
          yield* this.emit(bodies, kind);
          continue;
        }
      }
      let bodies: Body[] = [];
      if (this.rng.chance(joinChance)) bodies = this.familyJoins();
      else {
        const r = this.rng.next();
        if (this.chats.length === 0 || r < 0.05) bodies = this.createChat();
        else if (r < 0.07) bodies = this.addMember();
        else if (r < 0.085) bodies = this.removeMember();
        else if (r < 0.105) bodies = this.befriend();
        else if (r < 0.11) bodies = this.revokeQuietly();
      }
      if (bodies.length === 0) bodies = this.message();
      yield* this.emit(bodies);
    }
    this.state = 'done';
  }

  /** The answer file for the history just generated. */
  answers(): SyntheticAnswers {
    if (this.state !== 'done') throw new Error('answers() needs the whole history generated first');
    return {
      format: ANSWERS_FORMAT,
      options: this.options,
      events: this.count,
      firstEventAt: new Date(Date.parse(this.options.start)).toISOString(),
      lastEventAt: new Date(this.world.lastAt).toISOString(),
      population: {
        families: this.families.length,
        adults: this.adults.length,
        children: this.children.length,
        strangers: this.ids.stranger,
        chats: this.chats.length,
      },
      injected: { ...this.injected },
      chats: this.world.answers(),
    };
  }

  private *emit(bodies: Body[], cause?: ViolationKind): Generator<SyntheticEvent> {
    for (const [i, { type, ...fields }] of bodies.entries()) {
      if (this.count >= this.options.events) return;
      this.clock += Math.max(1, Math.round(this.rng.exp(this.meanGap)));
      const event: SyntheticEvent = {
        type,
        eventId: `s${this.options.seed}-${++this.count}`,
        occurredAt: new Date(this.clock).toISOString(),
        ...fields,
      };
      const injecting = cause !== undefined && i === 0;
      const began = this.world.apply(event, injecting ? cause : undefined);
      if (injecting && began.length === 0)
        throw new Error(`generator bug: injected ${cause} ${event.eventId} began no violation`);
      if (!injecting && began.length > 0)
        throw new Error(`generator bug: ordinary ${type} ${event.eventId} began a violation in ${began[0]}`);
      if (injecting) this.injected[cause]++;
      yield event;
    }
  }

  private schedule(run: () => Body[]): void {
    if (!this.rng.chance(this.options.resolveFraction)) return;
    const at = this.clock + this.rng.exp((this.options.days * 86_400_000) / 20);
    const fix: Fix = { at, seq: ++this.seq, run };
    const i = this.fixes.findIndex((f) => f.at > at);
    if (i === -1) this.fixes.push(fix);
    else this.fixes.splice(i, 0, fix);
  }

  // ---- population -------------------------------------------------------------------------

  private *setup(): Generator<SyntheticEvent> {
    for (let i = 0; i < this.startFamilies; i++) yield* this.emit(this.newFamily());
    // Friend circles: everyone in a school class, and some in a club, approved both ways.
    for (const [share, min, max] of [
      [1, 4, 7],
      [0.4, 3, 5],
    ] as const) {
      const pool = this.rng.shuffled(this.children).filter(() => this.rng.chance(share));
      for (let i = 0; i < pool.length;) {
        const circle = pool.slice(i, i + this.rng.between(min, max));
        i += circle.length;
        if (circle.length < 2) continue;
        this.circles.push(circle);
        const bodies: Body[] = [];
        for (const a of circle) for (const b of circle) if (a !== b) bodies.push(...this.approve(a, b));
        yield* this.emit(bodies);
      }
    }
  }

  private newFamily(): Body[] {
    const family: Family = { adults: [], children: [] };
    this.families.push(family);
    const bodies: Body[] = [];
    const nAdults = this.rng.chance(0.8) ? 2 : 1;
    const nChildren = this.rng.between(1, 3);
    for (let i = 0; i < nAdults + nChildren; i++) {
      const role = i < nAdults ? 'adult' : 'child';
      const userId = `${role === 'adult' ? 'adult' : 'kid'}-${++this.ids.user}`;
      (role === 'adult' ? family.adults : family.children).push(userId);
      (role === 'adult' ? this.adults : this.children).push(userId);
      this.familyOf.set(userId, family);
      bodies.push({ type: 'user.registered', userId, role });
    }
    for (const c of family.children) {
      for (const a of family.adults) bodies.push(...this.approve(c, a));
      for (const s of family.children) if (s !== c) bodies.push(...this.approve(c, s));
    }
    return bodies;
  }

  private familyJoins(): Body[] {
    return this.newFamily();
  }

  private guardianOf(child: string): string {
    return this.familyOf.get(child)?.adults[0] ?? child;
  }

  /** One approval direction, remembered as a friendship when both are children. */
  private approve(childId: string, contactId: string): Body[] {
    if (this.world.approved.get(childId)?.has(contactId)) return [];
    const [fc, fx] = [this.familyOf.get(childId), this.familyOf.get(contactId)];
    if (fc && fx && fc !== fx && fx.children.includes(contactId)) {
      const list = this.friends.get(childId) ?? [];
      this.friends.set(childId, list);
      if (!list.includes(contactId)) list.push(contactId);
    }
    return [{ type: 'contact.approved', childId, contactId, approvedBy: this.guardianOf(childId) }];
  }

  private friendsOf(child: string): string[] {
    return (this.friends.get(child) ?? []).filter((f) => this.world.allowed(child, f));
  }

  // ---- ordinary traffic -------------------------------------------------------------------

  private newChat(createdBy: string, members: string[]): Body[] {
    const chatId = `chat-${++this.ids.chat}`;
    this.chats.push(chatId);
    return [{ type: 'chat.created', chatId, createdBy, members }];
  }

  /** Members that can all be together: greedily, from candidates, up to `size`. */
  private compatible(candidates: readonly string[], size: number, start: string[] = []): string[] {
    const chosen = [...start];
    for (const c of candidates) {
      if (chosen.length >= size) break;
      if (!chosen.includes(c) && chosen.every((m) => this.world.allowed(m, c))) chosen.push(c);
    }
    return chosen;
  }

  private createChat(): Body[] {
    const r = this.rng.next();
    if (r < 0.55 || this.circles.length === 0) {
      const a = this.rng.pick(this.children);
      const fs = this.friendsOf(a);
      if (fs.length === 0) return [];
      return this.newChat(a, [a, this.rng.pick(fs)]);
    }
    if (r < 0.88) {
      const size = this.rng.chance(0.1) ? this.rng.between(7, 10) : this.rng.between(3, 6);
      const members = this.compatible(this.rng.shuffled(this.rng.pick(this.circles)), size);
      if (members.length < 3) return [];
      return this.newChat(members[0]!, members);
    }
    const family = this.rng.pick(this.families);
    const members = this.compatible([...family.children, ...family.adults], MAX_CHAT);
    if (members.length < 2) return [];
    return this.newChat(members[0]!, members);
  }

  private randomChat(minMembers: number, maxMembers = Infinity): string | null {
    for (let i = 0; i < 8 && this.chats.length > 0; i++) {
      const chatId = this.rng.pick(this.chats);
      const n = this.world.members.get(chatId)?.size ?? 0;
      if (n >= minMembers && n <= maxMembers) return chatId;
    }
    return null;
  }

  private membersOf(chatId: string): string[] {
    return [...(this.world.members.get(chatId) ?? [])];
  }

  private message(): Body[] {
    const chatId = this.randomChat(2) ?? this.randomChat(1);
    if (!chatId) return this.createChat();
    const senderId = this.rng.pick(this.membersOf(chatId));
    return [this.messageBody(chatId, senderId)];
  }

  private messageBody(chatId: string, senderId: string): Body {
    const body: Body = { type: 'message.sent', chatId, messageId: `m-${++this.ids.message}`, senderId };
    if (this.options.text)
      body.text = Array.from({ length: this.rng.between(2, 7) }, () => this.rng.pick(WORDS)).join(' ');
    return body;
  }

  private addMember(): Body[] {
    const chatId = this.randomChat(2, MAX_CHAT - 1);
    if (!chatId) return [];
    const members = this.membersOf(chatId);
    const pool = this.friendsOf(this.rng.pick(members)).filter((f) => !members.includes(f));
    const joiner = this.compatible(this.rng.shuffled(pool), members.length + 1, members)[members.length];
    if (!joiner) return [];
    return [{ type: 'member.added', chatId, userId: joiner, addedBy: members[0] }];
  }

  private removeMember(): Body[] {
    const chatId = this.randomChat(3);
    if (!chatId) return [];
    const userId = this.rng.pick(this.membersOf(chatId));
    return [{ type: 'member.removed', chatId, userId, removedBy: userId }];
  }

  private befriend(): Body[] {
    const a = this.rng.pick(this.children);
    const b = this.rng.pick(this.children);
    if (a === b || this.world.allowed(a, b)) return [];
    return [...this.approve(a, b), ...this.approve(b, a)];
  }

  /** A guardian revokes a friend the child shares no chat with: ordinary, no violation. */
  private revokeQuietly(): Body[] {
    const a = this.rng.pick(this.children);
    const f = this.friendsOf(a).find((x) => !this.world.together(a, x));
    if (!f) return [];
    return [{ type: 'contact.revoked', childId: a, contactId: f, revokedBy: this.guardianOf(a) }];
  }

  // ---- injected violations ----------------------------------------------------------------

  private inject(kind: ViolationKind): Body[] {
    switch (kind) {
      case 'group-flaw':
        return this.groupFlaw();
      case 'revocation-in-chat':
        return this.revocationInChat();
      case 'unknown-user':
        return this.unknownUser();
      case 'non-member-message':
        return this.nonMemberMessage();
    }
  }

  private removal(chatId: string, userId: string, removedBy: string): () => Body[] {
    return () => (this.world.isMember(chatId, userId) ? [{ type: 'member.removed', chatId, userId, removedBy }] : []);
  }

  private groupFlaw(): Body[] {
    for (let i = 0; i < 30; i++) {
      const a = this.rng.pick(this.children);
      const fs = this.friendsOf(a);
      if (fs.length < 2) continue;
      const b = this.rng.pick(fs);
      const c = fs.find((x) => x !== b && !this.world.allowed(b, x));
      if (!c) continue;
      const bodies = this.newChat(a, [a, b, c]);
      const chatId = bodies[0]!.chatId as string;
      this.schedule(
        this.rng.chance(0.5) ? () => [...this.approve(b, c), ...this.approve(c, b)] : this.removal(chatId, c, a),
      );
      return bodies;
    }
    return [];
  }

  private revocationInChat(): Body[] {
    for (let i = 0; i < 30; i++) {
      const chatId = this.randomChat(2);
      if (!chatId) return [];
      const kids = this.membersOf(chatId).filter((m) => this.world.roles.get(m) === 'child');
      const x = kids.length > 0 ? this.rng.pick(kids) : null;
      const y = kids.find(
        (k) => x !== null && k !== x && this.familyOf.get(k) !== this.familyOf.get(x) && this.world.allowed(x, k),
      );
      if (!x || !y) continue;
      this.schedule(this.rng.chance(0.5) ? () => this.approve(x, y) : this.removal(chatId, y, y));
      return [{ type: 'contact.revoked', childId: x, contactId: y, revokedBy: this.guardianOf(x) }];
    }
    return [];
  }

  private unknownUser(): Body[] {
    const chatId = this.randomChat(1);
    if (!chatId) return [];
    const userId = `stranger-${++this.ids.stranger}`;
    this.schedule(this.removal(chatId, userId, userId));
    return [{ type: 'member.added', chatId, userId, addedBy: this.rng.pick(this.membersOf(chatId)) }];
  }

  private nonMemberMessage(): Body[] {
    for (let i = 0; i < 30; i++) {
      const chatId = this.randomChat(1);
      if (!chatId) return [];
      const members = this.membersOf(chatId);
      const sender = this.rng.pick(this.rng.chance(0.5) ? this.adults : this.children);
      if (members.includes(sender) || members.every((m) => this.world.allowed(m, sender))) continue;
      this.schedule(this.removal(chatId, sender, sender));
      return [this.messageBody(chatId, sender)];
    }
    return [];
  }
}
