/** Step 3 of a chunk: its lanes run, each in record order, many at once. */
import pLimit from 'p-limit';

/** Lanes of one chunk judged at once: enough for the Redis client to send many lanes' commands in one write. */
export const LANES_IN_FLIGHT = 64;

/**
 * Judges each lane's records in order, lanes concurrently, at most `limit` at once. Returns each
 * record's result by index, or null when `stopped()` said so before some record (the chunk is
 * abandoned). A failing record stops every other lane before its next record, and the failure is
 * thrown only once every lane has stopped: a retried batch never races its own lanes.
 */
export async function runLanes<R>(
  lanes: Iterable<readonly number[]>,
  judge: (index: number) => Promise<R>,
  stopped: () => boolean,
  limit = LANES_IN_FLIGHT,
): Promise<Map<number, R> | null> {
  // The limit is per chunk, never shared between batches: a lane of messages waiting at its
  // barrier must not hold a slot that the approvals it waits for need.
  const inFlight = pLimit(limit);
  const results = new Map<number, R>();
  let abandoned = false;
  const settled = await Promise.allSettled(
    [...lanes].map((queue) =>
      inFlight(async () => {
        for (const index of queue) {
          if (abandoned || stopped()) {
            abandoned = true;
            return;
          }
          try {
            results.set(index, await judge(index));
          } catch (err) {
            abandoned = true;
            throw err;
          }
        }
      }),
    ),
  );
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) throw failed.reason;
  return abandoned ? null : results;
}
