/**
 * Work orders as the maintenance rule asks for them: the business key that makes each one
 * exactly-once, and the ERP-neutral payload (`workorder.create`).
 *
 * Business key: `<erpAssetId>|<rule>|<occurrence>`. The occurrence is derived from the data (the
 * first breaching sample's time, or the due point and its baseline), never from a counter, so a
 * replay, a restart with lost state, a duplicate event or a second worker computes the same key;
 * the outbox keeps one fact per key forever, and connectors send the key as the ERP's external
 * key (or look it up before creating, where the ERP has no idempotency support).
 * @module
 */
import type { DeliveryIntent } from '../../model/delivery.js';
import type { SensorValue, Severity, WorkOrderStatus } from '../../model/events.js';
import { isoTime } from '../iso-format.js';
import type { RuleContext } from '../rule.js';
import { calendarForSite, nextWindow, type WindowCalendar } from './windows.js';
import type { WorkOrderExtras } from './types.js';

export const WORKORDER_CREATE = 'workorder.create';

/**
 * A work order's priority raised after it was opened (a fault reported `warning`, then `critical`,
 * in one episode): a fact under the work order's own business key, so one per work order ever,
 * whatever replays, restarts or arrival orders; idempotent at the ERP (it sets the priority, it
 * creates nothing), so not among a connector's `createsRecord`.
 */
export const WORKORDER_UPDATE = 'workorder.update';

/** SAP notification/order short texts are 40 characters; the detail goes to `description`. */
export const TITLE_MAX = 40;

export type Priority = 'HIGH' | 'MEDIUM';

export function priorityOf(severity: Severity): Priority {
  return severity === 'critical' ? 'HIGH' : 'MEDIUM';
}

export function workOrderKey(erpAssetId: string, rule: string, occurrence: string): string {
  return `${erpAssetId}|${rule}|${occurrence}`;
}

/** Split a business key; rule names and occurrences never contain `|`, asset ids may. */
export function parseWorkOrderKey(key: string): { erpAssetId: string; rule: string; occurrence: string } | undefined {
  const parts = key.split('|');
  if (parts.length < 3) return undefined;
  const occurrence = parts.pop() as string;
  const rule = parts.pop() as string;
  const erpAssetId = parts.join('|');
  // Blank parts are no asset, rule or occurrence of ours (an asset id is never blank).
  if (erpAssetId.trim() === '' || rule.trim() === '' || occurrence.trim() === '') return undefined;
  return { erpAssetId, rule, occurrence };
}

/**
 * Where an interval's occurrence stands in its schedule: its baseline (the service it counts
 * from) and its due point, as numbers, and the form of the key (only keys of one form compare).
 * `500h@b250.5` (a service interval, h or km); `2027-03-15@b2026-03-15` (a calendar interval);
 * `2@b2026-03-15+1200h` (whichever-first: the k-th due point from the day and the meter).
 */
export function scheduleOrder(occurrence: string): { readonly form: string; readonly at: readonly [number, number, number] } | undefined {
  let m = /^(\d+(?:\.\d+)?)(h|km)@b(\d+(?:\.\d+)?)$/.exec(occurrence);
  if (m) return { form: m[2] as string, at: [Number(m[3]), 0, Number(m[1])] };
  m = /^(\d{4}-\d{2}-\d{2})@b(\d{4}-\d{2}-\d{2})$/.exec(occurrence);
  if (m) return { form: 'day', at: [Date.parse(m[2] as string), 0, Date.parse(m[1] as string)] };
  m = /^(\d+)@b(\d{4}-\d{2}-\d{2})\+(\d+(?:\.\d+)?)(h|km)$/.exec(occurrence);
  if (m) return { form: `k${m[4] as string}`, at: [Date.parse(m[2] as string), Number(m[3]), Number(m[1])] };
  return undefined;
}

const ISO_INSTANT = String.raw`\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z`;
/** A threshold's occurrence (its first breaching sample), or an alert's (`<fault key>@<first report>`). */
const EPISODE_OCCURRENCE = new RegExp(`^(?:(?:[A-Za-z0-9._:/-]+|~overflow)@)?${ISO_INSTANT}$`);

/**
 * Why a key's occurrence is none a rule opens a work order for, or undefined when it is one: a
 * threshold's (`2026-10-01T09:00:00.000Z`), an alert's (`SPN100-FMI1@2026-10-01T09:00:00.000Z`) or
 * an interval's ({@link scheduleOrder}). Feedback on such a key (`EQ-7|service-250h|garbage`) is
 * about no work order assetbridge opened, so it is ignored: a completion of it resets no baseline.
 */
export function occurrenceProblem(occurrence: string): string | undefined {
  if (EPISODE_OCCURRENCE.test(occurrence) || scheduleOrder(occurrence) !== undefined) return undefined;
  return `its occurrence ${JSON.stringify(occurrence.slice(0, 100))} is none assetbridge makes (a time, <fault>@<time>, or a due point such as 500h@b250 or 2027-03-15@b2026-03-15): not a work order it opened`;
}

/**
 * Source of ERP work-order feedback: `erp-feedback:<destination>`, for a push to that destination's
 * webhook and a poll of it alike. Bare `erp-feedback` is what polls wrote before they named their
 * destination (ingest-log and quarantine entries of then): feedback of no known destination.
 */
export const FEEDBACK_SOURCE = 'erp-feedback';

/** The source of feedback from `destination` (pushed to its webhook, or polled from it). */
export const feedbackSource = (destination: string): string => `${FEEDBACK_SOURCE}:${destination}`;

/**
 * The channel of what a poll of `destination` submits (its updates, and the records it could not
 * read, kept in quarantine): a kept record's channel says it was listed by a poll, where one pushed
 * to the webhook has the webhook's path (`/v1/webhooks/<destination>/work-orders`).
 */
export const polledChannel = (destination: string): string => `workorders/${destination}`;

/** Where a feedback message came from: a poll of `destination` listed it, or it was pushed to its webhook. */
export interface FeedbackOrigin {
  readonly destination: string;
  readonly via: 'polled' | 'pushed';
}

/** Where a feedback message (or its quarantine entry) came from, by its source and channel; undefined for one that names no destination. */
export function feedbackOrigin(source: string, channel: string): FeedbackOrigin | undefined {
  const destination = feedbackDestination(source);
  if (destination === undefined) return undefined;
  return { destination, via: channel === polledChannel(destination) ? 'polled' : 'pushed' };
}

/** An origin in words: `polled from destination "erp"`, `pushed to destination "erp"`. */
export function originText(origin: FeedbackOrigin): string {
  return origin.via === 'polled' ? `polled from destination "${origin.destination}"` : `pushed to destination "${origin.destination}"`;
}

/**
 * The destination a feedback event came from, by its source; undefined for one that names none:
 * a poll's from before polls named theirs (bare `erp-feedback`), a `workorder` event posted to the
 * intake (`http`), a completion recorded by hand (`cli`). Those are taken as before, from anywhere.
 */
export function feedbackDestination(source: string): string | undefined {
  const prefix = `${FEEDBACK_SOURCE}:`;
  return source.startsWith(prefix) && source.length > prefix.length ? source.slice(prefix.length) : undefined;
}

/**
 * Why an update from destination `from` is not taken for a work order opened at `openedAt`, or
 * undefined when it is (the same destination, or either unknown). A work order changes only from
 * the destination it was opened at: another ERP's update (a key it holds too, by chance or
 * mistake) must not complete it nor reset its service baseline.
 */
export function foreignFeedbackReason(from: string | undefined, openedAt: string | undefined): string | undefined {
  if (from === undefined || openedAt === undefined || from === openedAt) return undefined;
  return `it was opened at destination "${openedAt}", and an update from destination "${from}" does not change it (only updates from "${openedAt}", pushed to /v1/webhooks/${openedAt}/work-orders or polled from it, do)`;
}

export function truncate(text: string, max: number): string {
  if (text.length <= max) return text;
  // Not between the halves of a surrogate pair (an emoji): a lone half is not valid UTF-8.
  const cut = /[\uD800-\uDBFF]/.test(text.charAt(max - 2)) ? max - 2 : max - 1;
  return `${text.slice(0, cut)}…`;
}

/**
 * What our own records say about a work order, kept by business key (which holds the rule and
 * occurrence); the status comes from ERP feedback once it arrives.
 */
export interface WorkOrderRecord {
  /** `requested` until the ERP reports a status. */
  readonly status: 'requested' | WorkOrderStatus;
  /** Event time of the reading that opened it (of the first feedback, for one we did not see opened). */
  readonly openedAt: number;
  /** Service intervals: the due point, hours (or km, for an odometer interval). */
  readonly dueHours?: number;
  readonly dueKm?: number;
  /** Alert rules without a severity of their own: the alert's, which set the priority. */
  readonly severity?: Severity;
  readonly erpWorkOrderId?: string;
  /**
   * The destination it was opened at (where the asset's deliveries went then; for one first known
   * by its feedback, where they go then): only feedback from there changes it. Absent in state
   * stored before this was kept: feedback from any destination is taken, as it was then.
   */
  readonly destination?: string;
  /** Event time of the latest ERP feedback applied. */
  readonly changedAt?: number;
  readonly hoursAtCompletion?: number;
  readonly kmAtCompletion?: number;
  /**
   * Why the meter at completion is not the one the ERP reported (more than the meter can have
   * shown then), or is unknown (none reported, and no reading kept from that time): for status.
   */
  readonly meterNote?: string;
  /**
   * The completion did not restart its service interval (the meter at completion is unknown): a
   * completion recorded again with the meter (`maintenance complete --hours`) counts.
   */
  readonly uncounted?: true;
}

/**
 * A value in a work order's `sensorSnapshot.values`: the reading and its unit, and `at` (ISO time)
 * when it was read at another time than the snapshot's `at` (another sensor's latest sample).
 */
export interface SnapshotValue extends SensorValue {
  readonly at?: string;
}

export interface WorkOrderSpec {
  readonly rule: string;
  readonly occurrence: string;
  readonly severity: Severity;
  readonly title: string;
  readonly description: string;
  /** Machine-readable trigger details. */
  readonly trigger: Readonly<Record<string, unknown>>;
  /** Event time of the reading that triggered it. */
  readonly detectedAt: number;
  readonly snapshot: Readonly<Record<string, SnapshotValue>>;
  /** When the snapshot's readings were taken, where not at `detectedAt` (a task's check on the wall clock). */
  readonly snapshotAt?: number;
  readonly extras?: WorkOrderExtras;
}

export interface SchedulingOptions {
  readonly siteAttribute: string;
  readonly windows: Readonly<Record<string, WindowCalendar>>;
}

/**
 * The fields of a work order assetbridge writes itself (and the key connectors add): a rule's
 * `workOrder` extras may not use them, as they would be overwritten (or overwrite the key).
 */
export const WORK_ORDER_FIELDS: readonly string[] = [
  'erpAssetId', 'erpModule', 'title', 'description', 'priority', 'severity', 'rule', 'occurrence', 'reason', 'trigger',
  'sensorSnapshot', 'detectedAt', 'site', 'plannedStart', 'plannedEnd', 'externalKey',
];

/** The `workorder.create` fact for a spec, scheduled into the site's next maintenance window. */
export function workOrderDelivery(spec: WorkOrderSpec, ctx: RuleContext, scheduling: SchedulingOptions): DeliveryIntent {
  const site = ctx.asset.attributes[scheduling.siteAttribute];
  const calendar = calendarForSite(scheduling.windows, site);
  // The next window from when the work is found, or from now when that is later (a reading processed
  // late, a replay): a window already over when the ERP gets the order plans nothing.
  const slot = calendar ? nextWindow(calendar, Math.max(spec.detectedAt, ctx.now)) : undefined;
  const detectedAt = isoTime(spec.detectedAt);
  return {
    destination: ctx.destination,
    operation: WORKORDER_CREATE,
    kind: 'fact',
    businessKey: workOrderKey(ctx.asset.erpAssetId, spec.rule, spec.occurrence),
    erpAssetId: ctx.asset.erpAssetId,
    eventTime: spec.detectedAt,
    payload: {
      ...spec.extras,
      erpAssetId: ctx.asset.erpAssetId,
      erpModule: ctx.asset.erpModule,
      title: truncate(spec.title, TITLE_MAX),
      description: spec.description,
      priority: priorityOf(spec.severity),
      severity: spec.severity,
      rule: spec.rule,
      occurrence: spec.occurrence,
      reason: spec.description,
      trigger: spec.trigger,
      sensorSnapshot: sensorSnapshotOf(spec, detectedAt),
      detectedAt,
      site: site ?? null,
      plannedStart: slot ? isoTime(slot.start) : null,
      plannedEnd: slot ? isoTime(slot.end) : null,
    },
  };
}

/** Why a work order's priority is raised: the report that raised it. */
export interface WorkOrderEscalation extends Pick<WorkOrderSpec, 'rule' | 'occurrence' | 'severity' | 'snapshot' | 'snapshotAt'> {
  readonly businessKey: string;
  /** The destination its create went to. */
  readonly destination: string;
  /** Why, in words (as a create's `reason`). */
  readonly reason: string;
  /** Machine-readable: the report that raised it (code, reason, severity, time). */
  readonly trigger: Readonly<Record<string, unknown>>;
  /** Event time of that report. */
  readonly detectedAt: number;
}

/** A work order's `sensorSnapshot`: the readings, and when they were taken (at `detectedAt` unless `snapshotAt` says otherwise). */
function sensorSnapshotOf(s: Pick<WorkOrderSpec, 'snapshot' | 'snapshotAt'>, detectedAt: string): { at: string; values: Readonly<Record<string, SnapshotValue>> } {
  return { at: s.snapshotAt !== undefined ? isoTime(s.snapshotAt) : detectedAt, values: s.snapshot };
}

/** The `workorder.update` fact raising an open work order's priority (see {@link WORKORDER_UPDATE}). */
export function workOrderUpdateDelivery(e: WorkOrderEscalation, ctx: RuleContext): DeliveryIntent {
  const detectedAt = isoTime(e.detectedAt);
  return {
    destination: e.destination,
    operation: WORKORDER_UPDATE,
    kind: 'fact',
    businessKey: e.businessKey,
    erpAssetId: ctx.asset.erpAssetId,
    eventTime: e.detectedAt,
    payload: {
      erpAssetId: ctx.asset.erpAssetId,
      priority: priorityOf(e.severity),
      severity: e.severity,
      rule: e.rule,
      occurrence: e.occurrence,
      reason: e.reason,
      trigger: e.trigger,
      sensorSnapshot: sensorSnapshotOf(e, detectedAt),
      detectedAt,
    },
  };
}
