/**
 * Everything the rule needs about one chat, as read from state in one go: each member's
 * membership history, and each relevant user's role and approval histories. Judging "as of" a
 * moment turns it into the plain member list and `Facts` that `pairing.ts` takes.
 */
import type { ApprovalEdge, Facts, Scope, UnapprovedPairing } from './pairing.js';
import { sortPair, unapprovedPairings } from './pairing.js';
import type { FactHistory, Moment, RoleHistory, Stamp } from './timeline.js';
import { NEVER, UNREGISTERED, compareMoments, holdsAt, holdsBefore, roleAt, roleBefore } from './timeline.js';

/** The facts about one user that judging needs. */
export interface UserFacts {
  /** Role history. */
  role: RoleHistory;
  /** Approval histories of this user (as the child) towards contacts, by contact id. */
  approvals: ReadonlyMap<string, FactHistory>;
}

/** A chat's facts at the time they were read. */
export interface ChatFacts {
  /** Membership history of every user ever seen in the chat. */
  members: ReadonlyMap<string, FactHistory>;
  /** Role and approvals of the users involved; a user absent here is unregistered. */
  users: ReadonlyMap<string, UserFacts>;
}

/** A moment to judge at: including the switches at it, or (`before`) only those earlier. */
export interface Probe {
  at: Moment;
  before?: boolean;
}

const holdsBy = (h: FactHistory, p: Probe) => (p.before ? holdsBefore(h, p.at) : holdsAt(h, p.at));
const roleBy = (r: RoleHistory, p: Probe) => (p.before ? roleBefore(r, p.at) : roleAt(r, p.at));

export function membersAt(chat: ChatFacts, at: Moment | Probe): string[] {
  const p = probeOf(at);
  const current: string[] = [];
  for (const [userId, t] of chat.members) if (holdsBy(t, p)) current.push(userId);
  return current;
}

export function factsAt(users: ReadonlyMap<string, UserFacts>, at: Moment | Probe): Facts {
  const p = probeOf(at);
  return {
    role: (userId) => roleBy(users.get(userId)?.role ?? UNREGISTERED, p),
    approved: (childId, contactId) => holdsBy(users.get(childId)?.approvals.get(contactId) ?? NEVER, p),
  };
}

const probeOf = (m: Moment | Probe): Probe =>
  typeof m === 'object' && !Array.isArray(m) ? (m as Probe) : { at: m as Moment };

/**
 * The unapproved pairings within `scope` at moment `at`. `extraMembers` are users treated as
 * members at that moment whatever their history says (a message sender who was not a known member).
 * The rule at one moment, said plainly: the judge uses `violationsAtTwo`, which is tested to give
 * exactly this at both its moments.
 */
export function violationsAt(
  chat: ChatFacts,
  scope: Scope,
  at: Moment | Probe,
  extraMembers: readonly string[] = [],
): UnapprovedPairing[] {
  const members = membersAt(chat, at);
  for (const u of extraMembers) if (!members.includes(u)) members.push(u);
  return unapprovedPairings(members, scope, factsAt(chat.users, at));
}

/** The unapproved pairings of one judgement at two moments. */
export interface TwoMoments {
  /** As of the first probe (`extra` counted as members). */
  first: UnapprovedPairing[];
  /** As of the second probe. */
  second: UnapprovedPairing[];
}

/** What judging a user's pairs at two moments needs, looked up once. */
interface Side {
  childFirst: boolean;
  childSecond: boolean;
  approvals: ReadonlyMap<string, FactHistory> | undefined;
  /** A member at the first moment (or one of `extra`). */
  first: boolean;
  /** A member at the second moment. */
  second: boolean;
}

/**
 * `violationsAt` at two moments in one pass: each pair's approvals are looked up once for both,
 * each member's role once. Judging a large chat is pairwise, so this is where its cost goes. The
 * judge asks for "just before the event" and "as of the event" (did the event begin a violation),
 * and while a late record is judged, "as of the event" and "now".
 */
export function violationsAtTwo(
  chat: ChatFacts,
  scope: Scope,
  probes: readonly [Probe, Probe],
  extra: readonly string[] = [],
): TwoMoments {
  const [p1, p2] = probes;
  const sides = new Map<string, Side>();
  const side = (userId: string): Side => {
    let s = sides.get(userId);
    if (!s) {
      const facts = chat.users.get(userId);
      const role = facts?.role ?? UNREGISTERED;
      s = {
        childFirst: roleBy(role, p1) !== 'adult',
        childSecond: roleBy(role, p2) !== 'adult',
        approvals: facts?.approvals,
        first: false,
        second: false,
      };
      sides.set(userId, s);
    }
    return s;
  };
  chat.members.forEach((t, userId) => {
    const first = holdsBy(t, p1);
    const second = holdsBy(t, p2);
    if (!first && !second) return;
    const s = side(userId);
    s.first ||= first;
    s.second ||= second;
  });
  for (const userId of extra) side(userId).first = true;

  const out: TwoMoments = { first: [], second: [] };
  /** Judges the pair x < y at whichever moments both were members. */
  const judge = (x: string, sx: Side, y: string, sy: Side) => {
    const first = sx.first && sy.first;
    const second = sx.second && sy.second;
    if (!first && !second) return;
    const xy = sx.approvals?.get(y) ?? NEVER;
    const yx = sy.approvals?.get(x) ?? NEVER;
    if (first) {
      const missing = missingOf(x, y, sx.childFirst && !holdsBy(xy, p1), sy.childFirst && !holdsBy(yx, p1));
      if (missing) out.first.push({ pair: [x, y], missing });
    }
    if (second) {
      const missing = missingOf(x, y, sx.childSecond && !holdsBy(xy, p2), sy.childSecond && !holdsBy(yx, p2));
      if (missing) out.second.push({ pair: [x, y], missing });
    }
  };
  const ids = [...sides.keys()].sort();
  const of = ids.map((id) => sides.get(id)!);
  switch (scope.kind) {
    case 'all':
      for (let i = 0; i < ids.length; i++)
        for (let j = i + 1; j < ids.length; j++) judge(ids[i]!, of[i]!, ids[j]!, of[j]!);
      break;
    case 'user': {
      const u = sides.get(scope.userId);
      if (!u) break;
      for (let i = 0; i < ids.length; i++) {
        const m = ids[i]!;
        if (m < scope.userId) judge(m, of[i]!, scope.userId, u);
        else if (m > scope.userId) judge(scope.userId, u, m, of[i]!);
      }
      break;
    }
    case 'pair': {
      const [x, y] = sortPair(scope.a, scope.b);
      const [sx, sy] = [sides.get(x), sides.get(y)];
      if (x !== y && sx && sy) judge(x, sx, y, sy);
      break;
    }
  }
  return out;
}

/**
 * The stamp at which the pair's latest violation in the chat as of `asOf` began (the last switch
 * of any of its facts, up to `asOf`, after which the pair was in violation and before which it
 * was not), or null when it is not in violation as of `asOf`. Every switch that can begin one is
 * in the histories read.
 */
export function latestStart(chat: ChatFacts, pair: readonly [string, string], asOf: Moment = Infinity): Stamp | null {
  const [x, y] = pair;
  const fx = chat.users.get(x);
  const fy = chat.users.get(y);
  const histories: Array<readonly { stamp: Stamp }[]> = [
    chat.members.get(x) ?? NEVER,
    chat.members.get(y) ?? NEVER,
    fx?.approvals.get(y) ?? NEVER,
    fy?.approvals.get(x) ?? NEVER,
    fx?.role ?? UNREGISTERED,
    fy?.role ?? UNREGISTERED,
  ];
  const violates = (p: Probe) => {
    const members = holdsBy(histories[0] as FactHistory, p) && holdsBy(histories[1] as FactHistory, p);
    if (!members) return false;
    const xMissing = roleBy(histories[4] as RoleHistory, p) !== 'adult' && !holdsBy(histories[2] as FactHistory, p);
    const yMissing = roleBy(histories[5] as RoleHistory, p) !== 'adult' && !holdsBy(histories[3] as FactHistory, p);
    return xMissing || yMissing;
  };
  if (!violates({ at: asOf })) return null;
  const stamps = histories
    .flatMap((h) => h.map((e) => e.stamp))
    .filter((s) => compareMoments(s, asOf) <= 0)
    .sort(compareMoments);
  for (let i = stamps.length - 1; i >= 0; i--) {
    const at = stamps[i]!;
    if (violates({ at }) && !violates({ at, before: true })) return at;
  }
  return null;
}

/** The absent directions of the pair x < y, or null when both are there. */
function missingOf(x: string, y: string, xMissing: boolean, yMissing: boolean): ApprovalEdge[] | null {
  if (!xMissing && !yMissing) return null;
  const missing: ApprovalEdge[] = [];
  if (xMissing) missing.push({ childId: x, contactId: y });
  if (yMissing) missing.push({ childId: y, contactId: x });
  return missing;
}

/**
 * Which users' facts a judgement reads: by user, the contacts whose approval by that user matter,
 * or `all` of the user's approvals. A user absent here is not judged.
 */
export type FactsNeeded = ReadonlyMap<string, readonly string[] | 'all'>;

/**
 * The facts that judging `scope` among `members` needs: for a user judged against every other
 * member, all their approvals (one read, whatever the chat's size); for one judged against a
 * single member, that one approval.
 */
export function factsNeededAmong(members: ReadonlySet<string>, scope: Scope): Map<string, string[] | 'all'> {
  const need = new Map<string, string[] | 'all'>();
  switch (scope.kind) {
    case 'all':
      if (members.size > 1) for (const m of members) need.set(m, 'all');
      break;
    case 'user':
      if (members.size < 2 || !members.has(scope.userId)) break;
      for (const m of members) need.set(m, m === scope.userId ? 'all' : [scope.userId]);
      break;
    case 'pair':
      if (scope.a !== scope.b && members.has(scope.a) && members.has(scope.b)) {
        need.set(scope.a, [scope.b]);
        need.set(scope.b, [scope.a]);
      }
      break;
  }
  return need;
}
