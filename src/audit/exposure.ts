/**
 * The audit report read as exposures, for the incident page: which children, with whom, from
 * when to when, and whether and how soon pairguard's freeze came. Pure: a report in, figures out.
 */
import type { AuditReport } from './episodes.js';

/** One unapproved pairing episode of one chat. */
export interface Exposure {
  chatId: string;
  /** The two users, sorted. */
  pair: [string, string];
  /** The children in the pair whose parent had not approved the other one. */
  children: string[];
  /** Episode start and end (epoch ms); `end` is null while ongoing. */
  start: number;
  end: number | null;
  ongoing: boolean;
  durationMs: number;
  /**
   * A freeze of the chat stopped it: one requested before it ended (or before the history did,
   * while ongoing). A freeze requested before it began counts, with 0 ms to freeze.
   */
  frozen: boolean;
  /** From the start to the freeze; null when not frozen. */
  msToFreeze: number | null;
}

/** A child whose parent never approved someone the child was in a chat with. */
export interface AffectedChild {
  childId: string;
  /** The unapproved contacts, sorted. */
  with: string[];
  /** Chats it happened in, sorted. */
  chats: string[];
  /** Longest single exposure. */
  longestMs: number;
  /** Still exposed at the end of the history. */
  ongoing: boolean;
}

export interface ExposureTotals {
  /** Chats in violation at some moment of the audited window. */
  chats: number;
  /** Of which still in violation at the end of the history. */
  ongoing: number;
  /** Of which frozen (a `chat.freeze` is on the control topic), and not. */
  frozen: number;
  notFrozen: number;
  /** Unapproved pairings (a pair in a chat) and their episodes. */
  pairs: number;
  episodes: number;
  /** Children whose parent had not approved someone they were in a chat with. */
  children: number;
  /** Sum over chats of the time each held at least one unapproved pairing. */
  exposureMs: number;
  /** The longest single episode. */
  longestMs: number;
  /** Over frozen chats, from the chat's first exposure to its freeze; null when none was frozen. */
  medianMsToFreeze: number | null;
  maxMsToFreeze: number | null;
}

export interface ExposureView {
  /** Every episode, oldest first. */
  exposures: Exposure[];
  /** By child id. */
  children: AffectedChild[];
  totals: ExposureTotals;
}

function median(sorted: number[]): number | null {
  if (sorted.length === 0) return null;
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : Math.round((sorted[mid - 1]! + sorted[mid]!) / 2);
}

function frozenState(
  start: number,
  end: number | null,
  frozenAt: number | null,
): { frozen: boolean; msToFreeze: number | null } {
  if (frozenAt === null || (end !== null && frozenAt > end)) return { frozen: false, msToFreeze: null };
  return { frozen: true, msToFreeze: Math.max(0, frozenAt - start) };
}

export function exposureView(report: AuditReport): ExposureView {
  const exposures: Exposure[] = [];
  const toFreeze: number[] = [];
  for (const chat of report.chats) {
    const frozenAt = chat.frozenAt === null ? null : Date.parse(chat.frozenAt);
    for (const p of chat.pairs) {
      for (const e of p.episodes) {
        const start = Date.parse(e.start);
        const end = e.end === null ? null : Date.parse(e.end);
        const children = [...new Set(e.missing.map((m) => m.childId))].sort();
        exposures.push({
          chatId: chat.chatId,
          pair: p.pair,
          children,
          start,
          end,
          ongoing: e.ongoing,
          durationMs: e.durationMs,
          ...frozenState(start, end, frozenAt),
        });
      }
    }
    const first = Date.parse(chat.firstOffending.occurredAt);
    if (frozenAt !== null) toFreeze.push(Math.max(0, frozenAt - first));
  }
  exposures.sort(
    (a, b) => a.start - b.start || a.chatId.localeCompare(b.chatId) || a.pair.join().localeCompare(b.pair.join()),
  );

  const byChild = new Map<string, { with: Set<string>; chats: Set<string>; longestMs: number; ongoing: boolean }>();
  for (const x of exposures) {
    for (const child of x.children) {
      const c = byChild.get(child) ?? { with: new Set(), chats: new Set(), longestMs: 0, ongoing: false };
      c.with.add(x.pair[0] === child ? x.pair[1] : x.pair[0]);
      c.chats.add(x.chatId);
      c.longestMs = Math.max(c.longestMs, x.durationMs);
      c.ongoing ||= x.ongoing;
      byChild.set(child, c);
    }
  }
  const children = [...byChild]
    .map(([childId, c]) => ({
      childId,
      with: [...c.with].sort(),
      chats: [...c.chats].sort(),
      longestMs: c.longestMs,
      ongoing: c.ongoing,
    }))
    .sort((a, b) => a.childId.localeCompare(b.childId));

  toFreeze.sort((a, b) => a - b);
  const s = report.summary;
  return {
    exposures,
    children,
    totals: {
      chats: s.chats,
      ongoing: s.ongoing,
      frozen: s.frozen,
      notFrozen: s.chats - s.frozen,
      pairs: report.chats.reduce((n, c) => n + c.pairs.length, 0),
      episodes: exposures.length,
      children: children.length,
      exposureMs: report.chats.reduce((n, c) => n + c.violationMs, 0),
      longestMs: exposures.reduce((n, x) => Math.max(n, x.durationMs), 0),
      medianMsToFreeze: median(toFreeze),
      maxMsToFreeze: toFreeze.length > 0 ? toFreeze[toFreeze.length - 1]! : null,
    },
  };
}
