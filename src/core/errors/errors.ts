/**
 * The project's error classes. Each has a stable `code`; delivery errors are classified by what
 * the dispatcher should do with them, so connectors map protocol failures to one of these and the
 * dispatcher never looks at HTTP status codes itself.
 * @module
 */

export abstract class AssetbridgeError extends Error {
  abstract readonly code: string;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Configuration is wrong; names the key at fault. Thrown at startup, never at runtime. */
export class ConfigError extends AssetbridgeError {
  readonly code = 'CONFIG';
  /**
   * Secrets that cannot be resolved where the command runs (a variable not set, a `NAME_FILE` it
   * cannot read), said beside `problems` but apart from them: they are not why the config is
   * refused (the commands that do not connect load without them), only needed before the service
   * starts. Said so that one run names everything to fix.
   */
  readonly unresolvedSecrets: readonly ConfigProblem[];
  constructor(
    /** `line`: where the key is written in the config file, when known. */
    readonly problems: readonly ConfigProblem[],
    options?: { cause?: unknown; unresolvedSecrets?: readonly ConfigProblem[] },
  ) {
    const secrets = options?.unresolvedSecrets ?? [];
    super(
      `Invalid configuration:\n${problems.map(problemLine).join('\n')}` +
        (secrets.length === 0 ? '' : `\n${UNRESOLVED_SECRETS_HEADING}\n${secrets.map(problemLine).join('\n')}`),
      options?.cause === undefined ? undefined : { cause: options.cause },
    );
    this.unresolvedSecrets = secrets;
  }
}

/** A config problem: the key at fault, the config-file line it is written on when known, and what is wrong. */
export interface ConfigProblem {
  readonly key: string;
  readonly message: string;
  readonly line?: number;
}

/** The heading of a refused config's {@link ConfigError.unresolvedSecrets}, after its problems. */
export const UNRESOLVED_SECRETS_HEADING = 'also needed before the service starts (not why the configuration is invalid): these secrets are not set or cannot be read where this runs:';

const problemLine = (p: ConfigProblem): string => `  - ${p.key}${p.line === undefined ? '' : ` (line ${p.line})`}: ${p.message}`;

/** A user-facing error from a command: bad arguments, missing files, options that contradict each other (exit 2). A name or id that names nothing is a {@link NotFoundError} instead. */
export class UsageError extends AssetbridgeError {
  readonly code = 'USAGE';
}

/**
 * A name or id given to a command that names nothing: an asset the registry does not hold, a
 * destination, telematics provider, zone or maintenance rule the config does not name, a review
 * entry, a work order, a delivery or quarantine entry. A failure (exit 1), not a usage error (2):
 * the command line is well-formed, and whether the name exists is a fact of the store or the config
 * that only looking it up tells (a typo, a pruned record, an asset not imported yet), as whether a
 * dead letter is in the wrong state is. The message says what was looked for and where to see the
 * names there are.
 */
export class NotFoundError extends AssetbridgeError {
  readonly code = 'NOT_FOUND';
}

/** Base of the delivery taxonomy. `status` and `responseBody` are kept for the audit trail. */
export abstract class DeliveryError extends AssetbridgeError {
  abstract readonly retryable: boolean;
  /**
   * The request may have reached the ERP and may still take effect there (a timeout, a dropped
   * connection, a gateway timeout): nothing says it was not applied, or when it will be.
   */
  readonly outcomeUnknown: boolean;
  constructor(
    message: string,
    readonly status?: number,
    readonly responseBody?: string,
    options?: { cause?: unknown; outcomeUnknown?: boolean },
  ) {
    super(message, options);
    this.outcomeUnknown = options?.outcomeUnknown === true;
  }
}

/** Timeouts, resets, 5xx: try again later with backoff. */
export class RetryableError extends DeliveryError {
  readonly code = 'RETRYABLE';
  readonly retryable = true;
}

/**
 * The ERP answered, but the record is locked or was changed by another writer meanwhile (a 409 it
 * will take later, a 423 Locked): retried with backoff like any {@link RetryableError}, but the destination
 * works, so it does not count toward opening the circuit breaker (busy records would otherwise
 * pause every delivery to that ERP).
 */
export class ConflictError extends RetryableError {
  /**
   * How long the ERP asked us to wait before trying the record again (its `Retry-After`), when it
   * said so: the retry waits that long instead of the backoff (`rateLimit.maxPauseMs` at most).
   */
  readonly retryAfterMs: number | undefined;
  constructor(message: string, status?: number, responseBody?: string, options?: { cause?: unknown; outcomeUnknown?: boolean; retryAfterMs?: number }) {
    super(message, status, responseBody, options);
    this.retryAfterMs = options?.retryAfterMs;
  }
}

/** 429 / 503 (with or without Retry-After): pause the whole destination, then retry. */
export class RateLimitedError extends DeliveryError {
  readonly code = 'RATE_LIMITED';
  readonly retryable = true;
  constructor(
    message: string,
    /** How long the ERP asked us to wait, when it said so. */
    readonly retryAfterMs: number | undefined,
    status?: number,
    responseBody?: string,
  ) {
    super(message, status, responseBody);
  }
}

/** 400, 404, 422, a 409 that is no lock and no "already exists": retrying cannot help; goes to dead letters with the ERP's reason. */
export class PermanentError extends DeliveryError {
  readonly code = 'PERMANENT';
  readonly retryable = false;
}

/** 401: credentials need refreshing; the dispatcher refreshes once, then retries. */
export class AuthError extends DeliveryError {
  readonly code = 'AUTH';
  readonly retryable = true;
}

/** Wrap anything thrown into an Error, so logs and audit always have a message. */
export function coerceError(err: unknown): Error {
  if (err instanceof Error) return err;
  return new Error(typeof err === 'string' ? err : JSON.stringify(err));
}
