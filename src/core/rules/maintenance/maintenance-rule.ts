/**
 * Maintenance initiation (touchpoint 2): sensor thresholds, fault codes (alerts) and service
 * intervals on operating hours or the odometer open work orders — exactly one per (asset, rule,
 * occurrence) — and ERP feedback closes the loop.
 *
 * One rule object (`maintenance`) evaluates every configured threshold and interval for an asset
 * from one shared, event-time-ordered stream of samples, so twenty rules per asset cost one
 * reorder buffer and one state document, not twenty. Sensor and meter samples wait
 * `allowedLatenessMs` (event time) and are then processed oldest first; samples arriving after
 * their time was processed are dropped, except a meter reading newer than every reading of its
 * meters (hours pulled from a telematics feed arrive behind live sensor samples), and a fault not
 * older than any fault taken (fault codes pulled from a feed, likewise), or older but changing no
 * decided episode of its own fault (another feed pulled behind: judged per fault, see alert.ts). Work-order feedback (`workorder` events) applies at once,
 * but a completion dated after a meter reading still in the reorder buffer, or after one hygiene holds,
 * or after the buffer's watermark (a reading dated before it may still arrive within the allowed
 * lateness), waits (`feedbackHeld`) until that reading is released, or decided by the next one, or
 * the watermark (an event `allowedLatenessMs` newer, or the asset's idle watermark) passes it, and
 * then applies in event-time order with the samples around it:
 * a completion resets that interval's baseline to the meter at completion, if it is newer than the
 * baseline in force (event time wins). Only a completion whose rule counts a meter (a service interval,
 * a whichever-first calendar interval) waits, and only for a reading of that meter: a threshold's,
 * an alert's or a plain calendar interval's records the meters only, from the readings applied
 * when it arrives, and applies at once (a silent meter feed would keep it waiting for nothing).
 * The asset's baseline attribute resets it too, when it holds a
 * later service (more hours or km) than the baseline in force; it is read as each reading is
 * counted and each completion applied, so a changed registry counts from the asset's next event.
 * @module
 */
import type { AssetRecord } from '../../model/assets.js';
import type { DeliveryIntent } from '../../model/delivery.js';
import type { AlertEvent, CanonicalEvent, SensorValue, Severity, WorkOrderStatus, WorkOrderStatusEvent } from '../../model/events.js';
import { alertKey, alertMatches, closedBy, episodeKey, escalates, faultCode, faultCodeBefore, forgottenBounds, lateVerdict, MAX_EPISODES, OVERFLOW_KEY, pruneLapsed, refusedBounds, sentSeverity, stepAlert, textEpisodeKey, withFaultText, withSentSeverity, withWorkOrderStatus, type AlertEpisode, type AlertEpisodes, type LateBounds } from './alert.js';
import { admit, advance, drain, holdsAny, type FlushableRule, type ReorderState } from '../event-time.js';
import { continuousHours, stepHours, type HoursState } from '../hours.js';
import { DEFAULT_METER_HYGIENE, HELD_METER_HYGIENE, HELD_ODOMETER_HYGIENE, ODOMETER_HYGIENE, resetRebases, wallClockAllowance, type MeterHygieneOptions } from '../meter-hygiene.js';
import { duplicateResult, lateResult, NO_DELIVERIES, type RuleContext, type RuleResult } from '../rule.js';
import { isoTime } from '../iso-format.js';
import { calendarMeterBaseline, calendarTimeZone, dayIn, type CalendarState } from './calendar-interval.js';
import { completedBaseline, formatReading, initialBaseline, stepService, UNIT, withAttributeBaseline, type ServiceState } from './service-interval.js';
import { isBreach, rearmThreshold, stepThreshold, type ThresholdState } from './threshold.js';
import { createOwnedMaintenanceRule } from './maintenance-rule-owned.js';
import { keepsLatestFor, newestReading, readingsSnapshot, sensorSnapshot, snapshotReachMs, withLatest, type LatestSensors, type WorkOrderSnapshot } from './latest-sensors.js';
import { matchesFilter, type AlertRule, type AssetFilter, type CalendarIntervalRule, type MaintenanceOptions, type ServiceIntervalRule, type ServiceMeter, type ThresholdRule } from './types.js';
import { feedbackDestination, foreignFeedbackReason, parseWorkOrderKey, priorityOf, scheduleOrder, workOrderDelivery, workOrderKey, workOrderUpdateDelivery, type WorkOrderRecord } from './work-order.js';
import { coveringWorkOrder, openServiceWorkOrder, remember, supersededCompletion, type ForgottenTally } from './work-order-memory.js';

export const MAINTENANCE_RULE = 'maintenance';

/** Sensor values as buffered: the value, or `[value, unit]` when there is a unit (compact JSON). */
export type CompactValues = Readonly<Record<string, number | readonly [number, string]>>;

/** A sample waiting in the reorder buffer: sensor values, or meter readings (operating hours, odometer km). */
export type MaintenanceSample =
  | { readonly t: number; readonly k: 's'; readonly v: CompactValues }
  | { readonly t: number; readonly k: 'a'; readonly s: Severity; readonly r: string; readonly c?: string }
  | { readonly t: number; readonly k: 'm'; readonly h?: number; readonly km?: number; readonly reset?: true; readonly kmReset?: true };

export interface MaintenanceState {
  readonly order?: ReorderState<MaintenanceSample>;
  /**
   * The kinds (`s`, `m`, `a`) of the samples released at `order.released`. One message's sensor
   * values, meter reading and fault reach the rule as separate events of one time: a sample of
   * that time whose kind is not among these is taken, not dropped as late (the same kind again is
   * late, but a fault: each is its own). Kept beside the buffer, not in it: the buffer's objects keep one shape (hot path).
   */
  readonly releasedKinds?: string;
  /** Continuous operating-hours counter. */
  readonly hours?: HoursState;
  /**
   * Accepted readings `[eventTime, hours]` at least {@link HISTORY_SPACING_MS} apart, and always
   * the latest one last: for the hours at a completion time, and for status.
   */
  readonly history?: readonly (readonly [number, number])[];
  /** Continuous odometer, km (kept only when an interval counts km). */
  readonly km?: HoursState;
  /** Accepted odometer readings `[eventTime, km]`, spaced like `history`. */
  readonly kmHistory?: readonly (readonly [number, number])[];
  readonly thresholds?: Readonly<Record<string, ThresholdState>>;
  readonly services?: Readonly<Record<string, ServiceState>>;
  /** Work orders by business key. */
  readonly workOrders?: Readonly<Record<string, WorkOrderRecord>>;
  /** Last hour-meter reading set aside by meter hygiene, for `maintenance status` (cleared by the next good one). */
  readonly meterIssue?: string;
  /** The same for the odometer. */
  readonly odometerIssue?: string;
  /** Calendar intervals: the latest completion the ERP reported, per rule (their baseline). */
  readonly calendars?: Readonly<Record<string, CalendarState>>;
  /** Alert rules: the fault episodes still within their cooldown, per rule and code. */
  readonly alerts?: Readonly<Record<string, AlertEpisodes>>;
  /**
   * Alert rules: a fault report older than the newest one taken (beyond the allowed lateness: a
   * feed pulled behind the others) is judged against its own fault's episodes only from this time
   * on (event time), whatever its fault: the latest report of an overflow episode forgotten (its
   * cooldown run out, to keep the state bounded), plus its rule's cooldown; the bound of a single
   * fault given up past those `lateAlertFaults` keeps; a fault refused as late for this bound, the
   * overflow or the cap, plus its rule's cooldown; else {@link NOTHING_FORGOTTEN}. Absent while
   * `alerts` is present: state from before it, where the newest report taken is the bound.
   */
  readonly lateAlertsFrom?: number;
  /**
   * Alert rules: per rule, the faults with a late bound of their own (see alert.ts `LateBounds`):
   * a late report of such a fault is judged only from its bound on, while other faults' are from
   * `lateAlertsFrom` on. At most a few per rule (alert.ts `LATE_FAULTS_KEPT`); absent when none.
   */
  readonly lateAlertFaults?: Readonly<Record<string, LateBounds>>;
  /**
   * Service and calendar intervals: the occurrence of the work order whose completion the
   * schedule counts from, per rule. A completion of that work order or of one before it in the
   * schedule is not applied again (see {@link supersededCompletion}): its record may have been
   * forgotten (`keepClosed`), and an ERP re-reporting it (edited later) would otherwise restart
   * the schedule at the day, or meter, of the edit.
   */
  readonly completed?: Readonly<Record<string, string>>;
  /**
   * Open work orders forgotten so far, the oldest first, to keep the state bounded (beyond
   * `MAX_OPEN_REMEMBERED`, work-order-memory.ts): `maintenance status` says so, as it cannot list them.
   */
  readonly openForgotten?: number;
  /**
   * ERP completions of a rule counting a meter (a service interval, a whichever-first calendar
   * interval) not older than a reading of that meter still in the reorder buffer (`order`), or later
   * than one hygiene holds (`holdCatchUp`, until the asset's next reading confirms or sets it aside),
   * or later than the buffer's watermark (a reading dated before it may still arrive: a declared
   * reset 2 minutes late, applied after the completion, would count the completion's baseline against
   * the meter before the reset), in arrival order, with the feedback of the same rule after them (not to overtake them; other
   * rules' feedback does not wait behind them): applied once no such
   * reading is left, oldest first (arrival order at one time), in event-time order with the samples
   * (see {@link releaseFeedback}), so the meter at completion is read from the readings up to it, as
   * had they come in order (event time wins), and a held reading, confirmed, counts before a
   * completion after it, as it would have taken at once.
   */
  readonly feedbackHeld?: readonly WorkOrderStatusEvent[];
  /**
   * The latest value of every sensor of the asset (not only those a threshold reads), with its
   * event time, for the snapshot of the work orders it opens (see latest-sensors.ts). Taken as the
   * reorder buffer releases each sensor sample (event-time order), and from a late sample no threshold
   * reads only where it is newer for its sensor: a late sample never overwrites a newer value. Kept when a threshold, an alert,
   * a service-interval or a calendar-interval rule applies to the asset (each one's work orders show them).
   */
  readonly latest?: LatestSensors;
}

/** The history covers about four hours: ERP feedback on a completion arrives well within that. */
const HISTORY_SPACING_MS = 20 * 60_000;
const HISTORY_MAX = 12;

interface Applicable {
  readonly thresholds: readonly ThresholdRule[];
  readonly alerts: readonly AlertRule[];
  /** Service intervals on operating hours. */
  readonly services: readonly ServiceIntervalRule[];
  /** Service intervals on the odometer. */
  readonly kmServices: readonly ServiceIntervalRule[];
  /** Hour meter and odometer kept: an interval counts them (a service interval, or a calendar interval's whichever-first meter). */
  readonly trackHours: boolean;
  readonly trackKm: boolean;
  /** The sensors the thresholds read, once each. */
  readonly sensors: readonly string[];
  /** Per threshold (same order), the index of its sensor in `sensors`: each value is read once per sample. */
  readonly sensorOf: readonly number[];
  /**
   * Per sensor (same order), the values no threshold on it counts as a breach: from `quietFrom` to
   * `quietTo` (the highest `below` and the lowest `above` threshold; ±Infinity without one).
   */
  readonly quietFrom: readonly number[];
  readonly quietTo: readonly number[];
  /** Every sensor's latest value is kept (`latest`): a threshold, alert, service or calendar rule applies, whose work orders show them. */
  readonly keepsLatest: boolean;
  /** Scratch for the values of `sensors` in the sample at hand (refilled per sample; not state; shared by the assets that share this). */
  readonly read: (CompactValues[string] | undefined)[];
}

/** The rules of `options` that apply to `asset`, as the sample processing reads them. */
function applicableOf(options: MaintenanceOptions, asset: AssetRecord, quietSamples: boolean): Applicable {
  const thresholds = options.thresholds.filter((r) => matchesFilter(asset, r.appliesTo));
  const sensors = [...new Set(thresholds.map((r) => r.sensor))];
  const services = options.serviceIntervals.filter((r) => matchesFilter(asset, r.appliesTo));
  const calendarMeters = (options.calendarIntervals ?? []).filter((r) => r.orMeter !== undefined && matchesFilter(asset, r.appliesTo)).map((r) => r.orMeter?.meter);
  const hoursServices = services.filter((r) => r.meter === 'hours');
  const kmServices = services.filter((r) => r.meter === 'km');
  const quietFrom = sensors.map(() => -Infinity);
  const quietTo = sensors.map(() => Infinity);
  for (const r of thresholds) {
    const k = sensors.indexOf(r.sensor);
    // No value is quiet: an empty range (from +Infinity to -Infinity).
    if (!quietSamples) {
      quietFrom[k] = Infinity;
      quietTo[k] = -Infinity;
      continue;
    }
    if (r.direction === 'above') quietTo[k] = Math.min(quietTo[k] as number, r.threshold);
    else quietFrom[k] = Math.max(quietFrom[k] as number, r.threshold);
  }
  const alerts = (options.alerts ?? []).filter((r) => matchesFilter(asset, r.appliesTo));
  return {
    thresholds,
    alerts,
    keepsLatest: keepsLatestFor(options, asset),
    services: hoursServices,
    kmServices,
    trackHours: hoursServices.length > 0 || calendarMeters.includes('hours'),
    trackKm: kmServices.length > 0 || calendarMeters.includes('km'),
    sensors,
    sensorOf: thresholds.map((r) => sensors.indexOf(r.sensor)),
    quietFrom,
    quietTo,
    read: sensors.map(() => undefined),
  };
}

/** How the rule goes about its work, not what it decides. */
export interface MaintenanceTuning {
  /**
   * A sensor sample breaching no threshold, with no threshold in an episode, is known to change
   * nothing without asking each threshold. Off: every sample is put to every threshold (what the
   * shortcut must give exactly: for tests). @default true
   */
  readonly quietSamples?: boolean;
  /** Its owned form's budget for a ring grown for every asset (see BUFFER_GROWTH_BUDGET_BYTES; for tests). */
  readonly bufferBudgetBytes?: number;
}

export function createMaintenanceRule(options: MaintenanceOptions, tuning: MaintenanceTuning = {}): FlushableRule<MaintenanceState> {
  const quietSamples = tuning.quietSamples ?? true;
  const cache = new WeakMap<AssetRecord, Applicable>();
  /**
   * The rule lists of each combination of matching rules, once: assets the same rules apply to
   * (with no `appliesTo` filters, all of them) share one, so the lists a sample is checked against
   * stay in the processor's cache from one asset's event to the next, rather than being a set of
   * arrays per asset (read once per thousand events, each a cache miss).
   */
  const shared = new Map<string, Applicable>();
  const calendarIntervals = options.calendarIntervals ?? [];
  const alertRules = options.alerts ?? [];
  // No rule has a filter: every asset gets the same lists, found without a lookup per event.
  const unfiltered = [options.thresholds, options.serviceIntervals, calendarIntervals, alertRules].every((rules) => rules.every((r) => r.appliesTo === undefined));
  let all: Applicable | undefined;
  const applicable = (asset: AssetRecord): Applicable => {
    if (unfiltered) return (all ??= applicableOf(options, asset, quietSamples));
    let a = cache.get(asset);
    if (!a) {
      const matching = (rules: readonly { readonly appliesTo?: AssetFilter | undefined }[]): string => {
        let key = '';
        for (const r of rules) key += matchesFilter(asset, r.appliesTo) ? '1' : '0';
        return key;
      };
      const key = `${matching(options.thresholds)}|${matching(options.serviceIntervals)}|${matching(calendarIntervals)}|${matching(alertRules)}`;
      a = shared.get(key);
      if (!a) {
        a = applicableOf(options, asset, quietSamples);
        shared.set(key, a);
      }
      cache.set(asset, a);
    }
    return a;
  };
  const feedback = feedbackRulesOf(options);
  const lateness = options.allowedLatenessMs;

  const rule: FlushableRule<MaintenanceState> = {
    name: MAINTENANCE_RULE,
    // Alerts only when alert rules are configured: the ingestor then skips them for this rule.
    kinds: (options.alerts?.length ?? 0) > 0 ? ['sensor', 'meter', 'workorder', 'alert'] : ['sensor', 'meter', 'workorder'],
    apply(state, event, ctx) {
      const s = state ?? {};
      if (event.kind === 'workorder') {
        // A completion after a reading of its rule's meter still buffered, or one hygiene holds, waits
        // for it: event time wins (see feedbackHeld). The rule's feedback not older than one waiting
        // waits behind it (a reopening after the completion is not applied before it).
        if (s.feedbackHeld !== undefined || event.status === 'completed') {
          if (completionWaits(s, event, feedback, watermarkOf(s, lateness)) || heldBehind(s.feedbackHeld, event)) return { state: { ...s, feedbackHeld: [...(s.feedbackHeld ?? []), event] }, deliveries: [] };
        }
        return { state: applyFeedbackOf(s, event, ctx, options, feedback), deliveries: [] };
      }
      const a = applicable(ctx.asset);
      const sample = sampleOf(event, a);
      // Nothing for this asset's rules: leave the sub-state as it is (absent stays absent).
      if (!sample) return { state: state as MaintenanceState, deliveries: [] };
      // The newest samples kept (`keepLast`): one sent again (a client's retry) is a duplicate, not late.
      const adm = admit(s.order, sample, lateness, sampleOrder, true);
      if (adm.late) {
        // A sample no threshold reads only feeds the snapshot (`latest`): taken where newer per sensor, never late.
        if (sample.k === 's' && !readsAny(sample.v, a)) {
          const latest = withLatest(s.latest, sample.t, sample.v);
          if (latest === s.latest) return { state: s, deliveries: [] };
          const next = copy(s);
          next.latest = latest;
          return { state: next, deliveries: [] };
        }
        // A declared meter reset comes after the readings that showed the new meter (set aside as
        // backwards): taken now, never dropped as late, so the readings after it count again.
        const reset = declaredResetOf(sample);
        if (reset) return processSamples(copy(s), withRecounted(s, reset), a, ctx, options);
        // Not newer than what was released, but of its very time and another kind (another event of that message): taken now.
        // So is a fault of that time (a message's second fault code): each is a fact of its own, and
        // one sent again is a duplicate (`order.last`), not this.
        const kinds = s.releasedKinds;
        // So is a sensor sample of that time whose threshold sensors none of the sensor samples taken at
        // it has (one sensor per message, an MQTT topic per tag, all of one time): the thresholds it
        // steps have seen nothing of its time, so taken now they see what they would have in order.
        const other = sample.k === 'a' || (kinds !== undefined && (!kinds.includes(sample.k) || (sample.k === 's' && !sharesThresholdSensor(sample.v, s.order?.last, a))));
        if (sample.t !== s.order?.released || !other) {
          // Behind the sensor samples but newer than every reading of its meters (hours pulled
          // from a telematics feed every few minutes arrive behind live sensor samples): in order
          // for the meters, which is all a reading is counted against, so taken now.
          // Faults the same way (fault codes pulled from a telematics feed arrive behind live sensor
          // samples): one not older than every fault taken is in order for the alert rules, which
          // decide on faults alone, so taken now rather than lost. So is an older one that changes no
          // decided episode of its own fault (another feed pulled behind: see lateVerdict).
          if ((sample.k === 'm' && newerThanMeters(s, sample)) || (sample.k === 'a' && (notOlderThanAlerts(s, sample.t) || lateAlertFits(s, sample, a)))) return processSamples(copy(s), [sample], a, ctx, options);
          // A fault refused as late still bounds the late reports of its fault (or of any) judged after it (see refusedBounds).
          return sample.k === 'a' ? lateAlertResult(s, sample, a) : lateResult(s);
        }
        const next = copy(s);
        next.releasedKinds = kinds === undefined ? sample.k : kinds.includes(sample.k) ? kinds : kinds + sample.k;
        // One of the samples released last, too: sent again, a duplicate.
        if (s.order.last !== undefined) next.order = { ...s.order, last: [...s.order.last, sample] };
        return processSamples(next, [sample], a, ctx, options);
      }
      if (adm.duplicate) return duplicateResult(s);
      return processSamples(withOrder(s, adm.state, adm.released), adm.released, a, ctx, options);
    },
    flush(state, ctx, upTo) {
      if (state === undefined) return { state: state as unknown as MaintenanceState, deliveries: [] };
      const s = state;
      // Event time is final up to here: all of it at the end of the input, else the idle watermark's time less the lateness.
      const through = upTo === undefined ? Infinity : Math.max(s.order?.newest ?? upTo, upTo) - lateness;
      const d = s.order === undefined ? undefined : upTo === undefined ? drain(s.order, true) : advance(s.order, upTo, lateness, true);
      if (d === undefined || d.released.length === 0) {
        // No sample released: the completions the watermark passed (see completionWaits) apply alone.
        if (s.feedbackHeld === undefined) return { state: s, deliveries: [] };
        const next = releaseFeedback(copy(s), Infinity, ctx, options, through);
        return { state: next.feedbackHeld === s.feedbackHeld ? s : next, deliveries: [] };
      }
      return processSamples(withOrder(s, d.state, d.released), d.released, applicable(ctx.asset), ctx, options, through);
    },
    holds: (state) => holdsAny(state?.order) || waitsForWatermark(state),
    // Its owned form decides as this rule does (the oracle's property tests), on state kept in columns.
    owned: () => createOwnedMaintenanceRule(rule, options, { spacingMs: HISTORY_SPACING_MS, max: HISTORY_MAX }, tuning.bufferBudgetBytes),
  };
  return rule;
}

type Mutable = { -readonly [K in keyof MaintenanceState]: MaintenanceState[K] };

/** Every meter the reading carries was last read before it (or never): it is in order for them. */
function newerThanMeters(s: MaintenanceState, sample: MaintenanceSample & { k: 'm' }): boolean {
  return (sample.h === undefined || !(sample.t <= (s.hours?.hygiene.last?.eventTime ?? -Infinity))) && (sample.km === undefined || !(sample.t <= (s.km?.hygiene.last?.eventTime ?? -Infinity)));
}

/**
 * No fault taken is newer than `t`: the latest report of any fault the alert rules keep (an
 * episode is dropped only once a newer report is past its cooldown, so the newest is always kept).
 * At `t` itself too: a report of a fault at its latest report's time opens nothing again.
 */
function notOlderThanAlerts(s: MaintenanceState, t: number): boolean {
  for (const rule in s.alerts) {
    const episodes = s.alerts[rule] as AlertEpisodes;
    for (const key in episodes) if ((episodes[key] as AlertEpisode).last > t) return false;
  }
  return true;
}

/** {@link MaintenanceState.lateAlertsFrom} when no episode was forgotten: the earliest time a Date holds. */
export const NOTHING_FORGOTTEN = -8.64e15;

/** The newest report any alert rule kept took (-Infinity for none). */
function newestAlert(alerts: MaintenanceState['alerts']): number {
  let newest = -Infinity;
  for (const rule in alerts) {
    const episodes = alerts[rule] as AlertEpisodes;
    for (const key in episodes) newest = Math.max(newest, (episodes[key] as AlertEpisode).last);
  }
  return newest;
}

/** {@link MaintenanceState.lateAlertsFrom} as it stands (state from before it: the newest report taken). */
function lateAlertsFromOf(s: MaintenanceState): number {
  return s.lateAlertsFrom ?? (s.alerts === undefined ? NOTHING_FORGOTTEN : newestAlert(s.alerts));
}

/**
 * The episode key a rule takes a report for (see {@link episodeKey}), the fault as it compares it,
 * and the keys that are that fault (`ofFault`: the key, and the spellings its episode may be kept under).
 */
function intoOf(rule: AlertRule, episodes: AlertEpisodes | undefined, sample: Extract<MaintenanceSample, { k: 'a' }>, legacy: string): { readonly code: string | undefined; readonly key: string; readonly into: string; readonly ofFault: (k: string) => boolean } {
  const code = faultCode(rule, sample.c);
  // No code: keyed by its text, compared in NFKC form, trimmed, its whitespace runs one space, in any case (never through the codeMap).
  if (code === undefined) return { code, ...textEpisodeKey(episodes, sample.r, sample.t, rule.cooldownMs) };
  const key = alertKey(code, sample.r);
  // And the key the code had before codes were compared in their NFKC form (full-width `Ｐ０１２３` for `P0123`), where that changes it.
  const before = faultCodeBefore(rule, sample.c);
  const legacies = before === code ? [legacy] : [legacy, alertKey(before, '')];
  const sameFault = (k: string): boolean => (rule.codeMap !== undefined || /[a-z]/.test(k)) && alertKey(faultCode(rule, k), '') === key;
  const into = episodeKey(episodes, key, sample.t, rule.cooldownMs, legacies, sameFault);
  return { code, key, into, ofFault: (k) => k === key || legacies.includes(k) || sameFault(k) };
}

/** A fault report as the rule takes it. */
function sampleOfAlert(event: AlertEvent): Extract<MaintenanceSample, { k: 'a' }> {
  return event.code !== undefined && event.code.trim() !== '' ? { t: event.eventTime, k: 'a', s: event.severity, r: event.reason, c: event.code } : { t: event.eventTime, k: 'a', s: event.severity, r: event.reason };
}

/** A work order a fault report leaves at MEDIUM, as the ERP had reported it closed by the report's time ({@link closedWhenRaised}). */
export interface ClosedWhenRaised {
  readonly rule: string;
  readonly businessKey: string;
  readonly status: WorkOrderStatus;
  /** When the ERP changed it so (event time). */
  readonly at: number;
  /** A fault with no code: its text as its episode keeps it ({@link AlertEpisode.r}; the business key has a hash of it). */
  readonly text?: string;
}

/**
 * For `rules test`: the work orders a `critical` fault report would raise to HIGH (see
 * {@link escalates}) but does not, as the ERP had reported them completed or cancelled at or before
 * the report's event time ({@link closedBy}), judged on the maintenance state `s` (the state after
 * the report's step): per alert rule of `alerts` applying to `asset` and taking the report into an
 * episode under way whose work order was sent at MEDIUM.
 */
export function closedWhenRaised(alerts: readonly AlertRule[], s: MaintenanceState | undefined, event: AlertEvent, asset: AssetRecord): ClosedWhenRaised[] {
  const out: ClosedWhenRaised[] = [];
  if (priorityOf(event.severity) !== 'HIGH') return out;
  const sample = sampleOfAlert(event);
  const legacy = alertKey(sample.c, sample.r);
  for (const rule of alerts) {
    if (!matchesFilter(asset, rule.appliesTo) || !alertMatches(rule, sample.s, sample.c)) continue;
    const episodes = s?.alerts?.[rule.name];
    const { into } = intoOf(rule, episodes, sample, legacy);
    const e = episodes?.[into];
    // Not an episode under way at its time (it opens one, or comes before it), nor one it would raise.
    if (e === undefined || e.start > sample.t || (sample.t > e.last && sample.t - e.last >= rule.cooldownMs)) continue;
    if (rule.severity !== undefined || e.s === undefined || priorityOf(e.s) === 'HIGH') continue;
    const closed = closedBy(e, sample.t);
    if (closed !== undefined) out.push({ rule: rule.name, businessKey: workOrderKey(asset.erpAssetId, rule.name, `${into}@${new Date(e.start).toISOString()}`), status: closed[0], at: closed[1], ...(e.r !== undefined ? { text: e.r } : {}) });
  }
  return out;
}

/** Some rule can take the fault, older than the newest one taken, as in event-time order (see lateVerdict): it is not late. */
function lateAlertFits(s: MaintenanceState, sample: Extract<MaintenanceSample, { k: 'a' }>, a: Applicable): boolean {
  const from = lateAlertsFromOf(s);
  const legacy = alertKey(sample.c, sample.r);
  for (const rule of a.alerts) {
    if (!alertMatches(rule, sample.s, sample.c)) continue;
    const episodes = s.alerts?.[rule.name];
    const { into, ofFault } = intoOf(rule, episodes, sample, legacy);
    if (lateVerdict(episodes, into, ofFault, sample.t, from, s.lateAlertFaults?.[rule.name]) === 'fits') return true;
  }
  return false;
}

/** A fault report no rule takes as late (not lateAlertFits): dropped, the late-fault bounds raised past it (see refusedBounds). */
function lateAlertResult(s: MaintenanceState, sample: Extract<MaintenanceSample, { k: 'a' }>, a: Applicable): RuleResult<MaintenanceState> {
  const before = lateAlertsFromOf(s);
  let from = before;
  let faults = s.lateAlertFaults;
  const legacy = alertKey(sample.c, sample.r);
  for (const rule of a.alerts) {
    if (!alertMatches(rule, sample.s, sample.c)) continue;
    const episodes = s.alerts?.[rule.name];
    const { into, ofFault } = intoOf(rule, episodes, sample, legacy);
    const verdict = lateVerdict(episodes, into, ofFault, sample.t, from, faults?.[rule.name]);
    if (verdict === 'fits') continue;
    const r = refusedBounds(verdict, into, sample.t, rule.cooldownMs, from, faults?.[rule.name]);
    from = r.from;
    faults = withRuleBounds(faults, rule.name, r.bounds);
  }
  if (from === before && faults === s.lateAlertFaults) return lateResult(s);
  const next = copy(s);
  next.lateAlertsFrom = from;
  next.lateAlertFaults = compactBounds(faults, from);
  return lateResult(next);
}

/** `faults` with `rule`'s bounds `bounds` (the same object when they are its bounds already). */
function withRuleBounds(faults: MaintenanceState['lateAlertFaults'], rule: string, bounds: LateBounds | undefined): MaintenanceState['lateAlertFaults'] {
  if (faults?.[rule] === bounds) return faults;
  const next = { ...faults };
  if (bounds === undefined || Object.keys(bounds).length === 0) delete next[rule];
  else next[rule] = bounds;
  return next;
}

/** `faults` without the bounds not past `from` (they bound nothing more), nor rules left with none; undefined for none. */
function compactBounds(faults: MaintenanceState['lateAlertFaults'], from: number): MaintenanceState['lateAlertFaults'] {
  if (faults === undefined) return undefined;
  let next: Record<string, LateBounds> | undefined;
  for (const rule in faults) {
    const bounds = faults[rule] as LateBounds;
    let keep: Record<string, number> | undefined;
    for (const k in bounds) if ((bounds[k] as number) <= from) keep ??= { ...bounds };
    if (keep === undefined) continue;
    for (const k in keep) if ((keep[k] as number) <= from) delete keep[k];
    next ??= { ...faults };
    if (Object.keys(keep).length === 0) delete next[rule];
    else next[rule] = keep;
  }
  const r = next ?? faults;
  return Object.keys(r).length === 0 ? undefined : r;
}

/**
 * A reset declared late, and after it, when it becomes a meter's base (the readings after it were
 * set aside, as a new meter's low readings are), the newest meter readings still kept
 * (`order.last`) of that meter: counted now on the new meter, as in order, not only from its next
 * reading. When a reading after it was accepted the reset changes no base (`declareMeterReset`).
 */
function withRecounted(s: MaintenanceState, reset: MaintenanceSample & { k: 'm' }): MaintenanceSample[] {
  const out: MaintenanceSample[] = [reset];
  const hours = reset.reset === true && resetRebases(s.hours?.hygiene, reset.t);
  const km = reset.kmReset === true && resetRebases(s.km?.hygiene, reset.t);
  if (!hours && !km) return out;
  for (const x of s.order?.last ?? []) {
    if (x.k !== 'm' || x.t <= reset.t || x.reset === true || x.kmReset === true) continue;
    const h = hours ? x.h : undefined;
    const k = km ? x.km : undefined;
    if (h !== undefined || k !== undefined) out.push({ t: x.t, k: 'm', ...(h !== undefined ? { h } : {}), ...(k !== undefined ? { km: k } : {}) });
  }
  return out;
}

/** Only the declared resets a meter sample carries (not its other meter's plain reading), if any. */
function declaredResetOf(sample: MaintenanceSample): (MaintenanceSample & { k: 'm' }) | undefined {
  if (sample.k !== 'm' || (sample.reset !== true && sample.kmReset !== true)) return undefined;
  const { t, h, km, reset, kmReset } = sample;
  return { t, k: 'm', ...(reset === true && h !== undefined ? { h, reset } : {}), ...(kmReset === true && km !== undefined ? { km, kmReset } : {}) };
}

/**
 * A copy to change, without `drop`. Field by field, every field present (`undefined` where
 * absent; JSON drops those, so the stored document is the same): one object of one shape, with no
 * spread, `delete` or property added later (this runs per sample).
 */
function copy(s: MaintenanceState, drop?: 'meterIssue' | 'odometerIssue'): Mutable {
  return {
    order: s.order,
    releasedKinds: s.releasedKinds,
    hours: s.hours,
    history: s.history,
    km: s.km,
    kmHistory: s.kmHistory,
    thresholds: s.thresholds,
    services: s.services,
    workOrders: s.workOrders,
    meterIssue: drop === 'meterIssue' ? undefined : s.meterIssue,
    odometerIssue: drop === 'odometerIssue' ? undefined : s.odometerIssue,
    calendars: s.calendars,
    alerts: s.alerts,
    lateAlertsFrom: s.lateAlertsFrom,
    lateAlertFaults: s.lateAlertFaults,
    completed: s.completed,
    openForgotten: s.openForgotten,
    feedbackHeld: s.feedbackHeld,
    latest: s.latest,
  };
}

/**
 * The meter a completion of `e`'s work order restarts its rule from: a service interval's, or a
 * whichever-first calendar interval's. Undefined for other feedback, and for a completion of a
 * rule that counts none (a threshold, an alert, a plain calendar interval, a rule not configured):
 * that one records the meters at completion only (from the readings applied when it applies).
 */
function countedMeterOf(e: WorkOrderStatusEvent, r: FeedbackRules): ServiceMeter | undefined {
  if (e.status !== 'completed') return undefined;
  const rule = parseWorkOrderKey(e.businessKey)?.rule;
  if (rule === undefined) return undefined;
  return r.services.get(rule)?.meter ?? r.calendars.get(rule);
}

/**
 * Whether the completion `e` waits (see `feedbackHeld`): its rule counts a meter, and a reading of
 * that meter of `e`'s time or before is still in the reorder buffer, or the meter holds one
 * (`holdCatchUp`) older than it, or event time is final only up to `through`, before `e` (a reading
 * dated before it may still arrive within the allowed lateness, and count before it: a declared
 * reset; with no lateness allowed, one arriving after it is late). Never other feedback, nor a
 * completion of a rule counting no meter.
 */
function completionWaits(s: MaintenanceState, e: WorkOrderStatusEvent, r: FeedbackRules, through: number): boolean {
  const meter = countedMeterOf(e, r);
  if (meter === undefined) return false;
  return (e.eventTime > through && r.lateness > 0) || heldIn(meter === 'km' ? s.km : s.hours, e.eventTime) || bufferedReadingBy(s.order, e.eventTime, meter) !== undefined;
}

/**
 * The event time up to which the asset's samples are final, as far as its events tell: the newest
 * event time seen less the allowed lateness (a sample older than that comes later than allowed).
 * Nothing seen: none.
 */
function watermarkOf(s: MaintenanceState, lateness: number): number {
  return (s.order?.newest ?? -Infinity) - lateness;
}

/**
 * Whether `s` holds a completion that only the watermark keeps back (see completionWaits): one an
 * idle watermark can apply. One waiting for a reading hygiene holds waits for the asset's next reading.
 */
function waitsForWatermark(s: MaintenanceState | undefined): boolean {
  const held = s?.feedbackHeld;
  if (held === undefined) return false;
  for (const e of held) if (!heldIn(s?.hours, e.eventTime) && !heldIn(s?.km, e.eventTime)) return true;
  return false;
}

/** The first reading of `meter` of time `t` or before the reorder buffer still holds (pending is oldest first). */
function bufferedReadingBy(order: ReorderState<MaintenanceSample> | undefined, t: number, meter: ServiceMeter): MaintenanceSample | undefined {
  for (const x of order?.pending ?? []) {
    if (x.t > t) return undefined;
    if (x.k === 'm' && (meter === 'km' ? x.km : x.h) !== undefined) return x;
  }
  return undefined;
}

/** The rule a work-order event is about (its business key when that names none): feedback waits behind held feedback of its rule only. */
function feedbackRuleOf(e: WorkOrderStatusEvent): string {
  return parseWorkOrderKey(e.businessKey)?.rule ?? e.businessKey;
}

/** Whether feedback of `e`'s rule not newer than `e` is held (`e` waits behind it). */
function heldBehind(held: MaintenanceState['feedbackHeld'], e: WorkOrderStatusEvent): boolean {
  if (held === undefined) return false;
  const rule = feedbackRuleOf(e);
  return held.some((x) => x.eventTime <= e.eventTime && feedbackRuleOf(x) === rule);
}

/**
 * What feedback held back (`feedbackHeld`) waits for, for `maintenance status`: for a completion of
 * a rule counting a meter, the reading that meter holds before it, or the reading of that meter of
 * its time or before still in the reorder buffer; else (feedback after a completion of its rule that
 * waits) that completion; else (nothing left to wait for) the asset's next event, which applies it.
 */
export function feedbackWaitsFor(s: MaintenanceState, e: WorkOrderStatusEvent, options: MaintenanceOptions): string {
  const meter = countedMeterOf(e, feedbackRulesOf(options));
  if (meter !== undefined) {
    const counter = meter === 'km' ? s.km : s.hours;
    const what = meter === 'km' ? 'odometer' : 'hour-meter';
    const jump = heldIn(counter, e.eventTime) ? counter?.hygiene.jump : undefined;
    if (jump !== undefined) return `the ${what} reading of ${isoTime(jump.eventTime)} held as a possible catch-up, until the asset's next reading confirms it or sets it aside`;
    const buffered = bufferedReadingBy(s.order, e.eventTime, meter);
    if (buffered !== undefined) return `the ${what} reading of ${isoTime(buffered.t)} still in the reorder buffer, until it is released (rules.allowedLateness after a newer event, or the asset's idle watermark: rules.idleAfter)`;
    if (options.allowedLatenessMs > 0 && e.eventTime > watermarkOf(s, options.allowedLatenessMs)) {
      return `an event of the asset dated after ${isoTime(e.eventTime + options.allowedLatenessMs)} (rules.allowedLateness after it: a ${what} reading dated before it may still arrive), or the asset's idle watermark (rules.idleAfter)`;
    }
  }
  const rule = feedbackRuleOf(e);
  const first = [...(s.feedbackHeld ?? [])].sort((x, y) => x.eventTime - y.eventTime).find((x) => x.status === 'completed' && x !== e && x.eventTime <= e.eventTime && feedbackRuleOf(x) === rule);
  return first !== undefined ? `the completion of ${first.businessKey} at ${isoTime(first.eventTime)} before it` : 'the next event of the asset';
}

function heldIn(counter: HoursState | undefined, t: number): boolean {
  const hy = counter?.hygiene;
  return hy?.jumpHeld === true && hy.jump !== undefined && hy.jump.eventTime < t;
}

/** What applyFeedback needs of the options, once per options object. */
interface FeedbackRules {
  readonly services: ReadonlyMap<string, ServiceIntervalRule>;
  /** Calendar intervals by name, with the meter a whichever-first one counts. */
  readonly calendars: ReadonlyMap<string, ServiceMeter | undefined>;
  readonly thresholds: ReadonlySet<string>;
  /** `allowedLatenessMs`: with none, a reading dated before a completion that arrives after it is late, and the completion waits for no watermark. */
  readonly lateness: number;
}
const feedbackRules = new WeakMap<MaintenanceOptions, FeedbackRules>();

function feedbackRulesOf(options: MaintenanceOptions): FeedbackRules {
  let r = feedbackRules.get(options);
  if (!r) {
    r = {
      services: new Map(options.serviceIntervals.map((x) => [x.name, x])),
      calendars: new Map((options.calendarIntervals ?? []).map((x) => [x.name, x.orMeter?.meter])),
      thresholds: new Set(options.thresholds.map((x) => x.name)),
      lateness: options.allowedLatenessMs,
    };
    feedbackRules.set(options, r);
  }
  return r;
}

/** `s` after the ERP's work-order event `e` (see applyFeedback). */
function applyFeedbackOf(s: MaintenanceState, e: WorkOrderStatusEvent, ctx: RuleContext, options: MaintenanceOptions, r: FeedbackRules): MaintenanceState {
  return applyFeedback(s, e, ctx.asset, ctx.destination, r.services, r.calendars, r.thresholds, options.keepClosed ?? 20, r.calendars.size > 0 ? calendarTimeZone(ctx.asset, options) : 'UTC');
}

/**
 * `s` after the feedback it holds back (`feedbackHeld`) of event time before `before`, oldest first
 * (in arrival order at one time), each rule's up to its first completion that still waits (see
 * {@link completionWaits}; event time final up to `through`: by default `before`, the time of the
 * sample released next, as samples are released oldest first): that one and the rule's feedback
 * after it stay held.
 */
function releaseFeedback(s: Mutable, before: number, ctx: RuleContext, options: MaintenanceOptions, through = before): Mutable {
  const r = feedbackRulesOf(options);
  // A stable sort: arrival order at equal times.
  const held = [...(s.feedbackHeld ?? [])].sort((x, y) => x.eventTime - y.eventTime);
  const due: WorkOrderStatusEvent[] = [];
  const rest: WorkOrderStatusEvent[] = [];
  let waiting: Set<string> | undefined;
  for (const e of held) {
    const rule = feedbackRuleOf(e);
    if (!(e.eventTime < before) || waiting?.has(rule) === true || completionWaits(s, e, r, through)) {
      (waiting ??= new Set()).add(rule);
      rest.push(e);
    } else due.push(e);
  }
  if (due.length === 0) return s;
  s.feedbackHeld = rest.length > 0 ? rest : undefined;
  let next: MaintenanceState = s;
  for (const e of due) next = applyFeedbackOf(next, e, ctx, options, r);
  return copy(next);
}

/**
 * The state with another reorder buffer, after `released` came out of it: the kinds released at
 * its release time are those of the last of `released` and the ones of its time before it (one
 * kind, usually: a one-character string, no allocation); with none released, as before.
 */
function withOrder(s: MaintenanceState, order: ReorderState<MaintenanceSample>, released: readonly MaintenanceSample[]): Mutable {
  const next = copy(s);
  next.order = order;
  const last = released[released.length - 1];
  if (last !== undefined) {
    let kinds: string = last.k;
    for (let i = released.length - 2; i >= 0 && (released[i] as MaintenanceSample).t === last.t; i--) {
      const k = (released[i] as MaintenanceSample).k;
      if (!kinds.includes(k)) kinds += k;
    }
    next.releasedKinds = kinds;
  }
  return next;
}

/**
 * Orders samples with equal times and recognises duplicates: by their JSON, as always (a meter
 * reading declaring no reset before one that does). A meter and
 * a sensor sample of one message share their time, and their JSON differs first at the kind
 * (`{"t":…,"k":"m"` < `{"t":…,"k":"s"`), so that case is decided without serialising.
 */
function sampleOrder(a: MaintenanceSample, b: MaintenanceSample): number {
  if (a.k !== b.k) return a.k < b.k ? -1 : 1;
  // Meter readings of one time: a plain one before a declared reset (the old meter's final reading,
  // then the new meter's start), as the usage rule orders them; by JSON a reset to 0 came first,
  // and the old meter's final reading was then set aside against the new meter.
  if (a.k === 'm' && b.k === 'm') {
    const ra = a.reset === true || a.kmReset === true;
    if (ra !== (b.reset === true || b.kmReset === true)) return ra ? 1 : -1;
  }
  const ka = JSON.stringify(a);
  const kb = JSON.stringify(b);
  return ka === kb ? 0 : ka < kb ? -1 : 1;
}

function sampleOf(event: CanonicalEvent, a: Applicable): MaintenanceSample | undefined {
  if (event.kind === 'alert') {
    // Only alerts some rule takes enter the buffer and the state.
    if (!a.alerts.some((r) => alertMatches(r, event.severity, event.code))) return undefined;
    // A blank code (a feed's empty field) is no code, as for the fault's key (alertKey): not shown as one.
    return sampleOfAlert(event);
  }
  if (event.kind === 'sensor') {
    // Every sensor sample, for the snapshot (`latest`), when a rule whose work orders show it applies.
    if (!a.keepsLatest) return undefined;
    for (const _ in event.values) return { t: event.eventTime, k: 's', v: compact(event.values) };
    return undefined;
  }
  if (event.kind === 'meter') {
    const h = a.trackHours ? event.operatingHours : undefined;
    const km = a.trackKm ? event.odometerKm : undefined;
    const t = event.eventTime;
    if (km === undefined) {
      if (h === undefined) return undefined;
      return event.declaredReset === true ? { t, k: 'm', h, reset: true } : { t, k: 'm', h };
    }
    const kmReset = event.odometerReset === true;
    if (h === undefined) return kmReset ? { t, k: 'm', km, kmReset } : { t, k: 'm', km };
    if (event.declaredReset === true) return kmReset ? { t, k: 'm', h, km, reset: true, kmReset } : { t, k: 'm', h, km, reset: true };
    return kmReset ? { t, k: 'm', h, km, kmReset } : { t, k: 'm', h, km };
  }
  return undefined;
}

/** Whether a threshold sensor of `a` in `values` is in a sensor sample of `last` too. */
function sharesThresholdSensor(values: CompactValues, last: readonly MaintenanceSample[] | undefined, a: Applicable): boolean {
  for (const x of last ?? []) {
    if (x.k !== 's') continue;
    for (const name of a.sensors) if (values[name] !== undefined && x.v[name] !== undefined) return true;
  }
  return false;
}

/** Whether a threshold of `a` reads one of `values`. */
function readsAny(values: CompactValues, a: Applicable): boolean {
  for (const name of a.sensors) if (values[name] !== undefined) return true;
  return false;
}

function compact(values: Readonly<Record<string, SensorValue>>): CompactValues {
  const out: Record<string, number | readonly [number, string]> = {};
  for (const k in values) {
    const v = values[k] as SensorValue;
    out[k] = v.unit !== undefined ? [v.value, v.unit] : v.value;
  }
  return out;
}

/**
 * A reading as the 40-character short text shows it: to 4 significant digits, but with 2 decimals
 * at least (`98.89` for 210 °F converted to 98.888888889 °C, whose digits cut the unit off the
 * title; `1234.5` as sent). The description, trigger and snapshot keep the value whole.
 */
export function shortValue(value: number): string {
  if (!Number.isFinite(value) || value === 0) return String(value);
  const decimals = Math.min(9, Math.max(2, 3 - Math.floor(Math.log10(Math.abs(value)))));
  return String(Number(value.toFixed(decimals)));
}

/**
 * Released samples, oldest first. `start` is the caller's fresh copy of the state, made for this
 * call: it is the draft the samples change (a meter reading sets its fields on it rather than
 * copying the state once more per reading); nothing else holds it. `through`: the event time up to
 * which samples are final once these are taken, for the completions after the last of them (see
 * completionWaits): by default the buffer's watermark; a flush's its own.
 */
function processSamples(
  start: Mutable,
  samples: readonly MaintenanceSample[],
  a: Applicable,
  ctx: RuleContext,
  options: MaintenanceOptions,
  through?: number,
): RuleResult<MaintenanceState> {
  let s: Mutable = start;
  const deliveries = collected;
  deliveries.length = 0;
  forgotten.open = 0;
  for (const sample of samples) {
    // Completions that waited for readings now counted apply in event-time order with the samples.
    if (s.feedbackHeld !== undefined) s = releaseFeedback(s, sample.t, ctx, options);
    if (sample.k === 's') s = onSensor(s, sample.t, sample.v, a, ctx, options, deliveries);
    else if (sample.k === 'a') s = onAlert(s, sample, a, ctx, options, deliveries);
    else {
      if (sample.h !== undefined) s = onReading(s, 'hours', sample.t, sample.h, sample.reset === true, a.services, ctx, options, deliveries);
      if (sample.km !== undefined) s = onReading(s, 'km', sample.t, sample.km, sample.kmReset === true, a.kmServices, ctx, options, deliveries);
    }
  }
  // And those after the last of them, unless a reading still buffered (or held) is not older, or one dated before them may still arrive.
  if (s.feedbackHeld !== undefined) s = releaseFeedback(s, Infinity, ctx, options, through ?? watermarkOf(s, options.allowedLatenessMs));
  if (forgotten.open > 0) {
    s.openForgotten = (s.openForgotten ?? 0) + forgotten.open;
    forgotten.open = 0;
  }
  // Most samples deliver nothing: then no array at all (a copy only when there are deliveries).
  return { state: s, deliveries: deliveries.length === 0 ? NO_DELIVERIES : deliveries.splice(0) };
}

/**
 * The deliveries of the {@link processSamples} call at hand (it never re-enters, and empties this
 * at its start and end): one array reused rather than a fresh one per sample.
 */
const collected: DeliveryIntent[] = [];

/** The open work orders the {@link processSamples} call at hand made {@link remember} forget (reused as `collected` is). */
const forgotten: ForgottenTally = { open: 0 };

function onSensor(
  s: Mutable,
  t: number,
  values: CompactValues,
  a: Applicable,
  ctx: RuleContext,
  options: MaintenanceOptions,
  out: DeliveryIntent[],
): Mutable {
  // The snapshot's latest values first (event-time order: the buffer releases samples oldest first).
  const latest = withLatest(s.latest, t, values);
  if (latest !== s.latest) s.latest = latest;
  let thresholds = s.thresholds;
  let workOrders = s.workOrders;
  const read = a.read;
  let quiet = true;
  for (let k = 0; k < a.sensors.length; k++) {
    const cv = values[a.sensors[k] as string];
    read[k] = cv;
    if (cv === undefined) continue;
    const value = typeof cv === 'number' ? cv : cv[0];
    // Not `value < from || value > to`: NaN is no quiet value here (the rules decide on it one by one).
    if (!(value >= (a.quietFrom[k] as number) && value <= (a.quietTo[k] as number))) quiet = false;
  }
  // No value breaches any threshold, and no threshold is in an episode or counting repeats: then
  // every rule's step leaves its state as it is and fires nothing (the common case: a normal
  // sample), so the state is returned without asking each rule.
  if (quiet && settled(thresholds)) return s;
  for (let r = 0; r < a.thresholds.length; r++) {
    const rule = a.thresholds[r] as ThresholdRule;
    const cv = read[a.sensorOf[r] as number];
    if (cv === undefined) continue;
    const value = typeof cv === 'number' ? cv : cv[0];
    const before = thresholds?.[rule.name];
    // The common case, a quiet rule and a normal value, allocates nothing.
    if (before === undefined && !isBreach(rule, value)) continue;
    const step = stepThreshold(rule, before, t, value);
    if (step.state !== before) {
      // A quiet rule that never fired needs no state: keep the document small.
      if (step.state.phase === 'normal' && step.state.firedAt === undefined && step.state.hits === undefined) {
        if (before !== undefined) {
          const { [rule.name]: _gone, ...rest } = thresholds ?? {};
          thresholds = rest;
        }
      } else thresholds = { ...thresholds, [rule.name]: step.state };
    }
    if (!step.fire) continue;
    const v: SensorValue = typeof cv === 'number' ? { value: cv } : { value: cv[0], unit: cv[1] };
    const occurrence = new Date(step.fire.start).toISOString();
    // A reading without a unit is in the rule's (one in another unit was converted to it before the rules).
    const unit = v.unit ? ` ${v.unit}` : rule.unit !== undefined ? ` ${rule.unit}` : '';
    const cmp = rule.direction === 'above' ? 'above' : 'below';
    const held = Math.round((t - step.fire.start) / 1000);
    // A repeating rule: the episodes it counted, and the window they fell in.
    const episodes = step.fire.episodes;
    const within = rule.repeat?.withinMs ?? 0;
    const description = episodes
      ? `${rule.sensor} ${cmp} ${rule.threshold}${unit} ${episodes.length} times within ${formatDuration(within)}` +
        `${rule.durationMs > 0 ? `, each for ${formatDuration(rule.durationMs)}` : ''} (starting ${episodes.map((e) => new Date(e).toISOString()).join(', ')}; ` +
        `peak of the last ${step.fire.peak}${unit}, now ${v.value}${unit}; rule ${rule.name})`
      : `${rule.sensor} ${cmp} ${rule.threshold}${unit} for ${formatDuration(held * 1000)} ` +
        `(since ${occurrence}, peak ${step.fire.peak}${unit}, now ${v.value}${unit}; rule ${rule.name}, needs ${formatDuration(rule.durationMs)})`;
    const d = workOrderDelivery(
      {
        rule: rule.name,
        occurrence,
        severity: rule.severity,
        // A repeating rule's point is the count, which the 40-character short text keeps.
        title: episodes ? `${rule.title ?? rule.name} (${episodes.length}× in ${formatDuration(within)})` : `${rule.title ?? rule.name}: ${rule.sensor} ${shortValue(v.value)}${unit}`,
        description,
        trigger: {
          type: 'threshold',
          sensor: rule.sensor,
          condition: cmp,
          threshold: rule.threshold,
          clearAt: rule.clearAt,
          durationMs: rule.durationMs,
          firstBreachAt: occurrence,
          ...(episodes ? { repeat: { count: episodes.length, withinMs: within, breachesAt: episodes.map((e) => new Date(e).toISOString()) } } : {}),
          peak: step.fire.peak,
          value: v.value,
          // The unit the threshold, peak and value are in: the reading's, else the rule's (a reading without one is in it).
          ...(v.unit ? { unit: v.unit } : rule.unit !== undefined ? { unit: rule.unit } : {}),
        },
        detectedAt: t,
        // Every sensor's latest value, the triggering sample's own first; none older than the longest a sensor may go between samples (`maxGap`).
        snapshot: sensorSnapshot(s.latest, t - rule.maxGapMs - options.allowedLatenessMs, t, values),
        ...(rule.workOrder ? { extras: rule.workOrder } : {}),
      },
      ctx,
      options,
    );
    out.push(d);
    // Already known (ERP feedback on it came first: a replay, a restart with state lost): its record stands.
    if (workOrders?.[d.businessKey] === undefined) workOrders = remember(workOrders, d.businessKey, { status: 'requested', openedAt: t, destination: d.destination }, options.keepClosed ?? 20, forgotten);
  }
  if (thresholds === s.thresholds && workOrders === s.workOrders) return s;
  return { ...s, ...(thresholds ? { thresholds } : {}), ...(workOrders ? { workOrders } : {}) };
}

/**
 * Every threshold state is `normal` and counts no repeats (or there are none): a sample breaching
 * no threshold changes none of them (see stepThreshold), whatever their cooldowns.
 */
function settled(thresholds: MaintenanceState['thresholds']): boolean {
  for (const name in thresholds) {
    const th = thresholds[name] as ThresholdState;
    if (th.phase !== 'normal' || th.hits !== undefined) return false;
  }
  return true;
}

/** A fault report: a work order for each rule that takes it and for which it starts an episode. */
function onAlert(
  s: Mutable,
  sample: Extract<MaintenanceSample, { k: 'a' }>,
  a: Applicable,
  ctx: RuleContext,
  options: MaintenanceOptions,
  out: DeliveryIntent[],
): Mutable {
  let alerts = s.alerts;
  let workOrders = s.workOrders;
  let from = lateAlertsFromOf(s);
  let faults = s.lateAlertFaults;
  // Older than the newest fault taken (a feed pulled behind the others): taken by the rules for which it changes no decided episode.
  const late = sample.t < newestAlert(alerts);
  // The key the code had before codes were compared in any case and mapped (codeMap): what an episode kept from then is under.
  const legacy = alertKey(sample.c, sample.r);
  for (const rule of a.alerts) {
    if (!alertMatches(rule, sample.s, sample.c)) continue;
    const episodes = alerts?.[rule.name];
    // The fault as the rule compares it: NFKC, trimmed, in upper case, through its codeMap (one fault however a feed spells it).
    // An episode of the same fault kept under the spelling it was reported in before (an upgrade, a codeMap entry added) goes on.
    const { code, into, ofFault } = intoOf(rule, episodes, sample, legacy);
    const verdict = late ? lateVerdict(episodes, into, ofFault, sample.t, from, faults?.[rule.name]) : 'fits';
    if (verdict !== 'fits') {
      // Refused by this rule: the reports of its fault (or of any, see lateVerdict) within a cooldown after it are not judged either (see refusedBounds).
      const r = refusedBounds(verdict, into, sample.t, rule.cooldownMs, from, faults?.[rule.name]);
      from = r.from;
      faults = withRuleBounds(faults, rule.name, r.bounds);
      continue;
    }
    const step = stepAlert(episodes, into, sample.t, rule.cooldownMs);
    const f = forgottenBounds(episodes, step.episodes, rule.cooldownMs, from, faults?.[rule.name]);
    from = f.from;
    faults = withRuleBounds(faults, rule.name, f.bounds);
    let stepped = step.episodes;
    if (!step.opens) {
      // A report of an episode under way: it raises its work order's priority once, when it is the first to rank HIGH
      // (not a work order the ERP had reported completed or cancelled by the report's time: nothing to raise).
      const e = stepped[step.into];
      if (e !== undefined && escalates(rule, e, sample.s, sample.t)) {
        stepped = withSentSeverity(stepped, step.into, sample.s);
        workOrders = escalateWorkOrder(s, rule, step.into, e.start, code, sample, workOrders, ctx, options, out);
      }
    } else {
      // Opened at MEDIUM from the report: kept, so a critical report of the episode raises it.
      const sent = sentSeverity(rule, sample.s);
      // A fault with no code: its text as first reported, for status to show (its key is a hash).
      if (code === undefined && step.into !== OVERFLOW_KEY) stepped = withFaultText(stepped, step.into, sample.r);
      if (sent !== undefined) stepped = withSentSeverity(stepped, step.into, sent);
    }
    if (stepped !== episodes) alerts = { ...alerts, [rule.name]: stepped };
    if (!step.opens) continue;
    const at = new Date(sample.t).toISOString();
    const occurrence = `${step.into}@${at}`;
    const reported = code !== undefined && code !== sample.c ? ` (reported as ${JSON.stringify(sample.c)})` : '';
    const fault = `${sample.s} fault${code !== undefined ? ` ${code}${reported}` : ''} reported at ${at}: ${sample.r}`;
    const d = workOrderDelivery(
      step.into === OVERFLOW_KEY
        ? {
            // More faults active at once than the rule tells apart: one work order for all those past the cap, never a second one for any.
            rule: rule.name,
            occurrence,
            severity: rule.severity ?? sample.s,
            title: `${rule.title ?? rule.name}: over ${MAX_EPISODES} faults active`,
            description:
              `more than ${MAX_EPISODES} distinct faults active at once (each reported within ${formatDuration(rule.cooldownMs)} of its last report; rule ${rule.name}): ` +
              `${fault}, and every further fault not already tracked on its own until none has been reported for ${formatDuration(rule.cooldownMs)}, are covered by this work order, not one each`,
            trigger: { type: 'alert', overflow: true, maxActiveFaults: MAX_EPISODES, ...(code !== undefined ? { code } : {}), reason: sample.r, severity: sample.s, firstReportedAt: at },
            detectedAt: sample.t,
            ...alertSnapshot(s, sample.t, options),
            ...(rule.workOrder ? { extras: rule.workOrder } : {}),
          }
        : {
            rule: rule.name,
            occurrence,
            severity: rule.severity ?? sample.s,
            // The short text has 40 characters: the fault itself, after the rule's own title if it has one.
            title: rule.title !== undefined ? `${rule.title}: ${code ?? sample.r}` : `${code !== undefined ? `${code}: ` : ''}${sample.r}`,
            description: `${fault} (rule ${rule.name}; the same fault again within ${formatDuration(rule.cooldownMs)} of its last report opens no other work order)`,
            trigger: { type: 'alert', ...(code !== undefined ? { code } : {}), reason: sample.r, severity: sample.s, firstReportedAt: at },
            detectedAt: sample.t,
            ...alertSnapshot(s, sample.t, options),
            ...(rule.workOrder ? { extras: rule.workOrder } : {}),
          },
      ctx,
      options,
    );
    out.push(d);
    // Already known (ERP feedback on it came first: a replay, a restart with state lost): its record stands.
    const known = workOrders?.[d.businessKey];
    if (known === undefined) workOrders = remember(workOrders, d.businessKey, rule.severity ? { status: 'requested', openedAt: sample.t, destination: d.destination } : { status: 'requested', openedAt: sample.t, severity: sample.s, destination: d.destination }, options.keepClosed ?? 20, forgotten);
    // Its priority comes from the alert's severity (the rule has none): added to the record the feedback made.
    else if (rule.severity === undefined && known.severity === undefined) workOrders = { ...workOrders, [d.businessKey]: { ...known, severity: sample.s } };
  }
  // Episodes that can no longer matter are dropped, every rule's, not only when an episode of the
  // same rule starts: a report older than the newest one taken is taken from now on only where it
  // changes no decided episode (see lateAlertFits), and never within its rule's cooldown after the
  // last report of one forgotten (`lateAlertsFrom`), so one whose cooldown ran out before it only
  // takes up state. Not by the sensor or meter samples' time: a fault pulled from a feed behind them is still taken.
  const pruned = withoutLapsed(alerts, sample.t, cooldownsOf(options));
  for (const rule in alerts) {
    const f = forgottenBounds(alerts[rule], pruned?.[rule], cooldownsOf(options).get(rule) ?? 0, from, faults?.[rule]);
    from = f.from;
    faults = withRuleBounds(faults, rule, f.bounds);
  }
  alerts = pruned;
  faults = compactBounds(faults, from);
  if (alerts === s.alerts && workOrders === s.workOrders && (alerts === undefined || (from === s.lateAlertsFrom && faults === s.lateAlertFaults))) return s;
  const next = copy(s);
  if (alerts !== undefined) next.alerts = alerts;
  if (alerts !== undefined) next.lateAlertsFrom = from;
  if (alerts !== undefined) next.lateAlertFaults = faults;
  if (workOrders !== undefined) next.workOrders = workOrders;
  return next;
}

/**
 * The `workorder.update` raising the priority of the work order of `rule`'s episode `into` (started
 * at `start`) to the report's (`critical`: HIGH), to the destination its create went to; its record,
 * when kept, takes the report's severity (status shows its priority from it). The work orders after.
 */
function escalateWorkOrder(
  s: Mutable,
  rule: AlertRule,
  into: string,
  start: number,
  code: string | undefined,
  sample: Extract<MaintenanceSample, { k: 'a' }>,
  workOrders: MaintenanceState['workOrders'],
  ctx: RuleContext,
  options: MaintenanceOptions,
  out: DeliveryIntent[],
): MaintenanceState['workOrders'] {
  const occurrence = `${into}@${new Date(start).toISOString()}`;
  const businessKey = workOrderKey(ctx.asset.erpAssetId, rule.name, occurrence);
  const known = workOrders?.[businessKey];
  const at = new Date(sample.t).toISOString();
  const reported = code !== undefined && code !== sample.c ? ` (reported as ${JSON.stringify(sample.c)})` : '';
  const covered = into === OVERFLOW_KEY ? `, one of the faults work order ${occurrence} covers` : '';
  out.push(
    workOrderUpdateDelivery(
      {
        businessKey,
        destination: known?.destination ?? ctx.destination,
        rule: rule.name,
        occurrence,
        severity: sample.s,
        reason: `${sample.s} fault${code !== undefined ? ` ${code}${reported}` : ''} reported at ${at}${covered}: ${sample.r} (rule ${rule.name}; the fault was reported less severe when its work order opened at ${new Date(start).toISOString()}: its priority is raised to ${priorityOf(sample.s)})`,
        trigger: { type: 'alert', escalation: true, ...(into === OVERFLOW_KEY ? { overflow: true } : {}), ...(code !== undefined ? { code } : {}), reason: sample.r, severity: sample.s, reportedAt: at, firstReportedAt: new Date(start).toISOString() },
        detectedAt: sample.t,
        ...alertSnapshot(s, sample.t, options),
      },
      ctx,
    ),
  );
  return known === undefined ? workOrders : { ...workOrders, [businessKey]: { ...known, severity: sample.s } };
}

const cooldowns = new WeakMap<MaintenanceOptions, ReadonlyMap<string, number>>();

/** Each configured alert rule's cooldown, by name (whether or not it applies to the asset at hand). */
function cooldownsOf(options: MaintenanceOptions): ReadonlyMap<string, number> {
  let m = cooldowns.get(options);
  if (!m) {
    m = new Map((options.alerts ?? []).map((r) => [r.name, r.cooldownMs]));
    cooldowns.set(options, m);
  }
  return m;
}

/**
 * Every configured rule's episodes without those lapsed by the newest report taken (`t`, or a
 * later one kept): see {@link pruneLapsed}. A rule no longer configured keeps its episodes. The
 * same object when none lapsed.
 */
function withoutLapsed(alerts: MaintenanceState['alerts'], t: number, cooldownOf: ReadonlyMap<string, number>): MaintenanceState['alerts'] {
  if (alerts === undefined) return alerts;
  let newest = t;
  for (const rule in alerts) {
    const episodes = alerts[rule] as AlertEpisodes;
    for (const key in episodes) newest = Math.max(newest, (episodes[key] as AlertEpisode).last);
  }
  let next: Record<string, AlertEpisodes> | undefined;
  for (const rule in alerts) {
    const cooldown = cooldownOf.get(rule);
    if (cooldown === undefined) continue;
    const episodes = alerts[rule] as AlertEpisodes;
    const kept = pruneLapsed(episodes, newest, cooldown);
    if (kept === episodes) continue;
    next ??= { ...alerts };
    if (Object.keys(kept).length === 0) delete next[rule];
    else next[rule] = kept;
  }
  return next ?? alerts;
}

/** One reading of a meter (operating hours or odometer) for the intervals that count it. */
function onReading(
  s: Mutable,
  meter: ServiceMeter,
  t: number,
  raw: number,
  declaredReset: boolean,
  rules: readonly ServiceIntervalRule[],
  ctx: RuleContext,
  options: MaintenanceOptions,
  out: DeliveryIntent[],
): Mutable {
  const km = meter === 'km';
  const step = km ? stepHours(s.km, t, raw, declaredReset, HELD_ODOMETER_HYGIENE) : stepHours(s.hours, t, raw, declaredReset, HELD_METER_HYGIENE);
  if (!step.ok) {
    const issue = `${new Date(t).toISOString()}: ${step.reason}`;
    if (km) {
      s.km = step.state;
      s.odometerIssue = issue;
    } else {
      s.hours = step.state;
      s.meterIssue = issue;
    }
    // The held reading decided (replaced by one too fast): completions that waited for it apply
    // now, those after this reading's time with the samples after it (processSamples).
    return s.feedbackHeld !== undefined && !heldIn(step.state, Infinity) ? releaseFeedback(s, t, ctx, options) : s;
  }
  let services = s.services;
  let workOrders = s.workOrders;
  let history = km ? s.kmHistory : s.history;
  // A reading hygiene held (ahead of the wall clock since the meter last showed its value) that
  // this one continues from: a frozen feed that caught up. Counted now as it would have been had
  // it been taken at once, at its own time and meter (the same due points, work orders and keys),
  // then this reading.
  const held = step.confirmed !== undefined && step.confirmed[0] < t ? step.confirmed : undefined;
  let at = held !== undefined ? held[0] : t;
  let reading = held !== undefined ? held[1] : step.hours;
  // Completions that waited for a held reading now decided (this meter holds none any longer): applied
  // after it (confirmed, at its time) and before this reading by event time, as had they come in
  // order; those not older than this reading with the samples after it (processSamples). Those of
  // the other meter's rules still wait while it holds one (releaseFeedback).
  const release = s.feedbackHeld !== undefined && !heldIn(step.state, Infinity);
  for (;;) {
    if (release && at === t) {
      s = withCounted(s, km, step.state, history, services, workOrders);
      s = releaseFeedback(s, t, ctx, options);
      ({ services, workOrders } = s);
      history = km ? s.kmHistory : s.history;
    }
    for (const rule of rules) {
      // The asset's baseline attribute, when it records a later service than the schedule's baseline, restarts it there.
      const stored = services?.[rule.name];
      const current = stored !== undefined ? withAttributeBaseline(rule, stored, ctx.asset.attributes) : { base: initialBaseline(rule, ctx.asset.attributes, reading) };
      const r = stepService(rule, current, reading);
      // Exactly one work order per service: one the schedule before the last completion opened for
      // this service (500h@b0, still open when 250h@b0 was completed late, at 255 h) stands for this
      // due point (505h@b255), which opens only once that one is closed (cancelled: not done after all).
      const covered = r.fire !== undefined && coveringWorkOrder(workOrders, ctx.asset.erpAssetId, rule, r.fire.base, r.fire.due, s.completed?.[rule.name]) !== undefined;
      const stepped = covered ? current : r.state;
      if (stepped !== services?.[rule.name]) services = { ...services, [rule.name]: stepped };
      if (!r.fire || covered) continue;
      // The snapshot: this reading, the other meter's latest and every sensor's (released up to this reading's time).
      workOrders = openServiceWorkOrder(rule, r.fire, at, reading, s.latest, km ? latestHours(s) : latestKm(s), workOrders, ctx, options, out, forgotten);
    }
    // A reset declared late, older than the latest entry, adds no usage: the history stays in time order.
    if (!olderThanLatest(history, at)) history = addHistory(history, at, reading);
    if (at === t) break;
    at = t;
    reading = step.hours;
  }
  // A good reading ends the issue (a copy without it: no `delete`, which would slow the object down),
  // unless it set aside a reading held: then that is the issue, until the next good one.
  const next = (km ? s.odometerIssue : s.meterIssue) === undefined ? s : copy(s, km ? 'odometerIssue' : 'meterIssue');
  const setAside = step.setAside !== undefined ? `${new Date(t).toISOString()}: ${step.setAside}` : undefined;
  if (km) {
    next.km = step.state;
    next.kmHistory = history;
    if (setAside !== undefined) next.odometerIssue = setAside;
  } else {
    next.hours = step.state;
    next.history = history;
    if (setAside !== undefined) next.meterIssue = setAside;
  }
  if (services !== undefined) next.services = services;
  if (workOrders !== undefined) next.workOrders = workOrders;
  return next;
}

/** The draft `s` with what {@link onReading} has counted so far (before completions apply on it). */
function withCounted(s: Mutable, km: boolean, counter: HoursState, history: MaintenanceState['history'], services: MaintenanceState['services'], workOrders: MaintenanceState['workOrders']): Mutable {
  if (km) {
    s.km = counter;
    s.kmHistory = history;
  } else {
    s.hours = counter;
    s.history = history;
  }
  s.services = services;
  s.workOrders = workOrders;
  return s;
}

function olderThanLatest(history: MaintenanceState['history'], t: number): boolean {
  const latest = history?.[history.length - 1];
  return latest !== undefined && t < latest[0];
}

function addHistory(history: MaintenanceState['history'], t: number, hours: number): readonly (readonly [number, number])[] {
  const h = history ?? [];
  const prev = h[h.length - 2];
  // The latest entry is replaced while it is within the spacing of the one before it.
  const kept = prev !== undefined && t - prev[0] < HISTORY_SPACING_MS ? h.length - 1 : h.length;
  // One array of the final size (this runs per meter reading): the newest HISTORY_MAX entries.
  const from = Math.max(0, kept + 1 - HISTORY_MAX);
  const next = new Array<readonly [number, number]>(kept - from + 1);
  for (let i = from; i < kept; i++) next[i - from] = h[i] as readonly [number, number];
  next[kept - from] = [t, hours];
  return next;
}

/** The latest accepted reading `[eventTime, hours]`. */
export function latestHours(state: MaintenanceState | undefined): readonly [number, number] | undefined {
  const h = state?.history;
  return h?.[h.length - 1];
}

/**
 * A fault's work-order snapshot at `t`: the latest hour meter and odometer (however old: they
 * count up), and every sensor's latest value read no more than the bound (`snapshotMaxAgeMs`, plus
 * the lateness) before it; see {@link readingsSnapshot}.
 */
function alertSnapshot(s: MaintenanceState, t: number, options: MaintenanceOptions): WorkOrderSnapshot {
  return readingsSnapshot(s.latest, latestHours(s), latestKm(s), t, snapshotReachMs(options));
}

/**
 * A calendar interval's work-order snapshot, as a fault's: the latest hour meter and odometer and
 * every sensor's latest value, those read no more than the bound (plus the lateness) before the
 * asset's newest reading. The task opens the work order on the wall clock, not at an event of the
 * asset: the snapshot is as old as its readings (`snapshotAt`, the newest of them), so a parked
 * machine's shows its last known state, dated then, and nothing read on the asset's clock is
 * measured against the service's. Empty, and dated by the check, with no reading at all.
 */
export function calendarSnapshot(state: MaintenanceState | undefined, options: Pick<MaintenanceOptions, 'snapshotMaxAgeMs' | 'allowedLatenessMs'>): WorkOrderSnapshot {
  const hours = latestHours(state);
  const km = latestKm(state);
  const newest = newestReading(state?.latest, hours, km);
  if (newest === undefined) return { snapshot: {} };
  return readingsSnapshot(state?.latest, hours, km, newest, snapshotReachMs(options));
}

/** The latest accepted odometer reading `[eventTime, km]`. */
export function latestKm(state: MaintenanceState | undefined): readonly [number, number] | undefined {
  const h = state?.kmHistory;
  return h?.[h.length - 1];
}

/** A whichever-first rule's meter for one asset: where it counts from, and the latest reading. */
export function calendarMeterOf(rule: CalendarIntervalRule, asset: AssetRecord, state: MaintenanceState | undefined, timeZone = 'UTC'): { base: number; reading: number | undefined } | undefined {
  if (!rule.orMeter) return undefined;
  const latest = rule.orMeter.meter === 'km' ? latestKm(state) : latestHours(state);
  return { base: calendarMeterBaseline(rule, asset, state?.calendars?.[rule.name], timeZone), reading: latest?.[1] };
}

/**
 * The meter (hours, or km with `kmHistory`) at time `t`: interpolated between the readings around
 * it, else the latest one (for a time after it). Undefined for a time before the first reading
 * kept (about four hours back): a later reading would be a guess, and a high one (the meter at a
 * service done days ago, taken as today's) would push the next service back by the hours since.
 */
export function readingAt(history: MaintenanceState['history'], t: number): number | undefined {
  const h = history ?? [];
  let before: readonly [number, number] | undefined;
  let after: readonly [number, number] | undefined;
  for (const p of h) {
    if (p[0] <= t) before = p;
    else {
      after = p;
      break;
    }
  }
  if (before && after) return before[1] + ((after[1] - before[1]) * (t - before[0])) / (after[0] - before[0]);
  return before?.[1];
}

/**
 * The most the meter (continuous) can have read at `t` by the readings kept: no more than the
 * first reading after `t`, else the latest reading plus what meter hygiene lets a meter advance
 * in the time since (an hour meter 1 h per hour, +5 %); undefined with no readings.
 */
export function maxMeterAt(history: MaintenanceState['history'], t: number, hygiene: MeterHygieneOptions): number | undefined {
  const h = history ?? [];
  const latest = h[h.length - 1];
  if (latest === undefined) return undefined;
  for (const p of h) if (p[0] >= t) return p[1] + hygiene.resolutionSlack;
  return latest[1] + wallClockAllowance(Math.max(0, t - latest[0]), hygiene);
}

/** The meter at a completion, as far as it is known, and why the reported value was not taken (or none is known). */
export interface CompletionMeter {
  /** Continuous hours (km); undefined when unknown. */
  readonly value?: number;
  /** Why the reported value was not taken, or why no value is known; undefined when all is well. */
  readonly problem?: string;
  /**
   * Where a value not reported was taken from, as the meter shows it: `582 h, read at …` (the
   * latest reading at or before `t`), or `between 580 h at … and 590 h at …` (interpolated).
   */
  readonly from?: string;
  /** With `from`, when taken as the latest reading at or before `t`: that reading's time (the meter may have run since). */
  readonly readAt?: number;
}

/**
 * The meter (hours or km) at a completion at `t`: the reading reported (`raw`, as the meter shows
 * it), when one is and the meter can have shown it then (see {@link maxMeterAt}); else the one
 * the readings kept show for `t` (see {@link readingAt}), if any.
 */
export function completionMeter(s: MaintenanceState | undefined, meter: ServiceMeter, t: number, raw: number | undefined): CompletionMeter {
  const km = meter === 'km';
  const counter = km ? s?.km : s?.hours;
  const history = km ? s?.kmHistory : s?.history;
  const unit = UNIT[meter];
  const fromReadings = readingAt(history, t);
  const r2 = (v: number) => formatReading(v);
  let why: string | undefined;
  // A reading dated before the meter's last declared replacement is of the old meter, which the
  // current one's offset does not convert: the hours our own readings show for that time count.
  if (raw !== undefined && !beforeReset(counter, t)) {
    const reported = continuousHours(counter, raw);
    const max = maxMeterAt(history, t, km ? ODOMETER_HYGIENE : DEFAULT_METER_HYGIENE);
    if (max === undefined || reported <= max + 1e-9) return { value: reported };
    // In the meter's own display (the continuous count runs ahead of it after a replacement).
    const shift = continuousHours(counter, 0);
    const latest = history?.[history.length - 1] as readonly [number, number];
    const before = latest[0] >= t ? ` (it read ${r2(latest[1] - shift)} ${unit} at ${isoTime(latest[0])})` : `: it read ${r2(latest[1] - shift)} ${unit} at ${isoTime(latest[0])}, and can advance ${km ? '~200 km' : '1 h'} per hour at most`;
    why = `${r2(raw)} ${unit} is more than the ${km ? 'odometer' : 'meter'} can have shown at ${isoTime(t)}, at most ${r2(max - shift)} ${unit}${before}`;
  }
  if (fromReadings !== undefined) return why !== undefined ? { value: fromReadings, problem: why } : { value: fromReadings, ...readingsAround(history, t, continuousHours(counter, 0), unit) };
  const first = history?.[0];
  const none = first === undefined ? `no ${km ? 'odometer' : 'meter'} reading is kept yet` : `the ${km ? 'odometer' : 'meter'} readings kept start ${isoTime(first[0])}, after it`;
  return { problem: why ?? `no ${unit} reading at completion was reported, and ${none}` };
}

/** The readings {@link readingAt} takes the meter at `t` from, as the meter shows them (less `shift`). */
function readingsAround(history: MaintenanceState['history'], t: number, shift: number, unit: string): Pick<CompletionMeter, 'from' | 'readAt'> {
  const h = history ?? [];
  const i = h.findIndex((p) => p[0] > t);
  const before = h[(i < 0 ? h.length : i) - 1];
  const after = i < 0 ? undefined : h[i];
  if (before === undefined) return {};
  const shown = (p: readonly [number, number]) => `${formatReading(p[1] - shift)} ${unit}`;
  if (after !== undefined && before[0] !== t) return { from: `between ${shown(before)} at ${isoTime(before[0])} and ${shown(after)} at ${isoTime(after[0])}` };
  return { from: `${shown(before)}, read at ${isoTime(before[0])}`, readAt: before[0] };
}

/** Whether `t` is before the meter's last declared replacement (a reading then is of the old meter). */
function beforeReset(meter: HoursState | undefined, t: number): boolean {
  const reset = meter?.hygiene.lastReset?.eventTime;
  return reset !== undefined && t < reset;
}

/** How far along a work order is: at equal change times, feedback of a later stage wins. */
const STAGE: Readonly<Record<WorkOrderRecord['status'], number>> = { requested: 0, open: 1, 'in-progress': 2, completed: 3, cancelled: 3 };

function applyFeedback(
  s: MaintenanceState,
  event: WorkOrderStatusEvent,
  asset: AssetRecord,
  /** Where the asset's deliveries go now: a work order first known by its feedback is held to it. */
  destination: string,
  services: ReadonlyMap<string, ServiceIntervalRule>,
  calendars: ReadonlyMap<string, ServiceMeter | undefined>,
  thresholds: ReadonlySet<string>,
  keepClosed: number,
  /** The zone of the asset's site: a calendar interval's completion counts from its day there. */
  timeZone: string,
): MaintenanceState {
  const key = parseWorkOrderKey(event.businessKey);
  // Not ours, or another asset's (validation refuses those named by erpAssetId; this catches the rest).
  if (!key || key.erpAssetId !== asset.erpAssetId) return s;
  const prev = s.workOrders?.[event.businessKey];
  const from = feedbackDestination(event.source);
  // Where the outbox said it was opened, as the push or poll found it: that decides, also for one
  // not remembered (the calendar task opened it, or its record was forgotten; the asset's deliveries
  // may go elsewhere since) and over a record that says otherwise (one rebuilt by a replay after a
  // crash, with the asset moved in the new configuration). Without it, the record's destination,
  // else where the asset's deliveries go. Feedback naming no destination is taken from anywhere.
  const vouched = from !== undefined ? event.openedAtDestination : undefined;
  const openedAt = vouched ?? destination;
  // Only the destination it was opened at changes a work order. A record from before this was kept,
  // and feedback naming no destination (an old poll's, the intake's, a hand completion), as before.
  if (foreignFeedbackReason(from, vouched ?? (prev === undefined ? destination : prev.destination)) !== undefined) return s;
  // A completion that did not count (the meter then unknown) recorded again with the meter: it counts now.
  const recount = prev?.uncounted === true && event.status === 'completed' && (event.operatingHoursAtCompletion !== undefined || event.odometerKmAtCompletion !== undefined);
  // A completed work order stays completed: the service was done and its completion counted (the
  // baseline reset), and an ERP cancelling it afterwards (archiving it, a deletion flag) or a
  // cancellation pushed late undoes neither. So a cancellation never overrides a completion, and a
  // completion is applied over a cancellation whatever their times: either arrival order ends completed.
  if (event.status === 'cancelled' && prev?.status === 'completed') return s;
  const overCancelled = event.status === 'completed' && prev?.status === 'cancelled';
  // Event time wins: feedback older than what we applied changes nothing (a re-poll, a replay).
  // At the same time (ERPs with second-resolution stamps), a later stage wins: "in progress" and
  // "completed" within one second end completed, in either arrival order.
  if (!recount && !overCancelled && prev?.changedAt !== undefined && (event.eventTime < prev.changedAt || (event.eventTime === prev.changedAt && STAGE[event.status] <= STAGE[prev.status])))
    return s;
  const service = services.get(key.rule);
  const interval = service !== undefined || calendars.has(key.rule);
  // An interval's work orders are keyed by their due point (500h@b250, 2027-03-15@b2026-03-15):
  // feedback on another occurrence (`garbage`, a time) is about none it opened, and resets nothing.
  if (interval && scheduleOrder(key.occurrence) === undefined) return s;
  const completes = event.status === 'completed' && (prev?.status !== 'completed' || recount);
  // The work order the schedule already counts from, or one before it, reported completed again
  // after its record was forgotten (or reopened and closed again in the ERP): applied once is enough.
  const superseded = completes && interval && supersededCompletion(key.occurrence, s.completed?.[key.rule]);
  // Its record forgotten: nothing to change (not even the record, which would push out a newer one).
  if (superseded && prev === undefined) return s;
  // A fault episode's work order: its status is kept with the episode too, for as long as the fault
  // is active (its record may be forgotten sooner, beyond keepClosed); event time wins there as well.
  const episodes = s.alerts?.[key.rule];
  const at = key.occurrence.lastIndexOf('@');
  const marked = episodes !== undefined && at > 0 ? withWorkOrderStatus(episodes, key.occurrence.slice(0, at), Date.parse(key.occurrence.slice(at + 1)), event.status, event.eventTime) : episodes;
  // Its record forgotten, and older than the status the episode holds (a re-poll, a replay): changes nothing.
  if (prev === undefined && at > 0 && marked === episodes && episodes?.[key.occurrence.slice(0, at)]?.w !== undefined) return s;
  // A completion's notes are its own (one recorded again replaces them).
  const { meterNote: _note, uncounted: _uncounted, ...kept } = prev ?? { status: 'requested', openedAt: event.eventTime, destination: openedAt };
  const base: WorkOrderRecord = completes ? kept : (prev ?? kept);
  let completionHours: number | undefined;
  let completionKm: number | undefined;
  let meterNote: string | undefined;
  let uncounted = false;
  if (completes) {
    const hours = completionMeter(s, 'hours', event.eventTime, event.operatingHoursAtCompletion);
    const km = completionMeter(s, 'km', event.eventTime, event.odometerKmAtCompletion);
    completionHours = hours.value;
    completionKm = km.value;
    // The meter the rule counts (a service interval's, or a whichever-first calendar interval's): what is wrong with it is said.
    const meter = service?.meter ?? calendars.get(key.rule);
    const m = meter === 'km' ? km : meter === 'hours' ? hours : undefined;
    // One the schedule already counts from (reopened in the ERP and closed again) restarts nothing:
    // no note that it was not counted, nor a call to record its meter (recorded, it would count no more).
    if (meter !== undefined && m?.problem !== undefined && !superseded) {
      const unit = UNIT[meter];
      const at = new Date(event.eventTime).toISOString();
      // An interval counting a meter (a service interval, or a calendar interval with one) is not
      // restarted without the meter at completion: a guess would be a later reading (the next service
      // pushed back by the hours since), or the attribute's older baseline (a work order again at once).
      // Said, with how to set it right.
      uncounted = m.value === undefined;
      meterNote =
        m.value !== undefined
          ? `completion of ${event.businessKey} at ${at}: ${m.problem}; counted at ${formatReading(m.value)} ${unit}, from the readings then`
          : `completion of ${event.businessKey} at ${at} not counted: ${m.problem}; the schedule was not restarted: record the ${meter === 'km' ? 'odometer' : 'hour meter'} at the service with assetbridge maintenance complete '${event.businessKey}' --${meter} <reading> --at ${at}`;
    }
  }
  const record: WorkOrderRecord = {
    ...base,
    // The outbox's destination over a record's that differs (see above).
    ...(vouched !== undefined && base.destination !== undefined && base.destination !== vouched ? { destination: vouched } : {}),
    status: event.status,
    changedAt: event.eventTime,
    ...(event.erpWorkOrderId !== undefined ? { erpWorkOrderId: event.erpWorkOrderId } : {}),
    ...(completionHours !== undefined ? { hoursAtCompletion: completionHours } : {}),
    ...(completionKm !== undefined ? { kmAtCompletion: completionKm } : {}),
    ...(meterNote !== undefined ? { meterNote } : {}),
    ...(uncounted ? { uncounted: true as const } : {}),
  };
  const tally: ForgottenTally = { open: 0 };
  let next: MaintenanceState = { ...s, workOrders: remember(s.workOrders, event.businessKey, record, keepClosed, tally) };
  if (tally.open > 0) next = { ...next, openForgotten: (s.openForgotten ?? 0) + tally.open };
  if (marked !== episodes && marked !== undefined) next = { ...next, alerts: { ...s.alerts, [key.rule]: marked } };
  if (superseded) return next;
  const current = s.services?.[key.rule];
  const completion = service?.meter === 'km' ? completionKm : completionHours;
  let applied = false;
  if (service && completion !== undefined && (current?.baseAt === undefined || event.eventTime > current.baseAt)) {
    // Unless the asset's baseline attribute records a later service than this completion.
    next = { ...next, services: { ...s.services, [key.rule]: completedBaseline(service, current, completion, event.eventTime, asset.attributes) } };
    applied = true;
  }
  // A threshold episode whose work order is completed while it still holds ends there (re-armed).
  const th = s.thresholds?.[key.rule];
  if (thresholds.has(key.rule) && completes && th !== undefined) {
    const rearmed = rearmThreshold(th, Date.parse(key.occurrence), event.eventTime);
    if (rearmed !== th && rearmed !== undefined) next = { ...next, thresholds: { ...s.thresholds, [key.rule]: rearmed } };
  }
  // A calendar interval counts from the day of its latest completion at the asset's site (event time wins here too).
  const cal = s.calendars?.[key.rule];
  if (calendars.has(key.rule) && completes && !uncounted && (cal === undefined || event.eventTime > cal.baseAt)) {
    // With the meters then: a whichever-first rule counts its meter from there.
    const at: CalendarState = {
      base: dayIn(event.eventTime, timeZone),
      baseAt: event.eventTime,
      ...(completionHours !== undefined ? { hours: completionHours } : {}),
      ...(completionKm !== undefined ? { km: completionKm } : {}),
    };
    next = { ...next, calendars: { ...s.calendars, [key.rule]: at } };
    applied = true;
  }
  if (applied) next = { ...next, completed: { ...s.completed, [key.rule]: key.occurrence } };
  return next;
}

/**
 * A duration in whole hours or minutes, else in seconds: `12 h`, `5 min`, `30 s`, `1.5 s`, and
 * under a second in milliseconds (`500 ms`), so a `for: 1500ms` is not shown as `2 s` nor a
 * `for: 200ms` as `0 s`.
 */
export function formatDuration(ms: number): string {
  if (ms % 3_600_000 === 0 && ms >= 3_600_000) return `${ms / 3_600_000} h`;
  if (ms % 60_000 === 0 && ms >= 60_000) return `${ms / 60_000} min`;
  if (ms > 0 && ms < 1000) return `${ms} ms`;
  return `${ms / 1000} s`;
}
