/**
 * The history judge: input events in (in the order they happened), violation episodes out. It is
 * the audit's counterpart of judge/judge.ts with no I/O and no actions: it keeps the facts in
 * memory — roles, approvals, memberships — bounded by users, approval edges and chats, never by
 * events, and asks the same pure rule (policy/pairing.ts) which pairs are not allowed.
 *
 * Because events arrive in `occurredAt` order, "the facts as of the event" are simply the facts so
 * far; the time-aware toggles the live monitor needs for out-of-order consumption are not needed.
 *
 * Episodes, exactly: a pair's episode in a chat begins at the first event after which both are
 * members and the pair is not allowed, and ends at the first event after which it is allowed or
 * one of them is no longer a member. Events judged are those of contract §1; a `message.sent` from
 * a non-member makes the sender a member from then on, as in the monitor.
 */
import type { TriggerRef } from '../actions/records.js';
import type { InputEvent } from '../events/schema.js';
import type { ApprovalEdge, Facts, Scope } from '../policy/pairing.js';
import { pairKey, scopeCovers, unapprovedPairings } from '../policy/pairing.js';
import type { Role } from '../policy/timeline.js';
import type { AuditedChat, AuditedEpisode, AuditedPair, EventRef } from './episodes.js';

/** An event to judge, with its moment and where it was read. */
export interface JudgedEvent {
  event: InputEvent;
  /** `occurredAt` in ms. */
  at: number;
  ref: TriggerRef;
}

/** Which chats to report: those in violation at some moment of [since, until]. */
export interface AuditWindow {
  since?: number;
  until?: number;
}

interface Episode {
  pair: [string, string];
  missing: ApprovalEdge[];
  start: number;
  end: number | null;
  opened: EventRef;
  closed: EventRef | null;
}

interface ChatTrack {
  /** Every episode of the chat, in the order they began. */
  episodes: Episode[];
  /** Open episodes by pair key. */
  open: Map<string, Episode>;
  lastOffending: EventRef;
  lastOffendingAt: number;
}

const NO_MEMBERS: ReadonlySet<string> = new Set();

export class HistoryJudge {
  private readonly roles = new Map<string, Role>();
  /** child → contacts that child's guardian approved. */
  private readonly approvals = new Map<string, Set<string>>();
  private readonly members = new Map<string, Set<string>>();
  /** user → chats they are a member of now. */
  private readonly chatsOf = new Map<string, Set<string>>();
  /** Chats that were ever in violation. */
  private readonly tracks = new Map<string, ChatTrack>();
  private readonly frozen = new Map<string, number>();
  private readonly facts: Facts = {
    role: (u) => this.roles.get(u) ?? 'child',
    approved: (c, x) => this.approvals.get(c)?.has(x) ?? false,
  };

  /** Events judged. */
  events = 0;
  /** Events that came with an `occurredAt` earlier than one already judged. */
  outOfOrder = 0;
  firstAt: number | null = null;
  /** Latest `occurredAt` judged: the end of history for ongoing episodes. */
  lastAt: number | null = null;

  apply({ event: e, at, ref }: JudgedEvent): void {
    this.events++;
    this.firstAt ??= at;
    if (this.lastAt !== null && at < this.lastAt) this.outOfOrder++;
    else this.lastAt = at;
    const r: EventRef = { ...ref, occurredAt: e.occurredAt };
    switch (e.type) {
      case 'user.registered':
        this.roles.set(e.userId, e.role);
        for (const chatId of this.chatsOf.get(e.userId) ?? [])
          this.judge(chatId, { kind: 'user', userId: e.userId }, at, r, false);
        return;
      case 'contact.approved':
      case 'contact.revoked': {
        const contacts = this.approvals.get(e.childId);
        if (e.type === 'contact.approved') {
          if (contacts) contacts.add(e.contactId);
          else this.approvals.set(e.childId, new Set([e.contactId]));
        } else contacts?.delete(e.contactId);
        const other = this.chatsOf.get(e.contactId);
        if (!other) return;
        for (const chatId of this.chatsOf.get(e.childId) ?? []) {
          if (other.has(chatId)) this.judge(chatId, { kind: 'pair', a: e.childId, b: e.contactId }, at, r, false);
        }
        return;
      }
      case 'chat.created':
        for (const u of [...e.members, e.createdBy]) this.join(e.chatId, u);
        this.judge(e.chatId, { kind: 'all' }, at, r, true);
        return;
      case 'member.added':
        this.join(e.chatId, e.userId);
        this.judge(e.chatId, { kind: 'user', userId: e.userId }, at, r, true);
        return;
      case 'member.removed':
        this.members.get(e.chatId)?.delete(e.userId);
        this.chatsOf.get(e.userId)?.delete(e.chatId);
        this.judge(e.chatId, { kind: 'user', userId: e.userId }, at, r, true);
        return;
      case 'message.sent':
        if (!this.members.get(e.chatId)?.has(e.senderId)) {
          // A sender who is not a known member joins at that moment (contract §1).
          this.join(e.chatId, e.senderId);
          this.judge(e.chatId, { kind: 'user', userId: e.senderId }, at, r, true);
        } else {
          const track = this.tracks.get(e.chatId);
          if (track && track.open.size > 0) this.offending(track, at, r);
        }
        return;
    }
  }

  /** A `chat.freeze` for the chat was requested at `at`. */
  freeze(chatId: string, at: number): void {
    if (!this.frozen.has(chatId)) this.frozen.set(chatId, at);
  }

  private join(chatId: string, userId: string): void {
    const m = this.members.get(chatId);
    if (m) m.add(userId);
    else this.members.set(chatId, new Set([userId]));
    const c = this.chatsOf.get(userId);
    if (c) c.add(chatId);
    else this.chatsOf.set(userId, new Set([chatId]));
  }

  private offending(track: ChatTrack, at: number, r: EventRef): void {
    if (at >= track.lastOffendingAt) {
      track.lastOffending = r;
      track.lastOffendingAt = at;
    }
  }

  /** Judges the pairs of `scope` in a chat; `own` says the event is the chat's own (membership or message). */
  private judge(chatId: string, scope: Scope, at: number, r: EventRef, own: boolean): void {
    const found = unapprovedPairings([...(this.members.get(chatId) ?? NO_MEMBERS)], scope, this.facts);
    let track = this.tracks.get(chatId);
    if (!track && found.length === 0) return;
    const violating = new Set(found.map((p) => pairKey(p.pair)));
    if (track) {
      for (const [key, ep] of track.open) {
        if (scopeCovers(scope, ep.pair) && !violating.has(key)) {
          ep.end = at;
          ep.closed = r;
          track.open.delete(key);
        }
      }
    }
    let began = false;
    for (const p of found) {
      const key = pairKey(p.pair);
      if (track?.open.has(key)) continue;
      const ep: Episode = { pair: p.pair, missing: p.missing, start: at, end: null, opened: r, closed: null };
      if (!track) {
        track = { episodes: [], open: new Map(), lastOffending: r, lastOffendingAt: at };
        this.tracks.set(chatId, track);
      }
      track.episodes.push(ep);
      track.open.set(key, ep);
      began = true;
    }
    if (track && track.open.size > 0 && (began || own)) this.offending(track, at, r);
  }

  /** The chats in violation at some moment of the window, oldest first. Times are not clipped to the window. */
  report(window: AuditWindow = {}): AuditedChat[] {
    const end = this.lastAt ?? 0;
    const since = window.since ?? -Infinity;
    const until = window.until ?? Infinity;
    const chats: Array<AuditedChat & { startMs: number }> = [];
    for (const [chatId, track] of this.tracks) {
      const shown = track.episodes.filter((ep) => ep.start <= until && (ep.end === null || ep.end > since));
      if (shown.length === 0) continue;
      const byPair = new Map<string, AuditedPair>();
      for (const ep of shown) {
        const key = pairKey(ep.pair);
        const audited: AuditedEpisode = {
          start: new Date(ep.start).toISOString(),
          end: ep.end === null ? null : new Date(ep.end).toISOString(),
          ongoing: ep.end === null,
          durationMs: (ep.end ?? end) - ep.start,
          missing: ep.missing,
          opened: ep.opened,
          closed: ep.closed,
        };
        const p = byPair.get(key);
        if (p) p.episodes.push(audited);
        else byPair.set(key, { pair: ep.pair, episodes: [audited] });
      }
      const first = shown.reduce((a, b) => (b.start < a.start ? b : a));
      const frozenAt = this.frozen.get(chatId);
      chats.push({
        chatId,
        pairs: [...byPair.values()].sort((a, b) => (pairKey(a.pair) < pairKey(b.pair) ? -1 : 1)),
        firstOffending: first.opened,
        lastOffending: track.lastOffending,
        violationMs: unionMs(shown.map((ep) => [ep.start, ep.end ?? end])),
        ongoing: track.open.size > 0,
        frozen: frozenAt !== undefined,
        frozenAt: frozenAt === undefined ? null : new Date(frozenAt).toISOString(),
        startMs: first.start,
      });
    }
    chats.sort((a, b) => a.startMs - b.startMs || (a.chatId < b.chatId ? -1 : a.chatId > b.chatId ? 1 : 0));
    return chats.map(({ startMs: _s, ...c }) => c);
  }
}

/** Length of the union of half-open intervals. */
function unionMs(intervals: Array<[number, number]>): number {
  intervals.sort((a, b) => a[0] - b[0]);
  let total = 0;
  let from = -Infinity;
  let to = -Infinity;
  for (const [s, e] of intervals) {
    if (s > to) {
      if (to > from) total += to - from;
      from = s;
      to = e;
    } else if (e > to) to = e;
  }
  if (to > from) total += to - from;
  return total;
}
