/**
 * One pipeline per embedded store: the lease between processes. Two SqliteStore objects on one
 * file stand in for two processes (pid, host and instance are injected).
 */
import { spawnSync } from 'node:child_process';
import { renameSync, rmSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../adapters/log/logger.js';
import { SqliteStore } from '../adapters/store/sqlite/sqlite-store.js';
import { createApp } from '../app.js';
import { compileConfig } from '../config/load.js';
import { tempStorePath } from '../../test/helpers/temp-store.js';
import { useTempStores } from '../../test/helpers/temp-stores.js';
import { LEASE_KEY, LEASE_NS, leaseVerdict, pidAlive, pidSpace, processStartTime, releaseLeasesNow, SAME_HOST_GONE_MS, StoreBusyError, StoreLease, STALE_MS, type LeaseHolder, type LeaseOptions } from './store-lease.js';

const logger = createLogger('silent');
const NOW = Date.UTC(2026, 11, 1, 8);
const holder = (over: Partial<LeaseHolder> = {}): LeaseHolder => ({ pid: 100, host: 'h1', instance: 'i1', command: 'assetbridge run', since: NOW - 60_000, heartbeat: NOW - 1000, ...over });

describe('leaseVerdict', () => {
  const me = { pid: 200, host: 'h1', instance: 'i2' };
  const alive = () => true;
  const dead = () => false;

  it('is free when nobody holds it, when this process does, or when the holder is gone', () => {
    expect(leaseVerdict(undefined, me, NOW, alive)).toEqual({ free: true, why: 'absent' });
    expect(leaseVerdict(holder({ pid: 200, instance: 'i2' }), me, NOW, alive)).toEqual({ free: true, why: 'ours' });
    // Its pid gone, once it has stopped renewing for three heartbeats (else see below).
    expect(leaseVerdict(holder({ heartbeat: NOW - SAME_HOST_GONE_MS - 1 }), me, NOW, dead)).toEqual({ free: true, why: 'holder-gone' });
    // Our pid, another instance: an earlier process with this pid (a restarted container's pid 1).
    expect(leaseVerdict(holder({ pid: 200, heartbeat: NOW - SAME_HOST_GONE_MS - 1 }), me, NOW, alive)).toEqual({ free: true, why: 'holder-gone' });
    expect(leaseVerdict(holder({ heartbeat: NOW - STALE_MS - 1 }), me, NOW, alive)).toEqual({ free: true, why: 'stale' });
  });

  it('keeps others out while the holder lives; a holder on another host is waited for, not probed', () => {
    expect(leaseVerdict(holder(), me, NOW, alive)).toEqual({ free: false, wait: false });
    expect(leaseVerdict(holder({ host: 'h2' }), me, NOW, dead)).toEqual({ free: false, wait: true });
    expect(leaseVerdict(holder({ host: 'h2', heartbeat: NOW - STALE_MS - 1 }), me, NOW, alive)).toEqual({ free: true, why: 'stale' });
  });

  // Two containers given one hostname (compose's `hostname:`) each see the other's pid in their
  // own pid namespace: pid 1 of the other looks like an earlier process of their own. Taken at
  // once, the live holder stopped, restarted and took it back, for ever.
  it('a holder on this host whose pid is gone, or is ours, that still renews is waited for, not taken over', () => {
    expect(leaseVerdict(holder(), me, NOW, dead)).toEqual({ free: false, wait: true });
    expect(leaseVerdict(holder({ pid: 200 }), me, NOW, alive)).toEqual({ free: false, wait: true });
    expect(leaseVerdict(holder({ pid: 200, heartbeat: NOW - SAME_HOST_GONE_MS }), me, NOW, alive)).toEqual({ free: false, wait: true });
    // Another pid namespace recorded: still waited for.
    expect(leaseVerdict(holder({ pidSpace: 'boot ns-a' }), { ...me, pidSpace: 'boot ns-b' }, NOW, dead)).toEqual({ free: false, wait: true });
  });

  it('a holder on this host in this pid namespace (same boot) is checked at once: gone when its pid is, kept while it lives', () => {
    const here = { ...me, pidSpace: 'boot ns' };
    expect(leaseVerdict(holder({ pidSpace: 'boot ns' }), here, NOW, dead)).toEqual({ free: true, why: 'holder-gone' });
    expect(leaseVerdict(holder({ pid: 200, pidSpace: 'boot ns' }), here, NOW, alive)).toEqual({ free: true, why: 'holder-gone' });
    expect(leaseVerdict(holder({ pidSpace: 'boot ns' }), here, NOW, alive)).toEqual({ free: false, wait: false });
    // Another host with the same namespace text (another machine) is not probed.
    expect(leaseVerdict(holder({ host: 'h2', pidSpace: 'boot ns' }), here, NOW, dead)).toEqual({ free: false, wait: true });
  });
});

describe('pidAlive: a pid, and the process that had it', () => {
  it("reads a process's start time from /proc/<pid>/stat, a command with spaces and parentheses in its name too", () => {
    const stat = (comm: string) => `4242 (${comm}) S 1 4242 4242 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 1 0 987654 1000 100 18446744073709551615`;
    expect(processStartTime(4242, () => stat('node'))).toBe('987654');
    expect(processStartTime(4242, () => stat('a (b) c'))).toBe('987654');
    expect(processStartTime(4242, () => { throw Object.assign(new Error('no /proc'), { code: 'ENOENT' }); })).toBeUndefined();
  });

  it('a live pid with another start time than recorded is another process (the pid reused): not alive', () => {
    // Was: the pid alone, so a crashed holder's pid given to another process read as a live holder.
    expect(pidAlive(process.pid, 'recorded', () => 'now another')).toBe(false);
    expect(pidAlive(process.pid, 'recorded', () => 'recorded')).toBe(true);
    // No start time recorded, or none readable here (no /proc): the pid decides.
    expect(pidAlive(process.pid, undefined, () => 'now another')).toBe(true);
    expect(pidAlive(process.pid, 'recorded', () => undefined)).toBe(true);
  });

  it.skipIf(processStartTime(process.pid) === undefined)('records the start time with the lease, and a holder restarted under its pid is not taken for it (Linux)', async () => {
    const path = tempStorePath();
    const store = new SqliteStore({ path, commitInWorker: false });
    try {
      const lease = await StoreLease.acquire(store, { command: 'assetbridge run', path, logger: createLogger('silent') });
      const held = JSON.parse((await store.kvGet(LEASE_NS, LEASE_KEY)) ?? '{}') as LeaseHolder;
      expect(held.started).toBe(processStartTime(process.pid));
      expect(pidAlive(held.pid, held.started)).toBe(true);
      await lease.release();
      // A lease whose pid is this process's parent (alive) but recorded with another start: its process ended.
      const reused: LeaseHolder = { pid: process.ppid, host: 'h', instance: 'other', command: 'assetbridge run', since: 0, heartbeat: 1_000, started: 'not-its-start' };
      expect(leaseVerdict(reused, { pid: process.pid, host: 'h', instance: 'me' }, 2_000, pidAlive)).toEqual({ free: false, wait: true });
      expect(leaseVerdict({ ...reused, started: processStartTime(process.ppid) as string }, { pid: process.pid, host: 'h', instance: 'me' }, 2_000, pidAlive)).toEqual({ free: false, wait: false });
    } finally {
      await store.close();
    }
  });
});

describe('StoreLease on a real store', () => {
  const newStore = useTempStores();
  const open = (path: string) => newStore({ path });
  const opts = (path: string, over: Partial<LeaseOptions> = {}): LeaseOptions => ({ command: 'assetbridge run', path, logger, heartbeatMs: 60_000, ...over });
  const stored = async (s: SqliteStore) => {
    const raw = await s.kvGet(LEASE_NS, LEASE_KEY);
    return raw === undefined ? undefined : (JSON.parse(raw) as LeaseHolder);
  };

  it('refuses a second process while the first lives, naming it and what to do; free again after release', async () => {
    const path = tempStorePath();
    const a = open(path);
    const b = open(path);
    const first = await StoreLease.acquire(a, opts(path, { pid: 1, host: 'h', instance: 'x' }));
    expect(await stored(a)).toMatchObject({ pid: 1, host: 'h', command: 'assetbridge run' });
    const second = StoreLease.acquire(b, opts(path, { pid: 2, host: 'h', instance: 'y', command: 'assetbridge quarantine replay', isAlive: (pid) => pid === 1 }));
    await expect(second).rejects.toThrow(StoreBusyError);
    // Named as the other store errors name it, with the setting that points there.
    await expect(second).rejects.toThrow(`the store ${path} (store.path) is in use by assetbridge run`);
    await expect(second).rejects.toThrow(/in use by assetbridge run \(pid 1 on h, since .*\)\. One process at a time .* stop that one first, or give this one its own store\.path/);
    await first.release();
    expect(await stored(a)).toBeUndefined();
    const again = await StoreLease.acquire(b, opts(path, { pid: 2, host: 'h', instance: 'y' }));
    expect(await stored(a)).toMatchObject({ pid: 2, instance: 'y' });
    await again.release();
  });

  // A service waiting at start for a broker that is down took no command's work, yet the refusal
  // said such commands "go through a running service by themselves", to the user of one of them.
  it('refusing a command while the holder is a service still starting, says what it waits for and to try again once it runs', async () => {
    const path = tempStorePath();
    const a = open(path);
    const first = await StoreLease.acquire(a, opts(path, { pid: 1, host: 'h', instance: 'x' }));
    const step = 'connecting source mqtt:yard (the log says why, if it cannot)';
    await a.kvSet(LEASE_NS, 'snapshot', JSON.stringify({ pid: 1, state: 'starting', startStep: step, at: Date.now() }));
    const second = StoreLease.acquire(open(path), opts(path, { pid: 2, host: 'h', instance: 'y', command: 'assetbridge quarantine replay', isAlive: (pid) => pid === 1 }));
    await expect(second).rejects.toThrow(
      /in use by assetbridge run \(pid 1 on h, since .*\), which is still starting: connecting source mqtt:yard \(the log says why, if it cannot\)\. One process at a time runs the pipeline on an embedded store; once that one runs, quarantine replay, maintenance complete and the aemp commands go through it by themselves \(try them again then/,
    );
    // A second service is told to stop the first (it would not take the second's work), and what the first waits for.
    const service = StoreLease.acquire(open(path), opts(path, { pid: 2, host: 'h', instance: 'y', isAlive: (pid) => pid === 1 }));
    await expect(service).rejects.toThrow(
      /in use by assetbridge run \(pid 1 on h, since .*\), which is still starting: connecting source mqtt:yard \(the log says why, if it cannot\)\. One process at a time runs the pipeline on an embedded store: stop that one first, or give this one its own store\.path/,
    );
    await expect(service).rejects.not.toThrow(/try them again then/);
    // Running (or a stale snapshot): the usual refusal.
    await a.kvSet(LEASE_NS, 'snapshot', JSON.stringify({ pid: 1, state: 'starting', startStep: step, at: Date.now() - 10_000 }));
    await expect(StoreLease.acquire(open(path), opts(path, { pid: 2, host: 'h', instance: 'y', isAlive: (pid) => pid === 1 }))).rejects.toThrow(/s ago\)\. One process at a time .* stop that one first/);
    await first.release();
  });

  // A service that stopped writing its status (a full disk, a hang) or is stopping: a command that
  // hands its work to a running service was told to "stop that one first", and that "commands such
  // as quarantine replay ... go through a running service by themselves", to the user of one of them.
  it('refusing a command that needs no service stopped, while that service does not answer or is stopping, says so and when to run it again', async () => {
    const path = tempStorePath();
    const a = open(path);
    const first = await StoreLease.acquire(a, opts(path, { pid: 1, host: 'h', instance: 'x' }));
    const replay = () => StoreLease.acquire(open(path), opts(path, { pid: 2, host: 'h', instance: 'y', command: 'assetbridge quarantine replay', isAlive: (pid) => pid === 1 }));
    await a.kvSet(LEASE_NS, 'snapshot', JSON.stringify({ pid: 1, state: 'running', at: Date.now() - 10_000 }));
    const stalled = replay();
    await expect(stalled).rejects.toThrow(StoreBusyError);
    await expect(stalled).rejects.toThrow(
      /in use by assetbridge run \(pid 1 on h, since .*\), which does not answer: its status was last written 10 s ago, as when it cannot write the store \(a full disk, a read-only volume; its log and \/readyz say why\)\. assetbridge quarantine replay needs no service stopped: run it again once 'assetbridge status' says the service runs$/,
    );
    await a.kvSet(LEASE_NS, 'snapshot', JSON.stringify({ pid: 1, state: 'draining', at: Date.now() }));
    await expect(replay()).rejects.toThrow(/, which is stopping\. assetbridge quarantine replay needs no service stopped \(it works with a running one, and alone with none\): run it again once that one has stopped/);
    // A second service is still told to stop the first.
    await expect(StoreLease.acquire(open(path), opts(path, { pid: 2, host: 'h', instance: 'y', isAlive: (pid) => pid === 1 }))).rejects.toThrow(/stop that one first, or give this one its own store\.path/);
    await first.release();
  });

  it('takes over from a holder that died without letting go (its pid is gone on this host) once it has stopped renewing for three heartbeats', async () => {
    const path = tempStorePath();
    const a = open(path);
    let clock = NOW;
    const sleeps: number[] = [];
    const sleep = (ms: number) => {
      sleeps.push(ms);
      clock += ms;
      return Promise.resolve();
    };
    // Its pid namespace not known to be ours (another container with this hostname, or no /proc).
    await StoreLease.acquire(a, opts(path, { pid: 1, host: 'h', instance: 'x', now: () => clock, pidSpace: null })); // never released: a kill -9
    const next = await StoreLease.acquire(open(path), opts(path, { pid: 2, host: 'h', instance: 'y', isAlive: () => false, now: () => clock, heartbeatMs: 2000, sleep, pidSpace: null }));
    expect(await stored(a)).toMatchObject({ pid: 2 });
    expect(sleeps).toEqual([2000, 2000, 2000, 2000]);
    await next.release();
  });

  it.skipIf(pidSpace() === undefined)('takes over at once from a holder killed on this host in this pid namespace (kill -9): no waiting out its renewals; a live one is still refused', async () => {
    // Was: waited for it to stop renewing ("waiting up to 34 s to see whether it is still alive"),
    // although its pid, one of ours, was gone.
    const path = tempStorePath();
    const a = open(path);
    const gone = spawnSync(process.execPath, ['-e', '']).pid; // a process of this host that has ended
    await StoreLease.acquire(a, opts(path, { pid: gone, host: 'h', instance: 'x' })); // never released: a kill -9
    expect((await stored(a))?.pidSpace).toBe(pidSpace());
    const sleeps: number[] = [];
    const warnings: string[] = [];
    const log = createLogger('silent');
    log.warn = (_: unknown, msg?: string) => void warnings.push(msg ?? '');
    const sleep = (ms: number) => {
      sleeps.push(ms);
      return Promise.resolve();
    };
    const next = await StoreLease.acquire(open(path), opts(path, { host: 'h', instance: 'y', heartbeatMs: 2000, sleep, logger: log }));
    expect(sleeps).toEqual([]);
    expect(warnings).toEqual(['took over the store lease from a process that is gone']);
    expect(await stored(a)).toMatchObject({ pid: process.pid, instance: 'y' });
    await next.release();

    // Its pid alive (this process's parent, with its start time): refused at once, not waited for.
    const live = tempStorePath();
    const held = await StoreLease.acquire(open(live), opts(live, { pid: process.ppid, host: 'h', instance: 'x' }));
    await expect(StoreLease.acquire(open(live), opts(live, { host: 'h', instance: 'y', heartbeatMs: 2000, sleep }))).rejects.toThrow(/in use by assetbridge run \(pid \d+ on h/);
    expect(sleeps).toEqual([]);
    await held.release();
  });

  it('two containers with one hostname: a live holder with the same pid (1) keeps the other out, and is not taken over', async () => {
    const path = tempStorePath();
    const a = open(path);
    let clock = NOW;
    const first = await StoreLease.acquire(a, opts(path, { pid: 1, host: 'yard', instance: 'x', now: () => clock, pidSpace: 'boot ns-a' }));
    // It renews while the other waits (its timer, played by the sleep here).
    const renewing = async (ms: number) => {
      clock += ms;
      const raw = (await a.kvGet(LEASE_NS, LEASE_KEY)) as string;
      await a.kvSet(LEASE_NS, LEASE_KEY, JSON.stringify({ ...(JSON.parse(raw) as LeaseHolder), heartbeat: clock }));
    };
    await expect(StoreLease.acquire(open(path), opts(path, { pid: 1, host: 'yard', instance: 'y', now: () => clock, heartbeatMs: 2000, sleep: renewing, pidSpace: 'boot ns-b' }))).rejects.toThrow(/in use by assetbridge run \(pid 1 on yard/);
    expect(await stored(a)).toMatchObject({ pid: 1, instance: 'x' });
    await first.release();
  });

  it('waits for a holder on another host to stop renewing, then takes over; refuses one that keeps renewing', async () => {
    const path = tempStorePath();
    const a = open(path);
    let clock = NOW;
    await StoreLease.acquire(a, opts(path, { pid: 1, host: 'other', instance: 'x', now: () => clock }));
    // Nobody renews it: the waiting process sees it lapse.
    const sleeps: number[] = [];
    const sleep = (ms: number) => {
      sleeps.push(ms);
      clock += ms;
      return Promise.resolve();
    };
    const taken = await StoreLease.acquire(open(path), opts(path, { pid: 2, host: 'h', instance: 'y', now: () => clock, heartbeatMs: 2000, sleep }));
    expect(sleeps.length).toBeGreaterThan(STALE_MS / 2000 - 1);
    expect(await stored(a)).toMatchObject({ pid: 2, host: 'h' });
    await taken.release();

    // A live holder elsewhere renews while we wait: refused once the wait is over.
    await a.kvSet(LEASE_NS, LEASE_KEY, JSON.stringify(holder({ host: 'other', heartbeat: clock })));
    const renewing = async (ms: number) => {
      clock += ms;
      await a.kvSet(LEASE_NS, LEASE_KEY, JSON.stringify(holder({ host: 'other', heartbeat: clock })));
    };
    await expect(StoreLease.acquire(open(path), opts(path, { pid: 2, host: 'h', instance: 'y', now: () => clock, heartbeatMs: 2000, sleep: renewing }))).rejects.toThrow(/in use by assetbridge run \(pid 100 on other/);
  });

  it('renews its heartbeat; notices when another process took the lease over', async () => {
    const path = tempStorePath();
    const a = open(path);
    let clock = NOW;
    let lostCalls = 0;
    const lease = await StoreLease.acquire(a, opts(path, { pid: 1, host: 'h', instance: 'x', now: () => clock, heartbeatMs: 20, onLost: () => lostCalls++ }));
    clock += 5000;
    await expect.poll(async () => (await stored(a))?.heartbeat).toBe(clock);
    expect(lease.isLost).toBe(false);
    await a.kvSet(LEASE_NS, LEASE_KEY, JSON.stringify(holder({ pid: 9, heartbeat: clock })));
    await expect.poll(() => lease.isLost).toBe(true);
    await new Promise((r) => setTimeout(r, 60)); // later renewals do not report it again
    expect(lostCalls).toBe(1);
    await lease.release();
    expect(await stored(a)).toMatchObject({ pid: 9 }); // not ours to remove
  });

  it('says once that it cannot renew (a full disk, every 2 s), with what to do, and when it can again', async () => {
    // Mutation: a warning logged at every renewal that fails the same way.
    const path = tempStorePath();
    const a = open(path);
    const lines: [string, string][] = [];
    const at = (level: string) => (...args: unknown[]) => void lines.push([level, String(args.find((x) => typeof x === 'string'))]);
    const told = { ...logger, warn: at('warn'), info: at('info'), debug: at('debug') } as unknown as LeaseOptions['logger'];
    const lease = await StoreLease.acquire(a, opts(path, { logger: told, heartbeatMs: 10 }));
    const kvCompareAndSet = a.kvCompareAndSet.bind(a);
    a.kvCompareAndSet = () => Promise.reject(Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' }));
    await expect.poll(() => lines.filter(([level]) => level === 'debug').length).toBeGreaterThanOrEqual(3);
    const warned = lines.filter(([level]) => level === 'warn');
    expect(warned).toHaveLength(1);
    expect(warned[0]?.[1]).toMatch(/^could not renew the store lease; trying again; .*store\.path/);
    a.kvCompareAndSet = kvCompareAndSet;
    await expect.poll(() => lines.at(-1)).toEqual(['info', 'renewing the store lease works again']);
    await lease.release();
  });

  it('stops as a crash would when its store file is deleted or replaced under it: SQLite would go on committing to it', async () => {
    const path = tempStorePath();
    const a = open(path);
    const errors: string[] = [];
    const told = { ...logger, error: (msg: string) => void errors.push(msg) } as unknown as LeaseOptions['logger'];
    let lostCalls = 0;
    const lease = await StoreLease.acquire(a, opts(path, { logger: told, heartbeatMs: 20, fileGone: () => a.fileGone(), onLost: () => lostCalls++ }));
    await new Promise((r) => setTimeout(r, 60));
    expect(lease.isLost).toBe(false); // renewing while the file is there
    rmSync(path);
    await expect.poll(() => lease.isLost).toBe(true);
    expect(lostCalls).toBe(1);
    expect(errors).toEqual([expect.stringContaining(`the store file ${path} (store.path) was deleted or moved away while this process ran`) as unknown]);
    await lease.release();

    const b = open(tempStorePath());
    const other = tempStorePath();
    new SqliteStore({ path: other, commitInWorker: false }).db.close();
    renameSync(other, b.db.name); // a copy put in its place while it runs
    expect(b.fileGone()).toBe('replaced by another file');
  });

  it('lets several apps in one process share it; the last to close removes it', async () => {
    const path = tempStorePath();
    const config = compileConfig({ store: { path }, destinations: [{ name: 'erp', type: 'rest', baseUrl: 'http://127.0.0.1:9' }], log: { level: 'silent' } });
    const one = await createApp(config, { sources: false, http: false, logger, command: 'assetbridge quarantine replay' });
    const two = await createApp(config, { sources: false, http: false, logger });
    const peek = open(path);
    expect(await stored(peek)).toMatchObject({ pid: process.pid, command: 'assetbridge quarantine replay' });
    await one.close();
    expect(await stored(peek)).toMatchObject({ pid: process.pid });
    await two.close();
    expect(await stored(peek)).toBeUndefined();
  });
});

describe('releaseLeasesNow (a forced exit)', () => {
  it('removes the lease at once, on this thread; one whose store is locked past the wait is kept, not waited for', async () => {
    releaseLeasesNow(0); // leases the tests before left held (over stores since closed): not this test's
    const path = tempStorePath();
    const store = new SqliteStore({ path, commitInWorker: false });
    const other = new SqliteStore({ path, commitInWorker: false });
    try {
      const lease = await StoreLease.acquire(store, { command: 'assetbridge run', path, logger, atOnce: store });
      // A write lock held (the commit worker in a long checkpoint, here another connection).
      other.db.exec('BEGIN IMMEDIATE');
      expect(releaseLeasesNow(50)).toEqual({ released: 0, kept: 1 });
      other.db.exec('ROLLBACK');
      expect(await store.kvGet(LEASE_NS, LEASE_KEY)).toBeDefined(); // left to lapse, as a crashed holder's
      expect(lease.isLost).toBe(false);

      const again = await StoreLease.acquire(store, { command: 'assetbridge run', path, logger, atOnce: store });
      expect(releaseLeasesNow(50)).toEqual({ released: 1, kept: 0 });
      expect(await store.kvGet(LEASE_NS, LEASE_KEY)).toBeUndefined();
      expect(releaseLeasesNow(50)).toEqual({ released: 0, kept: 0 }); // nothing held any more
      await again.release(); // a graceful stop after it: nothing left to do
    } finally {
      await other.close();
      await store.close();
    }
  });
});

// Was: `store vacuum` ran on the lease holder's thread; run in a worker, its write lock made each
// renewal wait on it (blocking the thread that shows its progress) and fail with a warning.
describe('StoreLease.renewalsHeldDuring', () => {
  it('renews nothing while the work runs, then once at once, and on every heartbeat again', async () => {
    let writes = 0;
    let value: string | undefined;
    const store = {
      kvGet: () => Promise.resolve(value),
      kvCompareAndSet: (_ns: string, _key: string, expected: string | undefined, next: string | undefined) => {
        if (expected !== value) return Promise.resolve(false);
        writes++;
        value = next;
        return Promise.resolve(true);
      },
    };
    const lease = await StoreLease.acquire(store, { command: 'assetbridge store vacuum', path: '/renewals-held.db', logger, heartbeatMs: 5 });
    try {
      await expect.poll(() => writes).toBeGreaterThan(2); // renewing
      let from = -1;
      let during = -1;
      const result = await lease.renewalsHeldDuring(async () => {
        from = writes;
        await new Promise((r) => setTimeout(r, 50)); // ten heartbeats
        during = writes - from;
        return 'done';
      });
      const after = writes;
      expect([result, during, after - from]).toEqual(['done', 0, 1]);
      await expect.poll(() => writes).toBeGreaterThan(after + 1); // renewing again
    } finally {
      await lease.release();
    }
  });
});

// Was: renewals were only held off during `store vacuum`, whose lock keeps the lease (a row of the
// store) from being renewed: 30 s into a long vacuum the lease looked lapsed, and a process on
// another host took the store over the moment the vacuum let go of the lock.
describe('StoreLease.renewalsHeldDuring with a bound', () => {
  it('renews the lease that far ahead before the work: another host sees it held, not lapsed, until then; after, renewed as before', async () => {
    let clock = NOW;
    let value: string | undefined;
    const store = {
      kvGet: () => Promise.resolve(value),
      kvCompareAndSet: (_ns: string, _key: string, expected: string | undefined, next: string | undefined) => {
        if (expected !== value) return Promise.resolve(false);
        value = next;
        return Promise.resolve(true);
      },
    };
    const common = { path: '/renewed-ahead.db', logger, now: () => clock, heartbeatMs: 60_000, pidSpace: null };
    const lease = await StoreLease.acquire(store, { ...common, command: 'assetbridge store vacuum', host: 'vacuum-host', instance: 'v1' });
    const other = () => StoreLease.acquire(store, { ...common, command: 'assetbridge run', host: 'other-host', instance: 'o1', maxWaitMs: 0, sleep: () => Promise.resolve() });
    const holdMs = 10 * 60_000;
    try {
      let refused: unknown;
      await lease.renewalsHeldDuring(async () => {
        expect((JSON.parse(value ?? '{}') as LeaseHolder).heartbeat).toBe(NOW + holdMs);
        // A long vacuum: past STALE_MS with no renewal, but within its bound.
        clock = NOW + STALE_MS + 5 * 60_000;
        refused = await other().then(
          () => 'taken over',
          (err: unknown) => err,
        );
      }, holdMs);
      expect(refused).toBeInstanceOf(StoreBusyError);
      expect((refused as Error).message).toContain(`in use by assetbridge store vacuum (pid ${process.pid} on vacuum-host, since ${new Date(NOW).toISOString()}, holding it without renewals until ${new Date(NOW + holdMs).toISOString()}, as work that locks the store does)`);
      // Renewed at once after the work, to now.
      expect(lease.isLost).toBe(false);
      expect((JSON.parse(value ?? '{}') as LeaseHolder).heartbeat).toBe(clock);
    } finally {
      await lease.release();
    }
    expect(value).toBeUndefined();
  });

  it('does not start the work when the lease is no longer this process\'s', async () => {
    let value: string | undefined;
    const store = {
      kvGet: () => Promise.resolve(value),
      kvCompareAndSet: (_ns: string, _key: string, expected: string | undefined, next: string | undefined) => {
        if (expected !== value) return Promise.resolve(false);
        value = next;
        return Promise.resolve(true);
      },
    };
    let lost = 0;
    const lease = await StoreLease.acquire(store, { command: 'assetbridge store vacuum', path: '/taken.db', logger, heartbeatMs: 60_000, onLost: () => lost++ });
    value = JSON.stringify(holder({ host: 'elsewhere', heartbeat: Date.now() }));
    let ran = false;
    await expect(
      lease.renewalsHeldDuring(() => {
        ran = true;
        return Promise.resolve();
      }, 60_000),
    ).rejects.toThrow(/the store lease of \/taken\.db \(store\.path\) is no longer this process's \(another process took it over\): nothing was done/);
    expect([ran, lost, lease.isLost]).toEqual([false, 1, true]);
    await lease.release();
  });
});
