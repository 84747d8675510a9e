/**
 * Decisions as the store holds them, for the judge and the prepared chunk: one just written, and
 * the marks that say one was sent. Built here so that nothing above src/state sees a stored form.
 */
import { FROZEN_FIELD, encodeRecord } from './codec.js';
import type { EpisodeRecord, FreezeRecord, SentMark, Stored } from './records.js';

/** A decision as this process writes it: its record, and the form a later compare-and-set finds. */
export function written<R extends EpisodeRecord | FreezeRecord>(record: R): Stored<R> {
  return { raw: encodeRecord(record), record };
}

/** Marks an episode's alert as written: its field goes from the episode as decided to the same, sent. */
export function episodeSent(chatId: string, pairKey: string, episode: Stored<EpisodeRecord>): SentMark {
  return { chatId, field: pairKey, expected: episode.raw, next: encodeRecord({ ...episode.record, sent: true }) };
}

/** Marks a freeze command as written. */
export function freezeSent(chatId: string, freeze: Stored<FreezeRecord>): SentMark {
  return { chatId, field: FROZEN_FIELD, expected: freeze.raw, next: encodeRecord({ ...freeze.record, sent: true }) };
}

/** Whether a mark is a freeze's (which moves the frozen-chats index with it). */
export function marksFreeze(mark: SentMark): boolean {
  return mark.field === FROZEN_FIELD;
}
