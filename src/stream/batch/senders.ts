/**
 * The fast path's reads: messages are most of the traffic, and most come from members of chats
 * that are not frozen, so every sender's state in a chunk is read in one round trip.
 */
import type { Decoded } from '../../events/decode.js';
import type { InputEvent } from '../../events/schema.js';
import type { SenderState, StateStore } from '../../state/store.js';

/** The senders' states of a chunk's messages, by the messages' indices in the batch (`from` is the chunk's first). */
export async function readSenders(
  store: StateStore,
  decoded: ReadonlyArray<Decoded<InputEvent>>,
  from: number,
): Promise<Map<number, SenderState>> {
  const wanted: Array<{ index: number; chatId: string; userId: string }> = [];
  decoded.forEach((d, i) => {
    if (d.ok && d.event.type === 'message.sent')
      wanted.push({ index: from + i, chatId: d.event.chatId, userId: d.event.senderId });
  });
  const states = await store.readSenders(wanted);
  return new Map(wanted.map((w, i) => [w.index, states[i]!]));
}
