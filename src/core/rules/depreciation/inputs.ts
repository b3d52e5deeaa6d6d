/**
 * The financial inputs an asset's attributes give depreciation (cost, salvage, total expected
 * units, useful life, units at acquisition, in-service date), read strictly: a value that is not a
 * plain decimal number (`12 000`, `1,200`, `0x10`, `ten`), a negative one, salvage above cost, an
 * expected total of zero or a useful life under one period, or an in-service date that is not a
 * real day written `YYYY-MM-DD` is a problem with the asset's data, said by `config check`,
 * `assets import` and `depreciation preview` and, for the inputs a posting carries, a reason to
 * hold its postings back. An absent or empty attribute is missing, not invalid.
 * @module
 */
import { isCalendarDay } from '../../normalize/iso-time.js';
import type { DepreciationAttributes } from './usage.js';

/** Plain decimal digits, optionally signed, with an optional fraction: what a spreadsheet exports unformatted. */
const DECIMAL = /^[+-]?(\d+(\.\d*)?|\.\d+)$/;

/** The attribute's number; undefined when absent or empty; NaN when it is not a plain decimal number. */
export function readAmount(raw: string | undefined): number | undefined {
  if (raw === undefined || raw.trim() === '') return undefined;
  const v = raw.trim();
  return DECIMAL.test(v) ? Number(v) : Number.NaN;
}

export type DepreciationInput = keyof DepreciationAttributes;

export interface DepreciationInputProblem {
  /** Which input (`cost`, `totalExpectedUnits`, …). */
  readonly input: DepreciationInput;
  /** The asset attribute holding it (`rules.depreciation.attributes`). */
  readonly attribute: string;
  readonly value: string;
  /** What is wrong and what to write instead. */
  readonly message: string;
}

/** The inputs a `usage.post` carries (total expected units, and life-to-date, less units at acquisition). */
export const POSTED_INPUTS: readonly DepreciationInput[] = ['totalExpectedUnits', 'unitsAtAcquisition'];

const NOT_A_NUMBER = 'is not a number: write plain digits with a decimal point (e.g. 120000.50), without thousands separators, currency or units';

/** The problems of an asset's depreciation inputs; none when every one present is valid. */
export function depreciationInputProblems(attributes: Readonly<Record<string, string>>, names: DepreciationAttributes): DepreciationInputProblem[] {
  const out: DepreciationInputProblem[] = [];
  const read = (input: DepreciationInput): number | undefined => {
    const attribute = names[input];
    const value = attributes[attribute];
    const n = readAmount(value);
    if (n !== undefined && Number.isNaN(n)) out.push({ input, attribute, value: value as string, message: `attribute "${attribute}" ("${value as string}") ${NOT_A_NUMBER}` });
    return n === undefined || Number.isNaN(n) ? undefined : n;
  };
  const problem = (input: DepreciationInput, what: string): void => {
    const attribute = names[input];
    const value = attributes[attribute] as string;
    out.push({ input, attribute, value, message: `attribute "${attribute}" (${value.trim()}) ${what}` });
  };
  const cost = read('cost');
  const salvage = read('salvage');
  const total = read('totalExpectedUnits');
  const life = read('usefulLifePeriods');
  const acquired = read('unitsAtAcquisition');
  if (cost !== undefined && cost < 0) problem('cost', 'is negative: give the acquisition cost, 0 or more');
  if (salvage !== undefined && salvage < 0) problem('salvage', 'is negative: give the salvage value, 0 or more');
  else if (salvage !== undefined && cost !== undefined && cost >= 0 && salvage > cost)
    problem('salvage', `is more than cost (${cost}): nothing would be depreciated; lower the salvage value or correct "${names.cost}"`);
  if (total !== undefined && total <= 0) problem('totalExpectedUnits', 'must be more than 0: the units (h or km) the asset is expected to deliver over its life');
  if (life !== undefined && life < 1)
    problem('usefulLifePeriods', 'must be at least 1: the useful life in whole periods (under one period, straight-line would charge more than cost less salvage in a period)');
  if (acquired !== undefined && acquired < 0) problem('unitsAtAcquisition', 'is negative: give the meter units the asset had when acquired, 0 or more (0 or empty for a new one)');
  const inService = attributes[names.inServiceDate];
  if (inService !== undefined && inService.trim() !== '' && !isCalendarDay(inService.trim()))
    out.push({
      input: 'inServiceDate',
      attribute: names.inServiceDate,
      value: inService,
      message: `attribute "${names.inServiceDate}" ("${inService}") is not a day: write the first day the asset was in service as YYYY-MM-DD (e.g. 2026-03-15), or leave it empty`,
    });
  return out;
}
