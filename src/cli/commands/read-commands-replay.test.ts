/**
 * The commands that only read stored rule state (`maintenance status`, `assets meters`, `inventory
 * counts` and `items`, `zones occupancy`) with no service running, after one that did not stop cleanly (a
 * crash): what it ingested after its last checkpoint is only in the store's ingest log, so their
 * figures lack it until a start replays it. They say so on stderr (stdout stays what --json and
 * --csv promise), as `depreciation preview` does, and replay nothing. Their tables end with which
 * checkpoint of a running service they are as of.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createApp } from '../../app.js';
import { createLogger } from '../../adapters/log/logger.js';
import { ingestLogLength } from '../../../test/helpers/temp-store.js';
import { loadConfigFile } from '../../config/load.js';
import { runCli, writeConfig } from '../../../test/helpers/cli.js';
import { waitFor } from '../../../test/helpers/wait.js';
import { readRuntimeSnapshot } from '../../engine/engine.js';
import { serviceIsRunning } from './quarantine.js';
import { storedRuleStateNote } from './submit-event.js';

const event = (e: Record<string, unknown>) => ({ source: 'cli', channel: 'cli', payload: JSON.stringify({ ids: [{ type: 'tag', value: 'tag-1' }], ...e }), receivedAt: Date.now() });

/**
 * A store whose pallet EQ-1 (with a 10 h service interval) had a meter reading checkpointed, then
 * a reading and a position in the yard ingested by a pipeline that went away without a checkpoint
 * (a crash): those two are only in the ingest log.
 */
async function crashedWithUnfoldedMessages(): Promise<{ path: string; dir: string }> {
  const cfg = writeConfig((dir) => ({
    store: { path: join(dir, 'ab.db') },
    destinations: [{ name: 'erp', type: 'rest', baseUrl: 'http://127.0.0.1:9' }],
    ingest: { checkpointMs: '1h' },
    log: { level: 'silent' },
    assets: { inline: [{ erpAssetId: 'EQ-1', erpModule: 'inventory', attributes: { sku: 'PAL-40' }, identifiers: [{ type: 'tag', value: 'tag-1' }] }] },
    rules: {
      allowedLateness: '0s',
      zones: { inline: [{ name: 'YARD', locationCode: '1000/0001', circle: { lat: 52.5, lng: 13.4, radiusM: 200 } }] },
      maintenance: { serviceIntervals: [{ name: 'svc-10h', everyHours: 10 }], feedback: { pollEvery: 0 } },
      inventory: { skuAttribute: 'sku' },
    },
  }));
  const app = await createApp(loadConfigFile(cfg.path), { sources: false, http: false, deliver: false, logger: createLogger('silent') });
  const t = Date.now() - 3_600_000;
  expect((await app.ingestor.submit([event({ kind: 'meter', eventTime: new Date(t).toISOString(), operatingHours: 2 })])).accepted).toBe(1);
  await app.ingestor.flush(); // a checkpoint: the first reading is in the stored state
  const later = [event({ kind: 'meter', eventTime: new Date(t + 60_000).toISOString(), operatingHours: 3 }), event({ kind: 'position', eventTime: new Date(t + 60_000).toISOString(), lat: 52.5, lng: 13.4 })];
  expect((await app.ingestor.submit(later)).accepted).toBe(2);
  expect(app.ingestor.stats.logged).toBe(2);
  await app.close(); // no flush: a crash
  return cfg;
}

const LEFT = 'warning: 2 message(s) in the ingest log, left by a run that did not stop cleanly, are not in these figures: ';
const START_REPLAYS = "starting the service ('assetbridge run') replays them into it\n";

/** Runs `args` (with `--json`, so stdout must stay JSON) and checks it warns on stderr with `lacks`, and replayed nothing. */
async function warnsOnly(cfg: { path: string; dir: string }, args: string[], lacks: string): Promise<void> {
  const r = await runCli([...args, '--json', '-c', cfg.path]);
  expect(r.code).toBe(0);
  expect(r.stderr).toBe(`${LEFT}${lacks}. ${START_REPLAYS}`);
  expect(() => JSON.parse(r.stdout) as unknown).not.toThrow();
  expect(await ingestLogLength(join(cfg.dir, 'ab.db'))).toBe(2); // read-only: nothing replayed
}

describe('read commands after a crash left messages in the ingest log', () => {
  it('maintenance status says its figures lack them, on stderr', async () => {
    const cfg = await crashedWithUnfoldedMessages();
    await warnsOnly(cfg, ['maintenance', 'status'], 'their readings and work-order changes are not in the stored maintenance state yet, so meters and what is due may be behind');
  }, 60_000);

  it('assets meters says its meters lack them, on stderr', async () => {
    const cfg = await crashedWithUnfoldedMessages();
    await warnsOnly(cfg, ['assets', 'meters'], 'their readings are not in the stored meter state yet, so the meters shown may be behind');
  }, 60_000);

  it('inventory counts and items say their figures lack them, on stderr', async () => {
    const cfg = await crashedWithUnfoldedMessages();
    const lacks = 'their sightings are not in the stored rule state yet, so counts and where items are may be behind';
    await warnsOnly(cfg, ['inventory', 'counts'], lacks);
    await warnsOnly(cfg, ['inventory', 'items'], lacks);
  }, 60_000);

  it('zones occupancy says its figures lack them, on stderr; after a start replayed them, none of them warns', async () => {
    const cfg = await crashedWithUnfoldedMessages();
    await warnsOnly(cfg, ['zones', 'occupancy'], 'their positions are not in the stored zone state yet, so who is in which zone may be behind');
    const app = await createApp(loadConfigFile(cfg.path), { sources: false, http: false, deliver: false, logger: createLogger('silent') });
    await app.ingestor.flush(); // what a start does first: the replay, then a checkpoint
    await app.close();
    for (const args of [['zones', 'occupancy'], ['inventory', 'counts'], ['maintenance', 'status']]) expect((await runCli([...args, '-c', cfg.path])).stderr).toBe('');
  }, 60_000);
});

describe('inventory counts and items, maintenance status, assets meters: the note of what they read', () => {
  it('ends with the shared stored-rule-state note, as zones occupancy and depreciation preview do: as of the running service\'s last checkpoint (when), or at most ingest.checkpointMs behind one', async () => {
    // Was: its own line ("counts come from the stored rule state: a running service stores
    // sightings at its checkpoints"), which never said which checkpoint the counts are as of.
    const cfg = await crashedWithUnfoldedMessages();
    const idle = await runCli(['inventory', 'counts', '-c', cfg.path]);
    expect(idle.code).toBe(0);
    expect(idle.stdout.endsWith(storedRuleStateNote(undefined))).toBe(true);
    expect(idle.stdout).not.toContain('counts come from the stored rule state');
    // `inventory items` reads the same sightings: its table ends with the same note (JSON is checked above).
    const items = await runCli(['inventory', 'items', '-c', cfg.path]);
    expect(items.code).toBe(0);
    expect(items.stdout).toContain('EQ-1');
    expect(items.stdout.endsWith(storedRuleStateNote(undefined))).toBe(true);
    // Nothing matches (a SKU no item has is refused, exit 1; this one is had, by no item of that standing).
    const none = await runCli(['inventory', 'items', '--sku', 'PAL-40', '--standing', 'bad-quantity', '-c', cfg.path]);
    expect(none.stdout).toMatch(/^no inventory items match\n/);
    expect(none.stdout.endsWith(storedRuleStateNote(undefined))).toBe(true);
    // maintenance status reads the stored maintenance state: its tables end with it too (and "nothing due" with --due).
    const maintenance = await runCli(['maintenance', 'status', '-c', cfg.path]);
    expect(maintenance.stdout).toContain('svc-10h');
    expect(maintenance.stdout.endsWith(storedRuleStateNote(undefined))).toBe(true);
    const nothingDue = await runCli(['maintenance', 'status', '--due', '-c', cfg.path]);
    expect(nothingDue.stdout).toBe(`nothing due, breached or open (1 asset(s) checked)\n${storedRuleStateNote(undefined)}`);
    // assets meters reads the meter rule's stored state: the checkpointed 2 h, not the logged 3 h.
    const meters = await runCli(['assets', 'meters', '-c', cfg.path]);
    expect(meters.stdout).toMatch(/EQ-1\s+2 h/);
    expect(meters.stdout.endsWith(storedRuleStateNote(undefined))).toBe(true);
    const app = await createApp(loadConfigFile(cfg.path), { sources: false, http: false, logger: createLogger('silent') });
    try {
      await app.start(); // replays the log, then a checkpoint
      await waitFor(async () => (await serviceIsRunning(app.store)) && (await readRuntimeSnapshot(app.store))?.ingest?.lastCheckpoint !== undefined, 'the service says it runs, and its checkpoint');
      const checkpointAt = (await readRuntimeSnapshot(app.store))?.ingest?.lastCheckpoint?.storedAt;
      expect(checkpointAt).toBeDefined();
      const r = await runCli(['inventory', 'counts', '-c', cfg.path]);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain('items: 1 with a SKU');
      expect(r.stdout.endsWith(storedRuleStateNote(checkpointAt))).toBe(true);
      for (const args of [['maintenance', 'status'], ['assets', 'meters']]) expect((await runCli([...args, '-c', cfg.path])).stdout.endsWith(storedRuleStateNote(checkpointAt))).toBe(true);
      expect(storedRuleStateNote(checkpointAt)).toContain(`as of the running service's last checkpoint at ${new Date(checkpointAt ?? 0).toISOString()}`);
    } finally {
      await app.stop();
      await app.close();
    }
  }, 60_000);
});
