/**
 * Commands that take an asset (`--asset X` in maintenance status, assets meters, audit, depreciation
 * preview and refile; `assets reset-meter X`) read it only as the ERP asset id, while `rules test
 * --trace` took any identifier: an operator with the tag or PIN in hand was refused. They now all
 * resolve a name as `--trace` does (one helper): the ERP id, or any identifier the registry maps to
 * exactly one asset, saying which asset was meant; a name of several assets is refused, naming them.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { rulesSchema } from '../../config/rules-schema.js';
import { useTempStores } from '../../../test/helpers/temp-stores.js';
import { createRules } from '../../core/rules/index.js';
import { assetNameNote, resolveAssetName } from './asset-name.js';
import { previewDepreciation } from './depreciation.js';
import { planRefile } from './depreciation-refile.js';
import { loadMaintenanceStatus } from './maintenance.js';
import { loadMeterReport, meterResetTarget } from './meters.js';
import { runRulesTest } from './rules-test.js';

const newStore = useTempStores();
afterEach(() => {
  vi.restoreAllMocks();
});

const assets = [
  { asset: { erpAssetId: 'EX-1', erpModule: 'maintenance', attributes: {} }, identifiers: [{ type: 'tag' as const, value: 'nc-tag-1', erpAssetId: 'EX-1' }] },
  { asset: { erpAssetId: 'EX-2', erpModule: 'maintenance', attributes: {} }, identifiers: [{ type: 'pin' as const, value: 'WNCE0803PAAL00542', erpAssetId: 'EX-2' }] },
  // The same value as two assets' identifiers (a serial of one, a tag of the other): ambiguous.
  { asset: { erpAssetId: 'EX-3', erpModule: 'maintenance', attributes: {} }, identifiers: [{ type: 'serial' as const, value: 'SHARED-9', erpAssetId: 'EX-3' }, { type: 'tag' as const, value: 'EX-1', erpAssetId: 'EX-3' }] },
  { asset: { erpAssetId: 'EX-4', erpModule: 'maintenance', attributes: {} }, identifiers: [{ type: 'tag' as const, value: 'shared-9', erpAssetId: 'EX-4' }] },
];
const AMBIGUOUS = '"shared-9" names 2 assets: EX-3 (its serial), EX-4 (its tag); name the one meant by its ERP asset id';
const NOT_FOUND = `no asset "EX-404" in the registry (no ERP asset id or identifier of any asset); see 'assetbridge assets list'`;

/** What the commands wrote on stderr meanwhile. */
function stderr(): () => string {
  const spy = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
  return () => spy.mock.calls.map((c) => String(c[0])).join('');
}

describe('an asset named by its ERP id or any identifier the registry maps to it alone', () => {
  it('resolves the ERP id, an identifier, an ERP id in another case and a PIN written with dashes; refuses a name of several assets', () => {
    expect(resolveAssetName(assets, 'EX-2')).toEqual({ erpAssetId: 'EX-2' });
    expect(resolveAssetName(assets, ' NC-TAG-1 ')).toEqual({ erpAssetId: 'EX-1', via: 'its tag' });
    expect(resolveAssetName(assets, 'ex-2')).toEqual({ erpAssetId: 'EX-2', via: 'its ERP id in another case' });
    expect(resolveAssetName(assets, 'WNCE-0803-PAAL-00542')).toEqual({ erpAssetId: 'EX-2', via: 'its pin WNCE0803PAAL00542' });
    expect(resolveAssetName(assets, 'EX-404')).toBeUndefined();
    expect(() => resolveAssetName(assets, 'shared-9')).toThrow(AMBIGUOUS);
    // An ERP id given exactly wins over another asset's identifier of that value, and says so.
    const exact = resolveAssetName(assets, 'EX-1');
    expect(exact).toEqual({ erpAssetId: 'EX-1', alsoIdentifierOf: ['EX-3'] });
    expect(exact && assetNameNote('EX-1', exact)).toBe('asset EX-1, by its ERP id ("EX-1" is also an identifier of EX-3: name that by its ERP id)\n');
    expect(assetNameNote('EX-2', { erpAssetId: 'EX-2' })).toBe('');
  });

  it('maintenance status, assets meters, reset-meter and depreciation preview and refile take the tag, saying which asset it is', async () => {
    const store = newStore();
    await store.upsertAssets(assets);
    // EX-1's meter state: a replaced hour meter declared (what reset-meter reads), no readings yet.
    const resetAt = Date.parse('2026-10-01T00:00:00Z');
    await store.commitIngest({ states: [{ erpAssetId: 'EX-1', doc: { meter: { hygiene: {}, flags: [], flagCounts: {}, acceptedUsageH: 0, lastResetAt: resetAt } } }], deliveries: [], quarantine: [], accepted: 0 });
    const rules = rulesSchema.parse({ maintenance: { serviceIntervals: [{ name: 'svc', everyHours: 250 }] }, depreciation: { timeZone: 'UTC' } });
    const said = stderr();
    expect((await loadMaintenanceStatus(store, rules, 'nc-tag-1')).map((a) => a.erpAssetId)).toEqual(['EX-1']);
    expect((await loadMeterReport(store, { asset: 'nc-tag-1' })).map((r) => r.erpAssetId)).toEqual(['EX-1']);
    expect(await meterResetTarget(store, 'nc-tag-1', 'hours')).toEqual({ erpAssetId: 'EX-1', lastReset: resetAt });
    expect((await previewDepreciation(store, rules, '2026-10', 'erp', Date.parse('2026-11-05T00:00:00Z'), 'wnce-0803-paal-00542')).map((l) => l.line.erpAssetId)).toEqual(['EX-2']);
    const depreciation = rules.depreciation;
    if (!depreciation) throw new Error('no depreciation rules');
    expect((await planRefile(store, depreciation, 'nc-tag-1')).map((r) => r.erpAssetId)).toEqual(['EX-1']);
    expect(said()).toBe(
      'asset EX-1 ("nc-tag-1" is its tag)\n'.repeat(3) + 'asset EX-2 ("wnce-0803-paal-00542" is its pin WNCE0803PAAL00542)\n' + 'asset EX-1 ("nc-tag-1" is its tag)\n',
    );
    // A name of several assets is refused, naming them; a name of none points to the list (both usage errors: exit 2).
    await expect(loadMaintenanceStatus(store, rules, 'shared-9')).rejects.toThrow(AMBIGUOUS);
    await expect(loadMeterReport(store, { asset: 'shared-9' })).rejects.toThrow(AMBIGUOUS);
    await expect(meterResetTarget(store, 'shared-9', 'km')).rejects.toThrow(AMBIGUOUS);
    await expect(previewDepreciation(store, rules, '2026-10', 'erp', Date.parse('2026-11-05T00:00:00Z'), 'shared-9')).rejects.toThrow(AMBIGUOUS);
    await expect(planRefile(store, depreciation, 'shared-9')).rejects.toThrow(AMBIGUOUS);
    await expect(loadMaintenanceStatus(store, rules, 'EX-404')).rejects.toThrow(NOT_FOUND);
    await expect(loadMeterReport(store, { asset: 'EX-404' })).rejects.toThrow(NOT_FOUND);
    await expect(meterResetTarget(store, 'EX-404', 'hours')).rejects.toThrow(NOT_FOUND);
    await expect(planRefile(store, depreciation, 'EX-404')).rejects.toThrow(NOT_FOUND);
    // An asset depreciation does not apply to is told apart from one the registry lacks.
    const fixedOnly = rulesSchema.parse({ depreciation: { timeZone: 'UTC', appliesTo: { erpModules: ['fixed-assets'] } } });
    await expect(previewDepreciation(store, fixedOnly, '2026-10', 'erp', Date.parse('2026-11-05T00:00:00Z'), 'nc-tag-1')).rejects.toThrow('depreciation does not apply to asset EX-1 (rules.depreciation.appliesTo)');
  });

  it('rules test --trace resolves the same way: a PIN written with dashes, and a name of several assets refused', async () => {
    const input = { lines: [], rules: createRules(rulesSchema.parse({})), assets, defaultDestination: 'erp', states: new Map(), now: Date.parse('2026-10-02T00:00:00Z') };
    expect((await runRulesTest({ ...input, trace: 'WNCE-0803-PAAL-00542' })).traced?.erpAssetId).toBe('EX-2');
    await expect(runRulesTest({ ...input, trace: 'shared-9' })).rejects.toThrow(AMBIGUOUS);
  });
});
