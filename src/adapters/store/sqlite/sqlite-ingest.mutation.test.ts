/**
 * The ingest commit (run by the commit worker) pinned by a mutation audit: a replay closes only
 * entries still open, and a rule sub-state handed back as undefined removes the stored one.
 */
import { describe, expect, it } from 'vitest';
import { useTempStores } from '../../../../test/helpers/temp-stores.js';

const open = useTempStores();

describe('ingest commit', () => {
  it('a replayed batch closes only quarantine entries still open: a discarded one stays discarded, a replayed one is not counted twice', async () => {
    // Mutation: the `status = 'open'` guard dropped from closing replayed entries.
    const s = open();
    const q = (payload: string) => ({ source: 'http', channel: '/v1/events', payload, receivedAt: 1, code: 'unknown-asset' as const, reason: 'no mapping' });
    await s.commitIngest({ states: [], deliveries: [], accepted: 0, quarantine: [q('a'), q('b'), q('c')] });
    const [a, b, c] = (await s.listQuarantine({})).map((r) => r.id) as [number, number, number];
    await s.markQuarantine([a], 'discarded'); // by an operator, while a replay was reading the entries
    await s.commitIngest({ states: [], deliveries: [], quarantine: [], accepted: 2, replayed: [b] });
    await s.commitIngest({ states: [], deliveries: [], quarantine: [], accepted: 3, replayed: [a, b, c] });
    expect((await s.listQuarantine({})).map((r) => [r.id, r.status, r.replays])).toEqual([
      [a, 'discarded', 0],
      [b, 'replayed', 1],
      [c, 'replayed', 1],
    ]);
  });

  it('a rule sub-state handed back as undefined removes what the store held for that rule only', async () => {
    // Mutation: an undefined sub-state written as a row instead of deleting it.
    const s = open();
    await s.commitIngest({ states: [{ erpAssetId: 'EQ-1', doc: { location: { lat: 1 }, zones: { in: 'yard' } }, changed: ['location', 'zones'] }], deliveries: [], quarantine: [], accepted: 1, checkpoint: true });
    await s.commitIngest({ states: [{ erpAssetId: 'EQ-1', doc: { location: undefined }, changed: ['location'] }], deliveries: [], quarantine: [], accepted: 0, checkpoint: true });
    expect(await s.loadStates(['EQ-1'])).toEqual(new Map([['EQ-1', { zones: { in: 'yard' } }]]));
  });
});
