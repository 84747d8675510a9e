/** Membership switches applied in memory, as state/lua/membership.lua applies them in Redis. */
import type { FactHistory } from '../policy/timeline.js';
import { NEVER, applySwitch } from '../policy/timeline.js';
import type { ChatState, MembershipSwitch } from './store.js';

/** Applies one switch to a chat's membership histories, in place; a switch that changes nothing leaves no entry, as in Redis. */
export function applyMembershipSwitch(members: Map<string, FactHistory>, s: MembershipSwitch): void {
  for (const u of s.userIds) {
    const before = members.get(u) ?? NEVER;
    const after = applySwitch(before, s.joined, s.at);
    if (after !== before) members.set(u, after);
  }
}

/** A copy of a chat's state that later switches and decisions on the original do not change. */
export function copyChat(chat: ChatState): ChatState {
  return { members: new Map(chat.members), episodes: new Map(chat.episodes), frozen: chat.frozen };
}
