import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import type { InventoryReport } from '../../engine/tasks/index.js';
import type { ItemRow } from '../../core/rules/inventory/counts.js';
import { countFilterMiss, countsCsv, filterReport, formatCounts, formatItems, noCountsText, noItemsText, snapshotRequestedText } from './inventory.js';

const T = Date.UTC(2026, 10, 23, 9);
const report: InventoryReport = {
  now: T,
  destinations: [
    {
      destination: 'erp',
      cells: [
        { location: '1000/0001', sku: 'PAL-40', quantity: 80, items: 2, sentQuantity: 40, revision: 3, change: 40 },
        { location: '1000/0002', sku: 'PAL-40', quantity: 0, items: 0, sentQuantity: 40, revision: 1, change: -40 },
        { location: '1000/0002', sku: 'DRUM, "blue"', quantity: 1, items: 1, sentQuantity: 1, revision: 1, change: 0 },
      ],
    },
    { destination: 'wms', cells: [{ location: 'B-7', sku: 'PAL-40', quantity: 40, items: 1, sentQuantity: 0, revision: 0, change: 40 }] },
  ],
  items: { total: 7, counted: 4, stale: 1, unplaced: 1, unseen: 1, 'bad-quantity': 0, 'no-sku': 0 },
  lastFullAt: Date.UTC(2026, 10, 23, 2),
  nextFullAt: Date.UTC(2026, 10, 24, 2),
};
const options = { freshnessMs: 86_400_000, changesEveryMs: 60_000 };

describe('inventory counts output', () => {
  it('shows counted beside last sent, the signed change, and why items do not count', () => {
    const text = formatCounts(report, options);
    const lines = text.split('\n');
    expect(lines[0]?.split(/\s{2,}/)).toEqual(['DESTINATION', 'LOCATION', 'SKU', 'COUNTED', 'ITEMS', 'LAST SENT', 'REVISION', 'CHANGE']);
    expect(lines[1]?.split(/\s{2,}/)).toEqual(['erp', '1000/0001', 'PAL-40', '80', '2', '40', '3', '+40']);
    expect(lines[2]?.split(/\s{2,}/)).toEqual(['erp', '1000/0002', 'PAL-40', '0', '0', '40', '1', '-40']);
    expect(lines[3]?.split(/\s{2,}/)).toEqual(['erp', '1000/0002', 'DRUM, "blue"', '1', '1', '1', '1']); // unchanged: no change shown
    expect(lines[4]?.split(/\s{2,}/)).toEqual(['wms', 'B-7', 'PAL-40', '40', '1', '0', '-', '+40']); // never sent
    expect(text).toContain('items: 7 with a SKU; 4 counted, 1 last seen over 24 h ago, 1 last seen outside every location, 1 not seen yet (or only just: a sighting is held rules.allowedLateness, and rules.idleAfter when none follows it)');
    expect(text).toContain('last full snapshot 2026-11-23T02:00:00.000Z, next 2026-11-24T02:00:00.000Z');
    // A snapshot taken at some millisecond beside a cron time on the second: both in one form.
    expect(formatCounts({ ...report, lastFullAt: Date.parse('2026-12-05T23:51:35.859Z'), nextFullAt: Date.parse('2026-12-06T02:00:00Z') }, options)).toContain('last full snapshot 2026-12-05T23:51:35.859Z, next 2026-12-06T02:00:00.000Z');
    expect(formatCounts({ ...report, snapshotRequestedAt: T }, options)).toContain('a full snapshot was asked for at 2026-11-23T09:00:00.000Z');
    expect(formatCounts({ ...report, destinations: [] }, options)).toMatch(/^no counts:/);
  });

  // Every item gone stale after counts were sent: the cells were last sent 0, and are not shown
  // (nothing counted, nothing to send); "none was sent" said the ERP never got a count.
  it('with no cell to show, does not say no count was sent: cells last sent 0 are not shown either', () => {
    const emptied: InventoryReport = { ...report, destinations: [{ destination: 'erp', cells: [] }] };
    expect(formatCounts(emptied, options).split('\n')[0]).toBe('no counts: no item has been seen at a location within the freshness window, and no cell was last sent a total above 0');
  });

  // A short freshness read as "last seen over 0.01 h ago": shown in the unit it is given in.
  it('says the freshness in a readable unit, not as a fraction of an hour', () => {
    expect(formatCounts(report, { ...options, freshnessMs: 20_000 })).toContain(', 1 last seen over 20 s ago,');
    expect(formatCounts(report, { ...options, freshnessMs: 90 * 60_000 })).toContain(', 1 last seen over 90 min ago,');
    const stale: ItemRow[] = [{ erpAssetId: 'PAL-2', destination: 'erp', sku: 'SKU-A', quantity: 1, standing: 'stale', location: 'ROT/0001' }];
    expect(formatItems(stale, new Map(), 20_000)).toContain('1 stale (last seen over 20 s ago: rules.inventory.freshness)');
  });

  it('says how often changes go out as configured: under a second in ms, not rounded to 0 s or up to 2 s', () => {
    expect(formatCounts(report, options)).toContain('changes go out every 60 s in a running service');
    expect(formatCounts(report, { ...options, changesEveryMs: 400 })).toContain('changes go out every 400 ms in a running service');
    expect(formatCounts(report, { ...options, changesEveryMs: 1500 })).toContain('changes go out every 1.5 s in a running service');
    expect(snapshotRequestedText(undefined, 250)).toContain('within 250 ms (rules.inventory.changesEvery)');
  });

  it('warns of items left out for a quantity that is not a whole number, saying what to do', () => {
    expect(formatCounts(report, options)).not.toContain('warning');
    const text = formatCounts({ ...report, items: { ...report.items, 'bad-quantity': 2 } }, { ...options, quantityAttribute: 'qty' });
    expect(text).toContain("warning: 2 item(s) not counted: their qty attribute (rules.inventory.quantityAttribute) is not a whole number");
    expect(text).toContain("'assetbridge inventory items --standing bad-quantity' lists them");
  });

  it('warns of counts in dead letters: LAST SENT includes their change, the ERP does not have it', () => {
    expect(formatCounts(report, options)).not.toContain('dead letter');
    const [erp, wms] = report.destinations;
    const withDead: InventoryReport = { ...report, destinations: [{ ...erp!, deadLetters: [{ id: 13, location: '1000/0002', sku: 'PAL-40', delta: -40 }] }, wms!] };
    expect(formatCounts(withDead, options)).toContain(
      "warning: 1 count(s) in dead letters, not in the ERP though LAST SENT includes their change: erp 1000/0002 PAL-40 -40 (dead letter 13); fix the cause, then 'assetbridge dlq replay 13'",
    );
    // Filtered to another cell: not said.
    const other = { location: '1000/0001' };
    expect(formatCounts(filterReport(withDead, other), options, other, withDead)).not.toContain('dead letter');
  });

  it('warns of a destination no longer configured that counts were sent to, naming it and what to do', () => {
    expect(formatCounts(report, options)).not.toContain('no longer configured');
    const text = formatCounts({ ...report, unconfiguredDestinations: ['erp-old'] }, options);
    expect(text).toContain('warning: inventory counts are not sent to "erp-old": no longer configured (destinations[].name)');
    expect(text).toContain('If it was renamed, put its old name back');
  });

  it('a location or SKU no count has is said so, with those there are, not "no item has been seen"', () => {
    const typo = { location: '1000/001' };
    const text = formatCounts(filterReport(report, typo), options, typo, report);
    expect(text).toMatch(/^no counts match: no count is at location "1000\/001"; locations with counts: 1000\/0001, 1000\/0002, B-7\n/);
    expect(text).not.toContain('no item has been seen');
    expect(noCountsText(report, { sku: 'pal-40' })).toBe('no counts match: no count has SKU "pal-40"; SKUs with counts: DRUM, "blue", PAL-40');
    expect(noCountsText(report, { destination: 'wms', sku: 'DRUM, "blue"' })).toBe(`no counts match: no count has SKU "DRUM, "blue""; SKUs with counts: PAL-40`);
    expect(noCountsText(report, { location: 'B-7', sku: 'DRUM, "blue"' })).toBe('no counts match');
    expect(noCountsText({ ...report, destinations: [] }, typo)).toMatch(/^no counts: no item has been seen/);
  });

  // With no count at all, a --sku or --location no item has was said as "no item has been seen at a location within the freshness window".
  it('with no count at all, a location or SKU no item has is said so, with those there are, as inventory items says it', () => {
    const none = { ...report, destinations: [] };
    const items: ItemRow[] = [
      { erpAssetId: 'PAL-1', destination: 'erp', sku: 'SKU-A', quantity: 1, standing: 'stale', location: 'ROT/0001' },
      { erpAssetId: 'PAL-2', destination: 'erp', sku: 'SKU-B', quantity: 1, standing: 'unseen' },
    ];
    const nope = { sku: 'NOPE' };
    expect(formatCounts(none, options, nope, none, items)).toMatch(/^no counts match: no item has SKU "NOPE"; SKUs: SKU-A, SKU-B\n/);
    expect(noCountsText(none, { location: 'nowhere' }, items)).toBe('no counts match: no item is at location "nowhere"; locations with items: ROT/0001');
    expect(noCountsText(none, nope, [])).toBe('no counts match: no item has SKU "NOPE": there are no inventory items (assets with the SKU attribute) yet');
    // The SKU is one an item has, but none is counted now: that is what is said.
    expect(noCountsText(none, { sku: 'SKU-A' }, items)).toMatch(/^no counts: no item has been seen/);
    expect(noCountsText(none, {}, items)).toMatch(/^no counts: no item has been seen/);
  });

  // `inventory counts --location/--sku` a typo away exited 0 where `zones occupancy --zone` exits 1: refused when no count nor item has it.
  it('refuses a location or SKU no count and no item has, naming those there are; one an item has is not refused', () => {
    const items: ItemRow[] = [
      { erpAssetId: 'PAL-1', destination: 'erp', sku: 'SKU-A', quantity: 1, standing: 'stale', location: 'ROT/0001' },
      { erpAssetId: 'PAL-2', destination: 'erp', sku: 'SKU-B', quantity: 1, standing: 'unseen' },
    ];
    expect(countFilterMiss(report, { location: '1000/001' }, items)).toBe('no count or item is at location "1000/001"; locations with counts or items: 1000/0001, 1000/0002, B-7, ROT/0001');
    expect(countFilterMiss(report, { destination: 'wms', sku: 'pal-40' }, [])).toBe('no count or item has SKU "pal-40"; SKUs with counts or items: PAL-40');
    expect(countFilterMiss({ ...report, destinations: [] }, { sku: 'NOPE' }, [])).toBe('no count or item has SKU "NOPE"; there are no counts or inventory items (assets with the SKU attribute) yet');
    expect(countFilterMiss({ ...report, destinations: [] }, { location: 'X' }, [items[1] as ItemRow])).toBe('no count or item is at location "X"; no count or item is at any location yet');
    // Had by a count, or only by an item (stale, not counted), or each by some but not together: not refused.
    expect(countFilterMiss(report, { location: 'B-7', sku: 'DRUM, "blue"' }, [])).toBeUndefined();
    expect(countFilterMiss(report, { location: 'ROT/0001', sku: 'SKU-B' }, items)).toBeUndefined();
    expect(countFilterMiss(report, {}, [])).toBeUndefined();
  });

  it('the items line says which items it counts when a filter is given', () => {
    const f = { location: '1000/0001', sku: 'PAL-40' };
    expect(formatCounts(filterReport(report, f), options, f, report)).toContain('items (--location 1000/0001, --sku PAL-40): 7 with a SKU; 4 counted');
    expect(formatCounts(report, options)).toContain('items: 7 with a SKU; 4 counted');
  });

  it('CSV round-trips through a CSV parser, quoting included', () => {
    const rows = parse<Record<string, string>>(countsCsv(report), { columns: true });
    expect(rows).toHaveLength(4);
    expect(rows[2]).toEqual({ destination: 'erp', location: '1000/0002', sku: 'DRUM, "blue"', countedQuantity: '1', items: '1', lastSentQuantity: '1', revision: '1', change: '0' });
  });

  it('filters by destination, location and SKU', () => {
    const only = filterReport(report, { location: '1000/0002', sku: 'PAL-40' });
    expect(only.destinations.map((d) => [d.destination, d.cells.map((c) => c.quantity)])).toEqual([
      ['erp', [0]],
      ['wms', []],
    ]);
    expect(filterReport(report, { destination: 'wms' }).destinations.map((d) => d.destination)).toEqual(['wms']);
  });
});

describe('inventory items', () => {
  it('shows a bad quantity as stored, not as a number, with a warning under the table', () => {
    const rows: ItemRow[] = [
      { erpAssetId: 'PAL-1', destination: 'erp', sku: 'SKU-A', quantity: 10, standing: 'counted', location: 'ROT/0001' },
      { erpAssetId: 'PAL-9', destination: 'erp', sku: 'SKU-A', badQuantity: '0x10', standing: 'bad-quantity', location: 'ROT/0001' },
    ];
    const text = formatItems(rows, new Map(), 86_400_000);
    expect(text.split('\n')[2]?.split(/\s{2,}/)).toEqual(['erp', 'PAL-9', 'SKU-A', '0x10', 'ROT/0001', 'bad-quantity']);
    expect(text).toContain('2 item(s): 1 counted (quantity 10)');
    expect(text).toContain('warning: 1 item(s) not counted: their quantity attribute');
    expect(formatItems(rows.slice(0, 1), new Map(), 86_400_000)).not.toContain('warning');
  });

  // A tag read once is held until the asset is quiet for rules.idleAfter (2 min), not allowedLateness
  // alone: the summary named only the lateness, so a pallet scanned a minute ago read as a miss.
  it('says a tag just read can still be unseen: its sighting is held, until idleAfter when none follows', () => {
    const rows: ItemRow[] = [{ erpAssetId: 'PAL-2', destination: 'erp', sku: 'SKU-A', quantity: 1, standing: 'unseen' }];
    expect(formatItems(rows, new Map(), 86_400_000)).toContain('1 not seen yet (or only just: a sighting is held rules.allowedLateness, and rules.idleAfter when none follows it)');
  });
});

describe('inventory items that match nothing', () => {
  const all: ItemRow[] = [
    { erpAssetId: 'PAL-1', destination: 'erp', sku: 'SKU-A', quantity: 10, standing: 'counted', location: 'ROT/0001' },
    { erpAssetId: 'PAL-2', destination: 'erp', sku: 'SKU-B', quantity: 1, standing: 'stale', location: '2000' },
    { erpAssetId: 'PAL-3', destination: 'erp', sku: 'SKU-A', quantity: 1, standing: 'unseen' },
  ];

  it('names the locations and SKUs there are when the one asked for has no items (a typo, another code)', () => {
    expect(noItemsText(all, { location: '1000/0001' })).toBe('no inventory items match: no item is at location "1000/0001"; locations with items: 2000, ROT/0001\n');
    expect(noItemsText(all, { sku: 'sku-a' })).toBe('no inventory items match: no item has SKU "sku-a"; SKUs: SKU-A, SKU-B\n');
    expect(noItemsText(all, { location: 'ROT/0001', sku: 'SKU-B' })).toBe('no inventory items match\n');
    expect(noItemsText([], { location: 'X' })).toBe('no inventory items match: no item is at location "X": there are no inventory items (assets with the SKU attribute) yet\n');
    expect(noItemsText([], { standing: 'stale' })).toBe('no inventory items match: there are no inventory items (assets with the SKU attribute) yet\n');
  });

  it('says so when no item is at any location yet, rather than an empty list of locations', () => {
    expect(noItemsText([all[2] as ItemRow], { location: '1000/0001' })).toBe(
      'no inventory items match: no item is at location "1000/0001"; no item is at any location yet (not seen, or seen only outside every zone): see them without --location\n',
    );
  });
});
