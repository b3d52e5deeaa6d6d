import { describe, expect, it } from 'vitest';
import { aliases, asArray, findKey, lowerCamel, readBoolean, readNumber, readText, readTime } from './aemp-dialect.js';

describe('readTime', () => {
  it.each([
    ['2025-03-03T16:42:05Z', Date.UTC(2025, 2, 3, 16, 42, 5)],
    ['2025-03-03T16:42:05.123Z', Date.UTC(2025, 2, 3, 16, 42, 5, 123)],
    ['2025-03-03T16:42:05.1234567Z', Date.UTC(2025, 2, 3, 16, 42, 5, 123)],
    ['2025-03-03T16:42:05', Date.UTC(2025, 2, 3, 16, 42, 5)],
    ['2025-03-03 16:42:05', Date.UTC(2025, 2, 3, 16, 42, 5)],
    ['2025-03-03T11:42:05-05:00', Date.UTC(2025, 2, 3, 16, 42, 5)],
    ['2025-03-03T18:12:05+0130', Date.UTC(2025, 2, 3, 16, 42, 5)],
    ['2025-03-03T17:42:05+01', Date.UTC(2025, 2, 3, 16, 42, 5)],
    ['2025-03-03', Date.UTC(2025, 2, 3)],
    ['  2025-03-03T16:42Z ', Date.UTC(2025, 2, 3, 16, 42)],
  ])('%s', (input, expected) => {
    expect(readTime(input)).toEqual({ kind: 'value', time: expected });
  });

  it('reads XML text nodes', () => {
    expect(readTime({ '#text': '2025-03-03T16:42:05Z', zone: 'x' })).toEqual({ kind: 'value', time: Date.UTC(2025, 2, 3, 16, 42, 5) });
  });

  it('calls .NET MinValue and pre-2000 dates placeholders', () => {
    expect(readTime('0001-01-01T00:00:00Z')).toEqual({ kind: 'placeholder', raw: '0001-01-01T00:00:00Z' });
    expect(readTime('1970-01-01T00:00:00Z').kind).toBe('placeholder');
  });

  it('refuses what is not a calendar time', () => {
    expect(readTime('2025-02-30T00:00:00Z')).toEqual({ kind: 'invalid', raw: '2025-02-30T00:00:00Z' });
    expect(readTime('2025-13-01T00:00:00Z').kind).toBe('invalid');
    expect(readTime('yesterday').kind).toBe('invalid');
    expect(readTime(1741020125000)).toEqual({ kind: 'invalid', raw: '1741020125000' });
  });

  it('treats missing and empty as absent', () => {
    expect(readTime(undefined).kind).toBe('absent');
    expect(readTime('').kind).toBe('absent');
  });
});

describe('readNumber', () => {
  it.each([
    [42, 42],
    ['42', 42],
    [' 4871.35 ', 4871.35],
    ['428,7', 428.7],
    ['-1.5e2', -150],
    ['.5', 0.5],
    [{ '#text': '13.3', datetime: 'x' }, 13.3],
  ])('%j → %d', (input, expected) => {
    expect(readNumber(input)).toEqual({ kind: 'value', value: expected });
  });

  it('distinguishes absent from invalid', () => {
    expect(readNumber('')).toEqual({ kind: 'absent' });
    expect(readNumber('missing')).toEqual({ kind: 'absent' });
    expect(readNumber(null)).toEqual({ kind: 'absent' });
    expect(readNumber('1,234.5')).toEqual({ kind: 'invalid', raw: '1,234.5' });
    // An hour meter of "8,186" from a US-formatted feed is not 8.186 h: ambiguous, so not read.
    expect(readNumber('8,186')).toEqual({ kind: 'invalid', raw: '8,186' });
    expect(readNumber('8186,450')).toEqual({ kind: 'value', value: 8186.45 });
    expect(readNumber('12abc')).toEqual({ kind: 'invalid', raw: '12abc' });
    expect(readNumber(Number.NaN)).toEqual({ kind: 'invalid', raw: 'NaN' });
  });
});

describe('readText and readBoolean', () => {
  it('trims, stringifies numbers and recognises placeholders', () => {
    expect(readText('  ABC ')).toEqual({ kind: 'value', text: 'ABC' });
    expect(readText(2409317)).toEqual({ kind: 'value', text: '2409317' });
    expect(readText('missing')).toEqual({ kind: 'placeholder', raw: 'missing' });
    expect(readText('N/A')).toEqual({ kind: 'placeholder', raw: 'N/A' });
    expect(readText('')).toEqual({ kind: 'placeholder', raw: '' });
    expect(readText({})).toEqual({ kind: 'placeholder', raw: '' });
    expect(readText(undefined)).toEqual({ kind: 'absent' });
  });

  it('reads booleans in their usual spellings', () => {
    expect([true, 'true', 'TRUE', 1, '1', 'on', 'yes'].map(readBoolean)).toEqual(Array(7).fill(true));
    expect([false, 'false', 0, '0', 'off', 'no'].map(readBoolean)).toEqual(Array(6).fill(false));
    expect(readBoolean('maybe')).toBeUndefined();
  });
});

describe('key lookup and shapes', () => {
  it('finds keys case-insensitively and ignores separators', () => {
    const node = { Equipment_Header: 1, dateTime: 'x', PIN: 'p' };
    expect(findKey(node, aliases('EquipmentHeader'))).toEqual({ key: 'Equipment_Header', value: 1 });
    expect(findKey(node, aliases('datetime'))).toEqual({ key: 'dateTime', value: 'x' });
    expect(findKey(node, aliases('pin'))).toEqual({ key: 'PIN', value: 'p' });
    expect(findKey(node, aliases('VIN'))).toBeUndefined();
  });

  it('normalises single objects to arrays', () => {
    expect(asArray({ a: 1 })).toEqual([{ a: 1 }]);
    expect(asArray([1, 2])).toEqual([1, 2]);
    expect(asArray(undefined)).toEqual([]);
    expect(asArray('')).toEqual([]);
  });

  it('builds sensor names from element names', () => {
    expect(lowerCamel('CumulativeOperatingHours')).toBe('cumulativeOperatingHours');
    expect(lowerCamel('DEFRemaining')).toBe('defRemaining');
    expect(lowerCamel('EEC1__EngSpeed')).toBe('eec1EngSpeed');
    expect(lowerCamel('batteryPotential')).toBe('batteryPotential');
  });
});
