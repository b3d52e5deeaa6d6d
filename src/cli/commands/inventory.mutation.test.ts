/**
 * `assetbridge inventory` output that mutation testing found unpinned: which identifier the items
 * list shows as the tag, and when the next full snapshot is said to go.
 */
import { describe, expect, it } from 'vitest';
import type { InventoryReport } from '../../engine/tasks/index.js';
import { formatCounts, tagsOf } from './inventory.js';

describe('inventory items: the tag column', () => {
  it('shows the item’s tag even when another identifier is listed first, else its first identifier', () => {
    // Kills: always taking the first identifier.
    const tags = tagsOf([
      { asset: { erpAssetId: 'P-1', erpModule: 'inventory', attributes: {} }, identifiers: [{ type: 'serial', value: 'SN-1', erpAssetId: 'P-1' }, { type: 'tag', value: 'tag-p1', erpAssetId: 'P-1' }] },
      { asset: { erpAssetId: 'P-2', erpModule: 'inventory', attributes: {} }, identifiers: [{ type: 'serial', value: 'SN-2', erpAssetId: 'P-2' }] },
      { asset: { erpAssetId: 'P-3', erpModule: 'inventory', attributes: {} }, identifiers: [] },
    ]);
    expect([...tags]).toEqual([
      ['P-1', 'tag-p1'],
      ['P-2', 'SN-2'],
    ]);
  });
});

describe('inventory counts: the snapshot line', () => {
  it('a full snapshot due exactly now goes with the next run', () => {
    // Kills: `nextFullAt < now` (a snapshot due this instant would be shown as a future time).
    const now = Date.UTC(2026, 10, 24, 2);
    const report: InventoryReport = { now, destinations: [], items: { total: 0, counted: 0, stale: 0, unplaced: 0, unseen: 0, 'bad-quantity': 0, 'no-sku': 0 }, lastFullAt: Date.UTC(2026, 10, 23, 2), nextFullAt: now };
    const options = { freshnessMs: 86_400_000, changesEveryMs: 60_000 };
    expect(formatCounts(report, options)).toContain('last full snapshot 2026-11-23T02:00:00.000Z, next with the next run');
    expect(formatCounts({ ...report, nextFullAt: now + 1000 }, options)).toContain('next 2026-11-24T02:00:01.000Z');
  });
});
