/** One catalogue of pairguard's error codes; callers classify by `code`, not by class. */
export type ErrorCode =
  | 'CONFIG_INVALID'
  | 'REDIS_UNAVAILABLE'
  | 'KAFKA_UNAVAILABLE'
  | 'REPLAY_INPUT_INVALID'
  | 'USAGE_INVALID'
  | 'HISTORY_READ_STALLED'
  | 'SHUTDOWN_TIMEOUT'
  | 'STATE_LOST'
  | 'OUTPUTS_UNREADABLE'
  | 'BATCH_UNDECODABLE'
  | 'TOPIC_MISSING'
  | 'TOPIC_PRECONDITION';

export class PairguardError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    options?: { cause?: unknown; retriable?: boolean },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'PairguardError';
    this.retriable = options?.retriable ?? false;
  }
  /** Whether trying again later can succeed. */
  readonly retriable: boolean;
}

/** A bad setting: the message is one line naming the variable. */
export class ConfigError extends PairguardError {
  constructor(message: string) {
    super('CONFIG_INVALID', message);
  }
}
