/**
 * The rule contract. Rules are pure: from an asset's previous sub-state and one canonical event
 * they compute the next sub-state and the deliveries to make. The engine persists the sub-state
 * (per asset, per rule name) in the same transaction as the deliveries, so a crash can never
 * separate the two, and replays see the state that the first run left.
 *
 * Invariant 8 lives here: a rule must ignore (or treat as history) an event older than what its
 * state already reflects, so a late event never overwrites newer state.
 * @module
 */
import type { AssetRecord } from '../model/assets.js';
import type { CanonicalEvent } from '../model/events.js';
import type { DeliveryIntent } from '../model/delivery.js';
import type { OwnedRule } from './owned.js';
import { coerceError } from '../errors/errors.js';

export interface RuleContext {
  readonly asset: AssetRecord;
  /** Destination for this asset's deliveries (asset override, else the configured default). */
  readonly destination: string;
  /** Processing time (epoch ms); rules decide on event time, this is for bookkeeping only. */
  readonly now: number;
  /**
   * The event's message may have been taken before (an MQTT redelivery after a lost PUBACK, as
   * after a crash between commit and ack; `RawMessage.redelivered`). An event older than what a
   * rule took is then most likely that message again: not late, not a reading to flag.
   */
  readonly redelivered?: boolean;
}

/** Shared "no deliveries" (frozen): results without deliveries allocate no array. */
export const NO_DELIVERIES: readonly DeliveryIntent[] = Object.freeze([]);

export interface RuleResult<S> {
  readonly state: S;
  readonly deliveries: readonly DeliveryIntent[];
  /**
   * The event came later than the rule's allowed lateness (older than what it already decided on)
   * and was dropped, never rewriting history (invariant 8). The engine counts these per rule
   * (`assetbridge_rule_late_events_total`, `status`), so a lateness set too tight shows.
   */
  readonly late?: true;
  /**
   * The event was the same as one the rule holds or decided on last (the same event time and all
   * the rule looks at: an MQTT redelivery, an HTTP client's retried POST, a device repeating
   * itself) and was dropped: not late, nothing delivered. The one place a duplicate is recognised:
   * the engine counts these per rule (`assetbridge_rule_duplicate_events_total`), and `rules test`
   * names the line a duplicate repeats from them.
   */
  readonly duplicate?: true;
  /**
   * Meter hygiene held the event's reading as a possible catch-up, or set a held one aside: the
   * owned.ts `METER_*` bits (hour meter, odometer). The engine counts them
   * (`assetbridge_meter_readings_held_total`, `assetbridge_meter_readings_set_aside_total`).
   */
  readonly meterReadings?: number;
}

/** The result for an event dropped as late: state unchanged, nothing delivered, counted. */
export function lateResult<S>(state: S): RuleResult<S> {
  return { state, deliveries: NO_DELIVERIES, late: true };
}

/** The result for an event dropped as a duplicate: state unchanged, nothing delivered, counted. */
export function duplicateResult<S>(state: S): RuleResult<S> {
  return { state, deliveries: NO_DELIVERIES, duplicate: true };
}

export interface Rule<S = unknown> {
  /** Unique; also the key of this rule's sub-state in the asset state document. */
  readonly name: string;
  /** Cheap filter so the engine skips rules that cannot react to this event kind. */
  readonly kinds: readonly CanonicalEvent['kind'][];
  apply(state: S | undefined, event: CanonicalEvent, ctx: RuleContext): RuleResult<S>;
  /**
   * A new instance of this rule's owned form (owned.ts): the same decisions, with the state of all
   * assets kept by the rule and changed in place. What the ingest engine runs; absent, it runs this
   * pure form through `ownedFromPure`.
   */
  owned?(): OwnedRule;
}

/**
 * Whether configuration and validation refuse `name` for what keys an asset's stored rule state
 * (zone names, period ids, sensor names): the names of `Object.prototype`'s properties
 * (`__proto__`, `constructor`, `toString`, …). A plain object takes `state["__proto__"] = x` as a
 * change of its prototype, not a key, so what it keyed would silently be lost, and looks up
 * `state["constructor"]` as the inherited function, so an entry of that name would seem there before
 * it was written.
 */
export const isReservedName = (name: string): boolean => Object.hasOwn(Object.prototype, name);

/** What configuration says of a reserved name (see {@link isReservedName}) given for a `what` (zone, period, sensor). */
export const reservedNameProblem = (name: string, what: string): string =>
  `"${name}" cannot name a ${what}: the names of JavaScript's object properties (__proto__, constructor, toString, …) are reserved, as state keyed by them would be lost or misread; choose another name`;

/**
 * The names of the rules the service runs of itself, as `rules list` lists them and `rules test`
 * counts their deliveries (`by rule:`, `byRule`): location sync (`location`), meter sync (`meter`),
 * inventory and depreciation. A maintenance rule (keyed by its own name there) may not take one, or
 * its work orders would be counted as theirs.
 */
export const BUILT_IN_RULE_NAMES: Readonly<Record<string, string>> = { location: 'location sync', meter: 'meter sync', inventory: 'inventory', depreciation: 'depreciation' };

/** Whether a maintenance rule's name is one of {@link BUILT_IN_RULE_NAMES}. */
export const isBuiltInRuleName = (name: string): boolean => Object.hasOwn(BUILT_IN_RULE_NAMES, name);

/** What configuration says of a maintenance rule given a built-in rule's name (see {@link BUILT_IN_RULE_NAMES}). */
export const builtInRuleNameProblem = (name: string): string =>
  `"${name}" is the name of ${BUILT_IN_RULE_NAMES[name] ?? name}, a rule the service runs of itself (rules list names it so, and rules test counts its deliveries under it): give this rule another name`;

/**
 * Why a message a rule threw on is set aside: the ingest engine quarantines it with this reason,
 * and `rules test` rejects its line with it. Rules must not throw; one that does has a bug.
 */
export function ruleFailureReason(rule: string, kind: string, erpAssetId: string, err: unknown): string {
  return `rule "${rule}" failed on this ${kind} event of ${erpAssetId}: ${coerceError(err).message} (a bug: please report it; replay the message after the fix)`;
}
