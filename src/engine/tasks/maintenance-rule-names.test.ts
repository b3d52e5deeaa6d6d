import { describe, expect, it } from 'vitest';
import { useTempStores } from '../../../test/helpers/temp-stores.js';
import { rulesSchema } from '../../config/rules-schema.js';
import { maintenanceRenameWarnings, RULE_NAMES_KEY, RULE_NAMES_NS } from './maintenance-rule-names.js';

const newStore = useTempStores();

const rules = (services: readonly string[], thresholds: readonly string[] = ['hot']) =>
  rulesSchema.parse({
    maintenance: {
      serviceIntervals: services.map((name) => ({ name, everyHours: 250 })),
      thresholds: thresholds.map((name) => ({ name, sensor: 'coolantTemp', above: 95, for: '5m' })),
    },
  });

describe('maintenance rules renamed since the last start', () => {
  it('are said under the new rule\'s key at the first start with the new name, and not again once recorded', async () => {
    const store = newStore();
    // The first start ever: nothing to compare with, the names are recorded.
    expect(await maintenanceRenameWarnings(store, rules(['service-250h', 'oil']), { record: true })).toEqual([]);
    expect(await maintenanceRenameWarnings(store, rules(['service-250h', 'oil']), { record: true })).toEqual([]);
    // service-250h renamed pm-250h: read only (config check) says it and records nothing.
    const renamed = rules(['oil', 'pm-250h']);
    const read = await maintenanceRenameWarnings(store, renamed, { record: false });
    expect(read).toHaveLength(1);
    expect(read[0]?.key).toBe('rules.maintenance.serviceIntervals.1.name');
    expect(read[0]?.message).toContain('"pm-250h" is new and "service-250h", configured at the last start, is gone: a rule renamed is a new rule');
    expect(read[0]?.message).toContain('work orders for due points already opened or done are opened again');
    expect(read[0]?.message).toContain("set each asset's baseline attribute to its last service");
    // The start says it too, and records the new names: the next start is quiet.
    expect(await maintenanceRenameWarnings(store, renamed, { record: true })).toEqual(read);
    expect(await maintenanceRenameWarnings(store, renamed, { record: true })).toEqual([]);
  });

  it('says nothing of a rule only removed or only added, and a threshold renamed in its own words', async () => {
    const store = newStore();
    await maintenanceRenameWarnings(store, rules(['a', 'b']), { record: true });
    expect(await maintenanceRenameWarnings(store, rules(['a']), { record: true })).toEqual([]);
    expect(await maintenanceRenameWarnings(store, rules(['a', 'c']), { record: true })).toEqual([]);
    const hot = await maintenanceRenameWarnings(store, rules(['a', 'c'], ['overheat']), { record: true });
    expect(hot.map((w) => w.key)).toEqual(['rules.maintenance.thresholds.0.name']);
    expect(hot[0]?.message).toContain('opens another work order for a condition still held');
    // No maintenance section at all: every rule removed, none added.
    expect(await maintenanceRenameWarnings(store, rulesSchema.parse({}), { record: true })).toEqual([]);
  });

  it('takes an unreadable record as none, and records the names anew', async () => {
    const store = newStore();
    await store.kvSet(RULE_NAMES_NS, RULE_NAMES_KEY, '{not json');
    expect(await maintenanceRenameWarnings(store, rules(['x']), { record: true })).toEqual([]);
    expect(JSON.parse((await store.kvGet(RULE_NAMES_NS, RULE_NAMES_KEY)) as string)).toMatchObject({ serviceIntervals: ['x'], thresholds: ['hot'] });
  });
});
