/**
 * `aemp pull`, `backfill` and `equipment` on a config with no telematics provider: refused first,
 * naming the `telematics:` key and what to add, before the store is opened. Was: the store was
 * opened (created, for a config that never ran) to ask whether a service runs, and only then the
 * missing provider said.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, writeConfig } from '../../../test/helpers/cli.js';

describe('aemp pull, backfill and equipment without a telematics provider', () => {
  it.each([
    ['pull', ['aemp', 'pull']],
    ['backfill', ['aemp', 'backfill', '--from', '2026-10-01']],
    ['equipment', ['aemp', 'equipment', 'PIN-1']],
  ])('%s says no provider is configured, naming the config key, and neither creates nor opens a store', async (_name, args) => {
    const cfg = writeConfig((dir) => ({ store: { path: join(dir, 'none.db') }, destinations: [{ name: 'erp', type: 'rest', baseUrl: 'http://127.0.0.1:9' }], log: { level: 'silent' } }));
    const r = await runCli([...args, '-c', cfg.path]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('no telematics provider is configured; add an entry under "telematics:" in the config (vendor, baseUrl, auth)');
    expect(existsSync(join(cfg.dir, 'none.db'))).toBe(false);
  }, 60_000);
});
