/**
 * kafkajs 2.2.4 re-arms its request-queue check with `setTimeout(fn, throttledUntil - Date.now())`
 * while nothing is throttled, a negative delay. Node 24 then prints a TimeoutNegativeWarning on
 * stderr (and runs the timer after 1 ms, as older Nodes did silently), which would make a one-line
 * start-up error two. Only that warning type is dropped; every other warning is emitted as before.
 */
export function ignoreNegativeTimeoutWarnings(): void {
  const emit = process.emitWarning;
  if ((emit as { pairguardFiltered?: boolean }).pairguardFiltered) return;
  const filtered = function (this: NodeJS.Process, warning: string | Error, ...rest: unknown[]) {
    const type = typeof rest[0] === 'string' ? rest[0] : (rest[0] as { type?: string } | undefined)?.type;
    if (type === 'TimeoutNegativeWarning') return;
    (emit as (...args: unknown[]) => void).call(this, warning, ...rest);
  };
  process.emitWarning = Object.assign(filtered, { pairguardFiltered: true }) as typeof process.emitWarning;
}
