/**
 * Prepares a chunk of membership records for judging: their switches are written in one round
 * trip and the user facts their judging needs are read in a second (state/prepared-chunk.ts), so
 * that judging the records one by one (judgeEvent with the chunk as `view`) reads nothing more
 * unless it finds a violation.
 */
import type { MembershipEvent } from '../events/schema.js';
import type { FactsNeeded } from '../policy/chat-facts.js';
import type { Scope } from '../policy/pairing.js';
import type { Moment } from '../policy/timeline.js';
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
  /** Its stamp (events/event-time.ts). */
  at: Moment;
}

/** A chat's switches in record order, each with the pairs it can change. */
type ChatPlan = Array<{ change: MembershipSwitch; scope: Scope }>;

export async function prepareChunk(
  store: ChunkBacking,
  records: readonly ChunkRecord[],
  opts: { written?: boolean } = {},
): Promise<PreparedChunk> {
  const plans = new Map<string, ChatPlan>();
  for (const { event, at } of records) {
    const { chatId, userIds, joined, scope } = membershipEffect(event);
    const entry = { change: { userIds, joined, at }, scope };
    const plan = plans.get(chatId);
    if (plan) plan.push(entry);
    else plans.set(chatId, [entry]);
  }
  const chats: ChatSwitches[] = [...plans].map(([chatId, plan]) => ({ chatId, switches: plan.map((c) => c.change) }));
  return PreparedChunk.load(store, chats, (before) => chunkNeeds([...plans.values()], before), opts);
}

/**
 * Writes a chunk's membership switches, without reading anything for judging: the facts a
 * consumer puts in state before it waits at the event-time frontier (stream/frontier.ts). Judging
 * then prepares the chunk with `written: true`, reading the chats and users as they are after the
 * wait (each switch is a merge, so replaying it on a chat that holds it already changes nothing).
 */
export async function writeChunkMembership(
  store: Pick<ChunkBacking, 'applyMembershipChanges'>,
  records: readonly ChunkRecord[],
): Promise<void> {
  const chats = new Map<string, MembershipSwitch[]>();
  for (const { event, at } of records) {
    const { chatId, userIds, joined } = membershipEffect(event);
    const switches = chats.get(chatId) ?? [];
    switches.push({ userIds, joined, at });
    chats.set(chatId, switches);
  }
  if (chats.size > 0)
    await store.applyMembershipChanges([...chats].map(([chatId, switches]) => ({ chatId, switches })));
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
