/**
 * The generator's model of the platform — roles, approvals, chats — and the ground truth of the
 * answer file. The truth is worked out by brute force, independently of policy/: after every
 * event, every pair of every chat the event touches is checked with the rule written out plainly
 * (each side is an adult or approved the other), so the audit's answers are checked against an
 * oracle that shares no code with it.
 */
import type { AnswerChat, AnswerEpisode } from './answers.js';
import type { ViolationKind } from './options.js';

/** An event as the generator writes it (contract §2), before JSON. */
export type SyntheticEvent = { type: string; eventId: string; occurredAt: string } & Record<string, unknown>;

interface Episode {
  pair: [string, string];
  start: number;
  end: number | null;
  openedBy: string;
  closedBy: string | null;
}

interface Truth {
  episodes: Episode[];
  open: Map<string, Episode>;
  causes: Set<ViolationKind>;
  lastOffending: string;
}

const key = (a: string, b: string) => (a < b ? `${a}\u0000${b}` : `${b}\u0000${a}`);

export class World {
  readonly roles = new Map<string, 'child' | 'adult'>();
  /** child → contacts approved for that child. */
  readonly approved = new Map<string, Set<string>>();
  readonly members = new Map<string, Set<string>>();
  readonly chatsOf = new Map<string, Set<string>>();
  private readonly truth = new Map<string, Truth>();
  lastAt = 0;

  /** The rule, written out: each side is an adult or has approved the other. Unknown users are children. */
  allowed(a: string, b: string): boolean {
    const ok = (x: string, y: string) => this.roles.get(x) === 'adult' || (this.approved.get(x)?.has(y) ?? false);
    return a === b || (ok(a, b) && ok(b, a));
  }

  isMember(chatId: string, userId: string): boolean {
    return this.members.get(chatId)?.has(userId) ?? false;
  }

  /** Whether the two users share a chat now. */
  together(a: string, b: string): boolean {
    const ca = this.chatsOf.get(a);
    const cb = this.chatsOf.get(b);
    if (!ca || !cb) return false;
    for (const c of ca) if (cb.has(c)) return true;
    return false;
  }

  /**
   * Applies one event and updates the truth. Returns the chats where it began an episode, so the
   * generator can check that ordinary traffic never does and injected violations always do.
   */
  apply(e: SyntheticEvent, cause?: ViolationKind): string[] {
    const at = Date.parse(e.occurredAt);
    this.lastAt = at;
    const s = (k: string) => e[k] as string;
    const touched: Array<[string, boolean]> = [];
    switch (e.type) {
      case 'user.registered':
        this.roles.set(s('userId'), e.role as 'child' | 'adult');
        for (const c of this.chatsOf.get(s('userId')) ?? []) touched.push([c, false]);
        break;
      case 'contact.approved':
      case 'contact.revoked': {
        const set = this.approved.get(s('childId')) ?? new Set<string>();
        this.approved.set(s('childId'), set);
        if (e.type === 'contact.approved') set.add(s('contactId'));
        else set.delete(s('contactId'));
        const other = this.chatsOf.get(s('contactId'));
        for (const c of this.chatsOf.get(s('childId')) ?? []) if (other?.has(c)) touched.push([c, false]);
        break;
      }
      case 'chat.created':
        for (const u of [...(e.members as string[]), s('createdBy')]) this.join(s('chatId'), u);
        touched.push([s('chatId'), true]);
        break;
      case 'member.added':
        this.join(s('chatId'), s('userId'));
        touched.push([s('chatId'), true]);
        break;
      case 'member.removed':
        this.members.get(s('chatId'))?.delete(s('userId'));
        this.chatsOf.get(s('userId'))?.delete(s('chatId'));
        touched.push([s('chatId'), true]);
        break;
      case 'message.sent':
        if (!this.isMember(s('chatId'), s('senderId'))) this.join(s('chatId'), s('senderId'));
        touched.push([s('chatId'), true]);
        break;
    }
    const began: string[] = [];
    for (const [chatId, own] of touched) if (this.recheck(chatId, at, e.eventId, own, cause)) began.push(chatId);
    return began;
  }

  private join(chatId: string, userId: string): void {
    const m = this.members.get(chatId) ?? new Set<string>();
    this.members.set(chatId, m);
    m.add(userId);
    const c = this.chatsOf.get(userId) ?? new Set<string>();
    this.chatsOf.set(userId, c);
    c.add(chatId);
  }

  /** Checks every pair of the chat; true when an episode began. */
  private recheck(chatId: string, at: number, eventId: string, own: boolean, cause?: ViolationKind): boolean {
    const members = [...(this.members.get(chatId) ?? [])];
    const bad = new Map<string, [string, string]>();
    for (let i = 0; i < members.length; i++) {
      for (let j = i + 1; j < members.length; j++) {
        const [a, b] = [members[i]!, members[j]!];
        if (!this.allowed(a, b)) bad.set(key(a, b), a < b ? [a, b] : [b, a]);
      }
    }
    let t = this.truth.get(chatId);
    if (!t && bad.size === 0) return false;
    if (t) {
      for (const [k, ep] of t.open) {
        if (!bad.has(k)) {
          ep.end = at;
          ep.closedBy = eventId;
          t.open.delete(k);
        }
      }
    }
    let began = false;
    for (const [k, pair] of bad) {
      if (t?.open.has(k)) continue;
      t ??= { episodes: [], open: new Map(), causes: new Set(), lastOffending: eventId };
      this.truth.set(chatId, t);
      const ep: Episode = { pair, start: at, end: null, openedBy: eventId, closedBy: null };
      t.episodes.push(ep);
      t.open.set(k, ep);
      began = true;
    }
    if (t && began && cause) t.causes.add(cause);
    if (t && t.open.size > 0 && (began || own)) t.lastOffending = eventId;
    return began;
  }

  /** Every chat ever in violation, sorted by chatId; open episodes run to the last event. */
  answers(): AnswerChat[] {
    const out: AnswerChat[] = [];
    for (const [chatId, t] of this.truth) {
      const pairs = new Map<string, { pair: [string, string]; episodes: AnswerEpisode[] }>();
      for (const ep of t.episodes) {
        const k = key(...ep.pair);
        const entry = pairs.get(k) ?? { pair: ep.pair, episodes: [] };
        pairs.set(k, entry);
        entry.episodes.push({
          start: new Date(ep.start).toISOString(),
          end: ep.end === null ? null : new Date(ep.end).toISOString(),
          durationMs: (ep.end ?? this.lastAt) - ep.start,
          openedBy: ep.openedBy,
          closedBy: ep.closedBy,
        });
      }
      // Time in violation, by walking the episodes' edges: no interval arithmetic shared with the audit.
      const edges: Array<[number, number]> = [];
      for (const ep of t.episodes) edges.push([ep.start, 1], [ep.end ?? this.lastAt, -1]);
      edges.sort((a, b) => a[0] - b[0] || b[1] - a[1]);
      let depth = 0;
      let since = 0;
      let violationMs = 0;
      for (const [when, d] of edges) {
        if (depth === 0 && d === 1) since = when;
        depth += d;
        if (depth === 0) violationMs += when - since;
      }
      out.push({
        chatId,
        causes: [...t.causes].sort(),
        pairs: [...pairs.values()].sort((a, b) => (key(...a.pair) < key(...b.pair) ? -1 : 1)),
        firstOffendingEventId: t.episodes[0]!.openedBy,
        lastOffendingEventId: t.lastOffending,
        violationMs,
        ongoing: t.open.size > 0,
      });
    }
    return out.sort((a, b) => (a.chatId < b.chatId ? -1 : a.chatId > b.chatId ? 1 : 0));
  }
}
