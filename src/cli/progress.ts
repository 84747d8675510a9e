/** A progress bar on stderr when it is a terminal (cli-progress), and nothing otherwise. */
import { SingleBar } from 'cli-progress';

export interface Progress {
  start(total: number): void;
  update(done: number, payload?: Record<string, unknown>): void;
  stop(): void;
}

const NONE: Progress = { start() {}, update() {}, stop() {} };

/** `format` is a cli-progress format; `{rate}` is filled in as items per second. */
export function progressBar(enabled: boolean, format: string): Progress {
  if (!enabled) return NONE;
  const bar = new SingleBar({ format, hideCursor: true, stream: process.stderr, etaBuffer: 50 });
  let started = 0;
  let stopped = false;
  return {
    start(total) {
      started = performance.now();
      bar.start(Math.max(total, 1), 0, { rate: 0 });
    },
    update(done, payload = {}) {
      const seconds = (performance.now() - started) / 1000;
      bar.update(done, {
        rate: seconds > 0 ? Math.round(((payload.items as number | undefined) ?? done) / seconds) : 0,
        ...payload,
      });
    },
    stop() {
      if (stopped) return;
      stopped = true;
      bar.stop();
    },
  };
}
