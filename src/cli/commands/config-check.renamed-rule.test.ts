/**
 * `config check` beside the store the service started with: a maintenance rule renamed since that
 * start is said (the renamed rule opens its work orders again), as the service's start says it; the
 * check only reads the store.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, writeConfig } from '../../../test/helpers/cli.js';
import { SqliteStore } from '../../adapters/store/sqlite/sqlite-store.js';
import { rulesSchema } from '../../config/rules-schema.js';
import { maintenanceRenameWarnings, RULE_NAMES_KEY, RULE_NAMES_NS } from '../../engine/tasks/maintenance-rule-names.js';

const maintenance = (name: string) => ({ serviceIntervals: [{ name, everyHours: 250 }] });

describe('config check with a maintenance rule renamed since the service last started', () => {
  it('warns under the new name\'s key and line, and leaves what the store recorded as it was', async () => {
    const cfg = writeConfig((dir) => ({
      store: { path: join(dir, 'ab.db') },
      destinations: [{ name: 'erp', type: 'rest', baseUrl: 'http://127.0.0.1:9' }],
      rules: { maintenance: maintenance('pm-250h') },
      server: { port: 0 },
    }));
    // Not started yet: nothing to compare with.
    const before = await runCli(['config', 'check', '-c', cfg.path]);
    expect(before.code).toBe(0);
    expect(before.stdout).not.toContain('configured at the last start');
    // The service last started with the rule named service-250h.
    const store = new SqliteStore({ path: join(cfg.dir, 'ab.db'), commitInWorker: false });
    try {
      await maintenanceRenameWarnings(store, rulesSchema.parse({ maintenance: maintenance('service-250h') }), { record: true });
    } finally {
      await store.close();
    }
    const r = await runCli(['config', 'check', '-c', cfg.path]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^warning: rules\.maintenance\.serviceIntervals\.0\.name \(line \d+\): "pm-250h" is new and "service-250h", configured at the last start, is gone: a rule renamed is a new rule/m);
    const after = new SqliteStore({ path: join(cfg.dir, 'ab.db'), commitInWorker: false });
    try {
      expect(JSON.parse((await after.kvGet(RULE_NAMES_NS, RULE_NAMES_KEY)) as string)).toMatchObject({ serviceIntervals: ['service-250h'] });
    } finally {
      await after.close();
    }
  });
});
