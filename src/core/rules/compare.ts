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

function differingFields(a: Readonly<Record<string, unknown>>, b: Readonly<Record<string, unknown>>): string[] {
  return [...new Set([...Object.keys(a), ...Object.keys(b)])].filter((k) => stableJson(a[k]) !== stableJson(b[k])).sort();
}

export function compareDeliveries(current: readonly DeliveryIntent[], proposed: readonly DeliveryIntent[]): DeliveryComparison {
  const totals: Record<string, { current: number; proposed: number }> = {};
  const tally = (ds: readonly DeliveryIntent[], side: 'current' | 'proposed') => {
    for (const d of ds) (totals[`${d.operation} (${d.kind})`] ??= { current: 0, proposed: 0 })[side]++;
  };
  tally(current, 'current');
  tally(proposed, 'proposed');

  // Facts: the first of a key is the one the outbox keeps (a second is a duplicate it ignores).
  const facts = (ds: readonly DeliveryIntent[]) => {
    const m = new Map<string, DeliveryIntent>();
    for (const d of ds) if (d.kind === 'fact' && !m.has(keyOf(d))) m.set(keyOf(d), d);
    return m;
  };
  const a = facts(current);
  const b = facts(proposed);
  const onlyCurrent: DeliveryIntent[] = [];
  const changed: ChangedFact[] = [];
  let sameFacts = 0;
  for (const [k, d] of a) {
    const other = b.get(k);
    if (!other) onlyCurrent.push(d);
    else if (stableJson(d.payload) === stableJson(other.payload)) sameFacts++;
    else changed.push({ current: d, proposed: other, fields: differingFields(d.payload, other.payload) });
  }
  const onlyProposed = [...b].filter(([k]) => !a.has(k)).map(([, d]) => d);

  // State updates: the last value of each key.
  const lastStates = (ds: readonly DeliveryIntent[]) => {
    const m = new Map<string, DeliveryIntent>();
    for (const d of ds) if (d.kind === 'state') m.set(keyOf(d), d);
    return m;
  };
  const sa = lastStates(current);
  const sb = lastStates(proposed);
  const states: ChangedState[] = [];
  for (const k of [...new Set([...sa.keys(), ...sb.keys()])].sort()) {
    const x = sa.get(k);
    const y = sb.get(k);
    if (x && y && stableJson(x.payload) === stableJson(y.payload)) continue;
    const d = (x ?? y) as DeliveryIntent;
    states.push({ operation: d.operation, destination: d.destination, businessKey: d.businessKey, ...(x ? { current: x.payload } : {}), ...(y ? { proposed: y.payload } : {}) });
  }
  return { totals, onlyCurrent, onlyProposed, changed, states, sameFacts };
}
