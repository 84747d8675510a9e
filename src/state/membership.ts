/** Membership switches applied in memory, as state/lua/membership.lua applies them in Redis. */
import type { Toggle } from '../policy/timeline.js';
import { NEVER, applySwitch } from '../policy/timeline.js';
import type { ChatState, MembershipSwitch } from './store.js';

/** Applies one switch to a chat's membership toggles, in place. */
export function applyMembershipSwitch(members: Map<string, Toggle>, s: MembershipSwitch): void {
  for (const u of s.userIds) members.set(u, applySwitch(members.get(u) ?? NEVER, s.joined, s.at));
}

/** A copy of a chat's state that later switches and decisions on the original do not change. */
export function copyChat(chat: ChatState): ChatState {
  return { members: new Map(chat.members), episodes: new Map(chat.episodes), frozen: chat.frozen };
}
