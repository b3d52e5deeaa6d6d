/**
 * What changing the rules would change: the deliveries of the same events under two rule sets,
 * compared (`rules test --compare`).
 *
 * Facts (work orders, counts, usage postings) are compared one by one by their business key, as
 * the outbox would see them: only under one rule set, or under both with a different payload
 * (priority, title, planned start, …). State updates (locations, meter readings) are many per key
 * and each replaces the last, so they are compared by how many each rule set sends and by the last
 * value each key would end on.
 * @module
 */
import type { DeliveryIntent } from '../model/delivery.js';

export interface ChangedFact {
  readonly current: DeliveryIntent;
  readonly proposed: DeliveryIntent;
  /** Top-level payload fields whose value differs, sorted. */
  readonly fields: readonly string[];
}

export interface ChangedState {
  readonly operation: string;
  readonly destination: string;
  readonly businessKey: string;
  /** The key's last payload under each rule set (absent: none sent). */
  readonly current?: Readonly<Record<string, unknown>>;
  readonly proposed?: Readonly<Record<string, unknown>>;
}

export interface DeliveryComparison {
  /** Deliveries by `operation (kind)`, under each rule set. */
  readonly totals: Readonly<Record<string, { readonly current: number; readonly proposed: number }>>;
  /** Facts only the current rules produce (the change would no longer send them). */
  readonly onlyCurrent: readonly DeliveryIntent[];
  /** Facts only the proposed rules produce. */
  readonly onlyProposed: readonly DeliveryIntent[];
  /** Facts both produce under the same key, with a different payload. */
  readonly changed: readonly ChangedFact[];
  /** State keys whose last value differs. */
  readonly states: readonly ChangedState[];
  /** Facts both produce alike. */
  readonly sameFacts: number;
}

const keyOf = (d: DeliveryIntent): string => `${d.destination}\u001f${d.operation}\u001f${d.businessKey}`;

/** JSON with object keys sorted, so payloads built in another field order still compare equal. */
export function stableJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stableJson).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .filter((k) => o[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${stableJson(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

/**
 * Top-level fields whose values differ between two payloads (absent: no fields), sorted. A field
 * left out differs from one that is `null`, as in the payloads' {@link stableJson}.
 */
export function differingFields(a: Readonly<Record<string, unknown>> | undefined, b: Readonly<Record<string, unknown>> | undefined): string[] {
  const x = a ?? {};
  const y = b ?? {};
  const field = (v: unknown): string | undefined => (v === undefined ? undefined : stableJson(v));
  return [...new Set([...Object.keys(x), ...Object.keys(y)])].filter((k) => field(x[k]) !== field(y[k])).sort();
}

/**
 * What one rule set delivered, kept as the comparison needs it: counts per operation, the first
 * fact per key (the one the outbox keeps) and the last state update per key. Its size follows the
 * facts and keys, not the stream, so a long capture can be compared.
 */
export interface DeliveryTally {
  readonly totals: Map<string, number>;
  readonly facts: Map<string, DeliveryIntent>;
  readonly states: Map<string, DeliveryIntent>;
}

export const emptyTally = (): DeliveryTally => ({ totals: new Map(), facts: new Map(), states: new Map() });

export function tallyDeliveries(tally: DeliveryTally, ds: readonly DeliveryIntent[]): void {
  for (const d of ds) {
    const op = `${d.operation} (${d.kind})`;
    const k = keyOf(d);
    // A fact counts once per key, as the outbox keeps it once (a rule may ask twice, e.g. at flush).
    if (d.kind === 'fact') {
      if (tally.facts.has(k)) continue;
      tally.facts.set(k, d);
    } else tally.states.set(k, d);
    tally.totals.set(op, (tally.totals.get(op) ?? 0) + 1);
  }
}

export function compareDeliveries(current: readonly DeliveryIntent[], proposed: readonly DeliveryIntent[]): DeliveryComparison {
  const a = emptyTally();
  const b = emptyTally();
  tallyDeliveries(a, current);
  tallyDeliveries(b, proposed);
  return compareTallies(a, b);
}

export function compareTallies(current: DeliveryTally, proposed: DeliveryTally): DeliveryComparison {
  const totals: Record<string, { current: number; proposed: number }> = {};
  for (const [op, n] of current.totals) (totals[op] ??= { current: 0, proposed: 0 }).current = n;
  for (const [op, n] of proposed.totals) (totals[op] ??= { current: 0, proposed: 0 }).proposed = n;

  const onlyCurrent: DeliveryIntent[] = [];
  const changed: ChangedFact[] = [];
  let sameFacts = 0;
  for (const [k, d] of current.facts) {
    const other = proposed.facts.get(k);
    if (!other) onlyCurrent.push(d);
    else if (stableJson(d.payload) === stableJson(other.payload)) sameFacts++;
    else changed.push({ current: d, proposed: other, fields: differingFields(d.payload, other.payload) });
  }
  const onlyProposed = [...proposed.facts].filter(([k]) => !current.facts.has(k)).map(([, d]) => d);

  const states: ChangedState[] = [];
  for (const k of [...new Set([...current.states.keys(), ...proposed.states.keys()])].sort()) {
    const x = current.states.get(k);
    const y = proposed.states.get(k);
    if (x && y && stableJson(x.payload) === stableJson(y.payload)) continue;
    const d = (x ?? y) as DeliveryIntent;
    states.push({ operation: d.operation, destination: d.destination, businessKey: d.businessKey, ...(x ? { current: x.payload } : {}), ...(y ? { proposed: y.payload } : {}) });
  }
  return { totals, onlyCurrent, onlyProposed, changed, states, sameFacts };
}
