/**
 * What `assetbridge maintenance status` shows per asset, read from the maintenance rule's state:
 * what is due (service intervals and threshold phases), which work orders are open, and which
 * were completed.
 * @module
 */
import type { AssetRecord } from '../../model/assets.js';
import type { Severity } from '../../model/events.js';
import { meterOffset } from '../hours.js';
import type { MeterHygieneState } from '../meter-hygiene.js';
import { meterIssueText, type MeterSyncState } from '../meter-sync.js';
import { isoTime } from '../iso-format.js';
import { MAX_EPISODES, OVERFLOW_KEY, overflowFaults } from './alert.js';
import { calendarMeterOf, feedbackWaitsFor, formatDuration, latestHours, latestKm, type MaintenanceState } from './maintenance-rule.js';
import { coveringWorkOrder } from './work-order-memory.js';
import { baselineProblem, calendarDueAt, calendarTimeZone, checkedBaseline, DAY_MS, isoDay, nextCalendarDue, openedCycle, openedStandsFor, wallClockIn, type OpenedPoint } from './calendar-interval.js';
import { nextDue, occurrenceOf, withAttributeBaseline } from './service-interval.js';
import { matchesFilter, type MaintenanceOptions, type ServiceMeter } from './types.js';
import { parseWorkOrderKey, priorityOf, scheduleOrder, workOrderKey, type Priority, type WorkOrderRecord } from './work-order.js';

export interface DueRow {
  readonly erpAssetId: string;
  readonly rule: string;
  readonly type: 'service' | 'threshold' | 'calendar' | 'alert';
  /**
   * Service: `ok`, `due soon`, `due`, `no readings`, or `not counted yet` (readings kept, none since the rule applied); with `, work order <status>` while the
   * work order for the due point is open (`, work order with the next meter reading` while none is
   * opened for it yet: the interval or the baseline changed since the last reading), and `; latest reading set aside: <why>` when meter
   * hygiene did not count the newest reading (`; latest reading held, awaiting the next reading: <why>` while it holds it, a catch-up
   * the next reading confirms or sets aside), and `; the meter itself shows N h less (…)` when the
   * count runs on across a replaced meter or readings set aside. Threshold: `normal`, `pending since <time>, held 3 min of 5 min`
   * (or, held long enough, waiting for the cooldown to end at a time, or, that time past, for the next breaching sample) or `active` (work order opened, or for a repeating rule breach counted, not yet
   * cleared), with `, 2 of 3 breaches counted since <time>` for a repeating rule and `, work order
   * completed <time>: …` once the ERP completed an active episode's work order, and `; no sample since <time>, more than maxGap …` when a
   * pending or active one has had no sample for longer than its maxGap (broken: the next sample decides afresh). Calendar: `ok`, `due soon` or
   * `due` (whichever-first rules add `by date`, `by hours` or `by km`), with the work order's
   * status (`requested` once the service opened it, `at the next check` before), or `not checked
   * yet` (no service date and the service has not checked it).
   * Alert: `quiet`, or `active: <code> since <time>, …` (faults reported within their cooldown; a
   * fault with no code by its text as first reported, quoted, `"Low oil pressure" since <time>`, or by
   * its key when kept by a version that did not keep the text; one
   * whose work order the ERP closed says so, and that its reports within the cooldown open none;
   * `more than 500 faults at once since <time> (N distinct faults not tracked on their own, …)` for the faults past the cap, which share one work order).
   * Any rule: `; ERP completion of <key> at <time> not applied yet: waits for <what>` for each
   * completion of its work orders held back until a meter reading of its time or before is released
   * from the reorder buffer, or decided by the next reading (held as a possible catch-up), and
   * likewise feedback held behind one.
   */
  readonly state: string;
  /**
   * Service intervals on operating hours: the meter now, the baseline in force (the later of the
   * last completion and the asset's baseline attribute), the next due point, hours to go.
   */
  readonly hours?: number;
  readonly baselineHours?: number;
  readonly nextDueHours?: number;
  readonly remainingHours?: number;
  /** Service intervals on the odometer: the same in km. */
  readonly km?: number;
  readonly baselineKm?: number;
  readonly nextDueKm?: number;
  readonly remainingKm?: number;
  /** Calendar intervals: the last service's day, the next due day (`YYYY-MM-DD`), days to go (whichever-first rules also fill the meter columns above). */
  readonly baselineDate?: string;
  readonly nextDueDate?: string;
  readonly remainingDays?: number;
}

/** What the calendar task remembers per rule for this asset, and the time status is taken at. */
export interface CalendarView {
  readonly now: number;
  marks(rule: string): { readonly firstChecked?: number; readonly fired?: { readonly key: string; readonly at: number } & Partial<OpenedPoint> };
}

export interface WorkOrderRow extends WorkOrderRecord {
  readonly erpAssetId: string;
  readonly businessKey: string;
  readonly rule: string;
  readonly occurrence: string;
  /** From the rule's severity (MEDIUM when the rule is no longer configured). */
  readonly priority: Priority;
  /**
   * While the ERP has not reported on it (`requested`): where its delivery stands — `queued`,
   * `sent`, `dead letter <id>` or `discarded` (filled in from the outbox by the CLI).
   */
  readonly delivery?: string;
  /** The window its create planned it into (UTC), from the outbox (filled in by the CLI); absent when none was (or the outbox no longer holds it). */
  readonly plannedStart?: string;
  /** The end of that window (UTC), from the outbox as well: earlier than the slot's `to` when the window was cut short (a DST change). */
  readonly plannedEnd?: string;
  /** The time zone of that window: its site's maintenance calendar's, as configured now (filled in by the CLI). */
  readonly plannedTimeZone?: string;
}

export interface MaintenanceStatus {
  readonly due: DueRow[];
  readonly open: WorkOrderRow[];
  readonly closed: WorkOrderRow[];
  /**
   * Open work orders the state forgot, the oldest first, to stay bounded (it keeps the newest
   * `MAX_OPEN_REMEMBERED` (work-order-memory.ts) open ones per asset): not in `open`, whatever the ERP did with them
   * since (ERP feedback on one lists it again). Absent when none was.
   */
  readonly openForgotten?: number;
}

const r2 = (v: number) => Math.round(v * 100) / 100;

/**
 * Whether `issue` (the rule's `meterIssue` or `odometerIssue`, `<time>: <why>`) is that of the
 * reading hygiene holds now (`holdCatchUp`): ahead of the wall clock since the meter last showed
 * its value, until the next reading confirms it or sets it aside. Not one set aside while it is
 * held (a reading gone backwards, or out of order at its time).
 */
function isHeldIssue(issue: string, hygiene: MeterHygieneState | undefined): boolean {
  const held = hygiene?.jumpHeld === true ? hygiene.jump : undefined;
  return held !== undefined && issue.startsWith(`${isoTime(held.eventTime)}: meter advanced `);
}

/** The meter columns of a row: the reading (when there is one), the baseline, the next due point, what is left. */
function meterColumns(meter: ServiceMeter, reading: number | undefined, base: number, next: number): Partial<DueRow> {
  const left = reading === undefined ? undefined : r2(next - reading);
  return meter === 'km'
    ? { ...(reading !== undefined ? { km: r2(reading) } : {}), baselineKm: r2(base), nextDueKm: r2(next), ...(left !== undefined ? { remainingKm: left } : {}) }
    : { ...(reading !== undefined ? { hours: r2(reading) } : {}), baselineHours: r2(base), nextDueHours: r2(next), ...(left !== undefined ? { remainingHours: left } : {}) };
}

/** A span for status text: whole minutes, seconds below one. */
const minutes = (ms: number): string => (ms >= 60_000 ? `${Math.floor(ms / 60_000)} min` : `${Math.round(ms / 1000)} s`);
/** A cooldown for status text: hours when whole hours, else minutes. */
const formatMinutesOrHours = (ms: number): string => (ms >= 3_600_000 && ms % 3_600_000 === 0 ? `${ms / 3_600_000} h` : minutes(ms));

/**
 * `; <note>` of the rule's latest completion whose meter at completion was not the ERP's (more
 * than the meter can have shown) or is unknown, while the schedule still counts from it or from
 * before it (`baseAt`: the completion it counts from); else empty.
 */
function completionNote(state: MaintenanceState | undefined, rule: string, baseAt: number | undefined): string {
  let latest: WorkOrderRecord | undefined;
  for (const [key, r] of Object.entries(state?.workOrders ?? {})) {
    if (r.meterNote === undefined || r.changedAt === undefined || parseWorkOrderKey(key)?.rule !== rule) continue;
    if (latest === undefined || r.changedAt > (latest.changedAt as number)) latest = r;
  }
  return latest !== undefined && (baseAt === undefined || (latest.changedAt as number) >= baseAt) ? `; ${latest.meterNote as string}` : '';
}

/**
 * `; ERP completion of <key> at <time> not applied yet: waits for <what>` (likewise other feedback
 * held behind one) for each of the rule's work-order events the state holds back (`feedbackHeld`),
 * oldest first; else empty.
 */
function waitingNote(state: MaintenanceState | undefined, rule: string, options: MaintenanceOptions): string {
  let note = '';
  const held = [...(state?.feedbackHeld ?? [])].sort((x, y) => x.eventTime - y.eventTime);
  for (const e of held) {
    if (parseWorkOrderKey(e.businessKey)?.rule !== rule) continue;
    const what = e.status === 'completed' ? 'completion' : `feedback (${e.status})`;
    note += `; ERP ${what} of ${e.businessKey} at ${isoTime(e.eventTime)} not applied yet: waits for ${feedbackWaitsFor(state as MaintenanceState, e, options)}`;
  }
  return note;
}

/**
 * `meter`: the meter rule's state of the asset, which takes a declared meter replacement in at once
 * (this rule holds it until `rules.allowedLateness` has passed): a reading set aside before it is not
 * advised to be declared again ({@link meterIssueText}).
 */
export function maintenanceStatus(asset: AssetRecord, state: MaintenanceState | undefined, options: MaintenanceOptions, calendar?: CalendarView, meter?: MeterSyncState): MaintenanceStatus {
  const due: DueRow[] = [];
  /** Work orders the calendar task opened that no ERP feedback has mentioned yet. */
  const requested: [string, WorkOrderRecord][] = [];
  const latest = { hours: latestHours(state)?.[1], km: latestKm(state)?.[1] };
  for (const rule of options.serviceIntervals) {
    if (!matchesFilter(asset, rule.appliesTo)) continue;
    const stored = state?.services?.[rule.name];
    const reading = latest[rule.meter];
    if (!stored || reading === undefined) {
      // Readings kept (for another rule counting the meter) but none counted by this one yet: it was
      // added, or took this asset in, since; its schedule starts at the next reading.
      const read = rule.meter === 'km' ? latestKm(state) : latestHours(state);
      const none =
        read !== undefined
          ? `not counted yet: the next ${rule.meter === 'km' ? 'odometer' : 'meter'} reading starts its schedule (the latest, ${r2(read[1])} ${rule.meter === 'km' ? 'km' : 'h'}, was read at ${isoTime(read[0])}, before it applied)`
          : 'no readings';
      due.push({ erpAssetId: asset.erpAssetId, rule: rule.name, type: 'service', state: `${none}${waitingNote(state, rule.name, options)}`, ...(read !== undefined ? (rule.meter === 'km' ? { km: r2(read[1]) } : { hours: r2(read[1]) }) : {}) });
      continue;
    }
    // The baseline in force: a baseline attribute changed since the last reading counts already.
    const s = withAttributeBaseline(rule, stored, asset.attributes);
    // While the work order for the last due point is open, that due point is what is due.
    const openKey = s.firedDue !== undefined ? workOrderKey(asset.erpAssetId, rule.name, occurrenceOf(s.firedDue, s.base, rule.meter)) : undefined;
    const openRecord = openKey !== undefined ? state?.workOrders?.[openKey] : undefined;
    const pendingWork = openRecord !== undefined && openRecord.status !== 'completed' && openRecord.status !== 'cancelled';
    const next = pendingWork && s.firedDue !== undefined ? s.firedDue : nextDue(rule, s);
    const remaining = next - reading;
    const when = remaining <= 0 ? 'due' : remaining <= rule.dueSoon ? 'due soon' : 'ok';
    // The earlier schedule's work order for this service, still open, stands for the next due point (see coveringWorkOrder).
    const cover = !pendingWork && when !== 'ok' ? coveringWorkOrder(state?.workOrders, asset.erpAssetId, rule, s.base, next, state?.completed?.[rule.name]) : undefined;
    const covering = cover !== undefined ? `, work order ${state?.workOrders?.[cover]?.status ?? 'requested'} under the earlier schedule: ${cover} (this due point opens none while it is open)` : '';
    // Why a reading did not count (a meter that went backwards, a jump too fast to be real).
    const issue = rule.meter === 'km' ? state?.odometerIssue : state?.meterIssue;
    // One hygiene holds (a catch-up, awaiting the next reading) is not set aside (yet): only one the next reading refuted is.
    const held = issue !== undefined && isHeldIssue(issue, (rule.meter === 'km' ? state?.km : state?.hours)?.hygiene);
    const setAside = issue !== undefined ? `; latest reading ${held ? 'held, awaiting the next reading' : 'set aside'}: ${meterIssueText(issue, asset.erpAssetId, rule.meter, meter)}` : '';
    // Hours (km) count on across a replaced meter and readings set aside: say how the meter's own display differs.
    const offset = meterOffset(rule.meter === 'km' ? state?.km : state?.hours);
    const unit = rule.meter === 'km' ? 'km' : 'h';
    const display = offset !== undefined ? `; the meter itself shows ${Math.abs(offset)} ${unit} ${offset > 0 ? 'less' : 'more'} (a replaced meter or readings set aside)` : '';
    const note = completionNote(state, rule.name, s.baseAt) + waitingNote(state, rule.name, options);
    // Due with no work order for it yet (a changed interval, a new baseline attribute): the rule opens
    // it when it steps, on the asset's next counted reading, not now; say so, as calendar rows do.
    const waiting = !pendingWork && when !== 'ok' && cover === undefined ? `, work order with the next ${rule.meter === 'km' ? 'odometer' : 'meter'} reading` : '';
    due.push({
      erpAssetId: asset.erpAssetId,
      rule: rule.name,
      type: 'service',
      state: `${pendingWork ? `${when === 'ok' ? 'scheduled' : when}, work order ${openRecord.status}` : `${when}${covering}${waiting}`}${setAside}${display}${note}`,
      ...meterColumns(rule.meter, reading, s.base, next),
    });
  }
  for (const rule of calendar ? (options.calendarIntervals ?? []) : []) {
    if (!calendar || !matchesFilter(asset, rule.appliesTo)) continue;
    const marks = calendar.marks(rule.name);
    const problem = baselineProblem(rule, asset);
    if (problem !== undefined && state?.calendars?.[rule.name] === undefined) {
      due.push({ erpAssetId: asset.erpAssetId, rule: rule.name, type: 'calendar', state: `not counted: ${problem}${waitingNote(state, rule.name, options)}` });
      continue;
    }
    const zone = calendarTimeZone(asset, options);
    const base = checkedBaseline(rule, asset, state?.calendars?.[rule.name], marks.firstChecked, zone, marks.fired?.key);
    if (base === undefined) {
      due.push({ erpAssetId: asset.erpAssetId, rule: rule.name, type: 'calendar', state: `not checked yet (no ${rule.baselineAttribute} attribute)${waitingNote(state, rule.name, options)}` });
      continue;
    }
    const now = calendar.now;
    const meter = calendarMeterOf(rule, asset, state, zone);
    const d = calendarDueAt(rule, base, now, meter, zone);
    const dueKey = d ? workOrderKey(asset.erpAssetId, rule.name, d.occurrence) : undefined;
    // The work order last opened stands for this due point when it is this one, a later one of its
    // baseline (an interval shortened since) or, open, an earlier one less than an interval before it
    // (an interval lengthened since): the check opens none for it (see openedStandsFor).
    const firedStatus = marks.fired !== undefined ? state?.workOrders?.[marks.fired.key]?.status : undefined;
    const firedClosed = firedStatus === 'completed' || firedStatus === 'cancelled';
    const fired = dueKey !== undefined && marks.fired !== undefined && d !== undefined && openedStandsFor(marks.fired.key, dueKey, rule.everyDays * DAY_MS, firedClosed, openedCycle(rule, marks.fired, d)) ? marks.fired : undefined;
    const key = fired?.key ?? dueKey;
    const record = key !== undefined ? state?.workOrders?.[key] : undefined;
    if (key !== undefined && record === undefined && fired) requested.push([key, { status: 'requested', openedAt: fired.at }]);
    const next = d ? d.due : nextCalendarDue(rule, base, now, zone);
    const when = !d ? 'ok' : d.dueSoon ? 'due soon' : 'due';
    // A whichever-first rule says which side got there.
    const by = d?.by === undefined ? '' : d.by === 'date' ? ' by date' : d.by === 'km' ? ' by km' : ' by hours';
    const order = (k: string): number => scheduleOrder(parseWorkOrderKey(k)?.occurrence ?? '')?.at[2] ?? 0;
    const standing = key !== undefined && dueKey !== undefined && key !== dueKey ? ` (${key}, for ${order(key) < order(dueKey) ? 'an earlier' : 'a later'} due ${d?.meter ? 'point' : 'date'} of this baseline, stands for it)` : '';
    const work = record ? `, work order ${record.status}${standing}` : fired ? `, work order requested${standing}` : d ? ', work order at the next check' : '';
    due.push({
      erpAssetId: asset.erpAssetId,
      rule: rule.name,
      type: 'calendar',
      state: `${when}${by}${work}${completionNote(state, rule.name, state?.calendars?.[rule.name]?.baseAt)}${waitingNote(state, rule.name, options)}`,
      baselineDate: isoDay(base),
      nextDueDate: isoDay(next),
      remainingDays: Math.round(((next - wallClockIn(now, zone)) / DAY_MS) * 10) / 10,
      ...(meter && rule.orMeter ? meterColumns(rule.orMeter.meter, meter.reading, meter.base, d?.meter?.due ?? meter.base + rule.orMeter.every) : {}),
    });
  }
  for (const rule of options.thresholds) {
    if (!matchesFilter(asset, rule.appliesTo)) continue;
    const th = state?.thresholds?.[rule.name];
    // A repeating rule: the breaches counted towards its next work order (those still in the window when status is taken).
    const repeat = rule.repeat;
    const hits = repeat && th?.hits ? th.hits.filter((h) => calendar === undefined || calendar.now - h < repeat.withinMs) : [];
    // The count reached without a work order: the cooldown after the last one holds it (a breach held after the cooldown opens one).
    const cooldownEnds = th?.firedAt !== undefined ? th.firedAt + rule.cooldownMs : undefined;
    // Reached with the cooldown since over (no breach since, which would have opened it): the next breach opens one.
    const heldBack =
      repeat && hits.length >= repeat.count && cooldownEnds !== undefined
        ? calendar === undefined || calendar.now < cooldownEnds
          ? `: the count is reached, but no work order opens before the cooldown after the last one (${isoTime(th?.firedAt as number)}) ends ${isoTime(cooldownEnds)}; then the next breach opens one, while ${repeat.count} are counted within ${minutes(repeat.withinMs)}`
          : `: the count is reached, and the cooldown after the last work order (${isoTime(th?.firedAt as number)}) ended ${isoTime(cooldownEnds)}: the next breach opens one, while ${repeat.count} are counted within ${minutes(repeat.withinMs)}`
        : '';
    const counted = repeat && hits.length ? `, ${hits.length} of ${repeat.count} breaches counted since ${isoTime(hits[0] as number)}${heldBack}` : '';
    // Completed in the ERP while still breaching: the next breach starts a new episode.
    const rearmed = th?.rearmAt !== undefined ? `, work order completed ${isoTime(th.rearmAt)}: the next breach starts a new episode` : '';
    // A pending breach: how long it has held, or, held long enough, until when the cooldown keeps it waiting.
    let pending = '';
    if (th?.phase === 'pending' && th.start !== undefined) {
      const heldFor = (th.last ?? th.start) - th.start;
      const cooldownEnds = th.firedAt !== undefined ? th.firedAt + rule.cooldownMs : undefined;
      // The cooldown over when status is taken: no sample since it ended (one would have opened the
      // work order); the next breaching sample does, unless the breach is broken by then (said below).
      const cooled = cooldownEnds !== undefined && calendar !== undefined && calendar.now >= cooldownEnds;
      const broken = calendar !== undefined && calendar.now - (th.last ?? th.start) > rule.maxGapMs;
      pending =
        heldFor >= rule.durationMs && cooldownEnds !== undefined
          ? cooled
            ? ` since ${isoTime(th.start)}, held long enough; the cooldown after the last work order (${isoTime(th.firedAt as number)}) ended ${isoTime(cooldownEnds)}${broken ? '' : ': the next breaching sample opens the work order'}`
            : ` since ${isoTime(th.start)}, held long enough: waits for the cooldown after the last work order (${isoTime(th.firedAt as number)}) to end ${isoTime(cooldownEnds)}`
          : ` since ${isoTime(th.start)}, held ${minutes(heldFor)} of ${minutes(rule.durationMs)}`;
    }
    // No sample for longer than maxGap (a device gone quiet, or one that reports less often): the
    // breach or episode is over, whatever status said before; the next sample decides afresh.
    const last = th?.last ?? th?.start;
    const quiet =
      calendar !== undefined && th !== undefined && th.phase !== 'normal' && last !== undefined && calendar.now - last > rule.maxGapMs
        ? th.phase === 'pending'
          ? `; no sample since ${isoTime(last)}, more than maxGap (${formatDuration(rule.maxGapMs)}): this breach is broken, and the next breaching sample starts one anew (a sensor that reports less often than maxGap never holds one: raise maxGap)`
          : `; no sample since ${isoTime(last)}, more than maxGap (${formatDuration(rule.maxGapMs)}): the next sample ends this episode (a breaching one starts a new one)`
        : '';
    due.push({ erpAssetId: asset.erpAssetId, rule: rule.name, type: 'threshold', state: `${th?.phase ?? 'normal'}${pending}${counted}${rearmed}${quiet}${waitingNote(state, rule.name, options)}` });
  }
  for (const rule of options.alerts ?? []) {
    if (!matchesFilter(asset, rule.appliesTo)) continue;
    // Faults still within their cooldown at the time status is taken (all that are stored, without one).
    const active = Object.entries(state?.alerts?.[rule.name] ?? {})
      .filter(([, e]) => calendar === undefined || calendar.now - e.last < rule.cooldownMs)
      .sort((x, y) => x[1].start - y[1].start)
      .map(([code, e]) => {
        // The ERP closed the episode's work order while the fault is still reported: reports within the cooldown are still that fault, and open none.
        // Its record, or, once that is forgotten (keepClosed), the status kept with the episode: the later of the two.
        const wo = state?.workOrders?.[workOrderKey(asset.erpAssetId, rule.name, `${code}@${isoTime(e.start)}`)];
        const fromRecord = wo?.changedAt !== undefined && wo.status !== 'requested' ? ([wo.status, wo.changedAt] as const) : undefined;
        const erp = fromRecord !== undefined && (e.w === undefined || fromRecord[1] >= e.w[1]) ? fromRecord : e.w;
        const closed =
          erp !== undefined && (erp[0] === 'completed' || erp[0] === 'cancelled')
            ? ` (work order ${erp[0]} ${isoTime(erp[1])}; a report within ${formatMinutesOrHours(rule.cooldownMs)} of the last one, ${isoTime(e.last)}, is still this fault and opens no work order)`
            : '';
        if (code === OVERFLOW_KEY) {
          const took = overflowFaults(e);
          const faults =
            took.legacyReports !== undefined
              ? `${took.legacyReports} report${took.legacyReports === 1 ? '' : 's'} of faults not tracked on their own`
              : `${took.atLeast ? 'at least ' : ''}${took.count} distinct fault${took.count === 1 && !took.atLeast ? '' : 's'} not tracked on their own`;
          return `more than ${MAX_EPISODES} faults at once since ${isoTime(e.start)} (${faults}, the last reported ${isoTime(e.last)}: all covered by work order ${OVERFLOW_KEY}@${isoTime(e.start)}, none opens its own until none has been reported for ${formatMinutesOrHours(rule.cooldownMs)})${closed}`;
        }
        // A fault with no code: its text as first reported (its key is a hash), or the key for an episode kept before the text was.
        return `${e.r !== undefined ? JSON.stringify(e.r) : code} since ${isoTime(e.start)}${closed}`;
      });
    due.push({ erpAssetId: asset.erpAssetId, rule: rule.name, type: 'alert', state: `${active.length ? `active: ${active.join(', ')}` : 'quiet'}${waitingNote(state, rule.name, options)}` });
  }
  const severity = new Map<string, Severity>([...options.thresholds, ...options.serviceIntervals, ...(options.calendarIntervals ?? [])].map((r) => [r.name, r.severity]));
  for (const r of options.alerts ?? []) if (r.severity) severity.set(r.name, r.severity);
  const rows = [...Object.entries(state?.workOrders ?? {}), ...requested]
    .map(([businessKey, r]): WorkOrderRow => {
      const key = parseWorkOrderKey(businessKey);
      const rule = key?.rule ?? '';
      return { ...r, erpAssetId: asset.erpAssetId, businessKey, rule, occurrence: key?.occurrence ?? '', priority: priorityOf(r.severity ?? severity.get(rule) ?? 'warning') };
    })
    .sort((a, b) => a.openedAt - b.openedAt);
  const isClosed = (r: WorkOrderRow) => r.status === 'completed' || r.status === 'cancelled';
  const forgotten = state?.openForgotten;
  return { due, open: rows.filter((r) => !isClosed(r)), closed: rows.filter(isClosed), ...(forgotten !== undefined && forgotten > 0 ? { openForgotten: forgotten } : {}) };
}
