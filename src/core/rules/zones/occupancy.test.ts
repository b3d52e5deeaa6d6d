import { describe, expect, it } from 'vitest';
import { unconfiguredZoneOccupancy, zoneOccupancy } from './occupancy.js';
import type { ZoneTrackState } from './zone-tracker.js';

describe('zone occupancy', () => {
  const zones = [
    { name: 'YARD-A', locationCode: '1000/0001' },
    { name: 'WORKSHOP', locationCode: '1000/0009' },
    { name: 'EMPTY', locationCode: '1000/0010' },
  ];

  const tracking = new Map<string, ZoneTrackState | undefined>([
    ['EQ-2', { 'YARD-A': { phase: 'inside' as const, since: 10 } }],
    ['EQ-1', { 'YARD-A': { phase: 'leaving' as const, since: 30 }, WORKSHOP: { phase: 'entering' as const, since: 40 } }],
    ['EQ-3', { 'YARD-A': { phase: 'entering' as const, since: 50 } }],
    ['EQ-4', { GONE: { phase: 'inside' as const, since: 5 } }], // a zone no longer configured
    ['EQ-6', { GONE: { phase: 'entering' as const, since: 7 }, 'OLD-DOCK': { phase: 'leaving' as const, since: 8 } }],
    ['EQ-5', undefined],
  ]);

  it('counts confirmed entries until the confirmed exit; arrivals apart', () => {
    const occ = zoneOccupancy(zones, tracking);
    expect(occ.map((o) => [o.zone, o.inside, o.entering, o.leaving])).toEqual([
      ['YARD-A', 2, 1, 1],
      ['WORKSHOP', 0, 1, 0],
      ['EMPTY', 0, 0, 0],
    ]);
    expect(occ[0]?.assets.map((a) => `${a.erpAssetId}:${a.phase}`)).toEqual(['EQ-2:inside', 'EQ-1:leaving', 'EQ-3:entering']);
  });

  it('zones the stored state names that are no longer configured, by name, with who is still tracked in them', () => {
    expect(unconfiguredZoneOccupancy(zones, tracking).map((o) => [o.zone, o.inside, o.entering, o.leaving, o.assets.map((a) => a.erpAssetId)])).toEqual([
      ['GONE', 1, 1, 0, ['EQ-4', 'EQ-6']],
      ['OLD-DOCK', 1, 0, 1, ['EQ-6']],
    ]);
    expect(unconfiguredZoneOccupancy([...zones, { name: 'GONE' }, { name: 'OLD-DOCK' }], tracking)).toEqual([]);
  });
});
