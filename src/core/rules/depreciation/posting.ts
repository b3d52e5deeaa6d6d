/**
 * Usage postings per asset, each decided once. A posting is a fact with a fixed business key
 * (`<asset>|usage|<period>`): never changed, never sent twice. Usage found later for a period
 * already posted (a reading after the posting spreads back into it, a telematics backfill) is
 * therefore carried into the asset's next posting as a prior-period adjustment, so the posted
 * period units always add up to the posted life-to-date.
 *
 * The posting side keeps one {@link UsageLedger} per asset (what it posted last, and the facts
 * exactly as decided); this module decides from it, with no I/O.
 * @module
 */
import type { AssetRecord } from '../../model/assets.js';
import type { DeliveryIntent } from '../../model/delivery.js';
import type { MeterSyncState } from '../meter-sync.js';
import { sameCalendarName, stampCalendar, type Period, type PeriodCalendar } from './calendar.js';
import { fileHeldUsage, filedUnderOtherCalendar, type UsageState } from './usage-rule.js';
import { heldUsageIn, postedThrough } from './refile.js';
import { isoTime } from '../iso-format.js';
import { depreciationInputProblems, POSTED_INPUTS, readAmount, type DepreciationInputProblem } from './inputs.js';
import { formatAmount, formatMoney, roundUnits, unitsOfProductionCharge, usageFor, usagePostDelivery, type DepreciationAttributes, type HeldUsageLine, type PostedUnits, type PriorPeriodUnits, type UsageLine, type UsageMeterKind, type UsagePosted, type UsageUnits } from './usage.js';

/** An asset's posting record: the basis of its next posting. */
export interface UsageLedger extends UsagePosted {
  readonly v: 1;
  /** The units the posting for `period` carried. */
  readonly posted: PostedUnits;
  /**
   * The facts of the last decision (the periods it caught up on, then `period`), exactly as
   * decided: committed again after a crash (the outbox keeps a fact once, so this adds nothing).
   */
  readonly deliveries: readonly DeliveryIntent[];
}

export function parseLedger(raw: string | undefined): UsageLedger | undefined {
  if (raw === undefined) return undefined;
  try {
    const v = JSON.parse(raw) as Partial<UsageLedger> | null;
    return v && v.v === 1 && typeof v.period === 'string' && Array.isArray(v.deliveries) && typeof v.posted === 'object' ? (v as UsageLedger) : undefined;
  } catch {
    return undefined;
  }
}

export type UsagePlan =
  /** This period was decided before: the same facts again. */
  | { readonly kind: 'decided'; readonly line: UsageLine; readonly deliveries: readonly DeliveryIntent[] }
  /** A later period has been posted: nothing for this one any more. */
  | { readonly kind: 'covered'; readonly line: UsageLine; readonly through: string }
  /**
   * To post: the periods after the last posted one, in order (usually just this one), and the
   * ledger to record first; no ledger and no deliveries for an asset not tracked yet.
   */
  | { readonly kind: 'new'; readonly line: UsageLine; readonly deliveries: readonly DeliveryIntent[]; readonly ledger: UsageLedger | undefined }
  /**
   * Held back (`rules.depreciation.holdBack`): there is usage to post, but an input the posting
   * carries is invalid; nothing is decided or recorded, so the asset is posted once it is fixed.
   */
  | { readonly kind: 'held'; readonly line: UsageLine; readonly reason: string; readonly problems: readonly DepreciationInputProblem[]; readonly periods: readonly string[] };

export interface UsagePlanInput {
  readonly asset: AssetRecord;
  readonly state: UsageState | undefined;
  readonly ledger: UsageLedger | undefined;
  readonly period: Period;
  readonly calendar: PeriodCalendar;
  readonly attributes: DepreciationAttributes;
  readonly now: number;
  readonly configured?: { readonly meter: UsageMeterKind; readonly problem?: string };
  readonly destination: string;
  readonly units: UsageUnits;
  /**
   * Hold back the postings of an asset whose posted inputs (total expected units, units at
   * acquisition) are invalid, rather than send them. @default true
   */
  readonly holdBack?: boolean;
  /**
   * What the posting of `period` carried, when it was made before the asset's last one (read from
   * the outbox by `depreciation preview` and `post`): the ledger keeps only the last decision, so
   * without it an earlier period posted reads as one never posted.
   */
  readonly postedBefore?: PostedUnits;
  /**
   * The asset's meter rule state (`name: 'meter'`): whether a meter replacement was declared after
   * the reading set aside that the line's note `meter: …` names, so the note advises declaring one
   * only when none was ({@link usageFor}).
   */
  readonly meterSync?: MeterSyncState;
  /**
   * For an asset with no posting yet: the first period its postings were held back from (invalid
   * inputs, another calendar), recorded by the posting side. Its first posting then starts there,
   * each period in turn, as an asset with earlier postings catches up on the periods it was held
   * back from: not at `period` alone, which would leave the held periods' units in the
   * life-to-date only, in no posting's period units. Ignored once the asset has a posting, and
   * when it is not a period of the calendar before `period`.
   */
  readonly heldSince?: string;
}

/**
 * The units a `usage.post` payload carried, as a posted period's basis; undefined when it carries
 * no period units. The payload has life-to-date, not the meter: the meter is that plus the asset's
 * units at acquisition.
 */
export function postedUnitsOf(payload: Readonly<Record<string, unknown>>, asset: AssetRecord, attributes: DepreciationAttributes): PostedUnits | undefined {
  const { periodUnits, lifeToDateUnits, adjustmentUnits, adjustmentPeriods } = payload;
  if (typeof periodUnits !== 'number') return undefined;
  const acquired = readAmount(asset.attributes[attributes.unitsAtAcquisition]);
  const base = acquired !== undefined && Number.isFinite(acquired) && acquired >= 0 ? acquired : 0;
  const periods = Array.isArray(adjustmentPeriods)
    ? adjustmentPeriods.filter((p): p is PriorPeriodUnits => p !== null && typeof p === 'object' && typeof (p as PriorPeriodUnits).period === 'string' && typeof (p as PriorPeriodUnits).units === 'number')
    : [];
  return {
    periodUnits,
    meterAtEnd: typeof lifeToDateUnits === 'number' ? roundUnits(lifeToDateUnits + base) : null,
    adjustmentUnits: typeof adjustmentUnits === 'number' ? adjustmentUnits : 0,
    adjustmentPeriods: periods,
  };
}

/** Why the usage of an asset filed under calendar `stamp` is held while `calendar` is configured, and what to do. */
export function calendarHeldReason(stamp: string, calendar: PeriodCalendar): string {
  const was = stampCalendar(stamp);
  const now = stampCalendar(calendar.fingerprint);
  // The same kind and zone (however spelt): the periods differ.
  const same = sameCalendarName(was, now);
  return `its usage is filed in periods of another calendar (${same ? `${was}, with other periods` : was}) than the configured one (${now}${same ? ', changed' : ''}): set rules.depreciation.timeZone, periods and periodsEnd (the calendar) back to the one it was filed under, or keep this one and re-file the usage under it with 'assetbridge depreciation refile'`;
}

/**
 * The usage a held asset read since the hold began, in `period` as a re-file would file it under
 * `calendar` ({@link heldUsageIn}), with the life-to-date it implies (less the units at acquisition,
 * as a posting counts it) and their units-of-production charge from the line's inputs (`line`: its
 * cost, salvage and expected units), as the line's own is charged; undefined when there is none for
 * the period.
 */
function heldLineOf(
  state: UsageState | undefined,
  period: Period,
  calendar: PeriodCalendar,
  asset: AssetRecord,
  attributes: DepreciationAttributes,
  line: Pick<UsageLine, 'cost' | 'salvage' | 'totalExpectedUnits'>,
): HeldUsageLine | undefined {
  const held = heldUsageIn(state, period, calendar);
  if (held === undefined) return undefined;
  const acquired = readAmount(asset.attributes[attributes.unitsAtAcquisition]);
  const base = acquired !== undefined && Number.isFinite(acquired) && acquired >= 0 ? acquired : 0;
  // Units at acquisition above the meter: not known (never shown as 0), as a line's life-to-date.
  const lifeToDate = held.meterAtEnd - base < -0.002 ? null : roundUnits(Math.max(0, held.meterAtEnd - base));
  const units = roundUnits(held.units);
  return { units, lifeToDateUnits: lifeToDate, since: held.since, unitsOfProduction: unitsOfProductionCharge(line, units, lifeToDate).charge };
}

/** What a held line's `held` usage is, in its notes. */
export function heldUsageNote(held: HeldUsageLine, period: Period, unit: string): string {
  const ltd = held.lifeToDateUnits === null ? '' : `, life-to-date ${formatAmount(held.lifeToDateUnits)} ${unit} at its end`;
  const uop = held.unitsOfProduction === null ? '' : `, units of production ${formatMoney(held.unitsOfProduction)} (HELD UOP), what they would depreciate once re-filed and posted`;
  return (
    `held, pending re-file: ${formatAmount(held.units)} ${unit} read since the hold began (${isoTime(held.since)}) would file in ${period.id} under the configured calendar${ltd}${uop}; ` +
    `not posted until the usage is re-filed ('assetbridge depreciation refile'), or filed under the old calendar once that is set back`
  );
}

/** Why an asset's postings are held back, for the line's notes, the log and `depreciation post`. */
export function heldBackReason(problems: readonly DepreciationInputProblem[]): string {
  return `held back, not posted: ${problems.map((p) => p.message).join('; ')}; fix the asset's attribute (assets import, or the config's assets), or post anyway with 'depreciation post --force' or rules.depreciation.holdBack: false`;
}

/** The problems of inputs a posting carries, each once. */
function postedInputProblems(all: readonly DepreciationInputProblem[]): DepreciationInputProblem[] {
  const seen = new Set<string>();
  return all.filter((p) => POSTED_INPUTS.includes(p.input) && !seen.has(p.message) && (seen.add(p.message), true));
}

/** Periods caught up on in one decision at most; beyond that the gap goes into this period's posting. */
const MAX_CATCH_UP = 120;

/** What to post for `period` (and the unposted periods before it) given the asset's ledger. */
export function planUsagePosting(input: UsagePlanInput): UsagePlan {
  const { asset, ledger, period, calendar, attributes, now, configured, destination, units, meterSync } = input;
  // Usage read while held by a calendar change and not yet filed by the rule (the calendar was set
  // back, and no reading or watermark came since): filed here as the rule will file it.
  const state = input.state && !filedUnderOtherCalendar(input.state, calendar) ? fileHeldUsage(input.state, calendar, Infinity) : input.state;
  const lineFor = (p: Period, basis?: UsagePosted) => usageFor(asset, state, p, attributes, now, configured, basis ? { after: basis, calendar } : { calendar }, meterSync);
  if (ledger?.period === period.id) return { kind: 'decided', line: usageFor(asset, state, period, attributes, now, configured, { posted: ledger.posted, calendar }, meterSync), deliveries: ledger.deliveries };
  const last = ledger ? calendar.period(ledger.period) : undefined;
  // A last posting for a period of another calendar (the calendar changed, the usage was re-filed):
  // placed by the end it was posted with. The first period to post is then the one holding that
  // end (it straddles the posting, and was re-filed with only the units after it) or starting there.
  const foreignEnd = ledger && !last ? postedThrough(ledger, calendar)?.end : undefined;
  if (ledger && ((last && last.start > period.start) || (foreignEnd !== undefined && foreignEnd >= period.end))) {
    // Posted before the last posting: shown as posted, with what it carried. Never posted (before the
    // asset's first posting): its units are in the later postings' life-to-date, in none's period units.
    if (input.postedBefore) return { kind: 'covered', through: ledger.period, line: usageFor(asset, state, period, attributes, now, configured, { posted: input.postedBefore, calendar }, meterSync) };
    const line = lineFor(period);
    return { kind: 'covered', through: ledger.period, line: { ...line, notes: [...line.notes, `not posted: postings are made in period order, once each, and this asset's are made through ${ledger.period}: its units are in the life-to-date of its later postings`] } };
  }
  // The periods between the last posting and this one are posted first, each in turn.
  const periods: Period[] = [];
  // No posting yet: from the first period it was held back from, if any (see `heldSince`).
  const held = !ledger && input.heldSince !== undefined ? calendar.period(input.heldSince) : undefined;
  const first = last ? calendar.next(last) : foreignEnd !== undefined ? calendar.periodFrom(foreignEnd) : held && held.start < period.start ? held : undefined;
  for (let p = first; p && p.start < period.start && periods.length <= MAX_CATCH_UP; p = calendar.next(p)) periods.push(p);
  if (periods.length > MAX_CATCH_UP) periods.length = 0;
  periods.push(period);
  let basis: UsageLedger | undefined = ledger;
  let line: UsageLine | undefined;
  const deliveries: DeliveryIntent[] = [];
  const lines: UsageLine[] = [];
  for (const p of periods) {
    line = lineFor(p, basis);
    if (!line.tracked) continue;
    lines.push(line);
    const delivery = usagePostDelivery(line, destination, calendar.timeZone, units);
    deliveries.push(delivery);
    // Without the meter at this period's end (not in the kept history), the basis stays: the next posting carries it.
    const keep = line.meterAtEnd === null && basis !== undefined && basis.meter === line.meter;
    basis = {
      v: 1,
      period: p.id,
      meter: line.meter,
      meterAtEnd: keep ? (basis?.meterAtEnd ?? null) : line.meterAtEnd,
      readingAt: keep ? (basis?.readingAt ?? null) : (state?.last?.[0] ?? null),
      posted: { periodUnits: line.periodUnits, meterAtEnd: line.meterAtEnd, adjustmentUnits: line.adjustmentUnits, adjustmentPeriods: line.adjustmentPeriods },
      deliveries,
    };
  }
  const result = line as UsageLine;
  const periodIds = deliveries.map((d) => String(d.payload.period));
  // Usage filed under another calendar would be posted with boundaries it was not counted in.
  if (deliveries.length && filedUnderOtherCalendar(state, calendar)) {
    const reason = calendarHeldReason(state?.cal ?? '', calendar);
    // The configured calendar's periods are not among those the usage is filed in, which is no history
    // lost beyond keepPeriods (what `incomplete` would say): the calendar change is the reason, said once.
    const { incomplete, ...line } = result;
    const notes = result.notes.filter((n) => n !== incomplete);
    // What was read since the hold began is known, though filed in no period yet: shown as a re-file would file it, never posted from here.
    const held = heldLineOf(state, period, calendar, asset, attributes, line);
    const heldNote = held ? [heldUsageNote(held, period, units[line.meter])] : [];
    return { kind: 'held', line: { ...line, notes: [...notes, `held back, not posted: ${reason}`, ...heldNote], ...(held ? { held } : {}) }, reason, problems: [], periods: periodIds };
  }
  // Postings are never changed once sent: one carrying an invalid input is not made until it is fixed.
  // Those of the attributes, and of each posting's line (units at acquisition above its meter).
  const problems = deliveries.length && input.holdBack !== false ? postedInputProblems([...depreciationInputProblems(asset.attributes, attributes), ...lines.flatMap((l) => l.invalidInputs ?? [])]) : [];
  if (problems.length) return { kind: 'held', line: { ...result, notes: [...result.notes, heldBackReason(problems)] }, reason: problems.map((p) => p.message).join('; '), problems, periods: periodIds };
  return { kind: 'new', line: result, deliveries, ledger: deliveries.length ? basis : undefined };
}
