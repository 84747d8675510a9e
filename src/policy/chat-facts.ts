/**
 * Everything the rule needs about one chat, as read from state in one go: each member's
 * membership history, and each relevant user's role and approval histories. Judging "as of" a
 * moment turns it into the plain member list and `Facts` that `pairing.ts` takes.
 */
import type { ApprovalEdge, Facts, Scope, UnapprovedPairing } from './pairing.js';
import { sortPair, unapprovedPairings } from './pairing.js';
import type { Millis, RoleHistory, Toggle } from './timeline.js';
import { NEVER, UNREGISTERED, holdsAt, roleAt } from './timeline.js';

/** The facts about one user that judging needs. */
export interface UserFacts {
  /** Role with one step of history. */
  role: RoleHistory;
  /** Approval histories of this user (as the child) towards contacts, by contact id. */
  approvals: ReadonlyMap<string, Toggle>;
}

/** A chat's facts at the time they were read. */
export interface ChatFacts {
  /** Membership history of every user ever seen in the chat. */
  members: ReadonlyMap<string, Toggle>;
  /** Role and approvals of the users involved; a user absent here is unregistered. */
  users: ReadonlyMap<string, UserFacts>;
}

export function membersAt(chat: ChatFacts, at: Millis): string[] {
  const current: string[] = [];
  for (const [userId, t] of chat.members) if (holdsAt(t, at)) current.push(userId);
  return current;
}

export function factsAt(users: ReadonlyMap<string, UserFacts>, at: Millis): Facts {
  return {
    role: (userId) => roleAt(users.get(userId)?.role ?? UNREGISTERED, at),
    approved: (childId, contactId) => holdsAt(users.get(childId)?.approvals.get(contactId) ?? NEVER, at),
  };
}

/**
 * The unapproved pairings within `scope` at moment `at`. `extraMembers` are users treated as
 * members at that moment whatever their history says (a message sender who was not a known member).
 * The rule at one moment, said plainly: the judge uses `violationsThenAndNow`, which is tested to
 * give exactly this at both its moments.
 */
export function violationsAt(
  chat: ChatFacts,
  scope: Scope,
  at: Millis,
  extraMembers: readonly string[] = [],
): UnapprovedPairing[] {
  const members = membersAt(chat, at);
  for (const u of extraMembers) if (!members.includes(u)) members.push(u);
  return unapprovedPairings(members, scope, factsAt(chat.users, at));
}

/** The unapproved pairings of one judgement: as of the event, and as of now. */
export interface ThenAndNow {
  /** As `violationsAt(chat, scope, at, extra)` gives them. */
  atEvent: UnapprovedPairing[];
  /** As `violationsAt(chat, scope, Infinity)` gives them. */
  current: UnapprovedPairing[];
}

/** What judging a user's pairs at two moments needs, looked up once. */
interface Side {
  childThen: boolean;
  childNow: boolean;
  approvals: ReadonlyMap<string, Toggle> | undefined;
  /** A member as of the event (or one of `extra`). */
  then: boolean;
  /** A member now. */
  now: boolean;
}

/**
 * `violationsAt` as of the event and as of now, in one pass: each pair's approvals are looked up
 * once for both moments, each member's role once. Judging a large chat is pairwise, so this is
 * where its cost goes.
 */
export function violationsThenAndNow(
  chat: ChatFacts,
  scope: Scope,
  at: Millis,
  extra: readonly string[] = [],
): ThenAndNow {
  const sides = new Map<string, Side>();
  const side = (userId: string): Side => {
    let s = sides.get(userId);
    if (!s) {
      const facts = chat.users.get(userId);
      const role = facts?.role ?? UNREGISTERED;
      s = {
        childThen: roleAt(role, at) !== 'adult',
        childNow: roleAt(role, Infinity) !== 'adult',
        approvals: facts?.approvals,
        then: false,
        now: false,
      };
      sides.set(userId, s);
    }
    return s;
  };
  chat.members.forEach((t, userId) => {
    const then = holdsAt(t, at);
    const now = holdsAt(t, Infinity);
    if (!then && !now) return;
    const s = side(userId);
    s.then ||= then;
    s.now ||= now;
  });
  for (const userId of extra) side(userId).then = true;

  const out: ThenAndNow = { atEvent: [], current: [] };
  /** Judges the pair x < y at whichever moments both were members. */
  const judge = (x: string, sx: Side, y: string, sy: Side) => {
    const then = sx.then && sy.then;
    const now = sx.now && sy.now;
    if (!then && !now) return;
    const xy = sx.approvals?.get(y) ?? NEVER;
    const yx = sy.approvals?.get(x) ?? NEVER;
    if (then) {
      const missing = missingOf(x, y, sx.childThen && !holdsAt(xy, at), sy.childThen && !holdsAt(yx, at));
      if (missing) out.atEvent.push({ pair: [x, y], missing });
    }
    if (now) {
      const missing = missingOf(x, y, sx.childNow && !holdsAt(xy, Infinity), sy.childNow && !holdsAt(yx, Infinity));
      if (missing) out.current.push({ pair: [x, y], missing });
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
