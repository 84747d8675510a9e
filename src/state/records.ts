/** What pairguard remembers about its own decisions, per chat, in Redis. */

/** An open violation episode of one pair: at most one alert per pair per episode. */
export interface EpisodeRecord {
  /** The alert that opened the episode. */
  alertId: string;
  /** When it was detected (ms). */
  openedAt: number;
  /** `occurredAt` of the event that opened it (ms); 0 in records written before it was kept. */
  triggerAt: number;
  /** Whether the alert reached the alerts topic; false means a crash may have lost it. */
  sent: boolean;
}

/** A freeze pairguard requested; cleared by `chat.unfrozen`. */
export interface FreezeRecord {
  /** The alert that caused the freeze. */
  alertId: string;
  /** When the freeze was requested (ms). */
  requestedAt: number;
  /** `occurredAt` of the event that caused it (ms): an unfreeze older than this is stale. */
  triggerAt: number;
  /** Whether the freeze command reached the control topic. */
  sent: boolean;
}

/** A record as read, with its raw form for compare-and-set updates. */
export interface Stored<R> {
  raw: string;
  record: R;
}

export function encodeRecord(r: EpisodeRecord | FreezeRecord): string {
  return JSON.stringify(r);
}

export function decodeEpisode(raw: string): Stored<EpisodeRecord> {
  const o = JSON.parse(raw) as Partial<EpisodeRecord>;
  return {
    raw,
    record: {
      alertId: String(o.alertId ?? ''),
      openedAt: Number(o.openedAt ?? 0),
      triggerAt: Number(o.triggerAt ?? 0),
      sent: o.sent === true,
    },
  };
}

export function decodeFreeze(raw: string): Stored<FreezeRecord> {
  const o = JSON.parse(raw) as Partial<FreezeRecord>;
  return {
    raw,
    record: {
      alertId: String(o.alertId ?? ''),
      requestedAt: Number(o.requestedAt ?? 0),
      triggerAt: Number(o.triggerAt ?? 0),
      sent: o.sent === true,
    },
  };
}
