/**
 * How far a reader is behind a topic: the records below each partition's high watermark that a
 * position (a group's committed offset, or the offset whose effects are applied in Redis) has not
 * passed. The idle check, readiness, the ordering barrier and the liveness excuse all ask this.
 */

/** A partition's watermarks, as ListOffsets gives them. */
export interface Watermarks {
  partition: number;
  high: string;
  low: string;
}

/** Records below the high watermarks not yet passed; a partition without a position counts from its low watermark. */
export function recordsBehind(watermarks: readonly Watermarks[], positions: ReadonlyMap<number, bigint>): bigint {
  let behind = 0n;
  for (const w of watermarks) {
    const at = positions.get(w.partition) ?? BigInt(w.low);
    if (at < BigInt(w.high)) behind += BigInt(w.high) - at;
  }
  return behind;
}
