import { describe, expect, it } from 'vitest';
import { admit, byKey, drain, type ReorderState } from './event-time.js';

interface Item {
  readonly t: number;
  readonly v: string;
}
const tiebreak = byKey((x: Item): string => x.v);

describe('event-time reorder buffer: drain', () => {
  it('counts what it released as released: an item not newer than the last one drained is late afterwards', () => {
    // Mutation: drain empties the buffer without moving `released`, so an older item would be processed after newer ones.
    let s: ReorderState<Item> | undefined;
    for (const t of [10, 30, 20]) s = admit(s, { t, v: 'x' }, 100, tiebreak).state;
    const d = drain(s);
    expect(d.released.map((x) => x.t)).toEqual([10, 20, 30]);
    expect(d.state.released).toBe(30);
    expect(admit(d.state, { t: 25, v: 'y' }, 100, tiebreak).late).toBe(true);
    expect(admit(d.state, { t: 30, v: 'y' }, 100, tiebreak).late).toBe(true);
    expect(admit(d.state, { t: 31, v: 'y' }, 100, tiebreak).late).toBe(false);
  });

  it('of an empty buffer returns it unchanged', () => {
    const s: ReorderState<Item> = { released: 5, newest: 5, pending: [] };
    expect(drain(s)).toEqual({ state: s, released: [] });
  });
});
