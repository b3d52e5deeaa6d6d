import { describe, expect, it } from 'vitest';
import type { AssetRecord } from '../../model/assets.js';
import { monthlyCalendar } from './calendar.js';
import { depreciationInputProblems, readAmount } from './inputs.js';
import { postedUnitsOf } from './posting.js';
import { DEFAULT_DEPRECIATION_ATTRIBUTES, roundHalfUp, usageFor } from './usage.js';

const names = DEFAULT_DEPRECIATION_ATTRIBUTES;
const problems = (attributes: Record<string, string>) => depreciationInputProblems(attributes, names).map((p) => [p.input, p.value]);

describe('depreciation inputs', () => {
  it('reads plain decimals only: a formatted or hexadecimal value is not a number', () => {
    expect([readAmount('120000.50'), readAmount(' 42 '), readAmount('-3'), readAmount(''), readAmount(undefined)]).toEqual([120000.5, 42, -3, undefined, undefined]);
    for (const v of ['0x10', '1,200', '12 000', 'ten', '1e3', 'Infinity', '€100']) expect(readAmount(v)).toBeNaN();
  });

  it('names non-numeric and negative values, salvage above cost, zero expected units and zero life; missing ones are not invalid', () => {
    expect(problems({ cost: '120000', salvage: '20000', expectedUnits: '10000', usefulLifeMonths: '60', unitsAtAcquisition: '0' })).toEqual([]);
    expect(problems({})).toEqual([]);
    expect(problems({ cost: '1,200', salvage: '-5', expectedUnits: '0', usefulLifeMonths: 'sixty', unitsAtAcquisition: '-10' })).toEqual([
      ['cost', '1,200'],
      ['usefulLifePeriods', 'sixty'],
      ['salvage', '-5'],
      ['totalExpectedUnits', '0'],
      ['unitsAtAcquisition', '-10'],
    ]);
    expect(problems({ cost: '-100' })).toEqual([['cost', '-100']]);
    const [salvage] = depreciationInputProblems({ cost: '5000', salvage: '8000' }, names);
    expect(salvage?.message).toBe('attribute "salvage" (8000) is more than cost (5000): nothing would be depreciated; lower the salvage value or correct "cost"');
    const [text] = depreciationInputProblems({ expectedUnits: 'ten thousand' }, { ...names, totalExpectedUnits: 'expectedHours' });
    expect(text).toBeUndefined();
    const [hours] = depreciationInputProblems({ expectedHours: 'ten thousand' }, { ...names, totalExpectedUnits: 'expectedHours' });
    expect(hours?.message).toBe('attribute "expectedHours" ("ten thousand") is not a number: write plain digits with a decimal point (e.g. 120000.50), without thousands separators, currency or units');
  });

  it('a useful life under one period is invalid, said where the others are, and straight-line is never more than cost less salvage', () => {
    expect(problems({ usefulLifeMonths: '0.5' })).toEqual([['usefulLifePeriods', '0.5']]);
    expect(problems({ usefulLifeMonths: '1' })).toEqual([]);
    expect(depreciationInputProblems({ usefulLifeMonths: '0.5' }, names)[0]?.message).toBe(
      'attribute "usefulLifeMonths" (0.5) must be at least 1: the useful life in whole periods (under one period, straight-line would charge more than cost less salvage in a period)',
    );
    const october = monthlyCalendar('UTC').period('2026-10');
    if (!october) throw new Error('no October');
    const state = { first: [Date.parse('2026-10-01T00:00:00Z'), 100] as const, last: [Date.parse('2026-10-20T00:00:00Z'), 200] as const, periods: { '2026-10': { units: 100, meterAtEnd: 200 } } };
    const line = (usefulLifeMonths: string) => usageFor({ erpAssetId: 'EQ-1', erpModule: 'fixed-assets', attributes: { cost: '1000', salvage: '100', expectedUnits: '10000', usefulLifeMonths } }, state, october, names, Date.parse('2026-11-05T00:00:00Z'));
    const half = line('0.5');
    expect([half.straightLine, half.usefulLifePeriods]).toEqual([null, null]);
    expect(half.notes).toContain('invalid attribute "usefulLifeMonths" (0.5) must be at least 1: the useful life in whole periods (under one period, straight-line would charge more than cost less salvage in a period)');
    expect([line('1').straightLine, line('1.5').straightLine]).toEqual([900, 600]);
  });

  it('money is rounded half away from zero to the cent on its decimal value (1.005 is 1.01, not 1.00 as in binary)', () => {
    const october = monthlyCalendar('UTC').period('2026-10');
    if (!october) throw new Error('no October');
    const state = { first: [Date.parse('2026-10-01T00:00:00Z'), 0] as const, last: [Date.parse('2026-10-20T00:00:00Z'), 1] as const, periods: { '2026-10': { units: 1, meterAtEnd: 1 } } };
    const line = (cost: string) => usageFor({ erpAssetId: 'EQ-1', erpModule: 'fixed-assets', attributes: { cost, salvage: '0', expectedUnits: '2', usefulLifeMonths: '2' } }, state, october, names, Date.parse('2026-11-05T00:00:00Z'));
    expect([line('2.01').straightLine, line('2.01').unitsOfProduction]).toEqual([1.01, 1.01]);
    expect([line('2.03').straightLine, line('1.23456').straightLine, line('0.01').straightLine]).toEqual([1.02, 0.62, 0.01]);
    expect(line('0.0000002').straightLine).toBe(0); // 1e-7: its text is in exponent notation
  });

  // Math.round takes halves toward +infinity: -0.005 went to 0 (as -0), -1.005 to -1.00, -2.0035 to -2.003,
  // so a negative adjustment or charge was not the mirror of the positive one.
  it('rounds halves away from zero, for both signs: a negative amount is the mirror of the positive one, and none is -0', () => {
    const cases: [number, number, number][] = [
      [0.005, 2, 0.01],
      [1.005, 2, 1.01],
      [2.0035, 3, 2.004],
      [0.0005, 3, 0.001],
      [1.5, 0, 2],
      [2.5, 0, 3],
      [0.004, 2, 0],
      [1.0049, 2, 1],
    ];
    for (const [v, digits, expected] of cases) {
      expect([v, roundHalfUp(v, digits)]).toEqual([v, expected]);
      expect([-v, roundHalfUp(-v, digits)]).toEqual([-v, expected === 0 ? 0 : -expected]);
    }
    expect(Object.is(roundHalfUp(-0.004, 2), 0)).toBe(true); // not -0, which prints as "-0"
    expect(Object.is(roundHalfUp(-0.0005, 3), -0.001)).toBe(true);
    expect([roundHalfUp(Number.NaN, 2), roundHalfUp(Number.POSITIVE_INFINITY, 2), roundHalfUp(-1e-7, 3)]).toEqual([Number.NaN, Number.POSITIVE_INFINITY, 0]);
  });

  // Units were rounded as Math.round(v * 1000) / 1000, in binary: 2.0035 (2003.4999… × 1000) went to 2.003, 0.5005 to 0.500.
  it('units are rounded half away from zero to 3 decimals on their decimal value, as money is', () => {
    expect([roundHalfUp(2.0035, 3), roundHalfUp(0.5005, 3), roundHalfUp(1024.0075, 3), roundHalfUp(1.005, 2), roundHalfUp(2.0034, 3)]).toEqual([2.004, 0.501, 1024.008, 1.01, 2.003]);
    // Past 1e18 the whole number it rounds to is in exponent notation: still a number, not NaN.
    expect([roundHalfUp(1e19, 2), roundHalfUp(1e18, 3), roundHalfUp(1e-7, 3)]).toEqual([1e19, 1e18, 0]);
    const october = monthlyCalendar('UTC').period('2026-10');
    if (!october) throw new Error('no October');
    const line = (used: number) =>
      usageFor(
        { erpAssetId: 'EQ-1', erpModule: 'fixed-assets', attributes: { cost: '1000', salvage: '0', expectedUnits: '10000', usefulLifeMonths: '60' } },
        { first: [Date.parse('2026-10-01T00:00:00Z'), 0] as const, last: [Date.parse('2026-10-20T00:00:00Z'), used] as const, periods: { '2026-10': { units: used, meterAtEnd: used } } },
        october,
        names,
        Date.parse('2026-11-05T00:00:00Z'),
      );
    expect([line(2.0035).periodUnits, line(2.0035).lifeToDateUnits, line(0.5005).periodUnits, line(0.5005).lifeToDateUnits]).toEqual([2.004, 2.004, 0.501, 0.501]);
    // A posted period's meter, worked back from the life-to-date its posting carried, is rounded the same way.
    const asset: AssetRecord = { erpAssetId: 'EQ-1', erpModule: 'fixed-assets', attributes: {} };
    expect(postedUnitsOf({ periodUnits: 1, lifeToDateUnits: 2.0035 }, asset, names)?.meterAtEnd).toBe(2.004);
  });

  it('are noted per asset in the preview, not taken for missing, and not used', () => {
    const october = monthlyCalendar('UTC').period('2026-10');
    if (!october) throw new Error('no October');
    const asset: AssetRecord = { erpAssetId: 'EQ-1', erpModule: 'fixed-assets', attributes: { cost: '0x10', expectedUnits: '0', usefulLifeMonths: '60', unitsAtAcquisition: '-10' } };
    const state = { first: [Date.parse('2026-10-01T00:00:00Z'), 100] as const, last: [Date.parse('2026-10-20T00:00:00Z'), 200] as const, periods: { '2026-10': { units: 100, meterAtEnd: 200 } } };
    const line = usageFor(asset, state, october, names, Date.parse('2026-11-05T00:00:00Z'));
    expect(line.notes.filter((n) => n.startsWith('invalid') || n.includes('missing'))).toEqual([
      'invalid attribute "cost" ("0x10") is not a number: write plain digits with a decimal point (e.g. 120000.50), without thousands separators, currency or units',
      'invalid attribute "expectedUnits" (0) must be more than 0: the units (h or km) the asset is expected to deliver over its life',
      'invalid attribute "unitsAtAcquisition" (-10) is negative: give the meter units the asset had when acquired, 0 or more (0 or empty for a new one)',
    ]);
    expect(line.invalidInputs?.map((p) => p.input)).toEqual(['cost', 'totalExpectedUnits', 'unitsAtAcquisition']);
    // Not used: no cost (0x10 is not read as 16), no expected total, life-to-date without the negative units.
    expect([line.cost, line.totalExpectedUnits, line.unitsOfProduction, line.lifeToDateUnits]).toEqual([null, null, null, 200]);
  });
});

describe('the in-service date', () => {
  it('is a real day written YYYY-MM-DD; another spelling or a day that does not exist is named, an empty one is missing', () => {
    expect(problems({ inServiceDate: '2026-03-15' })).toEqual([]);
    expect(problems({ inServiceDate: ' ' })).toEqual([]);
    expect(problems({ inServiceDate: '2026-02-30' })).toEqual([['inServiceDate', '2026-02-30']]);
    expect(problems({ inServiceDate: '3/15/2026' })).toEqual([['inServiceDate', '3/15/2026']]);
    expect(depreciationInputProblems({ servedFrom: '2026-3-1' }, { ...names, inServiceDate: 'servedFrom' })[0]?.message).toBe(
      'attribute "servedFrom" ("2026-3-1") is not a day: write the first day the asset was in service as YYYY-MM-DD (e.g. 2026-03-15), or leave it empty',
    );
  });
});
