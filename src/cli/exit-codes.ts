/** What `pairguard` exits with (README "Commands"), so that CI and cron jobs can gate on it. */
export const EXIT = {
  /** Done; for `audit`, no chat was in violation. */
  ok: 0,
  /** `audit`: at least one chat was in violation. Other commands: they failed (a bad input line, Kafka down…). */
  failed: 1,
  /** A bad flag or setting (one line on stderr names it). */
  usage: 2,
  /** `audit`: the topics could not be read, or the report not written; nothing was judged. */
  unreadable: 3,
} as const;
