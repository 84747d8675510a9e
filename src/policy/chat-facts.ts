/**
 * Everything the rule needs about one chat, as read from state in one go: each member's
 * membership history, and each relevant user's role and approval histories. Judging "as of" a
 * moment turns it into the plain member list and `Facts` that `pairing.ts` takes.
 */
import type { Facts, Scope, UnapprovedPairing } from './pairing.js';
import { unapprovedPairings } from './pairing.js';
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

/** Which users' approvals towards which contacts must be read to judge `scope` among `members`. */
export function approvalsNeeded(members: readonly string[], scope: Scope): Map<string, string[]> {
  const need = new Map<string, string[]>();
  const unique = [...new Set(members)];
  const add = (child: string, contact: string) => {
    if (child === contact) return;
    const list = need.get(child);
    if (list) list.push(contact);
    else need.set(child, [contact]);
  };
  for (const m of unique) {
    switch (scope.kind) {
      case 'all':
        for (const o of unique) add(m, o);
        break;
      case 'user':
        if (m === scope.userId) for (const o of unique) add(m, o);
        else add(m, scope.userId);
        break;
      case 'pair':
        if (m === scope.a) add(m, scope.b);
        else if (m === scope.b) add(m, scope.a);
        break;
    }
  }
  return need;
}
