/**
 * What changing the rules would change: the deliveries of the same events under two rule sets,
 * compared (`rules test --compare`).
 *
 * Facts (work orders, counts, usage postings) are compared one by one by their business key, as
 * the outbox would see them: only under one rule set, or under both with a different payload
 * (priority, title, planned start, …). State updates (locations, meter readings) are many per key
 * and each replaces the last, so they are compared by how many each rule set sends and by the last
 * value each key would end on. Both are counted by operation and by the rule that decided them, so
 * a change to one rule among many shows as that rule's.
 * @module
 */
import type { DeliveryIntent } from '../model/delivery.js';
import { ruleOfDelivery } from './rule-of-delivery.js';

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

/** A configured rule that makes deliveries: its name (as {@link ruleOfDelivery} gives it) and what kind of rule it is (`threshold`, `meter sync`, …). */
export interface ConfiguredRule {
  readonly name: string;
  readonly type: string;
  /** The rule's validated config entry (as the config names its keys), to say which settings a rule both configs have changed. */
  readonly settings?: Readonly<Record<string, unknown>>;
}

/** One setting of a rule both configs have, that differs: its key (dotted within an object, e.g. `appliesTo.site`) and value in each (absent: not set). */
export interface ChangedSetting {
  readonly key: string;
  readonly current?: unknown;
  readonly proposed?: unknown;
}

/** A rule both configs have, whose settings differ (whether or not its deliveries do). */
export interface ChangedRule {
  readonly rule: string;
  readonly type: string;
  readonly settings: readonly ChangedSetting[];
}

/** One rule's deliveries under each rule set. */
export interface RuleComparison {
  /** The kind of rule, when the configured rules were given (`threshold → alert` when the two configs differ in it). */
  readonly type?: string;
  readonly current: number;
  readonly proposed: number;
  /** With the configured rules of both given: `added` for a rule only the proposed config has, `removed` for one only the current has. */
  readonly change?: 'added' | 'removed';
}

export interface DeliveryComparison {
  /** Deliveries by `operation (kind)`, under each rule set. */
  readonly totals: Readonly<Record<string, { readonly current: number; readonly proposed: number }>>;
  /**
   * The same deliveries by the rule that decided them ({@link ruleOfDelivery}): with the configured
   * rules of both given, each of them (the current config's in their order, then those only the
   * proposed has), also when it delivered nothing; then any other rule that delivered.
   */
  readonly byRule: Readonly<Record<string, RuleComparison>>;
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
  /** With the configured rules of both given (and their settings): the rules both configs have whose settings differ, in {@link byRule}'s order. */
  readonly changedRules?: readonly ChangedRule[];
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
  /** Deliveries by the rule that decided them ({@link ruleOfDelivery}), counted as {@link totals}. */
  readonly byRule: Map<string, number>;
  readonly facts: Map<string, DeliveryIntent>;
  readonly states: Map<string, DeliveryIntent>;
}

export const emptyTally = (): DeliveryTally => ({ totals: new Map(), byRule: new Map(), facts: new Map(), states: new Map() });

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
    const rule = ruleOfDelivery(d);
    tally.byRule.set(rule, (tally.byRule.get(rule) ?? 0) + 1);
  }
}

/** The configured rules of each rule set's config, for the comparison by rule (see {@link DeliveryComparison.byRule}). */
export interface ConfiguredRules {
  readonly current: readonly ConfiguredRule[];
  readonly proposed: readonly ConfiguredRule[];
}

export function compareDeliveries(current: readonly DeliveryIntent[], proposed: readonly DeliveryIntent[], rules?: ConfiguredRules): DeliveryComparison {
  const a = emptyTally();
  const b = emptyTally();
  tallyDeliveries(a, current);
  tallyDeliveries(b, proposed);
  return compareTallies(a, b, rules);
}

/**
 * Deliveries by rule under each rule set: the configured rules (when given) in order, the current
 * config's then those only the proposed has, each marked added or removed when only one config has
 * it; then the other rules that delivered.
 */
function compareByRule(current: DeliveryTally, proposed: DeliveryTally, rules: ConfiguredRules | undefined): Record<string, RuleComparison> {
  const typeIn = (list: readonly ConfiguredRule[], name: string) => list.find((r) => r.name === name)?.type;
  const names = [...new Set([...(rules?.current ?? []), ...(rules?.proposed ?? [])].map((r) => r.name).concat([...current.byRule.keys()], [...proposed.byRule.keys()]))];
  const out: Record<string, RuleComparison> = {};
  for (const name of names) {
    const a = rules && typeIn(rules.current, name);
    const b = rules && typeIn(rules.proposed, name);
    const type = a !== undefined && b !== undefined && a !== b ? `${a} → ${b}` : (a ?? b);
    const change = a === undefined && b !== undefined ? 'added' : a !== undefined && b === undefined ? 'removed' : undefined;
    out[name] = { ...(type !== undefined ? { type } : {}), current: current.byRule.get(name) ?? 0, proposed: proposed.byRule.get(name) ?? 0, ...(change ? { change } : {}) };
  }
  return out;
}

const plainObject = (v: unknown): v is Readonly<Record<string, unknown>> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The settings that differ between two config entries, by key; within an object on both sides (`appliesTo`, `repeat`) by dotted path. */
export function changedSettings(a: Readonly<Record<string, unknown>>, b: Readonly<Record<string, unknown>>, prefix = ''): ChangedSetting[] {
  return differingFields(a, b).flatMap((k): ChangedSetting[] => {
    const x = a[k];
    const y = b[k];
    if (plainObject(x) && plainObject(y)) return changedSettings(x, y, `${prefix}${k}.`);
    return [{ key: `${prefix}${k}`, ...(x !== undefined ? { current: x } : {}), ...(y !== undefined ? { proposed: y } : {}) }];
  });
}

/** The rules both configs have (of the same type) whose settings differ. */
function changedRulesOf(rules: ConfiguredRules): ChangedRule[] {
  const out: ChangedRule[] = [];
  for (const a of rules.current) {
    const b = rules.proposed.find((r) => r.name === a.name);
    if (!b || a.settings === undefined || b.settings === undefined) continue;
    const settings = changedSettings(a.settings, b.settings);
    if (settings.length) out.push({ rule: a.name, type: a.type === b.type ? a.type : `${a.type} → ${b.type}`, settings });
  }
  return out;
}

export function compareTallies(current: DeliveryTally, proposed: DeliveryTally, rules?: ConfiguredRules): DeliveryComparison {
  const totals: Record<string, { current: number; proposed: number }> = {};
  for (const [op, n] of current.totals) (totals[op] ??= { current: 0, proposed: 0 }).current = n;
  for (const [op, n] of proposed.totals) (totals[op] ??= { current: 0, proposed: 0 }).proposed = n;
  const byRule = compareByRule(current, proposed, rules);

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
  const changedRules = rules ? changedRulesOf(rules) : [];
  return { totals, byRule, onlyCurrent, onlyProposed, changed, states, sameFacts, ...(changedRules.length ? { changedRules } : {}) };
}
