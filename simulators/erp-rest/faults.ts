/**
 * Fault injection for the ERP simulator: count-limited or probabilistic (seeded, so a failing
 * test replays the same faults) latency, error statuses, hangs, connection resets and
 * "applied, but the response was lost", and the two 409s ERPs answer writes with: a record locked
 * by another user, and "already exists" for a create an earlier attempt made.
 * @module
 */
import { mulberry32 } from '../random.js';

export type FaultKind =
  /** Delay the response by `latencyMs`, then answer normally. */
  | 'latency'
  /** Answer `status` (default 500) without doing anything; with `retryAfterSeconds` for 429/503. */
  | 'error'
  /** Never answer: the client's timeout must fire. Nothing is applied. */
  | 'timeout'
  /** Destroy the connection before doing anything: nothing is applied. */
  | 'reset'
  /** Apply the request, then destroy the connection instead of answering. */
  | 'lost-response'
  /** Answer 409 `RecordLocked` (another user is editing the record; try again later), nothing applied. */
  | 'locked'
  /**
   * Apply the request, then answer 409 `DuplicateEntry` naming the record, as an ERP with a unique
   * business key answers the retry of a create whose first answer was lost. An answer other than
   * 2xx (a validation error) is given as it is.
   */
  | 'already-exists'
  /**
   * Do what the request asks, then answer its status (a create's 201, a list's 200) with a body
   * that is not JSON though it says it is: the answer's JSON cut off half way (what an ERP or proxy
   * that dropped the rest leaves), or `body` (a string) as it is, such as a proxy's HTML page. The
   * HTTP answer is whole (its Content-Length that of the half): the connection is not closed mid-body.
   */
  | 'malformed'
  /**
   * Do what the request asks, then send its status, headers (the whole body's Content-Length) and
   * the first half of its body, and close the connection: an answer cut short mid-body, as a proxy
   * or load balancer ending it (a time or size limit) or an ERP process dying mid-answer leaves it.
   */
  | 'cut-body'
  /**
   * Do what the request asks, then answer its status and headers (JSON, as the answer would be)
   * with no body at all (`Content-Length: 0`): what a proxy that dropped the body, or an ERP that
   * ended the answer before any of it, leaves.
   */
  | 'empty-body';

export const FAULT_KINDS: readonly FaultKind[] = ['latency', 'error', 'timeout', 'reset', 'lost-response', 'locked', 'already-exists', 'malformed', 'cut-body', 'empty-body'];

export interface FaultSpec {
  readonly kind: FaultKind;
  /**
   * Fire at most this many times. @default 1 without `probability`, unlimited with it
   */
  readonly count?: number;
  /** Fire with this probability (0..1) per matching request, from the seeded generator. */
  readonly probability?: number;
  /** Only requests with this method (case-insensitive). @default any */
  readonly method?: string;
  /** Only requests whose path contains this text, e.g. `/work-orders`. @default any */
  readonly path?: string;
  /** `error`: the status to answer. @default 500 */
  readonly status?: number;
  /** `error`: a `Retry-After` header, in seconds. */
  readonly retryAfterSeconds?: number;
  /** `error`, `locked`, `already-exists`: the JSON body to answer (@default `{error:{code,message}}`); `malformed`: the text to answer (@default the answer's JSON cut in half). */
  readonly body?: unknown;
  /** `latency`: how long to wait. @default 200 */
  readonly latencyMs?: number;
  /**
   * `latency`: the ERP has taken the write and works on it meanwhile, its idempotency key claimed:
   * another request with that key gets 409 `IdempotencyKeyInUse` until it is done, as idempotency
   * layers answer a key in progress (Stripe, the IETF Idempotency-Key draft). @default false (held
   * before the ERP sees it)
   */
  readonly holdsKey?: boolean;
  /**
   * Match requests inside a `$batch` call instead of HTTP requests; only `error`, `locked` and
   * `already-exists` make sense there (the sub-request gets the answer, the batch itself
   * succeeds). @default false
   */
  readonly inBatch?: boolean;
}

export interface ActiveFault extends FaultSpec {
  readonly id: number;
  /** Times it fired so far. */
  readonly fired: number;
}

/** Seeded fault decisions (mulberry32), so a failing test replays the same faults. */
export const seededRandom = mulberry32;

interface FaultEntry {
  readonly id: number;
  readonly spec: FaultSpec;
  readonly limit: number;
  fired: number;
}

/** The simulator's list of armed faults. */
export class FaultInjector {
  private entries: FaultEntry[] = [];
  private nextId = 1;
  private random: () => number;
  private readonly firedByKind = new Map<FaultKind, number>();

  constructor(seed = 1) {
    this.random = seededRandom(seed);
  }

  /** Arm a fault; returns its id. Throws on a spec that cannot work, saying why. */
  add(spec: FaultSpec): number {
    validateFault(spec);
    const limit = spec.count ?? (spec.probability === undefined ? 1 : Number.POSITIVE_INFINITY);
    const id = this.nextId++;
    this.entries.push({ id, spec, limit, fired: 0 });
    return id;
  }

  /** Arm several faults, all or none: throws on the first spec that cannot work, having armed none. */
  addAll(specs: readonly FaultSpec[]): number[] {
    specs.forEach(validateFault);
    return specs.map((spec) => this.add(spec));
  }

  /** Disarm one fault, or all when no id is given. */
  clear(id?: number): void {
    this.entries = id === undefined ? [] : this.entries.filter((e) => e.id !== id);
  }

  /** Restart the random sequence (e.g. per test). */
  reseed(seed: number): void {
    this.random = seededRandom(seed);
  }

  /** Armed faults and how often each fired. */
  list(): ActiveFault[] {
    return this.entries.map((e) => ({ ...e.spec, id: e.id, fired: e.fired }));
  }

  /** Times each kind fired since the last reset. */
  firedCounts(): Record<FaultKind, number> {
    return Object.fromEntries(FAULT_KINDS.map((k) => [k, this.firedByKind.get(k) ?? 0])) as Record<FaultKind, number>;
  }

  resetCounts(): void {
    this.firedByKind.clear();
  }

  /**
   * The first armed fault of one of `kinds` that matches and fires for this request, consuming
   * one of its shots; undefined when none fires.
   */
  take(kinds: readonly FaultKind[], method: string, path: string, inBatch: boolean): FaultSpec | undefined {
    for (const entry of this.entries) {
      const { spec } = entry;
      if (!kinds.includes(spec.kind) || (spec.inBatch ?? false) !== inBatch) continue;
      if (entry.fired >= entry.limit) continue;
      if (spec.method !== undefined && spec.method.toUpperCase() !== method.toUpperCase()) continue;
      if (spec.path !== undefined && !path.includes(spec.path)) continue;
      if (spec.probability !== undefined && this.random() >= spec.probability) continue;
      entry.fired++;
      this.firedByKind.set(spec.kind, (this.firedByKind.get(spec.kind) ?? 0) + 1);
      return spec;
    }
    return undefined;
  }
}

/** The kinds that answer for a batch's sub-request. */
export const BATCH_KINDS: readonly FaultKind[] = ['error', 'locked', 'already-exists'];

function validateFault(spec: FaultSpec): void {
  if (!FAULT_KINDS.includes(spec.kind)) throw new Error(`unknown fault kind "${String(spec.kind)}"; use one of ${FAULT_KINDS.join(', ')}`);
  if (spec.count !== undefined && (!Number.isInteger(spec.count) || spec.count < 1)) throw new Error('fault count must be a positive integer');
  if (spec.probability !== undefined && !(spec.probability >= 0 && spec.probability <= 1)) throw new Error('fault probability must be between 0 and 1');
  if (spec.status !== undefined && !(Number.isInteger(spec.status) && spec.status >= 100 && spec.status <= 599)) throw new Error('fault status must be an HTTP status (100-599)');
  // A latency that is no number waited no time (setTimeout reads NaN as 0); a Retry-After that is no delay is no header a server sends.
  if (spec.latencyMs !== undefined && !(typeof spec.latencyMs === 'number' && Number.isFinite(spec.latencyMs) && spec.latencyMs >= 0))
    throw new Error(`fault latencyMs must be a number of milliseconds, 0 or more; got ${JSON.stringify(spec.latencyMs)}`);
  if (spec.retryAfterSeconds !== undefined && !(Number.isSafeInteger(spec.retryAfterSeconds) && spec.retryAfterSeconds >= 0))
    throw new Error(`fault retryAfterSeconds must be a whole number of seconds, 0 or more (Retry-After takes no other); got ${JSON.stringify(spec.retryAfterSeconds)}`);
  if (spec.retryAfterSeconds !== undefined && spec.kind !== 'error') throw new Error('retryAfterSeconds is for error faults (a 429 or 503 with Retry-After)');
  if (spec.latencyMs !== undefined && spec.kind !== 'latency') throw new Error('latencyMs is for latency faults');
  if (spec.kind === 'malformed' && spec.body !== undefined && typeof spec.body !== 'string') throw new Error('a malformed fault\'s body is the text to answer: give a string');
  if (spec.holdsKey === true && spec.kind !== 'latency') throw new Error('holdsKey is for latency faults: the ERP works on the write while it holds its key');
  if (spec.inBatch === true && !BATCH_KINDS.includes(spec.kind)) throw new Error(`only ${BATCH_KINDS.map((k) => `"${k}"`).join(', ')} faults can target batch sub-requests (inBatch: true)`);
}
