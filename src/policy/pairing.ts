/**
 * The one rule pairguard enforces (contract §1), with no I/O: members, roles and approvals in,
 * unapproved pairings out.
 *
 * A pair {a, b} is allowed when (a is an adult or a has approved b) and (b is an adult or b has
 * approved a). Approvals are directed: "childId approved contactId".
 */
import type { Role } from './timeline.js';

/** One approval direction: `childId`'s guardian approved `contactId`. */
export interface ApprovalEdge {
  /** The child whose guardian must approve. */
  childId: string;
  /** The contact that needs that approval. */
  contactId: string;
}

/** What the rule needs to know about users, as of one moment. */
export interface Facts {
  /** The user's role; an unknown user must be reported as a child. */
  role(userId: string): Role;
  /** Whether `childId` has approved `contactId`. */
  approved(childId: string, contactId: string): boolean;
}

/** A pair of chat members that is not allowed. */
export interface UnapprovedPairing {
  /** The two users, sorted. */
  pair: [string, string];
  /** Every approval direction that is absent (one or two). */
  missing: ApprovalEdge[];
}

/** Which pairs of a chat an event can have changed, so only those are judged. */
export type Scope = { kind: 'all' } | { kind: 'user'; userId: string } | { kind: 'pair'; a: string; b: string };

/** The missing approval directions of one pair; empty when the pair is allowed. */
export function missingApprovals(a: string, b: string, facts: Facts): ApprovalEdge[] {
  const missing: ApprovalEdge[] = [];
  const [x, y] = a < b ? [a, b] : [b, a];
  if (facts.role(x) !== 'adult' && !facts.approved(x, y)) missing.push({ childId: x, contactId: y });
  if (facts.role(y) !== 'adult' && !facts.approved(y, x)) missing.push({ childId: y, contactId: x });
  return missing;
}

export function judgePair(a: string, b: string, facts: Facts): UnapprovedPairing | null {
  if (a === b) return null;
  const missing = missingApprovals(a, b, facts);
  if (missing.length === 0) return null;
  return { pair: sortPair(a, b), missing };
}

/** The pairs of `members` that `scope` covers, each once, sorted within the pair. */
export function pairsInScope(members: readonly string[], scope: Scope): Array<[string, string]> {
  const unique = [...new Set(members)].sort();
  const pairs: Array<[string, string]> = [];
  switch (scope.kind) {
    case 'all':
      for (let i = 0; i < unique.length; i++) {
        for (let j = i + 1; j < unique.length; j++) pairs.push([unique[i]!, unique[j]!]);
      }
      return pairs;
    case 'user':
      if (!unique.includes(scope.userId)) return pairs;
      for (const m of unique) if (m !== scope.userId) pairs.push(sortPair(scope.userId, m));
      return pairs;
    case 'pair':
      if (scope.a !== scope.b && unique.includes(scope.a) && unique.includes(scope.b)) {
        pairs.push(sortPair(scope.a, scope.b));
      }
      return pairs;
  }
}

/** The unapproved pairings among `members` within `scope`, in a stable order. */
export function unapprovedPairings(members: readonly string[], scope: Scope, facts: Facts): UnapprovedPairing[] {
  const found: UnapprovedPairing[] = [];
  for (const [a, b] of pairsInScope(members, scope)) {
    const p = judgePair(a, b, facts);
    if (p) found.push(p);
  }
  return found;
}

/** Whether `scope` covers the sorted `pair` (a judgement in that scope can open or end its violation). */
export function scopeCovers(scope: Scope, pair: readonly [string, string]): boolean {
  switch (scope.kind) {
    case 'all':
      return true;
    case 'user':
      return pair[0] === scope.userId || pair[1] === scope.userId;
    case 'pair':
      return (pair[0] === scope.a && pair[1] === scope.b) || (pair[0] === scope.b && pair[1] === scope.a);
  }
}

export function sortPair(a: string, b: string): [string, string] {
  return a < b ? [a, b] : [b, a];
}

/** A stable key for a pair, for maps and Redis hash fields (user ids never contain NUL). */
export function pairKey(pair: readonly [string, string]): string {
  return `${pair[0]}\u0000${pair[1]}`;
}

export function parsePairKey(key: string): [string, string] {
  const i = key.indexOf('\u0000');
  const j = key.indexOf('\u0000', i + 1);
  return [key.slice(0, i), j < 0 ? key.slice(i + 1) : key.slice(i + 1, j)];
}

/**
 * A stable key for one violation episode of a pair: the pair and the stamp of the moment it began
 * (an episode is the pair's stretch of violation that began then). `parsePairKey` reads its pair.
 */
export function episodeKey(pair: readonly [string, string], began: readonly number[]): string {
  return `${pairKey(pair)}\u0000${began.join(',')}`;
}
