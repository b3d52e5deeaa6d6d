import { describe, expect, it } from 'vitest';
import type { IsAlive, LeaseHolder } from '../../engine/store-lease.js';
import { circuitLines, depreciationLine, failingTaskLines, unfilteredPollLines, heldMessagesText, lastCheckpointText, noDeliveriesText, runningService, serviceState, sourcesLine, stalledService, staleLease, staleText, telematicsLines, type Vantage } from './status.js';
import type { PullSummary } from '../../adapters/telematics/aemp/fleet-pull.js';
import { snapshotRequestedText } from './inventory.js';
import { LEASE_KEY, LEASE_NS } from '../../engine/store-lease.js';
import { readRuntimeSnapshot, RUNTIME_NS } from '../../engine/engine.js';

const NOW = Date.parse('2026-12-01T13:00:00Z');
const SPACE = 'boot-1 pid:[4026531836]';
const holder = (pid: number, host: string): LeaseHolder => ({ pid, host, instance: 'i', command: 'assetbridge run', since: NOW - 60_000, heartbeat: NOW - 1_000, pidSpace: SPACE });
/** Looking from host `host`, in the holders' pid namespace (its pids can be checked here). */
const at = (host: string, isAlive: IsAlive): Vantage => ({ host, pidSpace: SPACE, isAlive });
const snap = (pid: number) => ({ pid, state: 'running', at: NOW - 1_000 });

describe('status: is the service up, and who holds the store', () => {
  it('a running service on this host is up and holds the store', () => {
    expect(serviceState(snap(42), holder(42, 'vm'), NOW, at('vm', () => true))).toEqual({ live: true, starting: false, stopping: false, holder: holder(42, 'vm') });
  });

  it('a service killed on this host (kill -9: its pid is gone) is neither up nor holding the store, however fresh its last snapshot and lease', () => {
    expect(serviceState(snap(42), holder(42, 'vm'), NOW, at('vm', () => false))).toEqual({ live: false, starting: false, stopping: false, holder: undefined });
  });

  it('a holder on another host cannot be checked from here: it holds the store until its lease goes stale', () => {
    expect(serviceState(snap(42), holder(42, 'other'), NOW, at('vm', () => false))).toEqual({ live: true, starting: false, stopping: false, holder: holder(42, 'other') });
  });

  // A broker down at start kept the service "starting" (delivering, taking HTTP intake) while status said "not running".
  it('a service whose source is still connecting at start is starting: up, but no running service to hand work to', () => {
    const starting = { pid: 42, state: 'starting', at: NOW - 1_000 };
    expect(serviceState(starting, holder(42, 'vm'), NOW, at('vm', () => true))).toEqual({ live: false, starting: true, stopping: false, holder: holder(42, 'vm') });
    expect(serviceState(starting, holder(42, 'vm'), NOW, at('vm', () => false))).toEqual({ live: false, starting: false, stopping: false, holder: undefined });
  });

  it("a holder whose pid another process has now (started since, as its recorded start time says) is no holder: not running, a stale lease", () => {
    // Was: the pid alone was checked, so a pid reused after a crash read as "running (pid …) but not answering".
    const crashed = { ...holder(42, 'vm'), started: '1000' };
    // Pid 42 lives, but the process with it started at 2000: another one.
    const isAlive = (pid: number, started?: string) => pid === 42 && (started === undefined || started === '2000');
    const stillRunning = { pid: 42, state: 'running', at: NOW - 60_000 };
    expect(serviceState(snap(42), crashed, NOW, at('vm', isAlive))).toEqual({ live: false, starting: false, stopping: false, holder: undefined });
    expect(stalledService(stillRunning, crashed, NOW, at('vm', isAlive))).toBeUndefined();
    expect(staleLease(crashed, NOW, at('vm', isAlive))).toEqual(crashed);
    expect(staleText(crashed, NOW, at('vm', isAlive))).toBe('assetbridge run (pid 42 on vm) held the store and has ended without letting go, as at a crash; pid 42 is gone or now another process\'s. The next start takes the lease over');
    // The same process (its start time as recorded), or none recorded (no /proc where it ran): the pid decides, as before.
    expect(staleLease({ ...crashed, started: '2000' }, NOW, at('vm', isAlive))).toBeUndefined();
    expect(stalledService(stillRunning, holder(42, 'vm'), NOW, at('vm', isAlive))).toEqual({ pid: 42, lastSeenMs: 60_000, stopping: false });
  });

  it('a lease on another host is stale once it has not been renewed for over 30 s', () => {
    expect(staleLease(holder(42, 'other'), NOW, at('vm', () => true))).toBeUndefined();
    const old = { ...holder(42, 'other'), heartbeat: NOW - 31_000 };
    expect(staleLease(old, NOW, at('vm', () => true))).toEqual(old);
    expect(staleText(old, NOW, at('vm', () => true))).toBe('assetbridge run (pid 42 on other) held the store and has not renewed its lease for 31 s, as a process that ended does not. The next start takes the lease over');
  });

  // Was: a holder on this host was judged by its pid alone, so from a sibling container given the
  // same hostname (another pid namespace, where the service's pid is not seen) a live service read
  // as "not running (stale lease: … pid 42 is gone …)", though the next start would wait for it.
  it('from another pid namespace on the same host the pid cannot be checked: the holder counts by its renewals, as the next start judges it', () => {
    const sibling: Vantage = { host: 'vm', pidSpace: 'boot-1 pid:[4026532999]', isAlive: () => false };
    expect(serviceState(snap(42), holder(42, 'vm'), NOW, sibling)).toEqual({ live: true, starting: false, stopping: false, holder: holder(42, 'vm') });
    expect(staleLease(holder(42, 'vm'), NOW, sibling)).toBeUndefined();
    // A holder that recorded no namespace (an older version, no /proc) cannot be checked either.
    const { pidSpace: _none, ...unrecorded } = holder(42, 'vm');
    expect(serviceState(snap(42), unrecorded, NOW, at('vm', () => false)).live).toBe(true);
    // Not renewed for over 6 s (SAME_HOST_GONE_MS), its pid not seen here: gone, as the next start takes it over.
    const lapsed = { ...holder(42, 'vm'), heartbeat: NOW - 7_000 };
    expect(serviceState(snap(42), lapsed, NOW, sibling)).toEqual({ live: false, starting: false, stopping: false, holder: undefined });
    expect(staleLease(lapsed, NOW, sibling)).toEqual(lapsed);
    expect(staleText(lapsed, NOW, sibling)).toBe(
      'assetbridge run (pid 42 on vm) held the store and has not renewed its lease for 7 s, as a process that ended does not (its pid cannot be checked from here: another container with this hostname, or a process before a restart). The next start takes the lease over',
    );
    // A service that stalled (cannot write the store) in the sibling: running but not answering while its lease holds.
    const stalled = { pid: 42, state: 'running', at: NOW - 20_000 };
    expect(stalledService(stalled, { ...holder(42, 'vm'), heartbeat: NOW - 4_000 }, NOW, sibling)).toEqual({ pid: 42, lastSeenMs: 20_000, stopping: false });
    expect(stalledService(stalled, lapsed, NOW, sibling)).toBeUndefined();
  });

  // Was: the engine wrote no snapshot once its stop began, so through a long stop status said
  // "running", then "running but not answering … (a full disk …)" of a service stopping as asked.
  it('a service stopping as asked (its fresh snapshot says draining) is stopping: neither running nor not answering', () => {
    const draining = { pid: 42, state: 'draining', at: NOW - 1_000 };
    expect(serviceState(draining, holder(42, 'vm'), NOW, at('vm', () => true))).toEqual({ live: false, starting: false, stopping: true, holder: holder(42, 'vm') });
    expect(serviceState({ ...draining, at: NOW - 6_000 }, holder(42, 'vm'), NOW, at('vm', () => true)).stopping).toBe(false);
  });

  // Was: a draining snapshot gone stale (a stop that cannot write the store) was no stalled service:
  // status said "not running", then "store in use by" the very process that was stopping.
  it('a service stopping whose snapshot went stale while it still holds the store is stopping but not answering; once gone, nothing', () => {
    const draining = { pid: 42, state: 'draining', at: NOW - 20_000 };
    expect(stalledService(draining, holder(42, 'vm'), NOW, at('vm', () => true))).toEqual({ pid: 42, lastSeenMs: 20_000, stopping: true });
    expect(stalledService(draining, holder(42, 'vm'), NOW, at('vm', () => false))).toBeUndefined();
    expect(stalledService(draining, holder(43, 'vm'), NOW, at('vm', () => true))).toBeUndefined();
  });

  it('a snapshot older than 5 s is not a running service', () => {
    expect(serviceState({ pid: 42, state: 'running', at: NOW - 6_000 }, undefined, NOW, at('vm', () => true))).toEqual({ live: false, starting: false, stopping: false, holder: undefined });
  });
});

describe('a running service, for commands that hand it work (inventory snapshot)', () => {
  const kv = (entries: Record<string, unknown>) => ({ kvGet: (ns: string, key: string) => Promise.resolve(entries[`${ns}/${key}`] === undefined ? undefined : JSON.stringify(entries[`${ns}/${key}`])) });
  const up = { [`${RUNTIME_NS}/snapshot`]: snap(42), [`${LEASE_NS}/${LEASE_KEY}`]: holder(42, 'vm') };

  it('is the service whose snapshot is fresh, and none when it stopped, was killed or never ran', async () => {
    expect(await runningService(kv(up), NOW, at('vm', () => true))).toEqual({ pid: 42 });
    expect(await runningService(kv(up), NOW, at('vm', () => false))).toBeUndefined(); // killed: its pid is gone
    expect(await runningService(kv({ [`${RUNTIME_NS}/snapshot`]: { ...snap(42), state: 'stopped' } }), NOW, at('vm', () => true))).toBeUndefined();
    expect(await runningService(kv({}), NOW, at('vm', () => true))).toBeUndefined();
  });

  it('a snapshot this version cannot read (damaged, or without its pid, state or time) is no running service, not a crash', async () => {
    const raw = (text: string) => ({ kvGet: (ns: string, key: string) => Promise.resolve(ns === RUNTIME_NS && key === 'snapshot' ? text : ns === LEASE_NS ? JSON.stringify(holder(42, 'vm')) : undefined) });
    expect(await readRuntimeSnapshot(raw(JSON.stringify(snap(42))))).toEqual(snap(42));
    for (const text of ['{"pid":42,"state":"run', 'null', '[]', '{"pid":"42","state":"running","at":1}', JSON.stringify({ pid: 42, state: 'running' })]) {
      expect(await readRuntimeSnapshot(raw(text))).toBeUndefined();
      expect(await runningService(raw(text), NOW, at('vm', () => true))).toBeUndefined();
    }
  });

  it('inventory snapshot says who sends the counts: the running service, or the next one to start', () => {
    expect(snapshotRequestedText({ pid: 42 }, 60_000)).toBe('full snapshot requested: the running service (pid 42) sends every count with its next inventory run, within 60 s (rules.inventory.changesEvery)\n');
    expect(snapshotRequestedText(undefined, 60_000)).toBe(
      "full snapshot requested, not sent yet: no service is running on this store. The request is kept: the service sends every count with its first inventory run after it starts ('assetbridge run'), within 60 s (rules.inventory.changesEvery) of the start\n",
    );
  });
});

describe('status: the sources of a running service', () => {
  it('names each source and whether it is connected; one that is not is in capitals with what happens next', () => {
    expect(sourcesLine({ 'mqtt:yard': { connected: true }, 'mqtt:gate': { connected: false } })).toBe(
      'sources: mqtt:yard connected, mqtt:gate NOT CONNECTED (reconnecting every sources.mqtt[].reconnectDelayMs; the service log says why)\n',
    );
    expect(sourcesLine({ 'mqtt:yard': { connected: true } })).toBe('sources: mqtt:yard connected\n');
    // With the latest connection error, under the key of the broker's URL.
    expect(sourcesLine({ 'mqtt:gate': { connected: false, connectionError: { key: 'sources.mqtt.1.url', error: 'connect ECONNREFUSED 127.0.0.1:1884' } } })).toBe(
      'sources: mqtt:gate NOT CONNECTED (sources.mqtt.1.url: connect ECONNREFUSED 127.0.0.1:1884) (reconnecting every sources.mqtt[].reconnectDelayMs; the service log says why)\n',
    );
  });

  it('names each subscription a broker refused, with its key, the answer and where to look', () => {
    expect(sourcesLine({ 'mqtt:yard': { connected: true, refusedSubscriptions: [{ filter: 'yard/secret/+', key: 'sources.mqtt.0.topics.1.filter', reason: 'reason code 0x87 (Not authorized)' }] } })).toBe(
      'sources: mqtt:yard connected\n' +
        'source mqtt:yard: the broker refused the subscription to "yard/secret/+" (sources.mqtt.0.topics.1.filter): reason code 0x87 (Not authorized); nothing matching it arrives: check the broker\'s ACL for this source\'s client (the service log says more)\n',
    );
  });

  it('says nothing without sources that can tell (HTTP intake only)', () => {
    expect(sourcesLine({})).toBe('');
  });
});

describe('status: scheduled tasks that fail', () => {
  it('names each task whose latest runs failed, how many in a row and the latest failure; nothing while every task runs', () => {
    expect(failingTaskLines({ 'maintenance-feedback': { runs: 9, failures: 7, failingRuns: 6, error: 'work-order poll failed for erp: ECONNREFUSED 127.0.0.1:4010' }, 'store-retention': { runs: 1, failures: 0, failingRuns: 0 } })).toBe(
      'task maintenance-feedback FAILING: its last 6 run(s) failed: work-order poll failed for erp: ECONNREFUSED 127.0.0.1:4010 (the service log has the first at error)\n',
    );
    expect(failingTaskLines({ 'store-retention': { runs: 3, failures: 1, failingRuns: 0, lastSuccessAt: 1 } })).toBe('');
  });

  it('says of a task whose last run stopped to retry later (a pull waiting for its budget) that it will retry, not that it fails', () => {
    expect(failingTaskLines({ 'aemp-pull:trackunit': { runs: 2, failures: 0, failingRuns: 0, retrying: 'trackunit: fleet pull stopped waiting for request budget: …' } })).toBe(
      'task aemp-pull:trackunit will retry: its last run stopped before it finished (not a failure): trackunit: fleet pull stopped waiting for request budget: …\n',
    );
  });
});

describe('status: work-order polls the ERP does not filter', () => {
  it('names each destination whose polls list changes older than they asked for, since when and how many polls; nothing when none', () => {
    const u = { since: NOW - 2 * 3_600_000, polls: 24, count: 180, of: 181, oldest: Date.parse('2024-01-05T10:00:00Z'), cursor: NOW - 300_000 };
    expect(unfilteredPollLines({ erp: u }, NOW)).toBe(
      `work-order poll of erp NOT FILTERED: 24 poll(s) since 2026-12-01T11:00:00.000Z (2.0 h ago) listed work orders changed before the time they asked from (the last: 180 of the 181 it listed, the oldest changed at 2024-01-05T10:00:00.000Z, for updatedSince=2026-12-01T12:55:00.000Z): the ERP ignores ?updatedSince=, so every poll reads its whole work-order list; the service log's warning says what to set\n`,
    );
    expect(unfilteredPollLines({}, NOW)).toBe('');
  });
});

describe('status: why a circuit is open', () => {
  it('names, per destination whose circuit is not closed, the failure that keeps it so', () => {
    const m = (circuit: 'open' | 'half-open' | 'closed', circuitError?: string) => ({ circuit, ...(circuitError ? { circuitError } : {}) });
    expect(circuitLines({ erp: m('open', 'PATCH /x → 401 unauthorized'), wms: m('closed'), sap: m('half-open', 'connection-refused') })).toBe(
      "circuit erp open: PATCH /x → 401 unauthorized\ncircuit sap half-open (the next delivery tries the destination; one that succeeds closes it): connection-refused\n(the latest failure; 'assetbridge audit' lists every attempt)\n",
    );
    expect(circuitLines({ wms: m('closed') })).toBe('');
  });
});

describe('status: the period-end usage posting', () => {
  const at = Date.parse('2026-12-03T08:00:00Z');
  it("says what the service's last check did (queued postings, or nothing new) and through which period, and names the assets held back with why (the first ten, then how many more)", () => {
    expect(depreciationLine({ at, through: '2026-11', heldCount: 0, held: [], postings: 40 }, undefined, at + 5 * 60_000)).toBe("depreciation: the service's last check (5 min ago) queued 40 usage posting(s), posted through 2026-11\n");
    // A check that posted nothing does not read as if it had.
    expect(depreciationLine({ at, through: '2026-11', heldCount: 0, held: [], postings: 0 }, undefined, at + 5 * 60_000)).toBe("depreciation: the service's last check (5 min ago) posted nothing new (usage posted through 2026-11 already)\n");
    // A record an older version wrote (no count).
    expect(depreciationLine({ at, through: '2026-11', heldCount: 0, held: [] }, undefined, at + 5 * 60_000)).toBe("depreciation: the service's last check (5 min ago) usage posted through 2026-11\n");
    const held = Array.from({ length: 10 }, (_, i) => `EQ-${i}: attribute "expectedUnits" (0) must be more than 0`);
    expect(depreciationLine({ at, through: '2026-11', heldCount: 12, held, postings: 0 }, undefined, at + 30_000)).toBe(
      `depreciation: the service's last check (30 s ago) posted nothing new (usage posted through 2026-11 already); 12 asset(s) held back: ${held.join('; ')}; and 2 more ('assetbridge depreciation preview --period 2026-11' notes each)\n`,
    );
  });

  it('includes a period posted on demand with depreciation post, also with no check of the service yet', () => {
    const posted = { at: at + 60_000, period: '2026-12', postings: 3 };
    expect(depreciationLine({ at, through: '2026-11', heldCount: 0, held: [], postings: 0 }, posted, at + 5 * 60_000)).toBe(
      "depreciation: the service's last check (5 min ago) posted nothing new (usage posted through 2026-11 already); 'depreciation post --period 2026-12' queued 3 posting(s) 4 min ago\n",
    );
    expect(depreciationLine(undefined, posted, at + 5 * 60_000)).toBe("depreciation: 'depreciation post --period 2026-12' queued 3 posting(s) 4 min ago\n");
    // A check that found no period to post yet (a new store before its first period end) is a check too.
    expect(depreciationLine({ at, heldCount: 0, held: [], postings: 0 }, undefined, at + 5 * 60_000)).toBe(
      "depreciation: the service's last check (5 min ago) found no period to post yet (none ended rules.depreciation.postAfter ago or more)\n",
    );
    expect(depreciationLine(undefined, undefined, at)).toBe('');
  });
});

describe("status: the running service's last checkpoint of rule state", () => {
  it('one commit: how long it took; one spread over batches: over how many, and the longest', () => {
    expect(lastCheckpointText({ storedAt: NOW - 3_000, ms: 42, assets: 80 }, NOW)).toBe("rule state: last checkpoint 3 s ago stored 80 assets' state in 42 ms (ingest.checkpointMs, ingest.checkpointMessages, ingest.checkpointMessagesPerAsset)\n");
    expect(lastCheckpointText({ storedAt: NOW - 3_000, ms: 61, assets: 20_000, parts: 16 }, NOW)).toBe(
      "rule state: last checkpoint 3 s ago stored 20000 assets' state over 16 batches (the longest took 61 ms) (ingest.checkpointMs, ingest.checkpointMessages, ingest.checkpointMessagesPerAsset)\n",
    );
    // One asset, one batch: no "1 asset(s)' state", no "1 batches".
    expect(lastCheckpointText({ storedAt: NOW - 3_000, ms: 5, assets: 1, parts: 1 }, NOW)).toBe(
      "rule state: last checkpoint 3 s ago stored 1 asset's state over 1 batch (the longest took 5 ms) (ingest.checkpointMs, ingest.checkpointMessages, ingest.checkpointMessagesPerAsset)\n",
    );
  });

  // "1 messages' changes held in memory": the count now agrees with its noun.
  it('the messages held in memory or left in the ingest log, one or many', () => {
    expect(heldMessagesText(1, 'running')).toBe("rule state: 1 message's changes held in memory until the next checkpoint (ingest.checkpointMs)\n");
    expect(heldMessagesText(3, 'running')).toBe("rule state: 3 messages' changes held in memory until the next checkpoint (ingest.checkpointMs)\n");
    expect(heldMessagesText(1, 'stopping')).toBe("rule state: 1 message's changes held in memory; the stop stores them (its last checkpoint)\n");
    expect(heldMessagesText(1, 'stalled-stopping')).toBe("rule state: 1 message's changes held in memory; the stop stores them if it can write the store (its last checkpoint), else the next start replays them from the ingest log\n");
    expect(heldMessagesText(1, 'stopped')).toBe('rule state: 1 message in the ingest log from a run that did not stop cleanly; the next start replays them\n');
    expect(heldMessagesText(2, 'stopped')).toBe('rule state: 2 messages in the ingest log from a run that did not stop cleanly; the next start replays them\n');
  });
});

describe('status: telematics feeds', () => {
  const pull = (over: Partial<PullSummary>): PullSummary => ({
    provider: 'trackunit', startedAt: NOW - 3_600_000, finishedAt: NOW - 3_590_000, elapsedMs: 10_000, pages: 3, equipment: 250, duplicates: 0, matched: 3, unmatched: 246, ambiguous: 1,
    resolvedFromReview: 0, accepted: 3, quarantined: 0, requests: 3, http429: 0, reserveUsed: 0, complete: true, stop: 'last-page', notes: [], ...over,
  });

  // status said nothing of the feeds: a pull failing every night (credentials expired) or leaving machines unmatched showed nowhere.
  it("shows each feed's last pull: when, what it matched, and that it stopped and why", () => {
    expect(telematicsLines([{ name: 'trackunit', last: pull({}) }])).toBe(
      "telematics trackunit: last pull 2026-12-01T12:00:00.000Z, 3 page(s), 250 machine(s): 3 matched, 247 waiting for review ('assetbridge assets unmatched'); complete\n",
    );
    expect(telematicsLines([{ name: 'trackunit', last: pull({ complete: false, stop: 'error', error: 'password token request refused (HTTP 400)', pages: 0, equipment: 0, matched: 0, unmatched: 0, ambiguous: 0 }) }])).toBe(
      "telematics trackunit: last pull 2026-12-01T12:00:00.000Z, 0 page(s), 0 machine(s): 0 matched; STOPPED (error: password token request refused (HTTP 400); 'assetbridge aemp budget' says where the next pull resumes)\n",
    );
    expect(telematicsLines([{ name: 'cat' }])).toBe("telematics cat: never pulled ('assetbridge aemp pull --provider cat', or the service's schedule)\n");
    expect(telematicsLines([])).toBe('');
  });

  // A pull stopped by the hop cap said nothing of it: no error to show, so not what to raise either.
  it('shows what to raise for a pull stopped at the hop cap', () => {
    const rerun = ['kept: 2 page(s) of this snapshot', 'the next pull resumes at https://x/Fleet/3 if it starts before 2026-12-02T00:00:00.000Z', 'fix first: raise telematics.0.profile.maxPages (2) above the fleet\'s number of pages'];
    expect(telematicsLines([{ name: 'trackunit', last: pull({ complete: false, stop: 'hop-cap', pages: 2, rerun }) }])).toContain(
      "; STOPPED (hop-cap: fix first: raise telematics.0.profile.maxPages (2) above the fleet's number of pages; 'assetbridge aemp budget' says where the next pull resumes)\n",
    );
  });
});

describe('status: no deliveries yet', () => {
  // A first message published showed "no deliveries yet" and nothing more for the ~2 min the rules hold it: it looked broken.
  it('once messages were accepted, says which the rules may hold and for how long, naming the keys', () => {
    expect(noDeliveriesText(0, { allowedLateness: 30_000, idleAfter: 120_000 })).toBe('no deliveries yet\n');
    // Positions without zones and meter readings are not held: only work orders and other facts wait.
    expect(noDeliveriesText(1, { allowedLateness: 30_000, idleAfter: 120_000 })).toBe(
      'no deliveries yet: the rules may still hold the 1 message(s) accepted: positions and meter readings go at once; work orders and other facts once the rules decide them, rules.allowedLateness (30 s) after their events, or for an asset that falls silent about 2 min after its last message (rules.idleAfter); deliveries follow\n',
    );
    expect(noDeliveriesText(2, { allowedLateness: 60_000, idleAfter: 0 })).toContain('at its next message (rules.idleAfter is 0)');
  });

  it('with zones, positions wait too; meter readings still go at once', () => {
    const text = noDeliveriesText(3, { allowedLateness: 30_000, idleAfter: 120_000, zones: { zones: [{}] } });
    expect(text).toContain('the rules may still hold the 3 message(s) accepted: meter readings go at once; positions (rules.zones is set), work orders and other facts once the rules decide them, rules.allowedLateness (30 s) after their events');
    // A zones section with no zones in it holds no position.
    expect(noDeliveriesText(3, { allowedLateness: 30_000, idleAfter: 120_000, zones: { zones: [] } })).toContain('positions and meter readings go at once');
  });

  it('with rules.allowedLateness 0 and no zones, says nothing is held rather than a wait that does not come', () => {
    expect(noDeliveriesText(4, { allowedLateness: 0, idleAfter: 120_000 })).toBe(
      'no deliveries yet: the 4 message(s) accepted made none (the rules decide events as they arrive: rules.allowedLateness is 0)\n',
    );
  });
});
