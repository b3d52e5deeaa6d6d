/**
 * Rules that own their state. A {@link Rule} is a pure function: it takes an asset's sub-state and
 * an event and returns a new sub-state, which the engine keeps, copies per batch and stores. That
 * shape is simple to reason about, but on the ingest hot path each event then builds new objects
 * for every rule it reaches, and the engine tracks and copies them per asset and batch.
 *
 * An {@link OwnedRule} keeps the state of every asset it has been given itself (in whatever form
 * suits it: columns in typed arrays, objects changed in place), indexed by a small integer the
 * engine assigns to each asset it holds in memory. The engine tells it which asset an event is
 * for, and reads an asset's state back as the same JSON sub-state the rule's pure form stores
 * ({@link OwnedRule.save}) only when it checkpoints that asset. Stored state is the contract
 * between the two forms: either form loads what the other saved, so `rules test`, the commands that
 * read stored state and the property tests keep using the pure form, which is also the oracle that
 * an owned form is tested against (test/helpers/owned-oracle.ts).
 *
 * The engine gets a rule's owned form from {@link Rule.owned}; a rule without one is run through
 * {@link ownedFromPure}, which keeps each asset's pure sub-state in an array.
 * @module
 */
import type { AssetRecord } from '../model/assets.js';
import type { CanonicalEvent } from '../model/events.js';
import type { DeliveryIntent } from '../model/delivery.js';
import { isFlushable } from './event-time.js';
import type { Rule, RuleContext } from './rule.js';

/** {@link OwnedRule.apply} flag: the asset's state changed (its message is logged, the asset checkpointed). */
export const CHANGED = 1;
/** {@link OwnedRule.apply} flag: the event was dropped as later than the allowed lateness (counted per rule). */
export const LATE = 2;
/** {@link OwnedRule.apply} flag: the event was dropped as a duplicate (the pure form's `duplicate`; counted per rule). */
export const DUPLICATE = 4;
/**
 * {@link OwnedRule.apply} flags (and the bits of a pure rule's `RuleResult.meterReadings`): the event's hour-meter
 * (odometer) reading was held by meter hygiene as a possible catch-up, awaiting the next reading
 * (`holdCatchUp`), or it set a held one aside (a spike). Counted by the engine
 * (`assetbridge_meter_readings_held_total`, `assetbridge_meter_readings_set_aside_total`).
 */
export const METER_HELD_HOURS = 8;
export const METER_HELD_KM = 16;
export const METER_SET_ASIDE_HOURS = 32;
export const METER_SET_ASIDE_KM = 64;
/** All the meter flags above. */
export const METER_FLAGS = METER_HELD_HOURS | METER_HELD_KM | METER_SET_ASIDE_HOURS | METER_SET_ASIDE_KM;

/**
 * The most an owned form's per-asset buffer columns (a ring or slot of the same size for every
 * asset) may take, in bytes, once they have grown past their first size because some asset holds
 * more events. Beyond it the buffer is not made larger for every asset: the assets holding more
 * run on the pure form instead (slower for them, the same decisions). Without it one device
 * reporting every second in a fleet of 100,000 took the maintenance and usage columns from about
 * 160 MB to 550 MB.
 */
export const BUFFER_GROWTH_BUDGET_BYTES = 32 << 20;

export interface OwnedRule {
  /** The pure form's name: the key of this rule's sub-state in the asset state document. */
  readonly name: string;
  /** Event kinds the rule looks at (the pure form's). */
  readonly kinds: readonly CanonicalEvent['kind'][];
  /**
   * Takes `stored` (the sub-state the pure form stores, as read back from JSON; undefined: none) as
   * asset `a`'s state, replacing whatever the rule held for `a`.
   */
  load(a: number, stored: unknown): void;
  /**
   * Asset `a`'s state as the pure form's sub-state: plain JSON data, equal (as JSON) to the state
   * the pure form would hold after the same loads and events. A fresh value the rule does not
   * change afterwards (the engine may serialise it later). undefined: no state.
   */
  save(a: number): unknown;
  /**
   * Optional: `JSON.stringify(save(a))`, the same text (undefined when `save` gives undefined),
   * written straight from the form's own storage (state-json.ts) without building the objects `save`
   * returns. A checkpoint stores this text when the form has it.
   */
  saveJson?(a: number): string | undefined;
  /** Forgets asset `a` (evicted from memory, or before state is rebuilt): its index may be given to another asset. */
  drop(a: number): void;
  /**
   * Applies one event to asset `a`'s state, in place; deliveries are pushed to `out`. Returns
   * {@link CHANGED} | {@link LATE} | {@link DUPLICATE} flags. CHANGED must be set whenever {@link save} could now
   * return something else (a spurious CHANGED only logs a message needlessly; a missing one loses
   * state after a crash). `ctx` is valid only during the call.
   */
  apply(a: number, event: CanonicalEvent, ctx: RuleContext, out: DeliveryIntent[]): number;
  /**
   * What the pure form's `flush` does (rules that hold events for the allowed lateness; others
   * return 0): decides what is final at event time `upTo` (an idle watermark), or everything held
   * (undefined). Flags as for {@link apply}.
   */
  flush(a: number, ctx: RuleContext, upTo: number | undefined, out: DeliveryIntent[]): number;
  /** Whether asset `a`'s state holds events not yet decided (the pure form's `holds`, with `asset` its registry record where known). */
  holds(a: number, asset?: AssetRecord): boolean;
}

/**
 * The owned form of a pure rule: each asset's sub-state in an array, replaced as the pure rule
 * returns new ones (which it never mutates, so the value saved is a snapshot by construction).
 * Rules given one `states` array share their sub-states (rules of one name, as the engine runs them).
 */
export function ownedFromPure(rule: Rule, states: unknown[] = []): OwnedRule {
  const flushable = isFlushable(rule) ? rule : undefined;
  const deliver = (made: readonly DeliveryIntent[], out: DeliveryIntent[]): void => {
    for (let k = 0; k < made.length; k++) out.push(made[k] as DeliveryIntent);
  };
  return {
    name: rule.name,
    kinds: rule.kinds,
    load(a, stored) {
      states[a] = stored;
    },
    save: (a) => states[a],
    drop(a) {
      states[a] = undefined;
    },
    apply(a, event, ctx, out) {
      const before = states[a];
      const r = rule.apply(before, event, ctx);
      deliver(r.deliveries, out);
      let flags = r.late === true ? LATE : r.duplicate === true ? DUPLICATE : 0;
      if (r.meterReadings !== undefined) flags |= r.meterReadings & METER_FLAGS;
      if (r.state !== before) {
        states[a] = r.state;
        flags |= CHANGED;
      }
      return flags;
    },
    flush(a, ctx, upTo, out) {
      if (!flushable) return 0;
      const before = states[a];
      const r = flushable.flush(before, ctx, upTo);
      deliver(r.deliveries, out);
      if (r.state === before) return 0;
      states[a] = r.state;
      return CHANGED;
    },
    holds: (a, asset) => flushable?.holds(states[a], asset) ?? false,
  };
}

/** The engine's form of `rule`: its own owned form when it has one, else {@link ownedFromPure}. */
export function ownedForm(rule: Rule): OwnedRule {
  return rule.owned?.() ?? ownedFromPure(rule);
}

/** A column grown for more assets: a typed array of `length` starting with `old`'s values, the rest `fill` (0 unless given). */
export function grown<T extends Float64Array | Int32Array | Uint8Array | Int8Array>(old: T, length: number, fill = 0): T {
  const next = new (old.constructor as new (n: number) => T)(length);
  if (fill !== 0) next.fill(fill, old.length);
  next.set(old);
  return next;
}
