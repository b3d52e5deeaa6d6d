/**
 * Compiled maintenance rule settings (what config/rules-schema.ts produces), independent of the
 * config library so the rules stay pure and testable.
 * @module
 */
import type { AssetRecord } from '../../model/assets.js';
import type { Severity } from '../../model/events.js';
import type { WindowCalendar } from './windows.js';

/** Which assets a rule applies to; every condition given must hold. Absent: all assets. */
export interface AssetFilter {
  /** The asset's `erpModule` is one of these. */
  readonly erpModules?: readonly string[];
  /** Each named attribute has one of the listed values. */
  readonly attributes?: Readonly<Record<string, readonly string[]>>;
}

export function matchesFilter(asset: AssetRecord, filter: AssetFilter | undefined): boolean {
  if (!filter) return true;
  if (filter.erpModules && !filter.erpModules.includes(asset.erpModule)) return false;
  for (const [k, values] of Object.entries(filter.attributes ?? {})) {
    const v = asset.attributes[k];
    if (v === undefined || !values.includes(v)) return false;
  }
  return true;
}

/**
 * The assets both filters take, as one filter (the erpModules and each attribute's values they
 * have in common; `{}`: every asset), or undefined when no asset can match both. Decided from the
 * filters alone, for config validation: an attribute only one names can hold its value.
 */
export function commonFilter(a: AssetFilter | undefined, b: AssetFilter | undefined): AssetFilter | undefined {
  if (a === undefined) return b ?? {};
  if (b === undefined) return a;
  const both = (x: readonly string[] | undefined, y: readonly string[] | undefined): readonly string[] | undefined => (x === undefined ? y : y === undefined ? x : x.filter((v) => y.includes(v)));
  const erpModules = both(a.erpModules, b.erpModules);
  if (erpModules !== undefined && erpModules.length === 0) return undefined;
  const attribute = (f: AssetFilter, k: string): readonly string[] | undefined => (f.attributes !== undefined && Object.hasOwn(f.attributes, k) ? f.attributes[k] : undefined);
  const attributes: [string, readonly string[]][] = [];
  for (const k of new Set([...Object.keys(a.attributes ?? {}), ...Object.keys(b.attributes ?? {})])) {
    const values = both(attribute(a, k), attribute(b, k)) as readonly string[];
    if (values.length === 0) return undefined;
    attributes.push([k, values]);
  }
  return { ...(erpModules !== undefined ? { erpModules } : {}), ...(attributes.length > 0 ? { attributes: Object.fromEntries(attributes) } : {}) };
}

/** Extra fields merged into the work-order payload (order type, planner group, work centre, …). */
export type WorkOrderExtras = Readonly<Record<string, string | number | boolean>>;

/** "Sensor above (or below) a threshold for a duration" → one work order per episode. */
export interface ThresholdRule {
  readonly name: string;
  readonly sensor: string;
  /** The unit the threshold is in; readings in another of an asset the rule applies to are converted or quarantined before the rules (normalize/sensor-units). */
  readonly unit?: string;
  readonly direction: 'above' | 'below';
  /** Trigger threshold: strictly above / below it is a breach. */
  readonly threshold: number;
  /** Hysteresis: once triggered, the episode ends only past this value (≤ threshold for `above`). */
  readonly clearAt: number;
  /** How long the breach must hold, ms; 0 triggers on the first breaching sample. */
  readonly durationMs: number;
  /** Samples further apart than this do not show a continuous breach; the episode restarts, ms. */
  readonly maxGapMs: number;
  /** Least time between two work orders of this rule for one asset, ms. */
  readonly cooldownMs: number;
  /**
   * "Above 110 bar 3 times within an hour": breaches (each holding `durationMs`) that must start
   * within `withinMs` of each other before one work order opens. Absent: every breach opens one.
   */
  readonly repeat?: { readonly count: number; readonly withinMs: number };
  /** `critical` → HIGH priority, anything else → MEDIUM. */
  readonly severity: Severity;
  /** Work order short text (truncated to 40 characters). @default the rule name */
  readonly title?: string;
  readonly workOrder?: WorkOrderExtras;
  readonly appliesTo?: AssetFilter;
}

/**
 * "A fault code (an alert) reported by the machine" → one work order per fault episode: the same
 * code reported again within `cooldownMs` of its previous report belongs to the same episode.
 */
export interface AlertRule {
  readonly name: string;
  /** Alerts at least this severe count (info < warning < critical). */
  readonly minSeverity: Severity;
  /** Only these codes (`SPN 100*` matches by prefix; in any case); absent: every code, and alerts without one. */
  readonly codes?: readonly string[];
  /**
   * Other spellings of a fault code, each to the code it is (`P0217: SPN110-FMI0`): compared as
   * codes are (NFKC, trimmed, in any case; see alert.ts `canonicalCode`), applied once. A report of either
   * is the same fault, keyed and shown by the mapped code.
   */
  readonly codeMap?: Readonly<Record<string, string>>;
  /** A report this long after the previous report of the code starts a new episode, ms. */
  readonly cooldownMs: number;
  /** The work order's severity; absent: the alert's own (`critical` → HIGH, else MEDIUM). */
  readonly severity?: Severity;
  readonly title?: string;
  readonly workOrder?: WorkOrderExtras;
  readonly appliesTo?: AssetFilter;
}

/** The cumulative meter a service interval counts: operating hours, or the odometer in km. */
export type ServiceMeter = 'hours' | 'km';

/** "Every N operating hours (or N km) from a baseline" → one work order per due point. */
export interface ServiceIntervalRule {
  readonly name: string;
  readonly meter: ServiceMeter;
  /** N, in the meter's unit. */
  readonly every: number;
  /** Open the work order this much (meter units) before it is due. @default 0 */
  readonly dueSoon: number;
  /** Asset attribute holding the meter at the last service (the first baseline). */
  readonly baselineAttribute?: string;
  /** Baseline when the attribute is absent: 0 (due at multiples of N) or the first reading seen. */
  readonly defaultBaseline: 'zero' | 'first-reading';
  readonly severity: Severity;
  readonly title?: string;
  readonly workOrder?: WorkOrderExtras;
  readonly appliesTo?: AssetFilter;
}

/**
 * "Every N days from the last service" (inspections, certifications, calendar services) → one
 * work order per due date, whether the asset is used or parked: checked on the wall clock by a
 * scheduled task, not on the asset's events.
 */
export interface CalendarIntervalRule {
  readonly name: string;
  readonly everyDays: number;
  /** Open the work order this many days before the due date. @default 0 */
  readonly dueSoonDays: number;
  /** Asset attribute with the date of the last service (`YYYY-MM-DD` or an ISO time). */
  readonly baselineAttribute: string;
  /**
   * "Every 180 days or 250 h, whichever comes first": a meter the interval also counts. One work
   * order per due point, whichever reaches it first; a completion resets both.
   */
  readonly orMeter?: CalendarMeter;
  readonly severity: Severity;
  readonly title?: string;
  readonly workOrder?: WorkOrderExtras;
  readonly appliesTo?: AssetFilter;
}

/** The meter side of a calendar interval that is due by date or by meter, whichever comes first. */
export interface CalendarMeter {
  readonly meter: ServiceMeter;
  /** N, in the meter's unit. */
  readonly every: number;
  /** Open the work order this much (meter units) before it is due. @default 0 */
  readonly dueSoon: number;
  /** Asset attribute holding the meter at the last service (before the ERP reports a completion). */
  readonly baselineAttribute: string;
}

export interface MaintenanceOptions {
  readonly thresholds: readonly ThresholdRule[];
  readonly serviceIntervals: readonly ServiceIntervalRule[];
  /** Calendar intervals (the task opens their work orders; the rule takes their completions). @default none */
  readonly calendarIntervals?: readonly CalendarIntervalRule[];
  /** Fault codes and other alerts the machine reports. @default none */
  readonly alerts?: readonly AlertRule[];
  /** Event-time reorder window for sensor and meter samples, ms. @default 0 */
  readonly allowedLatenessMs: number;
  /** Asset attribute naming the asset's site (for maintenance windows). @default site */
  readonly siteAttribute: string;
  /** Maintenance windows by site; `*` applies to sites without their own. */
  readonly windows: Readonly<Record<string, WindowCalendar>>;
  /** Completed or cancelled work orders remembered per asset (for status and duplicate feedback). @default 20 */
  readonly keepClosed?: number;
  /**
   * A fault's, a due service's and a calendar interval's work order shows a sensor value read at
   * most this long (plus `allowedLatenessMs`) before it, ms (`rules.maintenance.snapshotMaxAge`).
   * @default 600000 (ALERT_SNAPSHOT_MAX_AGE_MS)
   */
  readonly snapshotMaxAgeMs?: number;
}
