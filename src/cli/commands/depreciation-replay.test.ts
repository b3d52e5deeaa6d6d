/**
 * `depreciation post` and `preview` with no service running, after one that did not stop cleanly
 * (a crash): the readings it ingested after its last checkpoint are only in the store's ingest log.
 * They belong to the period by event time, so `post` replays the log into the stored state first
 * (as the next start would), and `preview` and `post --dry-run` (which change nothing) say their
 * figures leave them out.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createApp, type App } from '../../app.js';
import { createLogger } from '../../adapters/log/logger.js';
import { ingestLogLength } from '../../../test/helpers/temp-store.js';
import { loadConfigFile } from '../../config/load.js';
import { runCli, writeConfig } from '../../../test/helpers/cli.js';
import { waitFor } from '../../../test/helpers/wait.js';
import { serviceIsRunning } from './quarantine.js';
import { readRuntimeSnapshot } from '../../engine/engine.js';
import { storedRuleStateNote } from './submit-event.js';

const ATTRIBUTES = { cost: '120000', salvage: '20000', expectedUnits: '10000', usefulLifeMonths: '60' };

const reading = (eventTime: string, operatingHours: number) => ({
  source: 'cli',
  channel: 'cli',
  payload: JSON.stringify({ kind: 'meter', ids: [{ type: 'tag', value: 'tag-1' }], eventTime, operatingHours }),
  receivedAt: Date.now(),
});

/**
 * A store whose EQ-1 had a reading of 1,000 h on 1 October 2026 checkpointed, then one of 1,070 h
 * on 31 October ingested by a pipeline that went away without a checkpoint (a crash): the second
 * is only in the ingest log.
 */
async function crashedWithUnfoldedReading(): Promise<{ path: string; dir: string }> {
  const cfg = usageConfig();
  const app = await createApp(loadConfigFile(cfg.path), { sources: false, http: false, deliver: false, logger: createLogger('silent') });
  await readingsOneUnstored(app);
  await app.close(); // no flush: a crash
  return cfg;
}

/** EQ-1's reading of 1,000 h on 1 October checkpointed, then one of 1,070 h on 31 October held in memory and the ingest log only. */
async function readingsOneUnstored(app: App): Promise<void> {
  expect((await app.ingestor.submit([reading('2026-10-01T00:00:00Z', 1000)])).accepted).toBe(1);
  await app.ingestor.flush(); // a checkpoint: the first reading is in the stored state
  expect((await app.ingestor.submit([reading('2026-10-31T12:00:00Z', 1070)])).accepted).toBe(1);
  expect(app.ingestor.stats.logged).toBe(1);
}

function usageConfig(): { path: string; dir: string } {
  return writeConfig((dir) => ({
    store: { path: join(dir, 'ab.db') },
    destinations: [{ name: 'erp', type: 'rest', baseUrl: 'http://127.0.0.1:9' }],
    ingest: { checkpointMs: '1h' },
    log: { level: 'silent' },
    assets: { inline: [{ erpAssetId: 'EQ-1', attributes: ATTRIBUTES, identifiers: [{ type: 'tag', value: 'tag-1' }] }] },
    rules: { allowedLateness: '0s', depreciation: { timeZone: 'UTC' } },
  }));
}

describe('depreciation commands after a crash left readings in the ingest log', () => {
  it('post replays the ingest log first, so the period is posted with every reading of it', async () => {
    const cfg = await crashedWithUnfoldedReading();
    expect(await ingestLogLength(join(cfg.dir, 'ab.db'))).toBe(1);
    const r = await runCli(['depreciation', 'post', '--period', '2026-10', '-c', cfg.path]);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('replaying the 1 message(s) of the ingest log a stopped service left');
    expect(r.stdout).toContain('queued usage for 1 asset(s) for 2026-10');
    expect(r.stdout).toMatch(/EQ-1\s+2026-10\s+70 h\s+1,070 h\s+10,000 h/);
    expect(await ingestLogLength(join(cfg.dir, 'ab.db'))).toBe(0);
  }, 60_000);

  it('post --dry-run changes nothing: it says the readings in the ingest log are not in its figures, and that post replays them', async () => {
    const cfg = await crashedWithUnfoldedReading();
    const r = await runCli(['depreciation', 'post', '--period', '2026-10', '--dry-run', '-c', cfg.path]);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('warning: 1 message(s) in the ingest log, left by a run that did not stop cleanly, are not in these figures');
    expect(r.stderr).toContain("'depreciation post' replays them into it before it posts");
    expect(r.stdout).toContain('would post usage for 1 asset(s) for 2026-10');
    expect(await ingestLogLength(join(cfg.dir, 'ab.db'))).toBe(1);
  }, 60_000);

  it('preview says its figures leave out the readings in the ingest log, and what to do', async () => {
    const cfg = await crashedWithUnfoldedReading();
    const r = await runCli(['depreciation', 'preview', '--period', '2026-10', '-c', cfg.path]);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('warning: 1 message(s) in the ingest log, left by a run that did not stop cleanly, are not in these figures');
    expect(r.stdout).toMatch(/EQ-1\s+2026-10\s+0 h\s+1,000 h/); // the stored state's figures, said to be short
    expect(await ingestLogLength(join(cfg.dir, 'ab.db'))).toBe(1); // read-only: nothing replayed
  }, 60_000);
});

describe('depreciation preview while a service runs', () => {
  it('says its usage is as of the service\'s last checkpoint (when), as zones occupancy does: a reading held in memory is not in it yet', async () => {
    // Was: nothing said the figures were the stored state's, so right after intake they disagreed
    // with `assets meters` (the latest reading) with no word of why.
    const cfg = usageConfig();
    const app = await createApp(loadConfigFile(cfg.path), { sources: false, http: false, logger: createLogger('silent') });
    try {
      await app.start();
      await readingsOneUnstored(app); // the second reading only in the service's memory (checkpointMs: 1 h)
      const checkpointAt = app.ingestor.stats.lastCheckpoint?.storedAt;
      expect(checkpointAt).toBeDefined();
      await waitFor(async () => (await serviceIsRunning(app.store)) && (await readRuntimeSnapshot(app.store))?.ingest?.lastCheckpoint !== undefined, 'the service says it runs, and its checkpoint');
      const r = await runCli(['depreciation', 'preview', '--period', '2026-10', '-c', cfg.path]);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/EQ-1\s+2026-10\s+0 h\s+1,000 h/); // the stored state's: not the 1,070 h held in memory
      const note = storedRuleStateNote(checkpointAt);
      expect(note).toContain(`as of the running service's last checkpoint at ${new Date(checkpointAt ?? 0).toISOString()}`);
      expect(r.stdout.endsWith(note)).toBe(true);
    } finally {
      await app.stop();
      await app.close();
    }
  }, 60_000);

  it('with no service running, says so as zones occupancy does', async () => {
    const cfg = await crashedWithUnfoldedReading();
    const r = await runCli(['depreciation', 'preview', '--period', '2026-10', '-c', cfg.path]);
    expect(r.code).toBe(0);
    expect(r.stdout.endsWith(storedRuleStateNote(undefined))).toBe(true);
    expect(storedRuleStateNote(undefined)).toBe('(from the stored rule state: at most ingest.checkpointMs behind a running service)\n');
  }, 60_000);
});

describe('depreciation post while a service runs', () => {
  it('has the service store the readings it holds in memory first, so the period is posted with them (as its own posting does)', async () => {
    const cfg = usageConfig();
    const app = await createApp(loadConfigFile(cfg.path), { sources: false, http: false, logger: createLogger('silent') });
    try {
      await app.start();
      await readingsOneUnstored(app); // the second reading only in the service's memory (checkpointMs: 1 h)
      await waitFor(() => serviceIsRunning(app.store), 'the service says it runs');
      const r = await runCli(['depreciation', 'post', '--period', '2026-10', '-c', cfg.path]);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/EQ-1\s+2026-10\s+70 h\s+1,070 h\s+10,000 h/);
    } finally {
      await app.stop();
      await app.close();
    }
  }, 60_000);
});
