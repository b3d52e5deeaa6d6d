/**
 * `assetbridge depreciation` behaviours that mutation testing found unpinned: the precision the
 * preview table shows, an unknown `--asset`, which adjustments `post` reports, and `post` refusing a
 * period that has not ended.
 */
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli, writeConfig } from '../../../test/helpers/cli.js';
import { tempStore } from '../../../test/helpers/temp-store.js';
import { SqliteStore } from '../../adapters/store/sqlite/sqlite-store.js';
import { rulesSchema } from '../../config/rules-schema.js';
import type { AssetRecord } from '../../core/model/assets.js';
import { monthlyCalendar, type Period } from '../../core/rules/depreciation/calendar.js';
import type { UsageState } from '../../core/rules/depreciation/usage-rule.js';
import { DEFAULT_DEPRECIATION_ATTRIBUTES, usageFor } from '../../core/rules/depreciation/usage.js';
import type { AssetUsageLine } from '../../engine/tasks/usage-posting.js';
import { formatAdjustments, formatPreview, previewDepreciation } from './depreciation.js';

const units = { hours: 'h', km: 'km' };
const cal = monthlyCalendar('UTC');
const asset: AssetRecord = { erpAssetId: 'EQ-1', erpModule: 'maintenance', attributes: { cost: '120000', salvage: '20000', expectedUnits: '10000', usefulLifeMonths: '60' } };

/** A preview line as the command gets it, for a plan of the given kind. */
function lineOf(a: AssetRecord, state: UsageState, period: string, kind: 'new' | 'covered'): AssetUsageLine {
  const line = usageFor(a, state, cal.period(period) as Period, DEFAULT_DEPRECIATION_ATTRIBUTES, Date.parse('2026-12-05T00:00:00Z'));
  const plan = kind === 'new' ? { kind, line, deliveries: [], ledger: undefined } : { kind, line, through: '2026-12' };
  return { line, asset: a, destination: 'erp', plan, ledgerRaw: undefined };
}

const stores: SqliteStore[] = [];
afterEach(async () => {
  for (const s of stores.splice(0)) await s.close();
});

describe('depreciation preview', () => {
  it('shows units to the thousandth in the table', () => {
    // Kills: rounding life-to-date to whole units in the table.
    const state: UsageState = { first: [Date.parse('2026-10-01T00:00:00Z'), 1000], last: [Date.parse('2026-10-20T00:00:00Z'), 1234.567], periods: { '2026-10': { units: 234.567, meterAtEnd: 1234.567 } } };
    expect(formatPreview([lineOf(asset, state, '2026-10', 'new')], units)).toMatch(/EQ-1\s+2026-10\s+234\.567 h\s+1,234\.567 h\s+10,000 h/);
  });

  it('totals a column no line has a figure in as "-", as the lines show it, not as a charge of 0.00', () => {
    // Without usefulLifeMonths there is no straight line; without cost no units of production either.
    const state: UsageState = { first: [Date.parse('2026-10-01T00:00:00Z'), 1000], last: [Date.parse('2026-10-20T00:00:00Z'), 1100], periods: { '2026-10': { units: 100, meterAtEnd: 1100 } } };
    const noLife: AssetRecord = { ...asset, attributes: { cost: '120000', salvage: '20000', expectedUnits: '10000' } };
    const total = (a: AssetRecord) => formatPreview([lineOf(a, state, '2026-10', 'new'), lineOf({ ...a, erpAssetId: 'EQ-2' }, state, '2026-10', 'new')], units).split('\n').find((l) => l.startsWith('TOTAL'));
    expect(total(noLife)).toMatch(/^TOTAL\s+2,000\.00\s+-\s*$/);
    expect(total({ ...asset, attributes: { expectedUnits: '10000' } })).toMatch(/^TOTAL\s+-\s+-\s*$/);
    // A figure in one line only: its total.
    expect(formatPreview([lineOf(asset, state, '2026-10', 'new'), lineOf({ ...noLife, erpAssetId: 'EQ-2' }, state, '2026-10', 'new')], units)).toMatch(/TOTAL\s+2,000\.00\s+1,666\.67/);
  });

  it('shows the expected total to the thousandth too, as the other unit columns (and as post does)', () => {
    // An expected total of 7,500.25 h was shown as 7,500 h; one with more decimals is rounded to three.
    const state: UsageState = { first: [Date.parse('2026-10-01T00:00:00Z'), 1000], last: [Date.parse('2026-10-20T00:00:00Z'), 1100], periods: { '2026-10': { units: 100, meterAtEnd: 1100 } } };
    const withTotal = (expectedUnits: string) => formatPreview([lineOf({ ...asset, attributes: { ...asset.attributes, expectedUnits } }, state, '2026-10', 'new')], units);
    expect(withTotal('7500.25')).toMatch(/EQ-1\s+2026-10\s+100 h\s+1,100 h\s+7,500\.25 h\s/);
    expect(withTotal('7500.123456')).toMatch(/\s1,100 h\s+7,500\.123 h\s/);
  });

  it('shows the expected total in a note as the EXPECTED column shows it (grouped, at most 3 decimals), not the raw attribute', () => {
    // Crossing the total in October: 1,100 h life-to-date against 1,050.123456 h expected.
    const state: UsageState = { first: [Date.parse('2026-10-01T00:00:00Z'), 1000], last: [Date.parse('2026-10-20T00:00:00Z'), 1100], periods: { '2026-10': { units: 100, meterAtEnd: 1100 } } };
    const line = lineOf({ ...asset, attributes: { ...asset.attributes, expectedUnits: '1050.123456' } }, state, '2026-10', 'new');
    const table = formatPreview([line], units);
    expect(table).toMatch(/\s1,100 h\s+1,050\.123 h\s/);
    expect(table).toContain('units-of-production charge for the 50.123 units left before the expected total (1,050.123); the asset is now fully depreciated');
    // The month after: already past it.
    const nov: UsageState = { ...state, last: [Date.parse('2026-11-20T00:00:00Z'), 1150], periods: { ...state.periods, '2026-11': { units: 50, meterAtEnd: 1150 } } };
    expect(formatPreview([lineOf({ ...asset, attributes: { ...asset.attributes, expectedUnits: '1050.123456' } }, nov, '2026-11', 'new')], units)).toContain(
      'fully depreciated: life-to-date units passed the expected total (1,050.123) before this period, so no units-of-production charge',
    );
  });

  it('refuses an --asset it does not know, rather than show an empty preview', async () => {
    // Kills: dropping the unknown-asset check.
    const store = tempStore();
    stores.push(store);
    await store.upsertAssets([{ asset, identifiers: [{ type: 'tag', value: 'tag-1', erpAssetId: 'EQ-1' }] }]);
    const rules = rulesSchema.parse({ depreciation: { timeZone: 'UTC' } });
    await expect(previewDepreciation(store, rules, '2026-10', 'erp', Date.parse('2026-11-05T00:00:00Z'), 'EQ-404')).rejects.toThrow(`no asset "EQ-404" in the registry (no ERP asset id or identifier of any asset); see 'assetbridge assets list'`);
    expect((await previewDepreciation(store, rules, '2026-10', 'erp', Date.parse('2026-11-05T00:00:00Z'), 'EQ-1')).map((l) => l.line.erpAssetId)).toEqual(['EQ-1']);
  });
});

describe('depreciation preview: periods no longer in the kept history', () => {
  it('shows the life-to-date worked back from the kept periods, and says why where it cannot be known', async () => {
    const store = tempStore();
    stores.push(store);
    await store.upsertAssets([{ asset: { ...asset, attributes: { ...asset.attributes, unitsAtAcquisition: '200' } }, identifiers: [{ type: 'tag', value: 'tag-1', erpAssetId: 'EQ-1' }] }]);
    // As the previous version stored it with keepPeriods 2: January to March dropped, nothing kept of them.
    const old: UsageState = { first: [Date.parse('2026-01-01T00:00:00Z'), 1000], last: [Date.parse('2026-05-10T00:00:00Z'), 1129], periods: { '2026-04': { units: 30, meterAtEnd: 1120 }, '2026-05': { units: 9, meterAtEnd: 1129 } } };
    await store.commitIngest({ states: [{ erpAssetId: 'EQ-1', doc: { depreciation: old }, changed: ['depreciation'] }], deliveries: [], quarantine: [], accepted: 0 });
    const rules = rulesSchema.parse({ depreciation: { timeZone: 'UTC', keepPeriods: 2 } });
    const now = Date.parse('2026-05-12T00:00:00Z');
    const march = await previewDepreciation(store, rules, '2026-03', 'erp', now);
    expect(formatPreview(march, units)).toMatch(/EQ-1\s+2026-03\s+0 h\s+890 h\s.*units of 2026-03 not known: it is no longer in the kept history \(rules\.depreciation\.keepPeriods\)/);
    const february = await previewDepreciation(store, rules, '2026-02', 'erp', now);
    expect(formatPreview(february, units)).toMatch(/EQ-1\s+2026-02\s+0 h\s+-\s.*usage and life-to-date of 2026-02 not known: it is no longer in the kept history/);
  });
});

describe('depreciation post', () => {
  it('reports adjustments only for assets it posts, not for those covered by a later posting', () => {
    // Kills: listing the adjustment of a covered line, which is not posted.
    const state: UsageState = { first: [Date.parse('2026-10-01T00:00:00Z'), 1000], last: [Date.parse('2026-11-20T00:00:00Z'), 1100], periods: { '2026-11': { units: 100, meterAtEnd: 1100 } } };
    const withAdjustment = (l: AssetUsageLine, erpAssetId: string): AssetUsageLine => ({
      ...l,
      line: { ...l.line, erpAssetId, adjustmentUnits: 5, adjustmentPeriods: [{ period: '2026-10', units: 5 }] },
    });
    const text = formatAdjustments([withAdjustment(lineOf(asset, state, '2026-11', 'new'), 'EQ-1'), withAdjustment(lineOf(asset, state, '2026-11', 'covered'), 'EQ-2')], units);
    expect(text).toBe('  EQ-1: 2026-11 includes 5 h found after posting, from 2026-10 (5)\n');
  });

  it('refuses the period that is still running (usage is posted once, after the period ends)', async () => {
    // Kills: the "has not ended" check comparing against the period's start.
    const cfg = writeConfig((dir) => ({
      store: { path: join(dir, 'ab.db') },
      destinations: [{ name: 'erp', type: 'rest', baseUrl: 'http://127.0.0.1:9' }],
      assets: { inline: [{ erpAssetId: 'EQ-1', attributes: asset.attributes, identifiers: [{ type: 'tag', value: 'tag-1' }] }] },
      rules: { depreciation: { timeZone: 'UTC' } },
    }));
    await new SqliteStore({ path: join(cfg.dir, 'ab.db'), synchronous: 'normal' }).close(); // post needs an existing store
    const current = new Date().toISOString().slice(0, 7); // this month (UTC): started, not ended
    const r = await runCli(['depreciation', 'post', '--period', current, '-c', cfg.path]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`period ${current} has not ended`);
  });
});
