/**
 * The check that each destination assets can be routed to delivers the operations the configured
 * rules produce for them: with fake capabilities (a connector without inventory.count, one without
 * usage.post), which is an error (the start refused) and which only a warning.
 */
import { describe, expect, it } from 'vitest';
import type { AssetRecord } from '../core/model/assets.js';
import { compileConfig } from './load.js';
import { destinationOperationIssues, operationProducersOf, type DestinationOperations } from './destination-operations.js';

const ALL = ['location.update', 'workorder.create', 'meter.record', 'inventory.count', 'usage.post'];
const WITHOUT_COUNTS = ALL.filter((op) => op !== 'inventory.count');
const WITHOUT_USAGE = ALL.filter((op) => op !== 'usage.post');

const rest: DestinationOperations = { name: 'erp', key: 'destinations.0', operations: ALL };
const noCounts: DestinationOperations = { name: 'sap', key: 'destinations.1', operations: WITHOUT_COUNTS };
const noUsage: DestinationOperations = { name: 'dyn', key: 'destinations.1', operations: WITHOUT_USAGE };

function rulesOf(rules: object) {
  return compileConfig({ store: { path: ':memory:' }, destinations: [{ name: 'erp', type: 'rest', baseUrl: 'http://127.0.0.1:9' }], rules }, {}).rules;
}

const asset = (erpAssetId: string, attributes: Record<string, string> = {}, destination?: string, erpModule = 'fixed-assets'): AssetRecord => ({
  erpAssetId,
  erpModule,
  attributes,
  ...(destination !== undefined ? { destination } : {}),
});

const INVENTORY = { inventory: { skuAttribute: 'sku' } };

describe('operationProducersOf', () => {
  it('lists location and meter sync (on unless rules.meters says otherwise), each maintenance rule by key, inventory and depreciation', () => {
    const rules = rulesOf({
      ...INVENTORY,
      maintenance: { thresholds: [{ name: 'hot', sensor: 'temp', above: 90, for: '5m' }], serviceIntervals: [{ name: 'svc', everyHours: 250 }] },
    });
    expect(operationProducersOf(rules).map((p) => [p.key, p.operation])).toEqual([
      ['rules.location', 'location.update'],
      ['meter sync (rules.meters, on for every asset)', 'meter.record'],
      ['rules.maintenance.thresholds.0', 'workorder.create'],
      ['rules.maintenance.serviceIntervals.0', 'workorder.create'],
      ['rules.inventory', 'inventory.count'],
    ]);
  });

  it('an alert rule whose priority comes from the reports, taking some below critical, also produces workorder.update (it raises the priority when a fault turns critical)', () => {
    const rules = rulesOf({
      location: { enabled: false },
      meters: { enabled: false },
      maintenance: {
        alerts: [
          { name: 'raised', minSeverity: 'warning' },
          { name: 'fixed', minSeverity: 'warning', severity: 'warning' },
          { name: 'critical-only', minSeverity: 'critical' },
        ],
      },
    });
    expect(operationProducersOf(rules).map((p) => [p.key, p.operation])).toEqual([
      ['rules.maintenance.alerts.0', 'workorder.create'],
      ['rules.maintenance.alerts.0', 'workorder.update'],
      ['rules.maintenance.alerts.1', 'workorder.create'],
      ['rules.maintenance.alerts.2', 'workorder.create'],
    ]);
    const r = destinationOperationIssues({ destinations: [rest], defaultDestination: 'erp', producers: operationProducersOf(rules), assets: [], where: 'listed in the config' });
    expect(r.errors.map((e) => e.message).join('\n')).toContain('workorder.update');
  });

  it('leaves out location sync when it is disabled', () => {
    expect(operationProducersOf(rulesOf({ location: { enabled: false } })).map((p) => p.operation)).toEqual(['meter.record']);
  });

  it('leaves out meter sync when rules.meters turns it off, and limits it to the assets its appliesTo picks', () => {
    expect(operationProducersOf(rulesOf({ meters: { enabled: false } })).map((p) => p.operation)).toEqual(['location.update']);
    expect(operationProducersOf(rulesOf({ meters: { enabled: false, appliesTo: { erpModules: ['pm'] } } })).map((p) => p.operation)).toEqual(['location.update']);
    const [meters] = operationProducersOf(rulesOf({ location: { enabled: false }, meters: { appliesTo: { attributes: { fleet: 'own' } } } }));
    expect(meters?.key).toBe('rules.meters');
    expect([asset('A', { fleet: 'own' }), asset('B', { fleet: 'rented' })].filter((a) => meters?.appliesTo?.(a) === true).map((a) => a.erpAssetId)).toEqual(['A']);
  });
});

describe('destinationOperationIssues', () => {
  it('says nothing when every destination delivers every operation', () => {
    const r = destinationOperationIssues({ destinations: [rest, { ...noCounts, operations: ALL }], defaultDestination: 'erp', producers: operationProducersOf(rulesOf(INVENTORY)), assets: [asset('P1', { sku: 'A' }, 'sap')], where: 'listed' });
    expect(r).toEqual({ errors: [], warnings: [] });
  });

  it('only warns for the default destination without inventory.count when no known asset is an inventory item', () => {
    // Inventory counts the assets with its SKU attribute, as a rule with appliesTo: none known yet routed there.
    const r = destinationOperationIssues({ destinations: [noCounts], defaultDestination: 'sap', producers: operationProducersOf(rulesOf(INVENTORY)), assets: [asset('EX1')], where: 'listed in the config' });
    expect(r.errors).toEqual([]);
    expect(r.warnings).toEqual([{ key: 'destinations.1', message: expect.stringContaining('destination "sap" does not deliver inventory.count') as string }]);
    expect(r.warnings[0]?.message).toContain('routed to it (the default destination) is one now');
  });

  it('refuses a destination without inventory.count that a known item is routed to', () => {
    const r = destinationOperationIssues({
      destinations: [rest, noCounts],
      defaultDestination: 'erp',
      producers: operationProducersOf(rulesOf(INVENTORY)),
      assets: [asset('P1', { sku: 'A' }, 'sap'), asset('EX1', {}, 'sap')],
      where: 'listed in the config',
    });
    expect(r.warnings).toEqual([]);
    expect(r.errors).toHaveLength(1);
    expect(r.errors[0]?.key).toBe('destinations.1');
    expect(r.errors[0]?.message).toContain('destination "sap" does not deliver inventory.count');
    expect(r.errors[0]?.message).toContain('which rules.inventory produces');
    expect(r.errors[0]?.message).toContain('such as P1 listed in the config');
    expect(r.errors[0]?.message).not.toContain('EX1');
    expect(r.errors[0]?.message).toContain("route those assets to a destination that delivers inventory.count (the asset's destination)");
    expect(r.errors[0]?.message).toContain('remove rules.inventory');
  });

  it('only warns when no known asset routed there is an inventory item', () => {
    const r = destinationOperationIssues({
      destinations: [rest, noCounts],
      defaultDestination: 'erp',
      producers: operationProducersOf(rulesOf(INVENTORY)),
      assets: [asset('EX1', {}, 'sap'), asset('P1', { sku: 'A' })],
      where: 'listed in the config',
    });
    expect(r.errors).toEqual([]);
    expect(r.warnings).toEqual([{ key: 'destinations.1', message: expect.stringContaining('destination "sap" does not deliver inventory.count') as string }]);
    expect(r.warnings[0]?.message).toContain('for the assets with attribute "sku" (its items); none of the assets listed in the config routed to it is one now');
  });

  it('refuses the default destination for a rule without appliesTo even with no asset known (any asset naming none goes there)', () => {
    const r = destinationOperationIssues({ destinations: [noUsage], defaultDestination: 'dyn', producers: operationProducersOf(rulesOf({ depreciation: {} })), assets: [], where: 'listed in the config' });
    expect(r.errors).toEqual([{ key: 'destinations.1', message: expect.stringContaining('destination "dyn" does not deliver usage.post') as string }]);
    expect(r.errors[0]?.message).toContain('which rules.depreciation produces for the default destination (defaultDestination): every asset that names no destination goes there');
    expect(r.errors[0]?.message).toContain("(the asset's destination, or another defaultDestination); or set rules.depreciation.appliesTo to leave them out");
  });

  it('with appliesTo: refused when a known asset routed there matches, a warning when none does', () => {
    const producers = operationProducersOf(rulesOf({ depreciation: { appliesTo: { erpModules: ['fixed-assets'] } } }));
    const routed = { destinations: [rest, noUsage], defaultDestination: 'erp', producers, where: 'listed in the config' };
    const matching = destinationOperationIssues({ ...routed, assets: [asset('T1', {}, 'dyn', 'fixed-assets')] });
    expect(matching.errors.map((e) => e.key)).toEqual(['destinations.1']);
    expect(matching.errors[0]?.message).toContain('such as T1');
    const other = destinationOperationIssues({ ...routed, assets: [asset('T1', {}, 'dyn', 'rental')] });
    expect(other.errors).toEqual([]);
    expect(other.warnings.map((w) => w.key)).toEqual(['destinations.1']);
  });

  it('does not check a destination nothing is routed to', () => {
    const r = destinationOperationIssues({ destinations: [rest, noUsage], defaultDestination: 'erp', producers: operationProducersOf(rulesOf({ depreciation: {} })), assets: [asset('T1')], where: 'listed' });
    expect(r).toEqual({ errors: [], warnings: [] });
  });

  it('names every rule producing the missing operation, and meter sync, on unless rules.meters says otherwise', () => {
    const producers = operationProducersOf(rulesOf({ maintenance: { thresholds: [{ name: 'hot', sensor: 'temp', above: 90, for: '5m' }], serviceIntervals: [{ name: 'svc', everyHours: 250 }] } }));
    const meterless = { name: 'wo', key: 'destinations.0', operations: ['location.update'] };
    const r = destinationOperationIssues({ destinations: [meterless], defaultDestination: 'wo', producers, assets: [], where: 'listed' });
    expect(r.errors.map((e) => e.message.slice(0, e.message.indexOf(' ('))).sort()).toEqual(['destination "wo" does not deliver meter.record', 'destination "wo" does not deliver workorder.create']);
    const wo = r.errors.find((e) => e.message.includes('deliver workorder.create'));
    expect(wo?.message).toContain('which rules.maintenance.thresholds.0, rules.maintenance.serviceIntervals.0 produce for');
    expect(wo?.message).toContain('remove rules.maintenance.thresholds.0 or set its appliesTo to leave them out');
    const meter = r.errors.find((e) => e.message.includes('deliver meter.record'))?.message;
    expect(meter).toContain('which meter sync (rules.meters, on for every asset) produces for the default destination');
    expect(meter).toContain('or set rules.meters.appliesTo to the assets whose meter readings are to be sent (or rules.meters.enabled: false to send none)');
  });

  it('does not refuse a destination without meter.record with rules.meters off, and with its appliesTo only for the assets it picks (else a warning)', () => {
    const meterless: DestinationOperations = { name: 'wo', key: 'destinations.1', operations: ALL.filter((op) => op !== 'meter.record') };
    const issues = (meters: object, assets: AssetRecord[]) =>
      destinationOperationIssues({ destinations: [rest, meterless], defaultDestination: 'erp', producers: operationProducersOf(rulesOf({ meters })), assets, where: 'listed in the config' });
    const routed = [asset('OWN-1', { fleet: 'own' }, 'wo'), asset('RENT-1', { fleet: 'rented' }, 'wo')];
    expect(issues({}, routed).errors.map((e) => e.key)).toEqual(['destinations.1']);
    expect(issues({ enabled: false }, routed)).toEqual({ errors: [], warnings: [] });
    const own = { appliesTo: { attributes: { fleet: 'own' } } };
    const refused = issues(own, routed);
    expect(refused.errors.map((e) => e.message)).toEqual([expect.stringMatching(/^destination "wo" does not deliver meter\.record .*which rules\.meters produces for assets routed to it \(their destination\), such as OWN-1 listed in the config.*or set rules\.meters\.appliesTo to leave them out \(or rules\.meters\.enabled: false\)$/)]);
    const warned = issues(own, routed.slice(1));
    expect(warned.errors).toEqual([]);
    expect(warned.warnings.map((w) => [w.key, w.message.slice(0, w.message.indexOf(';'))])).toEqual([['destinations.1', 'destination "wo" does not deliver meter.record (its connector delivers location.update, workorder.create, inventory.count, usage.post), which rules.meters produces for the assets its appliesTo picks']]);
  });
});
