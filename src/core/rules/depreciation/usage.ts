/**
 * Units-of-production inputs per asset and period, from the usage rule's state and the asset's
 * financial attributes: what `depreciation preview` shows and what `usage.post` sends.
 *
 *   units of production = (cost − salvage) × period units ÷ total expected units
 *   straight line       = (cost − salvage) ÷ useful life in periods, from the period holding the
 *                         in-service date (full-period convention) for the useful life, then nothing
 *
 * The ERP computes the booked depreciation; we send it the inputs (period units, life-to-date
 * units, total expected units) and show both methods side by side for review.
 * @module
 */
import type { AssetRecord } from '../../model/assets.js';
import type { DeliveryIntent } from '../../model/delivery.js';
import type { Period, PeriodCalendar } from './calendar.js';
import type { PeriodUsage, UsageState } from './usage-rule.js';
import { joinCellList, splitCellList, toCsv } from '../../csv.js';
import { depreciationInputProblems, readAmount, type DepreciationInputProblem } from './inputs.js';
import { zonedTimeToUtc } from '../time-zone.js';
import { meterIssueText, type MeterSyncState } from '../meter-sync.js';
import { isoTime } from '../iso-format.js';

export const USAGE_POST = 'usage.post';

/** Asset attribute names holding the financial inputs. */
export interface DepreciationAttributes {
  /** @default cost */
  readonly cost: string;
  /** @default salvage */
  readonly salvage: string;
  /** Total units (hours, or km) the asset is expected to deliver over its life. @default expectedUnits */
  readonly totalExpectedUnits: string;
  /** Useful life in periods, for the straight-line comparison. @default usefulLifeMonths */
  readonly usefulLifePeriods: string;
  /** Meter units (hours, or km) the asset had when acquired (used equipment). @default unitsAtAcquisition */
  readonly unitsAtAcquisition: string;
  /**
   * The first day the asset was in service (`YYYY-MM-DD`, a local day in the calendar's time zone),
   * where straight line starts (full-period convention). @default inServiceDate
   */
  readonly inServiceDate: string;
}

export const DEFAULT_DEPRECIATION_ATTRIBUTES: DepreciationAttributes = {
  cost: 'cost',
  salvage: 'salvage',
  totalExpectedUnits: 'expectedUnits',
  usefulLifePeriods: 'usefulLifeMonths',
  unitsAtAcquisition: 'unitsAtAcquisition',
  inServiceDate: 'inServiceDate',
};

/** The meter an asset's usage is counted on. */
export type UsageMeterKind = 'hours' | 'km';

/** Labels sent as `unit` with usage counted in hours and in km. */
export interface UsageUnits {
  readonly hours: string;
  readonly km: string;
}

export const DEFAULT_USAGE_UNITS: UsageUnits = { hours: 'h', km: 'km' };

const METER_WORDS: Readonly<Record<string, UsageMeterKind>> = { hours: 'hours', h: 'hours', operatinghours: 'hours', km: 'km', odometer: 'km', odometerkm: 'km' };

/**
 * The meter for an asset: its attribute (`hours` or `km`; `operatingHours`, `odometerKm` too) when
 * it has one, else the configured default; an attribute value that is neither is reported, not guessed.
 */
/** How a depreciation config picks each asset's meter: its attribute (`meterAttribute`), else `meter`. */
export function depreciationMeterOf(d: { readonly meter: 'operatingHours' | 'odometerKm'; readonly meterAttribute: string }): (asset: AssetRecord) => { meter: UsageMeterKind; problem?: string } {
  const fallback: UsageMeterKind = d.meter === 'odometerKm' ? 'km' : 'hours';
  return (asset) => meterFor(asset, d.meterAttribute, fallback);
}

export function meterFor(asset: AssetRecord, attribute: string, fallback: UsageMeterKind): { readonly meter: UsageMeterKind; readonly problem?: string } {
  const raw = asset.attributes[attribute];
  if (raw === undefined || raw.trim() === '') return { meter: fallback };
  const meter = METER_WORDS[raw.trim().toLowerCase()];
  return meter ? { meter } : { meter: fallback, problem: `attribute "${attribute}" is "${raw}", not hours or km: counted on ${fallback}` };
}

/** Units found for an already-posted period after it was posted, carried into a later posting. */
export interface PriorPeriodUnits {
  readonly period: string;
  readonly units: number;
}

/**
 * What an asset's last posting covered: the basis of its next one. Kept by the posting side
 * (engine/tasks/usage-posting.ts), not by the rule: a posting is a fact, decided once.
 */
export interface UsagePosted {
  /** The period last posted. */
  readonly period: string;
  readonly meter: UsageMeterKind;
  /** Continuous meter up to which usage has been posted; null: not known (the next posting is a first one). */
  readonly meterAtEnd: number | null;
  /** Event time of the latest reading known then: usage after it that lands in posted periods is found late. */
  readonly readingAt: number | null;
}

/** The units a posting carried, as posted (what `depreciation preview` shows for a posted period). */
export type PostedUnits = Pick<UsageLine, 'periodUnits' | 'meterAtEnd' | 'adjustmentUnits' | 'adjustmentPeriods'>;

/**
 * How a usage line relates to postings:
 * - `after`: the asset's last posting was for an earlier period; this period's posting is
 *   everything used since it (its own units plus any found since for posted periods, a prior-period
 *   adjustment), so the posted period units always add up to the posted life-to-date;
 * - `posted`: this period has been posted with these units.
 * Without `after` or `posted` the line is the period's own usage (an asset's first posting). The
 * calendar reads periods older than those the state keeps in full ({@link periodUsage}).
 */
export type PostingBasis = { readonly after?: UsagePosted; readonly calendar: PeriodCalendar } | { readonly posted: PostedUnits; readonly calendar?: PeriodCalendar };

export interface UsageLine {
  readonly erpAssetId: string;
  readonly period: string;
  /** The meter the units are counted on. */
  readonly meter: UsageMeterKind;
  readonly periodStart: number;
  readonly periodEnd: number;
  /**
   * Units (hours, or km) to book in the period: those used in it, plus `adjustmentUnits` found after
   * an earlier period was posted.
   */
  readonly periodUnits: number;
  /** Units used since acquisition, at the period's end; null when the asset was not tracked by then. */
  readonly lifeToDateUnits: number | null;
  /** The continuous meter at the period's end (life-to-date before subtracting units at acquisition). */
  readonly meterAtEnd: number | null;
  /** Of `periodUnits`, those used in earlier periods that had already been posted (0: none). */
  readonly adjustmentUnits: number;
  /** Where `adjustmentUnits` were used, oldest first. */
  readonly adjustmentPeriods: readonly PriorPeriodUnits[];
  readonly totalExpectedUnits: number | null;
  readonly cost: number | null;
  readonly salvage: number | null;
  readonly usefulLifePeriods: number | null;
  /**
   * (cost − salvage) × period units ÷ total expected units, 2 decimals; null when an input is missing.
   * Only the units up to the expected total count: a fully depreciated asset is charged nothing more.
   */
  readonly unitsOfProduction: number | null;
  /**
   * (cost − salvage) ÷ useful life, 2 decimals, at most cost − salvage; null when an input is missing
   * or invalid (a life under 1, an in-service date that is no day). With an in-service date
   * ({@link straightLineCharge}): 0 before its period and once the useful life has run, and the
   * periods of the life add up to cost − salvage exactly.
   */
  readonly straightLine: number | null;
  /** The asset had meter readings in or before the period. */
  readonly tracked: boolean;
  /**
   * What this line's usage cannot tell (a period no longer in the kept history): also in `notes`,
   * and sent with the posting, which is never sent again.
   */
  readonly incomplete?: string;
  /** What the reader should know (missing inputs, incomplete data). */
  readonly notes: readonly string[];
  /** The asset's depreciation attributes that are invalid (not a number, negative, …): also in `notes`. */
  readonly invalidInputs?: readonly DepreciationInputProblem[];
  /**
   * Of an asset held by a calendar change (its usage filed under another calendar than the configured
   * one: nothing is posted from it until it is re-filed, or the calendar set back), the usage read
   * since the hold began, as a re-file would file it in this period under the configured calendar
   * (refile.ts `heldUsageIn`); absent otherwise. Shown by `depreciation preview`, never posted:
   * `periodUnits` and `lifeToDateUnits` stay what the filed periods say.
   */
  readonly held?: HeldUsageLine;
}

/** See {@link UsageLine.held}. */
export interface HeldUsageLine {
  /** Units read while held that file in the period (in the period the hold began in, those after `since` only). */
  readonly units: number;
  /** Units used since acquisition at the period's end (at the latest reading while it is open), as those readings give it; null when units at acquisition are above it. */
  readonly lifeToDateUnits: number | null;
  /** When the hold began: the latest reading filed before it. */
  readonly since: number;
  /**
   * The units-of-production charge of `units` ({@link unitsOfProductionCharge}, as the line's own, with
   * `lifeToDateUnits` for the cap at the expected total): what the period's posting would charge for
   * them once re-filed; never posted from here. Null when an input is missing.
   */
  readonly unitsOfProduction: number | null;
}

/**
 * A period's usage as an asset's state knows it: kept in full, or (dropped beyond `keepPeriods`) its
 * units, with the meter at its end worked back from the newer periods: the next one's at its end
 * less its units. The meter is continuous (resets and replacements are stitched by hygiene), so this
 * holds across them. `units` null: dropped before dropped periods' units were kept.
 */
export function periodUsage(state: UsageState | undefined, period: Period, calendar: PeriodCalendar | undefined): { readonly units: number | null; readonly meterAtEnd: number | null } | undefined {
  const kept = state?.periods?.[period.id];
  if (kept || !state?.periods || !calendar) return kept;
  const own = state.pruned?.[period.id] ?? null;
  let after = 0;
  let guard = 0;
  for (let q = calendar.next(period); q && guard++ < 10_000; q = calendar.next(q)) {
    const next: PeriodUsage | undefined = state.periods[q.id];
    if (next) return { units: own, meterAtEnd: next.meterAtEnd - next.units - after };
    const u = state.pruned?.[q.id];
    if (u === undefined) break;
    after += u;
  }
  return own === null ? undefined : { units: own, meterAtEnd: null };
}

/** Why a period's usage is not known (see {@link periodUsage}). */
const DROPPED = 'it is no longer in the kept history (rules.depreciation.keepPeriods), and was dropped by a version that kept nothing of dropped periods';

/** The attribute as a number; null when absent, empty or not a plain decimal number (`0x10` is not 16). */
function num(asset: AssetRecord, name: string): number | null {
  const n = readAmount(asset.attributes[name]);
  return n === undefined || !Number.isFinite(n) ? null : n;
}

/** One formatter per number of decimals: `toLocaleString` with options builds one per call (about 20 µs), per amount of a fleet-wide table. */
const amountFormats = new Map<number, Intl.NumberFormat>();

/**
 * A number as `depreciation preview` and `post` show it: digits grouped (`7,500.257`), at most
 * `digits` decimals (3 for units, 2 for money). A note naming units says them this way too.
 */
export function formatAmount(v: number, digits = 3): string {
  let f = amountFormats.get(digits);
  if (!f) amountFormats.set(digits, (f = new Intl.NumberFormat('en-US', { minimumFractionDigits: 0, maximumFractionDigits: digits })));
  return f.format(v);
}

/**
 * `v` to `digits` decimals, half away from zero as ERPs round (0.005 is 0.01 and -0.005 is -0.01:
 * a negative adjustment rounds as its positive counterpart does, to the same amount of the other
 * sign), on the decimal the value reads as: `v * 100` in binary would take 1.005 (1.00499999…) to
 * 1.00, and `v * 1000` 1.0005 to 1.000; shifting the exponent in text does not. (The whole number it
 * rounds to, divided by 10^digits, is the nearest double to the rounded decimal, as that decimal's
 * text would be read.) A value that rounds to nothing is 0, never -0 (which would print as "-0").
 */
export function roundHalfUp(v: number, digits: number): number {
  if (!Number.isFinite(v)) return v;
  const scale = 10 ** digits;
  // Math.round takes halves toward +infinity (-0.5 to -0): rounded by magnitude, the sign put back.
  const magnitude = Math.abs(v);
  const text = String(magnitude);
  // Exponent notation (under 1e-6, or 1e21 and up): no half to tell.
  const rounded = (text.includes('e') ? Math.round(magnitude * scale) : Math.round(Number(`${text}e${digits}`))) / scale;
  return rounded === 0 ? 0 : v < 0 ? -rounded : rounded;
}

const moneyFormat = new Intl.NumberFormat('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });

/** An amount of money as `depreciation preview` shows it: always 2 decimals, digits grouped (`2,324.40`, `800.00`). */
export function formatMoney(v: number): string {
  return moneyFormat.format(v);
}

/** Cents, half away from zero as ERPs round currency. */
const money = (v: number): number => roundHalfUp(v, 2);
/** Units (hours, km) to 3 decimals, half away from zero as money is. */
export const roundUnits = (v: number): number => roundHalfUp(v, 3);
const units = roundUnits;

/**
 * The usage line for one asset and period, at time `now` (to tell open periods from closed).
 * `meterSync`: the asset's meter rule state (`name: 'meter'`), which says whether a replacement
 * was declared after the reading set aside that the note `meter: …` names (the meter rule takes a
 * replacement in at once, this rule only once `rules.allowedLateness` has passed): the note then
 * does not advise declaring one ({@link meterIssueText}). Without it, the note advises it.
 */
export function usageFor(
  asset: AssetRecord,
  state: UsageState | undefined,
  period: Period,
  attributes: DepreciationAttributes,
  now: number,
  configured: { readonly meter: UsageMeterKind; readonly problem?: string } = { meter: 'hours' },
  basis?: PostingBasis,
  meterSync?: MeterSyncState,
): UsageLine {
  const notes: string[] = [];
  if (configured.problem !== undefined) notes.push(configured.problem);
  // What the state was counted on; without state, what it will be.
  const meter: UsageMeterKind = state ? (state.km === true ? 'km' : 'hours') : configured.meter;
  const first = state?.first;
  const last = state?.last;
  const tracked = first !== undefined && first[0] < period.end;
  const record = periodUsage(state, period, basis?.calendar);
  let periodUnits = units(record?.units ?? 0);
  let meterAtEnd: number | null = null;
  // Said in the posting too: it is sent once, and the ERP keeps what it was told.
  let incomplete: string | undefined;
  const ownUnknown = record !== undefined && record.units === null;
  if (tracked && last) {
    if (record?.meterAtEnd != null) meterAtEnd = units(record.meterAtEnd);
    // A last reading at the period's first instant (local midnight) belongs to it: nothing used since.
    else if (last[0] <= period.start) meterAtEnd = units(last[1]);
    if (meterAtEnd === null) incomplete = `usage and life-to-date of ${period.id} not known: ${DROPPED}`;
    else if (ownUnknown) incomplete = `units of ${period.id} not known: ${DROPPED}`;
  }
  let adjustmentUnits = 0;
  let adjustmentPeriods: readonly PriorPeriodUnits[] = [];
  if (basis && 'posted' in basis) {
    // What the ERP has for this period; usage found since goes into the next posting.
    const current = meterAtEnd;
    ({ periodUnits, meterAtEnd, adjustmentUnits, adjustmentPeriods } = basis.posted);
    const since = current !== null && meterAtEnd !== null ? units(current - meterAtEnd) : 0;
    notes.push(since > TOLERANCE ? `posted; ${formatAmount(since)} units found since are carried into the next posting` : 'posted');
  } else if (basis?.after && meterAtEnd !== null) {
    const carry = carried(state, period, meterAtEnd, periodUnits, basis.after, basis.calendar, meter);
    // Without this period's own units, what is carried cannot be told apart by period: all of it is booked here.
    if (carry && ownUnknown) {
      periodUnits = carry.periodUnits;
      incomplete = `${incomplete}; all ${periodUnits} units since the last posted life-to-date are booked in it`;
    } else if (carry) ({ periodUnits, adjustmentUnits, adjustmentPeriods } = carry);
    else if (basis.after.meterAtEnd !== null)
      notes.push(`nothing carried from ${basis.after.period}: ${basis.after.meter !== meter ? 'usage is counted on another meter since' : 'the meter is below what was posted (its count started afresh)'}`);
  } else if (incomplete !== undefined && basis?.after?.meterAtEnd != null && basis.after.meter === meter) {
    // The posting side keeps its basis (posting.ts): the next posting with a known meter carries these units.
    incomplete += '; its units are carried into the next posting';
  }
  if (incomplete !== undefined) notes.push(incomplete);
  if (adjustmentUnits > 0)
    notes.push(`includes ${formatAmount(adjustmentUnits)} units found after posting, from ${adjustmentPeriods.map((p) => `${p.period} (${formatAmount(p.units)})`).join(', ')}`);
  // An invalid input (not a number, negative, …) is said and not used; salvage above cost still
  // computes (to nothing to depreciate).
  const invalid = depreciationInputProblems(asset.attributes, attributes);
  const unusable = new Set(invalid.filter((p) => !(p.input === 'salvage' && (num(asset, attributes.salvage) ?? 0) >= 0)).map((p) => p.input));
  const usable = (input: DepreciationInputProblem['input']): number | null => (unusable.has(input) ? null : num(asset, attributes[input]));
  const acquired = usable('unitsAtAcquisition') ?? 0;
  // Units at acquisition above the meter: life-to-date would be negative, and is not known (never
  // posted as 0); an invalid posted input like the others, so the posting is held back.
  const aboveMeter = meterAtEnd !== null && acquired - meterAtEnd > TOLERANCE;
  if (aboveMeter) invalid.push(aboveMeterProblem(asset, attributes.unitsAtAcquisition, period, meterAtEnd as number, meter));
  const lifeToDateUnits = meterAtEnd === null || aboveMeter ? null : units(meterAtEnd - acquired);
  const cost = usable('cost');
  const salvage = usable('salvage') ?? (cost !== null ? 0 : null);
  const total = usable('totalExpectedUnits');
  const life = usable('usefulLifePeriods');
  const base = depreciableBase(cost, salvage);

  if (!tracked) notes.push('no meter readings counted in or before this period (usage counts readings from when rules.depreciation is configured; `assetbridge assets meters` shows earlier ones)');
  // A period in the future has no usage "so far": it has not begun (a typo in --period, often).
  if (now < period.start) notes.push('period not begun yet: no usage can be known');
  else if (now < period.end) notes.push('period still open: usage so far');
  else if (tracked && last && last[0] < period.end && now >= period.end) notes.push(`last reading ${isoTime(last[0])} is before the period end: later usage is not yet known`);
  const given = (input: DepreciationInputProblem['input']): boolean => invalid.some((p) => p.input === input);
  if (cost === null && !given('cost')) notes.push(`attribute "${attributes.cost}" missing`);
  if (total === null && !given('totalExpectedUnits')) notes.push(`attribute "${attributes.totalExpectedUnits}" missing`);
  if (life === null && !given('usefulLifePeriods')) notes.push(`attribute "${attributes.usefulLifePeriods}" missing`);
  for (const p of invalid) notes.push(`invalid ${p.message}`);
  const uop = unitsOfProductionCharge({ cost, salvage, totalExpectedUnits: total }, periodUnits, lifeToDateUnits);
  if (uop.left !== undefined && total !== null)
    notes.push(
      uop.left <= 0
        ? `fully depreciated: life-to-date units passed the expected total (${formatAmount(total)}) before this period, so no units-of-production charge`
        : `units-of-production charge for the ${formatAmount(uop.left)} units left before the expected total (${formatAmount(total)}); the asset is now fully depreciated`,
    );
  // A reading set aside, with why and, for one that went backwards, the command that declares the
  // replacement; not that command when the meter rule records a replacement declared since.
  if (state?.meterIssue) notes.push(`meter: ${meterIssueText(state.meterIssue, asset.erpAssetId, meter, meterSync)}`);
  const inService = unusable.has('inServiceDate') ? null : (asset.attributes[attributes.inServiceDate]?.trim() ?? '');
  const sl = inService === null ? { charge: null } : straightLineCharge(base, life, inService === '' ? undefined : inService, period, basis?.calendar);
  if (sl.note !== undefined) notes.push(sl.note);
  const straightLine = sl.charge;

  return {
    erpAssetId: asset.erpAssetId,
    period: period.id,
    meter,
    periodStart: period.start,
    periodEnd: period.end,
    periodUnits,
    lifeToDateUnits,
    meterAtEnd,
    adjustmentUnits,
    adjustmentPeriods,
    totalExpectedUnits: total,
    cost,
    salvage,
    usefulLifePeriods: life,
    unitsOfProduction: uop.charge,
    straightLine,
    tracked,
    ...(incomplete !== undefined ? { incomplete } : {}),
    notes,
    ...(invalid.length ? { invalidInputs: invalid } : {}),
  };
}

/** Cost − salvage; null without either. Salvage above cost leaves nothing to depreciate: a charge is never negative. */
function depreciableBase(cost: number | null, salvage: number | null): number | null {
  return cost !== null && salvage !== null ? Math.max(0, cost - salvage) : null;
}

/**
 * The units-of-production charge of `periodUnits` used in a period whose life-to-date at its end is
 * `lifeToDateUnits`: (cost − salvage) × units ÷ total expected units, in cents (half away from zero);
 * null when an input is missing (salvage above cost: 0, a charge is never negative). Only the units
 * up to the expected total count (the asset is then fully depreciated, cost − salvage): `left` is
 * set when the life-to-date passed it, to the units that were left before it (0: none). A line's
 * `unitsOfProduction` and a held line's ({@link HeldUsageLine.unitsOfProduction}) are both this.
 */
export function unitsOfProductionCharge(
  inputs: Pick<UsageLine, 'cost' | 'salvage' | 'totalExpectedUnits'>,
  periodUnits: number,
  lifeToDateUnits: number | null,
): { readonly charge: number | null; readonly left?: number } {
  const { cost, salvage, totalExpectedUnits: total } = inputs;
  const base = depreciableBase(cost, salvage);
  let depreciableUnits = periodUnits;
  let left: number | undefined;
  if (total !== null && total > 0 && lifeToDateUnits !== null && lifeToDateUnits > total) {
    left = units(Math.max(0, total - (lifeToDateUnits - periodUnits)));
    depreciableUnits = Math.min(periodUnits, left);
  }
  const charge = base !== null && total !== null && total > 0 ? money((base * depreciableUnits) / total) : null;
  return left === undefined ? { charge } : { charge, left };
}

/**
 * The straight-line charge of `period` for a depreciable `base` over `life` periods, with a note when
 * the in-service date decides it. Without an in-service date (or a calendar to count periods in),
 * every period is charged base ÷ life. With one (`YYYY-MM-DD`, a local day in the calendar's time
 * zone), by the full-period convention: nothing in the periods that end before that day begins; a
 * full period's charge in the period holding it (whatever day of it) and each period after it, for
 * `life` periods; nothing after (fully depreciated: book value at salvage). The charges are the
 * steps of the rounded cumulative charge (cents of base × n ÷ life after n periods), so the life's
 * periods add up to the base exactly (1,000 over 3: 333.33, 333.34, 333.33). A date before a listed
 * calendar's first period gives no charge (null): the periods in service before it are not known.
 */
export function straightLineCharge(base: number | null, life: number | null, inServiceDate: string | undefined, period: Period, calendar: PeriodCalendar | undefined): { readonly charge: number | null; readonly note?: string } {
  if (base === null || life === null || life <= 0) return { charge: null };
  // Never more than the depreciable base in a period (a life under one period is refused as invalid).
  if (inServiceDate === undefined || calendar === undefined) return { charge: money(Math.min(base, base / life)) };
  const [y, m, d] = inServiceDate.split('-').map(Number) as [number, number, number];
  const at = zonedTimeToUtc(y, m, d, 0, 0, calendar.timeZone);
  if (period.end <= at) return { charge: 0, note: `not in service before ${inServiceDate}: no straight-line charge` };
  const first = calendar.periodAt(at);
  if (!first) return { charge: null, note: `in service since ${inServiceDate}, before the calendar's first period: the periods in service before it are not known, so no straight-line charge` };
  // Periods in service before this one, counted up to the life (past it, the count does not matter).
  let before = 0;
  for (let p: Period | undefined = first; p && p.start < period.start && before < life; p = calendar.next(p)) before++;
  if (before >= life) return { charge: 0, note: `fully depreciated on straight line: its useful life (${formatAmount(life)} periods from ${first.id}) has run` };
  const charge = money(money((base * Math.min(before + 1, life)) / life) - money((base * before) / life));
  return { charge, ...(before === 0 ? { note: `in service since ${inServiceDate}: a full straight-line charge in its first period (full-period convention)` } : {}) };
}

/** The problem of units at acquisition above the asset's tracked meter at the end of `period`. */
function aboveMeterProblem(asset: AssetRecord, attribute: string, period: Period, meterAtEnd: number, meter: UsageMeterKind): DepreciationInputProblem {
  const value = asset.attributes[attribute] as string;
  return {
    input: 'unitsAtAcquisition',
    attribute,
    value,
    message: `attribute "${attribute}" (${value.trim()}) of asset ${asset.erpAssetId} is above its tracked meter at the end of ${period.id} (${formatAmount(meterAtEnd)} ${meter === 'km' ? 'km' : 'h'}): life-to-date units would be negative; give the units the asset's meter showed when acquired (at most what it shows now), or reset the meter if it was replaced ('assets reset-meter')`,
  };
}

/** Rounding noise below this is not an adjustment. */
const TOLERANCE = 0.002;

/**
 * The posting for `period` after the one `after` records: everything the meter advanced since,
 * with what belongs to posted periods told apart by where it was used. Undefined when nothing can
 * be carried (another meter, or a meter below what was posted: the count started afresh).
 */
function carried(
  state: UsageState | undefined,
  period: Period,
  meterAtEnd: number,
  own: number,
  after: UsagePosted,
  calendar: PeriodCalendar,
  meter: UsageMeterKind,
): Pick<UsageLine, 'periodUnits' | 'adjustmentUnits' | 'adjustmentPeriods'> | undefined {
  if (after.meterAtEnd === null || after.meter !== meter || meterAtEnd < after.meterAtEnd - TOLERANCE) return undefined;
  const periodUnits = units(Math.max(0, meterAtEnd - after.meterAtEnd));
  const adjustment = units(periodUnits - own);
  if (adjustment <= TOLERANCE) return { periodUnits, adjustmentUnits: 0, adjustmentPeriods: [] };
  // Readings are taken in event-time order, so usage found late was used after the last reading
  // known at the posting: all of each later period's, and the rest in the one holding that reading.
  const from = after.readingAt === null ? undefined : calendar.periodFrom(after.readingAt);
  const later: PriorPeriodUnits[] = [];
  let first: Period | undefined;
  let guard = 0;
  for (let p = from; p && p.start < period.start && guard++ < 10_000; p = calendar.next(p)) {
    if (after.readingAt !== null && p.start < after.readingAt) first = p;
    else later.push({ period: p.id, units: units(periodUsage(state, p, calendar)?.units ?? 0) });
  }
  let rest = adjustment;
  for (const l of later) rest = units(rest - l.units);
  // Without a reading inside a posted period to start from, what is left is the last posted one's.
  const head = first?.id ?? after.period;
  const parts = later.some((l) => l.period === head) ? later.map((l) => (l.period === head ? { period: head, units: units(l.units + rest) } : l)) : [{ period: head, units: rest }, ...later];
  return { periodUnits, adjustmentUnits: adjustment, adjustmentPeriods: parts.filter((p) => p.units > 0) };
}

/** The `usage.post` fact for a line: one per asset and period, ever (`<asset>|usage|<period>`). */
export function usagePostDelivery(line: UsageLine, destination: string, timeZone: string, units: UsageUnits = DEFAULT_USAGE_UNITS): DeliveryIntent {
  return {
    destination,
    operation: USAGE_POST,
    kind: 'fact',
    businessKey: `${line.erpAssetId}|usage|${line.period}`,
    erpAssetId: line.erpAssetId,
    eventTime: line.periodEnd,
    payload: {
      erpAssetId: line.erpAssetId,
      period: line.period,
      periodStart: new Date(line.periodStart).toISOString(),
      periodEnd: new Date(line.periodEnd).toISOString(),
      timeZone,
      periodUnits: line.periodUnits,
      lifeToDateUnits: line.lifeToDateUnits,
      totalExpectedUnits: line.totalExpectedUnits,
      unit: units[line.meter],
      method: 'units-of-production',
      // A prior-period adjustment: units of earlier, already-posted periods booked in this one.
      ...(line.adjustmentUnits > 0 ? { adjustmentUnits: line.adjustmentUnits, adjustmentPeriods: line.adjustmentPeriods } : {}),
      // What the state could not tell for this period, and why.
      ...(line.incomplete !== undefined ? { incomplete: line.incomplete } : {}),
    },
  };
}

/**
 * The `adjustmentPeriods` cell of {@link usageCsv}: `period:units` per earlier period, separated by
 * `|`, as the notes are ({@link joinCellList}: a `\` before a `\` an id holds). A period id may hold
 * spaces, `:` and any other character but `|` (`rules.depreciation.periods` refuses it), and the units
 * are a number: so `|` splits the periods, and the last `:` of each splits its id from its units
 * ({@link parseAdjustmentPeriodsCell}). (Separated by spaces, as it was, `FY 27:3`
 * could not be told from two periods.)
 */
export function adjustmentPeriodsCell(periods: readonly PriorPeriodUnits[]): string {
  return joinCellList(periods.map((p) => `${p.period}:${p.units}`), '|');
}

/** The periods an {@link adjustmentPeriodsCell} lists (for a reader of the CSV); an entry with no `:number` ending is skipped. */
export function parseAdjustmentPeriodsCell(cell: string): PriorPeriodUnits[] {
  return splitCellList(cell, '|').flatMap((entry) => {
    const at = entry.lastIndexOf(':');
    const units = Number(entry.slice(at + 1));
    return at > 0 && entry.slice(at + 1).trim() !== '' && Number.isFinite(units) ? [{ period: entry.slice(0, at), units }] : [];
  });
}

/**
 * The `notes` cell of {@link usageCsv}: the notes separated by `|`, with a `\` before every `\` and
 * `|` a note holds ({@link joinCellList}); {@link parseNotesCell} reads it back. (Joined by `; `, as it
 * was, "posted; 3 units found since …" could not be told from two notes.)
 */
export function notesCell(notes: readonly string[]): string {
  return joinCellList(notes, '|');
}

/** The notes a {@link notesCell} lists (for a reader of the CSV). */
export function parseNotesCell(cell: string): string[] {
  return splitCellList(cell, '|');
}

/**
 * CSV (RFC 4180) of usage lines, for spreadsheets. `heldUnits`, `heldLifeToDateUnits` and
 * `heldUnitsOfProduction` (the last columns, in the order they were added): {@link UsageLine.held},
 * empty for every asset not held by a calendar change.
 */
export function usageCsv(lines: readonly UsageLine[]): string {
  const header = [
    'erpAssetId',
    'period',
    'meter',
    'periodUnits',
    'lifeToDateUnits',
    'totalExpectedUnits',
    'cost',
    'salvage',
    'usefulLifePeriods',
    'unitsOfProduction',
    'straightLine',
    'notes',
    'adjustmentUnits',
    'adjustmentPeriods',
    // Last, so readers of the columns before keep working: empty but for an asset held by a calendar change.
    'heldUnits',
    'heldLifeToDateUnits',
    'heldUnitsOfProduction',
  ];
  return toCsv([
    header,
    ...lines.map((l) => [l.erpAssetId, l.period, l.meter, l.periodUnits, l.lifeToDateUnits, l.totalExpectedUnits, l.cost, l.salvage, l.usefulLifePeriods, l.unitsOfProduction, l.straightLine, notesCell(l.notes), l.adjustmentUnits, adjustmentPeriodsCell(l.adjustmentPeriods), l.held?.units ?? null, l.held ? l.held.lifeToDateUnits : null, l.held ? l.held.unitsOfProduction : null]),
  ]);
}
