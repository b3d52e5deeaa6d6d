/**
 * What the maintenance rule remembers of the work orders it opened (the `workOrders` of its
 * state), and opening a service interval's work order into it. Its own module, as both forms of
 * the rule (maintenance-rule.ts and its owned form, maintenance-rule-owned.ts) use it, and the
 * rule module builds its owned form.
 * @module
 */
import type { DeliveryIntent } from '../../model/delivery.js';
import { MAX_EPISODES } from './alert.js';
import type { RuleContext } from '../rule.js';
import { readingsSnapshot, snapshotReachMs, type LatestSensors, type MeterReading } from './latest-sensors.js';
import type { MaintenanceState } from './maintenance-rule.js';
import { formatReading, isLaterBaseline, UNIT, type ServiceFire } from './service-interval.js';
import type { MaintenanceOptions, ServiceIntervalRule } from './types.js';
import { scheduleOrder, workOrderDelivery, type WorkOrderRecord } from './work-order.js';

/**
 * Open work orders remembered per asset (for status, and for ERP feedback to show on; the outbox
 * holds them all): twice the faults an alert rule tells apart at once, so an asset with every
 * fault of a bus failure open (and those of the episode before) still shows each one's ERP status.
 * Bounded all the same (about 100 kB of state at most); an open one forgotten beyond it is counted
 * ({@link ForgottenTally}, the state's `openForgotten`), and `maintenance status` says so.
 */
export const MAX_OPEN_REMEMBERED = 2 * MAX_EPISODES;

/** Open work orders {@link remember} forgot (to keep the state bounded), added up by its caller. */
export interface ForgottenTally {
  open: number;
}

/**
 * The work order service interval `rule` opens for its due point `f`, reached by a reading of its
 * meter (`reading`, continuous) at `t`: its delivery goes to `out`; the work orders remembered
 * with it are returned. Its snapshot is a fault's (see {@link readingsSnapshot}): this reading, the
 * other meter's latest (`otherMeter`) and every sensor's latest value (`latest`, as released up to
 * `t`) read no more than the bound before `t`. The owned form (maintenance-rule-owned.ts) opens them with this too.
 */
export function openServiceWorkOrder(
  rule: ServiceIntervalRule,
  f: ServiceFire,
  t: number,
  reading: number,
  latest: LatestSensors | undefined,
  otherMeter: MeterReading | undefined,
  workOrders: MaintenanceState['workOrders'],
  ctx: RuleContext,
  options: MaintenanceOptions,
  out: DeliveryIntent[],
  forgotten?: ForgottenTally,
): Readonly<Record<string, WorkOrderRecord>> {
  const km = rule.meter === 'km';
  const unit = UNIT[rule.meter];
  const description =
    `service every ${rule.every} ${unit} ${f.dueSoon ? 'due soon' : 'due'}: due at ${formatReading(f.due)} ${unit}, ` +
    `${km ? 'odometer' : 'meter'} at ${formatReading(reading)} ${unit} (counted from ${formatReading(f.base)} ${unit}; rule ${rule.name})`;
  const trigger = km
    ? { type: 'service-interval', meter: 'odometerKm', everyKm: rule.every, baselineKm: f.base, dueAtKm: f.due, readingKm: reading, dueSoon: f.dueSoon, dueSoonKm: rule.dueSoon }
    : { type: 'service-interval', meter: 'operatingHours', everyHours: rule.every, baselineHours: f.base, dueAtHours: f.due, readingHours: reading, dueSoon: f.dueSoon, dueSoonHours: rule.dueSoon };
  const d = workOrderDelivery(
    {
      rule: rule.name,
      occurrence: f.occurrence,
      severity: rule.severity,
      title: `${rule.title ?? rule.name}: ${formatReading(f.due)} ${unit} service`,
      description,
      trigger,
      detectedAt: t,
      ...readingsSnapshot(latest, km ? otherMeter : [t, reading], km ? [t, reading] : otherMeter, t, snapshotReachMs(options)),
      ...(rule.workOrder ? { extras: rule.workOrder } : {}),
    },
    ctx,
    options,
  );
  out.push(d);
  // Already known (ERP feedback on it came first: a replay, a restart with state lost): its record stands.
  const known = workOrders?.[d.businessKey];
  if (workOrders !== undefined && known !== undefined) return workOrders;
  return remember(workOrders, d.businessKey, km ? { status: 'requested', openedAt: t, dueKm: f.due, destination: d.destination } : { status: 'requested', openedAt: t, dueHours: f.due, destination: d.destination }, options.keepClosed ?? 20, forgotten);
}

/**
 * The open work order (its key) of an interval's earlier schedule that stands for the due point
 * `due` of the schedule from `base`: opened under an earlier baseline for a due point past `base`
 * and less than one interval before `due` (the same service, counted from the earlier service), or
 * under this baseline for an earlier due point less than one interval before `due` (the same
 * service, opened before `every` was lengthened: 250h@b0 open, now every 300 h, stands for 300 h;
 * with `every` unchanged, the due point before is a whole interval before: a service of its own).
 * Undefined when there is none. `completed`: the occurrence the schedule counts from (the state's
 * `completed` of the rule): that work order, or one before it, open again (the ERP reopened it
 * after its completion counted) is the service already done, and stands for no later due point.
 */
export function coveringWorkOrder(workOrders: MaintenanceState['workOrders'], erpAssetId: string, rule: ServiceIntervalRule, base: number, due: number, completed?: string): string | undefined {
  const prefix = `${erpAssetId}|${rule.name}|`;
  for (const key in workOrders) {
    if (!key.startsWith(prefix)) continue;
    const w = workOrders[key] as WorkOrderRecord;
    if (w.status === 'completed' || w.status === 'cancelled') continue;
    const occurrence = key.slice(prefix.length);
    if (supersededCompletion(occurrence, completed)) continue;
    const o = scheduleOrder(occurrence);
    if (!o || o.form !== UNIT[rule.meter]) continue;
    const [oldBase, , oldDue] = o.at;
    // Under this baseline: keys hold due points to 2 decimals, so the one a whole interval back (a
    // service of its own) may read up to 0.005 past it (502.56h@b252.56 for 502.555 h): a margin of 0.01.
    const stands = isLaterBaseline(base, oldBase)
      ? oldDue > due - rule.every + 1e-9
      : !isLaterBaseline(oldBase, base) && oldDue < due - 0.01 && oldDue > due - rule.every + 0.01;
    if (stands && oldDue > base) return key;
  }
  return undefined;
}

/**
 * Whether a completion of `occurrence` is one the schedule already took: the work order whose
 * completion it counts from (`completed`), or one before it in the schedule (an older baseline,
 * or an earlier due point of the same one). Baselines only ever move forward and due points rise
 * within one, so the key alone says which work order came first, whether or not its record is
 * still kept; its status cannot (records are forgotten beyond `keepClosed`). Not the rule "its
 * baseline is older than the one in force": a work order opened under the old baseline for a
 * later due point (500h@b0, still open when 250h@b0 was completed late) is a service of its own.
 * Keys of another form (the rule's config changed) and schedules with no completion recorded yet
 * (state from before this was kept) take the completion as before.
 */
export function supersededCompletion(occurrence: string, completed: string | undefined): boolean {
  if (completed === undefined) return false;
  if (occurrence === completed) return true;
  const a = scheduleOrder(occurrence);
  const b = scheduleOrder(completed);
  if (!a || !b || a.form !== b.form) return false;
  for (let i = 0; i < 3; i++) if ((a.at[i] as number) !== (b.at[i] as number)) return (a.at[i] as number) < (b.at[i] as number);
  return true;
}

/**
 * Add or replace a work-order record; forget the oldest closed ones beyond `keepClosed`, and the
 * oldest open ones beyond {@link MAX_OPEN_REMEMBERED} (counted in `forgotten`).
 */
export function remember(
  workOrders: MaintenanceState['workOrders'],
  key: string,
  record: WorkOrderRecord,
  keepClosed: number,
  forgotten?: ForgottenTally,
): Readonly<Record<string, WorkOrderRecord>> {
  const next: Record<string, WorkOrderRecord> = { ...workOrders, [key]: record };
  const isClosed = (r: WorkOrderRecord) => r.status === 'completed' || r.status === 'cancelled';
  // Within both bounds (as a rule): nothing to forget, and no entries to list and sort.
  let closedCount = 0;
  let openCount = 0;
  for (const k in next) {
    if (isClosed(next[k] as WorkOrderRecord)) closedCount++;
    else openCount++;
  }
  if (closedCount <= keepClosed && openCount <= MAX_OPEN_REMEMBERED) return next;
  const entries = Object.entries(next);
  const closed = entries.filter(([, r]) => isClosed(r));
  const open = entries.filter(([, r]) => !isClosed(r));
  const byAge = (x: [string, WorkOrderRecord], y: [string, WorkOrderRecord]) => (x[1].changedAt ?? x[1].openedAt) - (y[1].changedAt ?? y[1].openedAt);
  // Bounded either way; a forgotten open work order is re-learnt from its ERP feedback (by key).
  for (const [list, keep] of [[closed, keepClosed], [open, MAX_OPEN_REMEMBERED]] as const) {
    if (list.length <= keep) continue;
    list.sort(byAge);
    for (const [k] of list.slice(0, list.length - keep)) delete next[k];
    if (list === open && forgotten) forgotten.open += list.length - keep;
  }
  return next;
}
