/**
 * The idle watermarks `rules test` replays, from a mutation audit: the service's clock never goes
 * back, so a line received earlier than the one before it does not make an asset silent sooner.
 */
import { describe, expect, it } from 'vitest';
import { IdleWatermarks } from './simulate.js';

const T0 = Date.parse('2026-11-20T08:00:00Z');
const MIN = 60_000;
const asset = { erpAssetId: 'EQ-1', erpModule: 'maintenance', attributes: {} };

describe('IdleWatermarks', () => {
  it('keeps its clock at the latest received time: an asset heard after an older line is silent from that latest time', () => {
    // Mutation: the clock set to every received time, also an older one.
    const idle = new IdleWatermarks(2 * MIN);
    idle.tick(T0 + 10 * MIN);
    idle.tick(T0 + 5 * MIN); // a line received before the one above (two captures read one after the other)
    idle.heard(asset, 'erp');
    idle.tick(T0 + 11 * MIN);
    expect(idle.next()).toBeUndefined();
    idle.tick(T0 + 12 * MIN);
    expect(idle.next()).toMatchObject({ id: 'EQ-1', since: T0 + 10 * MIN, due: T0 + 12 * MIN });
  });

  it('names a silent asset again one idle time after its last watermark, however far the clock jumped', () => {
    const idle = new IdleWatermarks(2 * MIN);
    idle.tick(T0);
    idle.heard(asset, 'erp');
    idle.tick(T0 + 60 * MIN);
    const first = idle.next();
    expect(first?.due).toBe(T0 + 2 * MIN);
    if (first) idle.again(first);
    expect(idle.next()?.due).toBe(T0 + 4 * MIN);
  });
});
