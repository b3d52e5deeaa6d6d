/**
 * Crash-consistency harness (test tooling, run by hand; not part of `npm test`).
 *
 *   npm run build && node dist/test/chaos/crash-compare.js [--seed 7] [--kills 12] [--assets 40] [--messages 6000]
 *     [--lateness 30s] [--keep-delivered] [--keep] [--no-idempotency] [--only burst|inventory|prune|backup|delivery|checkpoint]
 *
 * Runs the real service (`assetbridge run`) on the same deterministic MQTT input (the fleet
 * simulator, through the Mosquitto broker on 127.0.0.1:1883, with a topic prefix and client ids of
 * its own) twice against the REST ERP simulator (inventory taken as deltas, latency, lost responses
 * and 503s injected): once uninterrupted, once killed with SIGKILL at many moments (ingest bursts,
 * checkpoints, in-flight deliveries, inventory runs, a period-end usage posting, `store prune` and
 * `store backup`), plus a SIGTERM under load. After all input is processed it compares what the
 * ERP received and the rule state stored, and exits 1 on any difference. With `--no-idempotency`
 * the simulator ignores the idempotency header and the destination says so
 * (`idempotencySupported: false`): every create is looked up before it is made.
 * @module
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import mqtt from 'mqtt';
import { stringify } from 'yaml';
import { startErpSimulator, type ErpSimulator } from '../../simulators/erp-rest/erp-simulator.js';
import { createFleet, fleetAssets, fleetDecoderConfig } from '../../simulators/fleet/index.js';
import { DEFAULT_ZONES } from '../../simulators/fleet/zones.js';
import type { AddressInfo } from 'node:net';

/** This file runs built, from dist/test/chaos/. */
const CLI = resolve(import.meta.dirname, '../../src/cli/main.js');
const { values: args } = parseArgs({
  options: {
    seed: { type: 'string', default: '7' },
    kills: { type: 'string', default: '12' },
    assets: { type: 'string', default: '40' },
    messages: { type: 'string', default: '6000' },
    url: { type: 'string', default: 'mqtt://127.0.0.1:1883' },
    keep: { type: 'boolean', default: false },
    only: { type: 'string' },
    lateness: { type: 'string', default: '0' },
    // The ERP ignores the idempotency header: the connector looks every create up first (find-before-create).
    'no-idempotency': { type: 'boolean', default: false },
    // Delivered rows are pruned 1 s after delivery (store prune has work to do at a kill); with this they are kept, so resends can be counted.
    'keep-delivered': { type: 'boolean', default: false },
  },
});
const SEED = Number(args.seed);
const ASSETS = Number(args.assets);
const TOTAL = Number(args.messages);
const KILLS = Number(args.kills);
const URL_ = args.url;
const run = `chaos${process.pid}`;
const root = mkdtempSync(join(tmpdir(), 'ab-chaos-'));
const log = (...a: unknown[]): void => console.log(new Date().toISOString().slice(11, 23), ...a);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

// A deterministic pseudo-random sequence for the kill schedule (so a failing run can be repeated).
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => ((s = (Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0) / 2 ** 32);
}

// ---- input: the fleet's messages, event times spanning a fiscal period boundary ----
// Stream of TOTAL messages, one every STEP ms of event time, ending 5 minutes ago; its middle is a
// local midnight in a fixed-offset zone chosen so that the period boundary falls inside it.
const STEP = 500;
const end = Date.now() - 5 * 60_000;
const boundary = Math.floor((end - (TOTAL * STEP) / 2) / 3_600_000) * 3_600_000;
const t0 = boundary - Math.floor((TOTAL * STEP) / 2);
// local = UTC + offsetH, one of the zones Etc/GMT offers (−12 … +14): boundary is local midnight.
const boundaryHour = new Date(boundary).getUTCHours();
const offsetH = boundaryHour === 0 ? 0 : 24 - boundaryHour <= 14 ? 24 - boundaryHour : -boundaryHour;
const tz = offsetH === 0 ? 'UTC' : offsetH > 0 ? `Etc/GMT-${offsetH}` : `Etc/GMT+${-offsetH}`;
const localDay = (ms: number): string => new Date(ms + offsetH * 3_600_000).toISOString().slice(0, 10);
const P1 = localDay(boundary - 1);
const P2 = localDay(boundary);
const fleet = createFleet({ assets: ASSETS, seed: SEED, topicPrefix: run, badShare: 0.01, badKinds: ['garbage', 'unknown-tag', 'out-of-range'], overheatShare: 0.03 });
const messages = Array.from({ length: TOTAL }, (_, i) => fleet.next(t0 + i * STEP));

function config(dir: string, erpUrl: string, port: number, clientId: string): object {
  const assets = fleetAssets(fleet).map((a, i) => ({
    ...a,
    attributes: { ...a.attributes, expectedUnits: '20000', ...(i % 2 ? { sku: `SKU-${i % 3}` } : {}) },
  }));
  return {
    store: { path: join(dir, 'store.db'), retention: { delivered: args['keep-delivered'] ? 0 : '1s', audit: '1s' } },
    sources: { mqtt: [{ name: 'fleet', url: URL_, clientId, protocolVersion: 5, reconnectDelayMs: '300ms', topics: [{ filter: `${run}/+/telemetry`, decoder: fleetDecoderConfig }] }] },
    destinations: [
      {
        name: 'erp',
        type: 'rest',
        baseUrl: erpUrl,
        token: 'erp-token',
        batch: { maxSize: 5 },
        rateLimit: { requestsPerMinute: 60_000, maxConcurrency: 6 },
        // Without idempotency support, longer than the 2 s the ERP holds requests at a 'delivery' kill.
        retry: { baseDelayMs: '50ms', maxDelayMs: '500ms', unknownOutcomeSettleMs: args['no-idempotency'] ? '3s' : '1s' },
        circuitBreaker: { failureThreshold: 50, openMs: '500ms' },
        timeoutMs: '3s',
        ...(args['no-idempotency'] ? { idempotencySupported: false } : {}),
      },
    ],
    assets: { inline: assets },
    ingest: { checkpointMs: '700ms' },
    rules: {
      allowedLateness: args.lateness,
      idleAfter: args.lateness === '0' ? 0 : '1h',
      location: { minDistanceM: 100, heartbeatMs: '10m' },
      zones: { inline: DEFAULT_ZONES.map((z, i) => ({ name: z.name, locationCode: `LOC-${i}`, circle: { lat: z.lat, lng: z.lng, radiusM: z.radiusM } })), enterDwellMs: '20s', exitDwellMs: '40s', hysteresisM: 25 },
      maintenance: {
        thresholds: [{ name: 'engine-hot', sensor: 'engineTempC', above: 96.5, clearBelow: 90, for: '0s', cooldown: '10m', severity: 'critical', title: 'Engine overheating' }],
        serviceIntervals: [{ name: 'svc-1h', everyHours: 1 }],
      },
      inventory: { skuAttribute: 'sku', freshness: '24h', changesEvery: '1500ms', fullSnapshotCron: '0 3 1 1 *' },
      depreciation: { timeZone: tz, periods: [{ id: P1, start: P1 }, { id: P2, start: P2 }], periodsEnd: localDay(boundary + 2 * 86_400_000), postAfter: '30d', checkEvery: '1h' },
    },
    server: { port },
    log: { level: 'warn' },
  };
}

// ---- processes ----
interface CliRun {
  readonly code: number | null;
  readonly sig: NodeJS.Signals | null;
  readonly out: string;
}

/** Runs the CLI to its end. */
function cli(argv: readonly string[]): Promise<CliRun> {
  return cliHandle(argv).done;
}

/** Starts the CLI: the process, and its end. */
function cliHandle(argv: readonly string[]): { child: ChildProcess; done: Promise<CliRun> } {
  {
    const child = spawn(process.execPath, [CLI, ...argv], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const done = new Promise<CliRun>((r) => child.on('exit', (code, sig) => r({ code, sig, out })));
    return { child, done };
  }
}

async function freePort(): Promise<number> {
  return new Promise((res) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as AddressInfo).port;
      s.close(() => res(p));
    });
  });
}

interface Status {
  readonly counters: { readonly eventsAccepted: number; readonly quarantined: number };
  readonly outbox?: readonly { readonly pending: number; readonly inflight?: number }[];
}

/** One `assetbridge run`, started again after each kill. */
class Service {
  out = '';
  private child: ChildProcess | undefined;
  private exited: Promise<{ code: number | null; sig: NodeJS.Signals | null }> = Promise.resolve({ code: null, sig: null });

  constructor(
    readonly cfgPath: string,
    readonly port: number,
    readonly label: string,
  ) {}

  async start(): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      const child = spawn(process.execPath, [CLI, 'run', '-c', this.cfgPath], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ASSETBRIDGE_LOG_LEVEL: 'warn' } });
      this.child = child;
      child.stdout.on('data', (d: Buffer) => (this.out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (this.out += d.toString()));
      this.exited = new Promise((r) => child.on('exit', (code, sig) => r({ code, sig })));
      const deadline = Date.now() + 60_000;
      while (Date.now() < deadline) {
        const gone = await Promise.race([this.exited, sleep(100).then(() => undefined)]);
        if (gone) break;
        try {
          const r = await fetch(`http://127.0.0.1:${this.port}/readyz`);
          if (r.status === 200) return;
        } catch {
          /* not listening yet */
        }
      }
      const gone = await Promise.race([this.exited, sleep(10).then(() => undefined)]);
      if (gone && attempt < 20 && /holds the store|lease|in use/i.test(this.out)) {
        await sleep(1000); // the killed holder's lease: a new start is refused until it lapses
        continue;
      }
      throw new Error(`${this.label}: service did not become ready:\n${this.out.slice(-3000)}`);
    }
  }
  async kill9(): Promise<void> {
    this.child?.kill('SIGKILL');
    await this.exited;
  }
  async term(): Promise<{ code: number | null; sig: NodeJS.Signals | null }> {
    this.child?.kill('SIGTERM');
    return this.exited;
  }
  async status(): Promise<Status> {
    const r = await fetch(`http://127.0.0.1:${this.port}/v1/status`);
    return (await r.json()) as Status;
  }
}

// ---- one run ----
interface RunResult {
  readonly state: ReturnType<ErpSimulator['state']>;
  readonly counters: ReturnType<ErpSimulator['counters']>;
  readonly ruleState: { erp_asset_id: string; rule: string; doc: string }[];
  readonly resent: number;
  readonly dead: number;
  readonly kills: number;
}

async function oneRun(label: string, chaos: boolean): Promise<RunResult> {
  const dir = join(root, label);
  mkdirSync(dir);
  const erp = await startErpSimulator({ token: 'erp-token', inventoryTakes: 'delta', seed: SEED, ...(args['no-idempotency'] ? { idempotency: false } : {}) });
  erp.faults.add({ kind: 'latency', latencyMs: 250, probability: 0.15 });
  erp.faults.add({ kind: 'lost-response', probability: 0.03 });
  erp.faults.add({ kind: 'error', status: 503, probability: 0.02 });
  const port = await freePort();
  const cfgPath = join(dir, 'assetbridge.yaml');
  writeFileSync(cfgPath, stringify(config(dir, erp.url, port, `ab-${run}-${label}`)));
  const svc = new Service(cfgPath, port, label);
  await svc.start();
  const pub = await mqtt.connectAsync(URL_, { clientId: `pub-${run}-${label}`, clean: true, protocolVersion: 5 });
  const topicOf = (m: { topic: string }): string => m.topic.replace(/^[^/]+/, run);
  let sent = 0;
  const publish = async (n: number): Promise<void> => {
    const ps: Promise<unknown>[] = [];
    for (let k = 0; k < n && sent < TOTAL; k++, sent++) {
      const m = messages[sent] as (typeof messages)[number];
      ps.push(pub.publishAsync(topicOf(m), m.payload, { qos: 1 }));
    }
    await Promise.all(ps);
  };
  const received = async () => (await svc.status()).counters;
  // Mosquitto queues at most 1000 messages per client while it is away: stay below that.
  const caughtUp = async (slack: number): Promise<void> => {
    for (const deadline = Date.now() + 120_000; Date.now() < deadline; await sleep(100)) {
      const c = await received();
      if (c.eventsAccepted + c.quarantined >= sent - slack) return;
    }
    throw new Error(`${label}: service did not catch up`);
  };
  const r = rng(SEED * 31 + 1);
  const CHUNK = 200;
  const chunks = Math.ceil(TOTAL / CHUNK);
  const killAt = new Set<number>();
  if (chaos) while (killAt.size < Math.min(KILLS, chunks - 1)) killAt.add(1 + Math.floor(r() * (chunks - 1)));
  const moments = ['burst', 'burst', 'inventory', 'prune', 'backup', 'delivery', 'checkpoint'];
  let kills = 0;
  let termDone = false;
  for (let c = 0; c < chunks; c++) {
    if (!killAt.has(c)) {
      await publish(CHUNK);
      await caughtUp(600);
      continue;
    }
    const moment = (args.only) ?? moments[kills % moments.length];
    kills++;
    const delay = Math.floor(r() * 250);
    if (moment === 'burst') {
      const p = publish(CHUNK);
      await sleep(delay);
      await svc.kill9();
      await p;
    } else if (moment === 'inventory') {
      await publish(CHUNK);
      await cli(['inventory', 'snapshot', '-c', cfgPath]);
      await sleep(1000 + delay * 4); // the next changesEvery run makes the snapshot
      await svc.kill9();
    } else if (moment === 'prune' || moment === 'backup') {
      await publish(CHUNK);
      const argv = moment === 'prune' ? ['store', 'prune', '-c', cfgPath] : ['store', 'backup', join(dir, `backup-${c}.db`), '-c', cfgPath];
      const h = cliHandle(argv);
      await sleep(delay);
      await svc.kill9();
      if (r() < 0.5) h.child.kill('SIGKILL');
      const res = await h.done;
      if (res.code !== 0 && res.sig !== 'SIGKILL') log(`${label}: ${argv.slice(0, 2).join(' ')} during the kill: exit ${res.code}: ${res.out.trim().slice(0, 300)}`);
    } else if (moment === 'delivery') {
      erp.faults.add({ kind: 'latency', latencyMs: 2000, count: 10 });
      await publish(CHUNK);
      await sleep(300 + delay);
      await svc.kill9();
    } else if (moment === 'checkpoint') {
      await publish(CHUNK);
      await sleep(700 + delay); // around checkpointMs
      await svc.kill9();
    }
    log(`${label}: SIGKILL #${kills} (${moment}, +${delay} ms) after ${sent} messages`);
    await svc.start();
    await caughtUp(600);
    if (!termDone && kills === Math.floor(KILLS / 2)) {
      termDone = true;
      const p = publish(CHUNK);
      await sleep(50);
      const t = await svc.term();
      await p;
      log(`${label}: SIGTERM under load: exit ${t.code}`);
      if (t.code !== 0) log(svc.out.slice(-2000));
      await svc.start();
    }
  }
  await caughtUp(0);
  // Everything accepted: wait for the outbox to drain and an inventory run after the last change.
  const drained = async (): Promise<Status> => {
    for (const deadline = Date.now() + 120_000; Date.now() < deadline; await sleep(250)) {
      const s = await svc.status();
      const d = (s.outbox ?? []).reduce((n, o) => n + o.pending + (o.inflight ?? 0), 0);
      if (d === 0) return s;
    }
    throw new Error(`${label}: outbox did not drain`);
  };
  await sleep(4000);
  await drained();
  // The period-end usage posting, on demand (postAfter keeps the task from doing it at its own time).
  if (chaos) {
    const h = cliHandle(['depreciation', 'post', '--period', P1, '-c', cfgPath]);
    await sleep(300);
    await svc.kill9();
    const res = await h.done;
    log(`${label}: SIGKILL during depreciation post: ${res.out.split('\n')[0]}`);
    await svc.start();
  }
  // The service posts from its own state: stop it (checkpoint), post, start again to deliver.
  const post = await cli(['depreciation', 'post', '--period', P1, '-c', cfgPath]);
  log(`${label}: depreciation post: ${post.out.split('\n')[0]}`);
  await sleep(3000);
  await drained();
  const stop = await svc.term();
  if (stop.code !== 0) log(`${label}: final stop exit ${stop.code}\n${svc.out.slice(-2000)}`);
  await pub.endAsync();
  const state = erp.state();
  const counters = erp.counters();
  await erp.close();
  const db = new Database(join(dir, 'store.db'), { readonly: true });
  const ruleState = db.prepare('SELECT erp_asset_id, rule, doc FROM asset_rule_state ORDER BY 1, 2').all() as RunResult['ruleState'];
  const resent = db.prepare(`SELECT COUNT(*) FROM outbox WHERE resend = 1 AND status = 'delivered'`).pluck().get() as number;
  const dead = db.prepare(`SELECT COUNT(*) FROM outbox WHERE status = 'dead'`).pluck().get() as number;
  db.close();
  return { state, counters, ruleState, resent, dead, kills };
}

// ---- comparison ----
type Table = Record<string, string | number>;

function summarize(r: RunResult): Record<'wo' | 'loc' | 'meters' | 'inv' | 'usage' | 'usageCount' | 'rules', Table> {
  const s = r.state;
  const wo: Record<string, number> = {};
  for (const w of s.workOrders) wo[w.externalKey ?? w.id] = (wo[w.externalKey ?? w.id] ?? 0) + 1;
  const loc = Object.fromEntries(Object.entries(s.locations).map(([k, v]) => [k, JSON.stringify({ l: v.warehouseLocation, c: v.coordinates, t: v.lastSeen })]));
  // Meter readings are state: coalesced while the ERP lags, so only the latest per asset must match.
  const meters: Table = {};
  const latest: Record<string, (typeof s.meterReadings)[number]> = {};
  for (const m of s.meterReadings) if (!latest[m.erpAssetId] || (latest[m.erpAssetId]?.readingAt ?? '') < m.readingAt) latest[m.erpAssetId] = m;
  for (const [k, m] of Object.entries(latest)) meters[k] = `${m.readingAt} ${String(m.operatingHours)}`;
  // A cell counted at 0 is the same as one never counted (which cells had items for a moment depends on when inventory runs came).
  const inv = Object.fromEntries(Object.entries(s.inventory).filter(([, v]) => v.quantity !== 0).map(([k, v]) => [k, v.quantity]));
  const usage: Table = {};
  for (const u of s.usagePostings) usage[`${u.erpAssetId}|${u.period}`] = `${u.periodUnits}/${String(u.lifeToDateUnits)}`;
  const usageCount: Record<string, number> = {};
  for (const u of s.usagePostings) usageCount[`${u.erpAssetId}|${u.period}`] = (usageCount[`${u.erpAssetId}|${u.period}`] ?? 0) + 1;
  const rules = Object.fromEntries(r.ruleState.map((x) => [`${x.erp_asset_id}|${x.rule}`, x.doc]));
  return { wo, loc, meters, inv, usage, usageCount, rules };
}

function diff(name: string, a: Table, b: Table, problems: string[], limit = 5): void {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  let n = 0;
  for (const k of [...keys].sort()) {
    if (a[k] === b[k]) continue;
    if (n++ < limit) problems.push(`${name} ${k}: baseline ${String(a[k]).slice(0, 300)} / chaos ${String(b[k]).slice(0, 300)}`);
  }
  if (n > limit) problems.push(`${name}: ${n - limit} more differences`);
}

log(`root ${root}; ${TOTAL} messages from ${ASSETS} assets, event time ${new Date(t0).toISOString()} … ${new Date(t0 + TOTAL * STEP).toISOString()}, periods ${P1}/${P2} in ${tz}`);
const base = await oneRun('baseline', false);
log(`baseline: ${base.state.workOrders.length} work orders, ${Object.keys(base.state.locations).length} locations, ${base.state.meterReadings.length} meter readings, ${base.state.usagePostings.length} usage postings, applied ${JSON.stringify(base.counters.applied)}`);
const chaos = await oneRun('chaos', true);
log(`chaos: ${chaos.kills} kills; ${chaos.state.workOrders.length} work orders, applied ${JSON.stringify(chaos.counters.applied)}, duplicates suppressed ${chaos.counters.duplicatesSuppressed}, duplicate state writes ${chaos.counters.duplicateStateWrites} (resent ${chaos.resent})`);
const A = summarize(base);
const B = summarize(chaos);
const problems: string[] = [];
for (const [name, r] of [['baseline', base], ['chaos', chaos]] as const) {
  if (r.counters.duplicateWorkOrders) problems.push(`${name}: ${r.counters.duplicateWorkOrders} duplicate work orders at the ERP`);
  if (r.counters.duplicateInventoryCounts) problems.push(`${name}: ${r.counters.duplicateInventoryCounts} duplicate inventory counts at the ERP`);
  if (r.counters.duplicateUsagePostings) problems.push(`${name}: ${r.counters.duplicateUsagePostings} duplicate usage postings at the ERP`);
  if (r.counters.outOfOrderStateWrites) problems.push(`${name}: ${r.counters.outOfOrderStateWrites} older state written over newer`);
  // Resends are counted from delivered outbox rows, which retention deletes unless --keep-delivered.
  // Without idempotency support a location PATCH sent again after an unknown outcome writes the same value again, by design.
  if (args['keep-delivered'] && !args['no-idempotency'] && r.counters.duplicateStateWrites > r.resent) problems.push(`${name}: ${r.counters.duplicateStateWrites} duplicate state writes, only ${r.resent} resends`);
  if (r.dead) problems.push(`${name}: ${r.dead} dead letters`);
  // A run that posted no usage compared nothing of the period-end posting: the harness's periods are wrong.
  if (r.state.usagePostings.length === 0) problems.push(`${name}: no usage posted for period ${P1} (${tz}): the period-end posting was not exercised`);
  for (const [k, v] of Object.entries(summarize(r).usageCount)) if (Number(v) > 1) problems.push(`${name}: usage ${k} posted ${v} times`);
  for (const [k, v] of Object.entries(summarize(r).wo)) if (Number(v) > 1) problems.push(`${name}: work order ${k} created ${v} times`);
}
diff('work order', A.wo, B.wo, problems);
diff('location', A.loc, B.loc, problems);
diff('meter reading', A.meters, B.meters, problems);
diff('on hand', A.inv, B.inv, problems);
diff('usage', A.usage, B.usage, problems);
diff('rule state', A.rules, B.rules, problems);
if (problems.length) {
  console.log(`\nDIFFERENCES (${problems.length}):\n${problems.join('\n')}`);
  console.log(`stores kept in ${root}`);
  process.exit(1);
}
console.log(`\nOK: the crashed run's ERP and rule state match the uninterrupted run's (${root}${args.keep ? '' : ', removed'})`);
if (!args.keep) rmSync(root, { recursive: true, force: true });
process.exit(0);
