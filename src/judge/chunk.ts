/**
 * Prepares a chunk of membership records for judging: their switches are written in one round
 * trip and the user facts their judging needs are read in a second, so that judging the records
 * one by one (judgeEvent with the view) reads nothing more unless it finds a violation.
 */
import type { MembershipEvent } from '../events/schema.js';
import type { FactsNeeded } from '../policy/chat-facts.js';
import type { Scope } from '../policy/pairing.js';
import { ChunkView } from '../state/chunk-view.js';
import { applyMembershipSwitch, copyChat } from '../state/membership.js';
import type { MembershipSwitch, StateStore } from '../state/store.js';
import { factsNeeded, membershipEffect } from './judge.js';

/** A membership record of the chunk, in record order. */
export interface ChunkRecord {
  event: MembershipEvent;
  /** `occurredAt` in ms. */
  at: number;
}

export async function prepareChunk(store: StateStore, records: readonly ChunkRecord[]): Promise<ChunkView> {
  const chats = new Map<string, Array<{ change: MembershipSwitch; scope: Scope }>>();
  for (const { event, at } of records) {
    const { chatId, userIds, joined, scope } = membershipEffect(event);
    const entry = { change: { userIds, joined, at }, scope };
    const list = chats.get(chatId);
    if (list) list.push(entry);
    else chats.set(chatId, [entry]);
  }
  const ids = [...chats.keys()];
  const before = await store.applyMembershipChanges(
    ids.map((chatId) => ({ chatId, switches: chats.get(chatId)!.map((c) => c.change) })),
  );

  // Replays each chat's switches, as judging will, to learn which facts each record needs.
  const view = new ChunkView(store);
  const needs = new Map<string, Set<string> | 'all'>();
  ids.forEach((chatId, i) => {
    const entries = chats.get(chatId)!;
    view.addChat(
      chatId,
      before[i]!,
      entries.map((c) => c.change),
    );
    const chat = copyChat(before[i]!);
    for (const { change, scope } of entries) {
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
  const union: FactsNeeded = new Map(
    [...needs].map(([u, contacts]) => [u, contacts === 'all' ? 'all' : [...contacts]]),
  );
  view.addUsers(await store.readUsers(union), union);
  return view;
}
