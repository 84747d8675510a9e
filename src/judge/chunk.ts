/**
 * Prepares a chunk of membership records for judging: their switches are written in one round
 * trip and the user facts their judging needs are read in a second (state/prepared-chunk.ts), so
 * that judging the records one by one (judgeEvent with the chunk as `view`) reads nothing more
 * unless it finds a violation.
 */
import type { MembershipEvent } from '../events/schema.js';
import type { FactsNeeded } from '../policy/chat-facts.js';
import type { Scope } from '../policy/pairing.js';
import { applyMembershipSwitch, copyChat } from '../state/membership.js';
import type { ChunkBacking } from '../state/prepared-chunk.js';
import { PreparedChunk } from '../state/prepared-chunk.js';
import type { ChatState, ChatSwitches, MembershipSwitch } from '../state/store.js';
import { factsNeeded, membershipEffect } from './judge.js';

/** What `prepareChunk` gives: pass it to judgeEvent as `hooks.view`. */
export type { PreparedChunk } from '../state/prepared-chunk.js';

/** A membership record of the chunk, in record order. */
export interface ChunkRecord {
  /** The membership event. */
  event: MembershipEvent;
  /** `occurredAt` in ms. */
  at: number;
}

/** A chat's switches in record order, each with the pairs it can change. */
type ChatPlan = Array<{ change: MembershipSwitch; scope: Scope }>;

export async function prepareChunk(store: ChunkBacking, records: readonly ChunkRecord[]): Promise<PreparedChunk> {
  const plans = new Map<string, ChatPlan>();
  for (const { event, at } of records) {
    const { chatId, userIds, joined, scope } = membershipEffect(event);
    const entry = { change: { userIds, joined, at }, scope };
    const plan = plans.get(chatId);
    if (plan) plan.push(entry);
    else plans.set(chatId, [entry]);
  }
  const chats: ChatSwitches[] = [...plans].map(([chatId, plan]) => ({ chatId, switches: plan.map((c) => c.change) }));
  return PreparedChunk.load(store, chats, (before) => chunkNeeds([...plans.values()], before));
}

/** The facts every record of the chunk is judged with: each chat's switches replayed, as judging will. */
function chunkNeeds(plans: readonly ChatPlan[], before: readonly ChatState[]): FactsNeeded {
  const needs = new Map<string, Set<string> | 'all'>();
  plans.forEach((plan, i) => {
    const chat = copyChat(before[i]!);
    for (const { change, scope } of plan) {
      applyMembershipSwitch(chat.members, change);
      for (const [userId, contacts] of factsNeeded(chat, scope, change.at, [])) {
        const had = needs.get(userId);
        if (had === 'all') continue;
        if (contacts === 'all') needs.set(userId, 'all');
        else if (had) for (const c of contacts) had.add(c);
        else needs.set(userId, new Set(contacts));
      }
    }
  });
  return new Map([...needs].map(([u, contacts]) => [u, contacts === 'all' ? 'all' : [...contacts]]));
}
