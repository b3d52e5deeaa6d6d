/**
 * An app made by a command other than `run` (quarantine replay, the aemp commands, the demo) that
 * loses its store lease ends as a crash would (exit 1), but once the log line saying why is
 * written out, as `run` does: at once, on a pipe, that line was lost now and then.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createLogger } from './adapters/log/logger.js';
import { createApp } from './app.js';
import { compileConfig } from './config/load.js';
import { SqliteStore } from './adapters/store/sqlite/sqlite-store.js';
import { LEASE_KEY, LEASE_NS } from './engine/store-lease.js';
import { CHECKPOINT_JOB, CONTROL_NS, readRuntimeSnapshot, RUNTIME_NS } from './engine/engine.js';
import { tempStorePath } from '../test/helpers/temp-store.js';

/** A config with one asset (tag-1) on the store at `path`. */
const oneAssetConfig = (path: string) =>
  compileConfig({ store: { path }, destinations: [{ name: 'erp', type: 'rest', baseUrl: 'http://127.0.0.1:9', token: 'x' }], log: { level: 'silent' }, assets: { inline: [{ erpAssetId: 'EX-1', identifiers: [{ type: 'tag', value: 'tag-1' }] }] } });

/** A position of tag-1, as a message submitted to the ingestor. */
const positionOf = (lat: number) => [{ source: 'cli', channel: 'cli', payload: JSON.stringify({ kind: 'position', ids: [{ type: 'tag', value: 'tag-1' }], eventTime: new Date().toISOString(), lat, lng: 4 }), receivedAt: Date.now() }];

/** Another process takes the store over (this one stalled): the lease row names it. Returns when. */
async function takeOver(other: SqliteStore): Promise<number> {
  const now = Date.now();
  await other.kvSet(LEASE_NS, LEASE_KEY, JSON.stringify({ pid: 1, host: 'elsewhere', instance: 'x', command: 'assetbridge run', since: now, heartbeat: now }));
  return now;
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('createApp: the default when the store lease is lost', () => {
  it('exits 1 only once the line saying why is written out', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ab-lost-'));
    const logFile = join(dir, 'log');
    const dest = pino.destination({ dest: logFile, sync: false, mkdir: true });
    await new Promise<void>((r) => dest.once('ready', () => r()));
    const logger = createLogger('info', 'test', dest);
    // Whether the destination was still writing (the line saying why) when the process would have ended.
    const writing = () => (dest as unknown as { _writing: boolean })._writing;
    let exited: (seen: { code: number; stillWriting: boolean }) => void = () => undefined;
    const ended = new Promise<{ code: number; stillWriting: boolean }>((r) => (exited = r));
    vi.spyOn(process, 'exit').mockImplementation(((code?: number) => {
      exited({ code: code ?? 0, stillWriting: writing() });
      return undefined as never;
    }) as typeof process.exit);
    const path = join(dir, 'ab.db');
    const config = compileConfig({ store: { path }, destinations: [{ name: 'erp', type: 'rest', baseUrl: 'http://127.0.0.1:9' }], log: { level: 'info' } });
    const app = await createApp(config, { sources: false, http: false, logger, command: 'assetbridge quarantine replay' });
    try {
      rmSync(path); // the store file deleted under it: the next renewal loses the lease
      expect(await ended).toEqual({ code: 1, stillWriting: false });
      expect(readFileSync(logFile, 'utf8')).toContain('the store file');
    } finally {
      await app.close().catch(() => undefined);
      dest.end();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

// Was: between the lease lost and the exit (up to 1 s while the log line drains), the pipeline
// went on committing: a message taken in then was acknowledged though another process held the
// store (or its file was gone, with what was committed to it), and deliveries were still claimed
// and sent beside the new holder's. Now the store takes no more of the pipeline's commits.
describe('createApp: after the store lease is lost', () => {
  it('commits no ingest batch (its messages are not acknowledged) and claims no delivery', async () => {
    const path = tempStorePath();
    const config = oneAssetConfig(path);
    let lost: () => void = () => undefined;
    const leaseLost = new Promise<void>((r) => (lost = r));
    const app = await createApp(config, { sources: false, http: false, deliver: false, logger: createLogger('silent'), command: 'assetbridge quarantine replay', onLeaseLost: () => lost() });
    const other = new SqliteStore({ path });
    try {
      expect((await app.ingestor.submit(positionOf(1))).accepted).toBe(1);
      expect((await other.outboxStats(Date.now())).map((d) => d.pending)).toEqual([1]);
      // Another process takes the store over (this one stalled): its next renewal finds it.
      await takeOver(other);
      await leaseLost;
      await expect(app.ingestor.submit(positionOf(2))).rejects.toThrow(/store lease is lost/);
      expect((await other.counters()).eventsAccepted).toBe(1);
      expect(await app.store.claimDue('erp', Date.now(), 10, new Set())).toEqual([]);
      expect((await other.outboxStats(Date.now())).map((d) => [d.pending, d.inflight])).toEqual([[1, 0]]);
    } finally {
      await other.close();
      await app.close().catch(() => undefined);
    }
  });
});

// Was: the engine went on ticking once a second until the process exited (up to 1 s, while its log
// line was written out): its runtime snapshot overwrote the new holder's, and it took a job the CLI
// had asked of the new holder (deleting the request), which then failed on the refused commits.
describe('createApp: the service after its store lease is lost', () => {
  it('stops ticking at once: it neither overwrites the new holder\'s runtime snapshot nor takes a job meant for it', async () => {
    const path = tempStorePath();
    const config = compileConfig({ store: { path }, destinations: [{ name: 'erp', type: 'rest', baseUrl: 'http://127.0.0.1:9', token: 'x' }], log: { level: 'silent' } });
    let lost: () => void = () => undefined;
    const leaseLost = new Promise<void>((r) => (lost = r));
    const app = await createApp(config, { sources: false, http: false, logger: createLogger('silent'), onLeaseLost: () => lost() });
    const other = new SqliteStore({ path });
    try {
      await app.start();
      expect((await readRuntimeSnapshot(other))?.state).toBe('running');
      const now = await takeOver(other);
      await leaseLost;
      // The new holder's snapshot, and a job the CLI asks of it.
      const theirs = JSON.stringify({ pid: 1, state: 'running', startedAt: now, at: Date.now() });
      await other.kvSet(RUNTIME_NS, 'snapshot', theirs);
      await other.kvSet(CONTROL_NS, 'job-request:j1', JSON.stringify({ name: CHECKPOINT_JOB, args: {} }));
      await new Promise((r) => setTimeout(r, 2500)); // over two ticks
      expect(await other.kvGet(RUNTIME_NS, 'snapshot')).toBe(theirs);
      expect((await other.kvList(CONTROL_NS)).map((e) => e.key)).toEqual(['job-request:j1']);
      expect(app.engine.notReadyReason()).toMatch(/store lease is lost/);
      await app.stop().catch(() => undefined);
      // Nor does its stop write a last snapshot over the new holder's.
      expect(await other.kvGet(RUNTIME_NS, 'snapshot')).toBe(theirs);
    } finally {
      await other.close();
      await app.stop().catch(() => undefined);
    }
  });
});

// Was: the store was told to refuse writes only once this process's next renewal (every 2 s) found
// the lease taken over. In between, a process that had stalled past the lease's lapse went on: it
// committed batches on top of the new holder's state, and it could claim a delivery the new holder's
// start-up recovery had just put back to pending (and send it beside the new holder, a second
// create against an ERP without idempotency keys), or put back one the new holder had in flight.
// Now each of those writes checks, in its own transaction, that the lease still names this process.
describe('createApp: after another process took the store over, before the renewal notices', () => {
  it('commits no batch, claims no delivery and records no outcome', async () => {
    const path = tempStorePath();
    const config = oneAssetConfig(path);
    const app = await createApp(config, { sources: false, http: false, deliver: false, logger: createLogger('silent'), command: 'assetbridge quarantine replay', onLeaseLost: () => undefined });
    const other = new SqliteStore({ path });
    try {
      expect((await app.ingestor.submit(positionOf(1))).accepted).toBe(1);
      const [item] = await app.store.claimDue('erp', Date.now(), 10, new Set());
      expect(item).toBeDefined();
      // Another process takes the store over and, starting, recovers what was in flight.
      await takeOver(other);
      expect(await other.recoverInflight()).toBe(1);
      // This process has not renewed since (its heartbeat is 2 s away).
      await expect(app.ingestor.submit(positionOf(2))).rejects.toThrow(/store lease/);
      expect((await other.counters()).eventsAccepted).toBe(1);
      expect(await app.store.claimDue('erp', Date.now(), 10, new Set())).toEqual([]);
      await expect(app.store.completeAttempts([{ id: (item as { id: number }).id, result: 'retry', nextAttemptAt: Date.now() + 60_000, error: 'timeout' }], [], Date.now())).rejects.toThrow(/store lease/);
      expect((await other.outboxStats(Date.now())).map((d) => [d.pending, d.inflight])).toEqual([[1, 0]]);
      // The new holder claims it, as its own (due at once, not pushed back by this process's outcome).
      expect((await other.claimDue('erp', Date.now(), 10, new Set())).map((d) => d.id)).toEqual([(item as { id: number }).id]);
    } finally {
      await other.close();
      await app.close().catch(() => undefined);
    }
  });
});
