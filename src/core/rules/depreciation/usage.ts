/**
 * Units-of-production inputs per asset and period, from the usage rule's state and the asset's
 * financial attributes: what `depreciation preview` shows and what `usage.post` sends.
 *
 *   units of production = (cost − salvage) × period units ÷ total expected units
 *   straight line       = (cost − salvage) ÷ useful life in periods
 *
 * The ERP computes the booked depreciation; we send it the inputs (period units, life-to-date
 * units, total expected units) and show both methods side by side for review.
 * @module
 */
import type { AssetRecord } from '../../model/assets.js';
import type { DeliveryIntent } from '../../model/delivery.js';
import type { Period } from './calendar.js';
import type { UsageState } from './usage-rule.js';
import { toCsv } from '../../csv.js';

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
}

export const DEFAULT_DEPRECIATION_ATTRIBUTES: DepreciationAttributes = {
  cost: 'cost',
  salvage: 'salvage',
  totalExpectedUnits: 'expectedUnits',
  usefulLifePeriods: 'usefulLifeMonths',
  unitsAtAcquisition: 'unitsAtAcquisition',
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
export function meterFor(asset: AssetRecord, attribute: string, fallback: UsageMeterKind): { readonly meter: UsageMeterKind; readonly problem?: string } {
  const raw = asset.attributes[attribute];
  if (raw === undefined || raw.trim() === '') return { meter: fallback };
  const meter = METER_WORDS[raw.trim().toLowerCase()];
  return meter ? { meter } : { meter: fallback, problem: `attribute "${attribute}" is "${raw}", not hours or km: counted on ${fallback}` };
}

export interface UsageLine {
  readonly erpAssetId: string;
  readonly period: string;
  /** The meter the units are counted on. */
  readonly meter: UsageMeterKind;
  readonly periodStart: number;
  readonly periodEnd: number;
  /** Units (hours, or km) used in the period. */
  readonly periodUnits: number;
  /** Units used since acquisition, at the period's end; null when the asset was not tracked by then. */
  readonly lifeToDateUnits: number | null;
  readonly totalExpectedUnits: number | null;
  readonly cost: number | null;
  readonly salvage: number | null;
  readonly usefulLifePeriods: number | null;
  /**
   * (cost − salvage) × period units ÷ total expected units, 2 decimals; null when an input is missing.
   * Only the units up to the expected total count: a fully depreciated asset is charged nothing more.
   */
  readonly unitsOfProduction: number | null;
  /** (cost − salvage) ÷ useful life, 2 decimals; null when an input is missing. */
  readonly straightLine: number | null;
  /** The asset had meter readings in or before the period. */
  readonly tracked: boolean;
  /** What the reader should know (missing inputs, incomplete data). */
  readonly notes: readonly string[];
}

function num(asset: AssetRecord, name: string): number | null {
  const v = asset.attributes[name];
  if (v === undefined || v.trim() === '') return null;
  const n = Number(v);
  return Number.isFinite(n) ? n : null;
}

const money = (v: number): number => Math.round(v * 100) / 100;
const units = (v: number): number => Math.round(v * 1000) / 1000;

/** The usage line for one asset and period, at time `now` (to tell open periods from closed). */
export function usageFor(
  asset: AssetRecord,
  state: UsageState | undefined,
  period: Period,
  attributes: DepreciationAttributes,
  now: number,
  configured: { readonly meter: UsageMeterKind; readonly problem?: string } = { meter: 'hours' },
): UsageLine {
  const notes: string[] = [];
  if (configured.problem !== undefined) notes.push(configured.problem);
  // What the state was counted on; without state, what it will be.
  const meter: UsageMeterKind = state ? (state.km === true ? 'km' : 'hours') : configured.meter;
  const first = state?.first;
  const last = state?.last;
  const tracked = first !== undefined && first[0] < period.end;
  const record = state?.periods?.[period.id];
  const periodUnits = units(record?.units ?? 0);
  let meterAtEnd: number | null = null;
  if (tracked && last) {
    if (record) meterAtEnd = record.meterAtEnd;
    else if (last[0] < period.start) meterAtEnd = last[1];
    else notes.push('no usage recorded for this period in the kept history');
  }
  const acquired = num(asset, attributes.unitsAtAcquisition) ?? 0;
  const lifeToDateUnits = meterAtEnd === null ? null : units(Math.max(0, meterAtEnd - acquired));
  const cost = num(asset, attributes.cost);
  const salvage = num(asset, attributes.salvage) ?? (cost !== null ? 0 : null);
  const total = num(asset, attributes.totalExpectedUnits);
  const life = num(asset, attributes.usefulLifePeriods);
  // Salvage above cost leaves nothing to depreciate: a charge is never negative.
  const base = cost !== null && salvage !== null ? Math.max(0, cost - salvage) : null;

  if (!tracked) notes.push('no meter readings in or before this period');
  if (now < period.end) notes.push('period still open: usage so far');
  else if (tracked && last && last[0] < period.end && now >= period.end) notes.push(`last reading ${new Date(last[0]).toISOString()} is before the period end: later usage is not yet known`);
  if (cost === null) notes.push(`attribute "${attributes.cost}" missing`);
  else if (salvage !== null && salvage > cost) notes.push(`salvage (${salvage}) is more than cost (${cost}): nothing to depreciate`);
  if (total === null || total <= 0) notes.push(`attribute "${attributes.totalExpectedUnits}" missing`);
  if (life === null || life <= 0) notes.push(`attribute "${attributes.usefulLifePeriods}" missing`);
  // Units-of-production stops at the expected total: the asset is then fully depreciated (cost − salvage).
  let depreciableUnits = periodUnits;
  if (total !== null && total > 0 && lifeToDateUnits !== null && lifeToDateUnits > total) {
    const left = units(Math.max(0, total - (lifeToDateUnits - periodUnits)));
    depreciableUnits = Math.min(periodUnits, left);
    notes.push(
      left <= 0
        ? `fully depreciated: life-to-date units passed the expected total (${total}) before this period, so no units-of-production charge`
        : `units-of-production charge for the ${left} units left before the expected total (${total}); the asset is now fully depreciated`,
    );
  }
  if (state?.meterIssue) notes.push(`meter: ${state.meterIssue}`);

  return {
    erpAssetId: asset.erpAssetId,
    period: period.id,
    meter,
    periodStart: period.start,
    periodEnd: period.end,
    periodUnits,
    lifeToDateUnits,
    totalExpectedUnits: total,
    cost,
    salvage,
    usefulLifePeriods: life,
    unitsOfProduction: base !== null && total !== null && total > 0 ? money((base * depreciableUnits) / total) : null,
    straightLine: base !== null && life !== null && life > 0 ? money(base / life) : null,
    tracked,
    notes,
  };
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
    },
  };
}

/** CSV (RFC 4180) of usage lines, for spreadsheets. */
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
  ];
  return toCsv([
    header,
    ...lines.map((l) => [l.erpAssetId, l.period, l.meter, l.periodUnits, l.lifeToDateUnits, l.totalExpectedUnits, l.cost, l.salvage, l.usefulLifePeriods, l.unitsOfProduction, l.straightLine, l.notes.join('; ')]),
  ]);
}
