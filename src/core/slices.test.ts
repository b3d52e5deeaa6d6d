import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createSlicer, jsonText, runSliced, runWhole, sortedStrings, type Due } from './slices.js';

describe('slices', () => {
  it('property: strings sorted in slices come out as Array.prototype.sort puts them, yielding on the way', async () => {
    // Short strings over a few characters (many equal, some astral: UTF-16 order), around and above one sort run.
    const text = fc.string({ unit: fc.constantFrom('a', 'b', 'A', '|', '\u001f', 'é', '\u{1F600}', '9'), maxLength: 4 });
    await fc.assert(
      fc.asyncProperty(fc.array(text, { maxLength: 300 }), fc.integer({ min: 0, max: 9000 }), fc.integer(), async (base, extra, seed) => {
        let x = seed >>> 0;
        const more = Array.from({ length: extra }, () => (base.length ? (base[(x = (x * 1103515245 + 12345) >>> 0) % base.length] as string) : '') + String(x % 97));
        const keys = [...base, ...more];
        const before = [...keys];
        let pauses = 0;
        const sorted = await runSliced((due) => sortedStrings(keys, due), { due: () => true, pause: () => Promise.resolve(void pauses++) });
        expect(sorted).toEqual([...keys].sort());
        expect(keys).toEqual(before); // not changed in place
        expect(runWhole((due) => sortedStrings(keys, due))).toEqual(sorted);
        if (keys.length > 2048) expect(pauses).toBeGreaterThan(0);
      }),
      { numRuns: 40 },
    );
  });

  it('a slice ends when its time is up, read every checkEvery steps; the pause starts the next one', async () => {
    let t = 0;
    let turns = 0;
    const slicer = createSlicer({ sliceMs: 10, checkEvery: 4, now: () => t, pause: () => Promise.resolve(void turns++) });
    const due: Due = slicer.due;
    expect([due(), due(), due(), due()]).toEqual([false, false, false, false]); // 4 steps, 0 ms
    t = 10;
    expect([due(), due(), due()]).toEqual([false, false, false]); // time is up, not yet read
    expect(due()).toBe(true);
    await slicer.pause();
    expect(turns).toBe(1);
    expect([due(), due(), due(), due(2)]).toEqual([false, false, false, false]); // a new slice, from t = 10
    t = 25;
    expect(due(4)).toBe(true); // a step's weight counts toward the reading
  });

  it('a walk run whole that yields anyway is an error, not a result cut short', () => {
    expect(() =>
      runWhole(function* () {
        yield;
        return 1;
      }),
    ).toThrow(/yielded/);
  });
});

describe('JSON text in slices', () => {
  it('property: is the text JSON.stringify writes, yielding between the members of the top-level values', async () => {
    const cell = fc.record({ quantity: fc.integer(), revision: fc.nat() });
    const record = fc.record(
      {
        cells: fc.dictionary(fc.string({ maxLength: 6 }), fc.oneof(cell, fc.constant(undefined)), { maxKeys: 30 }),
        pending: fc.array(fc.oneof(fc.jsonValue(), fc.constant(undefined)), { maxLength: 10 }),
        repaired: fc.array(fc.nat(), { maxLength: 4 }),
        note: fc.oneof(fc.string(), fc.constant(undefined), fc.constant(null), fc.double()),
      },
      { requiredKeys: ['cells'] },
    );
    await fc.assert(
      fc.asyncProperty(record, fc.boolean(), async (value, proto) => {
        // A record read back from a hand-edited file: an own `__proto__` among its cells.
        const inner = JSON.stringify(value.cells).slice(1, -1);
        const v = proto ? { ...value, cells: JSON.parse(`{"__proto__":{"quantity":1,"revision":2}${inner ? `,${inner}` : ''}}`) as object } : value;
        let pauses = 0;
        const text = await runSliced((due) => jsonText(v, due), { due: () => true, pause: () => Promise.resolve(void pauses++) });
        expect(text).toBe(JSON.stringify(v));
        expect(runWhole((due) => jsonText(v, due))).toBe(text);
        if (Object.keys(v.cells).length > 1) expect(pauses).toBeGreaterThan(0);
      }),
      { numRuns: 300 },
    );
  });
});
