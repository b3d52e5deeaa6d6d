import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { admit, advance, byKey, drain, holdsAny, type ReorderState } from './event-time.js';

interface Item {
  readonly t: number;
  readonly v: string;
}
const key = (x: Item): string => x.v;

/**
 * The reorder buffer as specified, written the obvious way: insert in (time, tiebreak) order,
 * drop late items and duplicates, release the prefix at or before newest − lateness. With
 * `keepLast`, the items released at the newest released time are kept, and one of them again is a
 * duplicate, not late.
 */
function reference(state: ReorderState<Item> | undefined, item: Item, lateness: number, keepLast = false) {
  const s = state ?? { pending: [] };
  if (s.released !== undefined && item.t <= s.released) {
    const again = keepLast && (s.last ?? []).some((x) => x.t === item.t && key(x) === key(item));
    return { state: s, released: [] as Item[], late: !again, duplicate: again };
  }
  if (s.pending.some((p) => p.t === item.t && key(p) === key(item))) return { state: s, released: [] as Item[], late: false, duplicate: true };
  const merged = [...s.pending, item].sort((a, b) => a.t - b.t || (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
  const newest = Math.max(s.newest ?? item.t, item.t);
  const released = merged.filter((x) => x.t <= newest - lateness);
  const pending = merged.filter((x) => x.t > newest - lateness);
  const last = released[released.length - 1];
  const kept = last ? released.filter((x) => x.t === last.t) : s.last;
  return { state: { released: last ? last.t : s.released, newest, pending, ...(keepLast && kept ? { last: kept } : {}) }, released, late: false, duplicate: false };
}

describe('event-time reorder buffer', () => {
  it('property: admit matches the plain specification for any arrival order, ties and lateness', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ t: fc.integer({ min: 0, max: 60 }), v: fc.constantFrom('a', 'b', 'c') }), { maxLength: 40 }),
        fc.constantFrom(0, 5, 20),
        fc.boolean(),
        (items, lateness, keepLast) => {
          let fast: ReorderState<Item> | undefined;
          let ref: ReorderState<Item> | undefined;
          for (const item of items) {
            const a = admit(fast, item, lateness, byKey(key), keepLast);
            const b = reference(ref, item, lateness, keepLast);
            expect({ released: a.released, late: a.late, duplicate: a.duplicate }).toEqual({ released: b.released, late: b.late, duplicate: b.duplicate });
            expect(a.state.pending).toEqual(b.state.pending);
            expect(a.state.released).toBe(b.state.released);
            expect(a.state.newest).toBe(b.state.newest);
            expect(a.state.last).toEqual(b.state.last);
            fast = a.state;
            ref = b.state;
          }
          // Draining releases what is left, in order.
          expect(drain(fast).released).toEqual(ref?.pending ?? []);
        },
      ),
    );
  });

  it('never mutates the state it is given', () => {
    let s: ReorderState<Item> | undefined;
    for (const t of [10, 30, 20, 50, 5, 45]) {
      const before = s ? JSON.stringify(s) : undefined;
      const next = admit(s, { t, v: 'x' }, 20, byKey(key)).state;
      if (s) expect(JSON.stringify(s)).toBe(before);
      s = next;
    }
    expect(s?.pending.map((x) => x.t)).toEqual([45, 50]);
    expect(s?.released).toBe(30);
  });

  it('advance (an idle watermark) releases what is final at its time, and the buffer then goes on as if an item that late had come', () => {
    let s: ReorderState<Item> | undefined;
    for (const t of [10, 30, 20, 50, 45]) s = admit(s, { t, v: 'x' }, 20, byKey(key)).state;
    expect(holdsAny(s)).toBe(true);
    // Not past the lateness of anything pending: the same state back.
    const none = advance(s, 60, 20);
    expect(none.released).toEqual([]);
    expect(none.state).toBe(s);
    const a = advance(s, 68, 20);
    expect(a.released.map((x) => x.t)).toEqual([45]);
    expect(a.state).toEqual({ newest: 68, released: 45, pending: [{ t: 50, v: 'x' }] });
    // Later items: decided against the watermark's time; one older than what it released is late.
    expect(admit(a.state, { t: 44, v: 'y' }, 20, byKey(key)).late).toBe(true);
    expect(admit(a.state, { t: 47, v: 'y' }, 20, byKey(key)).released.map((x) => x.t)).toEqual([47]);
    expect(holdsAny(advance(a.state, 1000, 20).state)).toBe(false);
    expect(holdsAny(undefined)).toBe(false);
  });

  it('with keepLast, an item released last and offered again is a duplicate, also after an advance or a drain', () => {
    const admitted = (s: ReorderState<Item> | undefined, t: number, v = 'x') => admit(s, { t, v }, 20, byKey(key), true);
    let s: ReorderState<Item> | undefined;
    for (const t of [10, 30, 20, 50]) s = admitted(s, t).state;
    // 30 was released last; 20 before it cannot be told from a late item.
    expect(s?.last).toEqual([{ t: 30, v: 'x' }]);
    expect(admitted(s, 30)).toMatchObject({ late: false, duplicate: true, released: [] });
    expect(admitted(s, 30).state).toBe(s);
    expect(admitted(s, 30, 'y')).toMatchObject({ late: true, duplicate: false });
    expect(admitted(s, 20)).toMatchObject({ late: true, duplicate: false });
    const a = advance(s, 70, 20, true);
    expect(a.state.last).toEqual([{ t: 50, v: 'x' }]);
    expect(admitted(a.state, 50).duplicate).toBe(true);
    const d = drain(admitted(admitted(s, 60).state, 60, 'y').state, true);
    expect(d.state.last).toEqual([{ t: 60, v: 'x' }, { t: 60, v: 'y' }]);
    expect(admitted(d.state, 60, 'y').duplicate).toBe(true);
    // Without keepLast, nothing is kept and the same item again is late, as before.
    expect(admit(s, { t: 60, v: 'x' }, 0, byKey(key)).state.last).toBeUndefined();
    expect(admit(admit(undefined, { t: 1, v: 'x' }, 0, byKey(key)).state, { t: 1, v: 'x' }, 0, byKey(key)).late).toBe(true);
  });

  it('property: an advance past every pending item releases what drain releases', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 500 }), { minLength: 1, maxLength: 30 }), fc.integer({ min: 0, max: 100 }), (times, lateness) => {
        let s: ReorderState<Item> | undefined;
        for (const [i, t] of times.entries()) s = admit(s, { t, v: String(i % 3) }, lateness, byKey(key)).state;
        const d = drain(s);
        const a = advance(s, Math.max(...times) + lateness, lateness);
        expect(a.released).toEqual(d.released);
        expect(a.state.pending).toEqual([]);
      }),
    );
  });

  it('keeps the stored JSON as before, and a state stored before (its fields absent, not undefined) loads and goes on alike', () => {
    // One shape in memory (absent fields undefined); JSON drops them, so the stored document is unchanged.
    const held = admit(undefined, { t: 10, v: 'x' }, 20, byKey(key)).state;
    expect(JSON.stringify(held)).toBe('{"newest":10,"pending":[{"t":10,"v":"x"}]}');
    const kept = admit(admit(held, { t: 40, v: 'x' }, 20, byKey(key), true).state, { t: 45, v: 'x' }, 20, byKey(key), true).state;
    expect(JSON.stringify(kept)).toBe('{"released":10,"newest":45,"pending":[{"t":40,"v":"x"},{"t":45,"v":"x"}],"last":[{"t":10,"v":"x"}]}');
    // States as the earlier code stored them, read back from JSON: the same decisions as the in-memory ones.
    const stored = [
      '{"newest":10,"pending":[{"t":10,"v":"x"}]}',
      '{"released":10,"newest":30,"pending":[{"t":30,"v":"x"}]}',
      '{"released":10,"newest":45,"pending":[{"t":40,"v":"x"},{"t":45,"v":"x"}],"last":[{"t":10,"v":"x"}]}',
    ];
    for (const json of stored) {
      const old = JSON.parse(json) as ReorderState<Item>;
      for (const item of [{ t: 10, v: 'x' }, { t: 41, v: 'y' }, { t: 90, v: 'x' }]) {
        const a = admit(old, item, 20, byKey(key), true);
        const b = reference(old, item, 20, true);
        expect({ released: a.released, late: a.late, duplicate: a.duplicate }).toEqual({ released: b.released, late: b.late, duplicate: b.duplicate });
        expect(JSON.parse(JSON.stringify(a.state))).toEqual(JSON.parse(JSON.stringify(b.state)));
      }
      expect(drain(old, true).released).toEqual(old.pending);
      expect(advance(old, 200, 20, true).released).toEqual(old.pending);
    }
  });
});
