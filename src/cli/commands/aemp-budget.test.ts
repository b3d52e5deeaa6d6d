/**
 * `aemp budget` on a config with no telematics provider and no store said "there is no store": the
 * fault is the config's (no `telematics:` entry), and that is said first, as the other aemp commands say it.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, writeConfig } from '../../../test/helpers/cli.js';

describe('aemp budget without a telematics provider', () => {
  it('says no provider is configured, naming the config key, before it looks for the store', async () => {
    const cfg = writeConfig((dir) => ({ store: { path: join(dir, 'none.db') }, destinations: [{ name: 'erp', type: 'rest', baseUrl: 'http://127.0.0.1:9' }], log: { level: 'silent' } }));
    const r = await runCli(['aemp', 'budget', '-c', cfg.path]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('no telematics provider is configured; add an entry under "telematics:" in the config');
    expect(r.stderr).not.toContain('there is no store');
  }, 60_000);
});
