/**
 * `assetbridge maintenance complete` with no service running: the CLI runs the pipeline itself,
 * stores the resulting rule state, and `maintenance status` shows the reset baseline (and, once,
 * through a running service: what it says of a completion the rule holds back). A key that
 * names no work order assetbridge knows (a typo) is refused before anything is recorded.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SqliteStore } from '../../src/adapters/store/sqlite/sqlite-store.js';
import type { AssetMaintenance } from '../../src/cli/commands/maintenance.js';
import { rulesSchema } from '../../src/config/rules-schema.js';
import type { DeliveryIntent } from '../../src/core/model/delivery.js';
import type { CanonicalEvent } from '../../src/core/model/events.js';
import { createRules } from '../../src/core/rules/index.js';
import { simulateRules } from '../../src/core/rules/simulate.js';
import { freePort, runCli, startReadyService, writeConfig } from '../helpers/cli.js';

const RULES = { allowedLateness: '0s', maintenance: { serviceIntervals: [{ name: 'svc-10h', everyHours: 10 }], feedback: { pollEvery: 0 } } };
const KEY = 'EQ-9|svc-10h|10h@b0';

/**
 * A config and the store a run left: readings up to 10.5 h and the work order they opened. `keep`
 * chooses where that work order is still known: the rule state, the outbox, or both.
 */
async function ranBefore(keep: { state: boolean; outbox: boolean } = { state: true, outbox: true }, lateness?: string, port = 0) {
  // With an allowed lateness, a reading at 7 h (11.5 h) releases the one at 6 h that opens the work order, and stays in the buffer.
  // A service run on it (a port given) must not release that reading by the idle watermark while the test looks.
  const rules = lateness === undefined ? RULES : { ...RULES, allowedLateness: lateness, ...(port !== 0 ? { idleAfter: '1h' } : {}) };
  const cfg = writeConfig((dir) => ({
    store: { path: join(dir, 'ab.db') },
    destinations: [{ name: 'erp', type: 'rest', baseUrl: 'http://127.0.0.1:9' }],
    assets: { inline: [{ erpAssetId: 'EQ-9', identifiers: [{ type: 'tag', value: 'tag-9' }] }] },
    rules,
    server: { port },
  }));
  const dbPath = join(cfg.dir, 'ab.db');
  const store = new SqliteStore({ path: dbPath });
  const asset = { erpAssetId: 'EQ-9', erpModule: 'fixed-assets', attributes: {} };
  await store.upsertAssets([{ asset, identifiers: [{ type: 'tag', value: 'tag-9', erpAssetId: 'EQ-9' }] }]);
  const t0 = Date.parse('2026-11-01T00:00:00Z');
  const meter = (h: number, at: number): CanonicalEvent => ({ kind: 'meter', source: 't', ids: [{ type: 'erp', value: 'EQ-9' }], eventTime: t0 + at * 3_600_000, receivedAt: 0, operatingHours: h });
  const sim = simulateRules(createRules(rulesSchema.parse(rules)), [meter(5, 0), meter(9, 4.5), meter(10.5, 6), ...(lateness === undefined ? [] : [meter(11.5, 7)])].map((event) => ({ event, asset, destination: 'erp' })));
  const opened: DeliveryIntent[] = sim.perStep.flat().filter((d) => d.operation === 'workorder.create');
  expect(opened.map((d) => d.businessKey)).toEqual([KEY]);
  const states = [...sim.states].map(([erpAssetId, doc]) => {
    if (keep.state) return { erpAssetId, doc };
    // The state forgot it (more open work orders than it remembers, or lost state).
    const m = doc.maintenance as Record<string, unknown>;
    return { erpAssetId, doc: { ...doc, maintenance: { ...m, workOrders: {} } } };
  });
  // Without the outbox row: retention.deliveredFacts pruned it.
  await store.commitIngest({ states, deliveries: keep.outbox ? opened : [], quarantine: [], accepted: 3 });
  await store.close();
  const status = async () => JSON.parse((await runCli(['maintenance', 'status', '--json', '-c', cfg.path])).stdout) as AssetMaintenance[];
  const quarantined = async () => {
    const s = new SqliteStore({ path: dbPath });
    try {
      return await s.listQuarantine({});
    } finally {
      await s.close();
    }
  };
  return { cfg, status, quarantined };
}

describe('maintenance complete from the CLI, mostly with no service running', () => {
  it('without --hours: takes the meter from the readings and says which, and that the latest was read long before --at', async () => {
    const { cfg, status } = await ranBefore();
    // Between the readings at 04:30 (9 h) and 06:00 (10.5 h): 10 h at 05:30.
    const r = await runCli(['maintenance', 'complete', KEY, '--at', '2026-11-01T05:30:00Z', '-c', cfg.path]);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe(
      `recorded ${KEY} as completed; the hour meter at completion taken from the readings: between 9 h at 2026-11-01T04:30:00.000Z and 10.5 h at 2026-11-01T06:00:00.000Z; 'assetbridge maintenance status' shows the result\n`,
    );
    expect((await status())[0]?.due.find((d) => d.rule === 'svc-10h')).toMatchObject({ baselineHours: 10 });
    // A day after the last reading: the latest reading, said to be a day old.
    const later = await ranBefore();
    const old = await runCli(['maintenance', 'complete', KEY, '--at', '2026-11-02T06:00:00Z', '-c', later.cfg.path]);
    expect(old.stdout).toContain('taken from the readings: 10.5 h, read at 2026-11-01T06:00:00.000Z (24 h before --at: if it ran since, the next service comes due early by what it ran; give --hours next time)');
  });

  it('says when the rule holds the completion back, and for what (event time wins): a reading before it still buffered, or one that may still arrive', async () => {
    // 08:00, after the reading of 07:00 the buffer still holds (rules.allowedLateness 30 s).
    const buffered = await ranBefore(undefined, '30s');
    const r = await runCli(['maintenance', 'complete', KEY, '--hours', '12', '--at', '2026-11-01T08:00:00Z', '-c', buffered.cfg.path]);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe(
      `recorded ${KEY} as completed; not applied yet: it waits for the hour-meter reading of 2026-11-01T07:00:00.000Z still in the reorder buffer, until it is released (rules.allowedLateness after a newer event, or the asset's idle watermark: rules.idleAfter); 'assetbridge maintenance status' shows the result\n`,
    );
    expect((await buffered.status())[0]?.due.find((d) => d.rule === 'svc-10h')).toMatchObject({ baselineHours: 0 });
    // 15 s before that reading, less than the lateness: a reading dated before it may still arrive.
    const watermark = await ranBefore(undefined, '30s');
    const w = await runCli(['maintenance', 'complete', KEY, '--hours', '11.4', '--at', '2026-11-01T06:59:45Z', '-c', watermark.cfg.path]);
    expect(w.stdout).toContain(`recorded ${KEY} as completed; not applied yet: it waits for an event of the asset dated after 2026-11-01T07:00:15.000Z (rules.allowedLateness after it`);
    // A minute before it: applied at once, nothing said of waiting.
    const applied = await ranBefore(undefined, '30s');
    const a = await runCli(['maintenance', 'complete', KEY, '--hours', '11.4', '--at', '2026-11-01T06:59:00Z', '-c', applied.cfg.path]);
    expect(a.stdout).toBe(`recorded ${KEY} as completed; 'assetbridge maintenance status' shows the result\n`);
    expect((await applied.status())[0]?.due.find((d) => d.rule === 'svc-10h')).toMatchObject({ baselineHours: 11.4 });
  });

  it('says so through a running service too: the service stores its state after the event, and the note reads it', async () => {
    const port = await freePort();
    const { cfg, status } = await ranBefore(undefined, '30s', port);
    const svc = await startReadyService(cfg.path, port);
    try {
      const r = await runCli(['maintenance', 'complete', KEY, '--hours', '12', '--at', '2026-11-01T08:00:00Z', '-c', cfg.path]);
      expect(r.stderr).toBe('');
      expect(r.stdout).toBe(
        `recorded ${KEY} as completed through the running service; not applied yet: it waits for the hour-meter reading of 2026-11-01T07:00:00.000Z still in the reorder buffer, until it is released (rules.allowedLateness after a newer event, or the asset's idle watermark: rules.idleAfter); 'assetbridge maintenance status' shows the result\n`,
      );
      expect((await status())[0]?.due.find((d) => d.rule === 'svc-10h')).toMatchObject({ baselineHours: 0 });
    } finally {
      expect(await svc.stop()).toBe(0);
    }
  });

  it('records the completion through its own pipeline and stores the state', async () => {
    const { cfg, status } = await ranBefore();
    const r = await runCli(['maintenance', 'complete', KEY, '--hours', '11', '--at', '2026-11-01T08:00:00Z', '--erp-id', 'WO-1', '-c', cfg.path]);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe(`recorded ${KEY} as completed; 'assetbridge maintenance status' shows the result\n`);
    const s = await status();
    expect(s[0]?.closed.map((w) => [w.businessKey, w.status, w.hoursAtCompletion, w.erpWorkOrderId])).toEqual([[KEY, 'completed', 11, 'WO-1']]);
    expect(s[0]?.due.find((d) => d.rule === 'svc-10h')).toMatchObject({ baselineHours: 11, nextDueHours: 21 });
  });

  it('status --due leaves the completed and cancelled section out, rather than saying there are none', async () => {
    const { cfg } = await ranBefore();
    // One made in the ERP by hand and cancelled there: closed, while KEY stays open.
    const r = await runCli(['maintenance', 'complete', 'EQ-9|svc-10h|5h@b0', '--cancelled', '--force', '--at', '2026-11-01T08:00:00Z', '-c', cfg.path]);
    expect(r.code).toBe(0);
    const all = await runCli(['maintenance', 'status', '-c', cfg.path]);
    expect(all.stdout).toMatch(/COMPLETED OR CANCELLED\nASSET.*\nEQ-9\s+EQ-9\|svc-10h\|5h@b0\s+cancelled/);
    // --due lists the open one, and says nothing of the cancelled work order.
    const due = await runCli(['maintenance', 'status', '--due', '-c', cfg.path]);
    expect(due.code).toBe(0);
    expect(due.stdout).toContain(KEY);
    expect(due.stdout).not.toContain('COMPLETED OR CANCELLED');
  });

  it('refuses a key that names no work order it knows (a typo), listing the open ones, and records nothing', async () => {
    const { cfg, status, quarantined } = await ranBefore();
    const r = await runCli(['maintenance', 'complete', 'EQ-9|svc-10h|10h@b9', '--hours', '11', '-c', cfg.path]);
    expect(r.code).toBe(1); // a key that names nothing: a failure, not a usage error
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('"EQ-9|svc-10h|10h@b9" names no work order assetbridge knows');
    expect(r.stderr).toContain(`open work orders of EQ-9: ${KEY}`);
    expect(r.stderr).toContain("'assetbridge maintenance status --asset EQ-9'");
    expect(r.stderr).toContain('--force');
    const s = await status();
    expect(s[0]?.open.map((w) => [w.businessKey, w.status])).toEqual([[KEY, 'requested']]);
    expect(s[0]?.closed).toEqual([]);
    expect(s[0]?.due.find((d) => d.rule === 'svc-10h')).toMatchObject({ baselineHours: 0 });
    expect(await quarantined()).toEqual([]);
  });

  it('refuses a key of no form assetbridge makes, naming the work order it likely means, and records nothing', async () => {
    const { cfg, status, quarantined } = await ranBefore();
    // The due point without its baseline, as one might copy it from a work order's title.
    const r = await runCli(['maintenance', 'complete', 'EQ-9|svc-10h|10h', '--hours', '11', '-c', cfg.path]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('its occurrence "10h" is none assetbridge makes');
    expect(r.stderr).toContain(`the closest work orders of EQ-9: ${KEY} ('assetbridge maintenance status --asset EQ-9' lists them)`);
    expect((await status())[0]?.closed).toEqual([]);
    expect(await quarantined()).toEqual([]);
  });

  it('refuses an asset id not in the registry before submitting anything: nothing lands in quarantine', async () => {
    const { cfg, quarantined } = await ranBefore();
    const r = await runCli(['maintenance', 'complete', 'EQ-99|svc-10h|10h@b0', '--hours', '1', '-c', cfg.path]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('no asset "EQ-99" in the registry');
    expect(r.stderr).toContain('did you mean EQ-9?');
    // Not even with --force: the pipeline could only quarantine it.
    const forced = await runCli(['maintenance', 'complete', 'EQ-99|svc-10h|10h@b0', '--hours', '1', '--force', '-c', cfg.path]);
    expect(forced.code).toBe(1);
    expect(forced.stderr).toContain('no asset "EQ-99" in the registry');
    expect(await quarantined()).toEqual([]);
  });

  it('refuses --at in the future, blank --hours and --hours the meter cannot have shown, before submitting anything', async () => {
    const { cfg, status, quarantined } = await ranBefore();
    const future = new Date(Date.now() + 3_600_000).toISOString();
    const r = await runCli(['maintenance', 'complete', KEY, '--hours', '11', '--at', future, '-c', cfg.path]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`--at ${future} is in the future (more than 5 min after this host's clock`);
    expect(r.stderr).toContain('ingest.maxFutureSkewMs');
    const blank = await runCli(['maintenance', 'complete', KEY, '--hours', '', '-c', cfg.path]);
    expect(blank.code).toBe(2);
    expect(blank.stderr).toContain('--hours "" is not a meter reading');
    // The meter read 10.5 h at 06:00: 105 h two hours later is a typo.
    const typo = await runCli(['maintenance', 'complete', KEY, '--hours', '105', '--at', '2026-11-01T08:00:00Z', '-c', cfg.path]);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toContain('--hours 105 h is more than the meter can have shown at 2026-11-01T08:00:00.000Z, at most 12.7 h');
    expect((await status())[0]?.closed).toEqual([]);
    expect(await quarantined()).toEqual([]);
  });

  for (const [known, held] of [
    ['the state forgot but the outbox holds (it opened it)', { state: false, outbox: true }],
    ['whose outbox row retention pruned but the state remembers', { state: true, outbox: false }],
  ] as const) {
    it(`takes a work order ${known}`, async () => {
      const { cfg, status } = await ranBefore(held);
      const r = await runCli(['maintenance', 'complete', KEY, '--hours', '11', '-c', cfg.path]);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect((await status())[0]?.due.find((d) => d.rule === 'svc-10h')).toMatchObject({ baselineHours: 11 });
    });
  }

  it('takes a key known nowhere with --force (a work order assetbridge never opened, or forgot)', async () => {
    const { cfg, status } = await ranBefore({ state: false, outbox: false });
    const refused = await runCli(['maintenance', 'complete', KEY, '--hours', '11', '-c', cfg.path]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('no open work orders of EQ-9');
    const r = await runCli(['maintenance', 'complete', KEY, '--hours', '11', '--force', '-c', cfg.path]);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe(`recorded ${KEY} as completed; 'assetbridge maintenance status' shows the result\n`);
    expect((await status())[0]?.due.find((d) => d.rule === 'svc-10h')).toMatchObject({ baselineHours: 11 });
  });
});
