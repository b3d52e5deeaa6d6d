/**
 * The demo: the real pipeline between simulated systems. An MQTT broker (in-process, or one you
 * name), the REST ERP simulator with a 300 requests/minute limit and a few injected faults, and a
 * simulated fleet moving between zones with some bad messages. Shows live progress, then checks
 * that the ERP's final state matches the fleet's last positions and that every message is either
 * accepted or quarantined. The simulators are test tooling; only this wiring joins them to the
 * product.
 * @module
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { stringify as toYaml } from 'yaml';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createApp, type App } from '../app.js';
import { compileConfig } from '../config/load.js';
import { haversineM } from '../core/rules/geo.js';
import { createLogger, logLevel } from '../adapters/log/logger.js';
import { startEmbeddedBroker } from '../../simulators/mqtt-broker/embedded-broker.js';
import { startErpSimulator, type ErpSimulator } from '../../simulators/erp-rest/erp-simulator.js';
import { createFleet, fleetAssets, fleetMqttSourceConfig, OVERHEAT_ABOVE_C, runFleet, type Fleet } from '../../simulators/fleet/index.js';
import { DEFAULT_SIM_CREDENTIALS, startTrackunitSimulator, type RunningTrackunitSimulator } from '../../simulators/trackunit/simulator.js';
import { machineHeader } from '../../simulators/trackunit/fleet.js';

export interface DemoOptions {
  readonly assets: number;
  readonly durationMs: number;
  readonly ratePerSecond: number;
  readonly badShare: number;
  readonly faults: boolean;
  readonly mqttUrl?: string;
  readonly dataDir?: string;
  readonly erpRatePerMinute: number;
  readonly seed: number;
  /** Also pull this many machines from the Trackunit ISO 15143-3 simulator (0 = off). */
  readonly trackunitMachines: number;
  /** How long to wait for the outbox to drain after the fleet stops. */
  readonly drainTimeoutMs: number;
  /** Share of driving reports with an overheating engine (tests raise it). @default the fleet's */
  readonly overheatShare?: number;
  /** How often the maintenance rule polls the ERP for work-order changes (`rules.maintenance.feedback.pollEvery`; tests shorten it). @default 5m */
  readonly feedbackPollEvery?: string;
  /** How the user runs the CLI, for the closing hint (`node dist/src/cli/main.js` in a checkout). @default assetbridge */
  readonly cli?: string;
  readonly out: NodeJS.WritableStream;
}

export interface DemoResult {
  readonly ok: boolean;
  readonly published: number;
  readonly accepted: number;
  readonly quarantined: number;
  readonly badSent: number;
  readonly erpRequests: number;
  readonly erpLocationWrites: number;
  /** Every write the ERP applied (locations, meter readings, work orders…): what the progress line's "ERP writes applied" counts. */
  readonly erpWrites: number;
  /** 429s the ERP simulator answered. */
  readonly erp429: number;
  /** 429 and 503 answers, each of which paused the destination: what `status` counts as 429/503. */
  readonly erpPausingAnswers: number;
  readonly duplicatesSuppressed: number;
  readonly faultsFired: number;
  readonly deadLetters: number;
  readonly pendingLeft: number;
  readonly assetsChecked: number;
  readonly mismatches: readonly string[];
  /** Work orders at the ERP (one per overheating asset: the rule's cooldown outlasts the demo). */
  readonly workOrders: number;
  /** Assets whose engine ran hotter than the threshold in a good report. */
  readonly overheatedAssets: number;
  /** With --with-trackunit: machines pulled, matched to ERP assets, and synced (location + hours). */
  readonly telematics?: { readonly machines: number; readonly matched: number; readonly synced: number };
}

const MIN_DISTANCE_M = 100;

export async function runDemo(opts: DemoOptions): Promise<DemoResult> {
  const say = (line: string) => opts.out.write(`${line}\n`);
  const dataDir = resolve(opts.dataDir ?? mkdtempSync(join(tmpdir(), 'assetbridge-demo-')));
  mkdirSync(dataDir, { recursive: true }); // --data-dir may name a directory that does not exist yet
  const broker = opts.mqttUrl ? undefined : await startEmbeddedBroker();
  const mqttUrl = opts.mqttUrl ?? (broker as { url: string }).url;
  const erp: ErpSimulator = await startErpSimulator({ ratePerMinute: opts.erpRatePerMinute, token: 'demo-token', seed: opts.seed });
  if (opts.faults) {
    // A flaky ERP: some 503s, some writes applied but their response lost, some slow answers.
    erp.faults.add({ kind: 'error', status: 503, probability: 0.02 });
    erp.faults.add({ kind: 'lost-response', probability: 0.01 });
    erp.faults.add({ kind: 'latency', latencyMs: 300, probability: 0.05 });
  }
  const fleet: Fleet = createFleet({ assets: opts.assets, seed: opts.seed, badShare: opts.badShare, ...(opts.overheatShare !== undefined ? { overheatShare: opts.overheatShare } : {}) });
  // Optional telematics feed: the Trackunit simulator, matched to ERP assets by external reference
  // (machines without one wait in the review list: `assetbridge assets unmatched`).
  const trackunit: RunningTrackunitSimulator | undefined = opts.trackunitMachines > 0 ? await startTrackunitSimulator({ fleetSize: opts.trackunitMachines }) : undefined;
  const tuAssets = trackunit
    ? Array.from({ length: opts.trackunitMachines }, (_, i) => machineHeader(i)).flatMap((h, i) =>
        h.externalReferenceNumber ? [{ erpAssetId: `TU-${String(i).padStart(6, '0')}`, identifiers: [{ type: 'external-ref' as const, value: h.externalReferenceNumber }] }] : [],
      )
    : [];
  const input = {
    store: { path: join(dataDir, 'assetbridge.db'), synchronous: 'normal' },
    sources: { mqtt: [fleetMqttSourceConfig(mqttUrl, { clientId: `assetbridge-demo-${process.pid}`, protocolVersion: broker ? 4 : 5, reconnectDelayMs: '1s' })] },
    destinations: [
      {
        name: 'erp',
        type: 'rest',
        baseUrl: erp.url,
        token: 'demo-token',
        batch: { maxSize: 10 },
        // Deliberately twice the ERP's real limit (as when another integration shares its quota),
        // so the ERP's 429s and our destination-wide pauses show.
        rateLimit: { requestsPerMinute: opts.erpRatePerMinute * 2, maxConcurrency: 4 },
        // The ERP is in-process: a request it has not answered cannot land seconds later.
        retry: { baseDelayMs: '250ms', maxDelayMs: '5s', unknownOutcomeSettleMs: '1s' },
        circuitBreaker: { failureThreshold: 8, openMs: '2s' },
        timeoutMs: '5s',
      },
    ],
    assets: { inline: [...fleetAssets(fleet), ...tuAssets] },
    ...(trackunit
      ? {
          telematics: [
            {
              name: 'trackunit',
              vendor: 'trackunit' as const,
              baseUrl: trackunit.isoBaseUrl,
              auth: { type: 'trackunit-token-v2' as const, clientId: DEFAULT_SIM_CREDENTIALS.v2.clientId, clientSecret: DEFAULT_SIM_CREDENTIALS.v2.clientSecret, tokenUrl: trackunit.tokenV2Url },
              // Pulled once, on demand, below; a real service pulls daily.
              schedule: { cron: '0 3 1 1 *' },
            },
          ],
        }
      : {}),
    rules: {
      // The fleet reports in order per asset; nothing waits for late events, so the check below sees every decision.
      allowedLateness: 0,
      location: { minDistanceM: MIN_DISTANCE_M, heartbeatMs: '10m' },
      // A work order when an engine runs hot: exactly one per asset and episode, through lost
      // responses and retries; the cooldown outlasts the demo, so one per asset here.
      maintenance: {
        thresholds: [{ name: 'engine-overheat', sensor: 'engineTempC', above: OVERHEAT_ABOVE_C, clearBelow: 85, for: '0s', cooldown: '1h', severity: 'critical' as const, title: 'Engine overheating' }],
        ...(opts.feedbackPollEvery !== undefined ? { feedback: { pollEvery: opts.feedbackPollEvery } } : {}),
      },
    },
    server: { port: 0 },
    log: { level: 'warn' as const },
  };
  // The simulators are up: a config they cannot run with must not leave them running.
  let config: ReturnType<typeof compileConfig>;
  try {
    config = compileConfig(input);
  } catch (err) {
    await erp.close();
    if (broker) await broker.close();
    if (trackunit) await trackunit.close();
    throw err;
  }
  // A config beside the store, so `assetbridge status|audit|quarantine list -c <it>` can inspect the run.
  const configFile = join(dataDir, 'assetbridge.yaml');
  writeFileSync(configFile, `# Written by 'assetbridge demo' for inspecting its store; the simulators it names are gone.\n${toYaml(input)}`);
  say(`assetbridge demo: ${opts.assets} simulated assets → MQTT ${mqttUrl}${broker ? ' (in-process broker)' : ''} → pipeline → REST ERP simulator ${erp.url} (${opts.erpRatePerMinute} requests/min${opts.faults ? ', flaky' : ''})`);
  say(`store: ${config.store.path}`);

  let app: App | undefined;
  try {
    app = await createApp(config, { logger: createLogger(logLevel('error')), http: false, command: 'assetbridge demo' });
    await app.start();
    const live = app;
    if (trackunit) {
      say(`pulling ${opts.trackunitMachines} machines from the Trackunit ISO 15143-3 simulator ${trackunit.isoBaseUrl} …`);
      await live.engine.parts.scheduler.runNow('aemp-pull:trackunit');
      await live.ingestor.flush();
    }
    // The fleet's own counts start here (the telematics pull above went through the same ingestor).
    const before = { ...live.ingestor.stats };
    // What the fleet handed over since: not the work-order updates the maintenance feedback poll
    // lists from the ERP (every rules.maintenance.feedback.pollEvery), which the ingestor receives too.
    const fleetReceived = () => live.ingestor.stats.received - live.ingestor.stats.polledReceived - (before.received - before.polledReceived);
    const tty = (opts.out as NodeJS.WriteStream).isTTY === true;
    let lastLine = 0;
    const progress = async (phase: string, published: number) => {
      const stats = live.ingestor.stats;
      const outbox = await live.store.outboxStats(Date.now());
      const queue = outbox.reduce((s, d) => s + d.pending + d.inflight, 0);
      const c = erp.counters();
      const m = live.dispatcher.metrics().erp;
      // The publisher reports every 250 ms: what arrived was published, whatever its last report said.
      const writes = Object.values(c.applied).reduce((n, v) => n + v, 0);
      const received = fleetReceived();
      const line = `${phase} published ${Math.max(published, received)}  in ${received}  accepted ${stats.accepted - before.accepted}  quarantined ${stats.quarantined - before.quarantined}  ERP writes applied ${writes}  requests ${c.requests}  429/503 ${m?.rateLimited ?? 0}  queue ${queue}${m && m.pausedForMs > 0 ? '  (paused)' : ''}`;
      if (tty) opts.out.write(`\r${line.padEnd(150)}`);
      else if (Date.now() - lastLine >= 5000) {
        lastLine = Date.now();
        say(line);
      }
      return queue;
    };
    let published = 0;
    const ticker = setInterval(() => void progress('[fleet]', published), 1000);
    const run = await runFleet({ fleet, url: mqttUrl, ratePerSecond: opts.ratePerSecond, durationMs: opts.durationMs, onProgress: (p) => (published = p.published) });
    clearInterval(ticker);
    published = run.published;

    // Everything the broker took must reach the pipeline: wait for ingest to catch up.
    const ingestDeadline = Date.now() + 30_000;
    while (fleetReceived() < run.published && Date.now() < ingestDeadline) await sleep(100);
    await live.ingestor.flush();
    const drainDeadline = Date.now() + opts.drainTimeoutMs;
    let queue = await progress('[drain]', published);
    while (queue > 0 && Date.now() < drainDeadline) {
      await sleep(500);
      queue = await progress('[drain]', published);
    }
    if (tty) opts.out.write('\n');
    const outbox = await live.store.outboxStats(Date.now());
    const dead = outbox.reduce((s, d) => s + d.dead, 0);
    const after = live.ingestor.stats;
    const stats = { received: fleetReceived(), accepted: after.accepted - before.accepted, quarantined: after.quarantined - before.quarantined };
    await live.stop();
    app = undefined;

    // The check: the ERP's location of record per asset matches the fleet's last good report
    // (same zone, within the sync distance), and every message was accepted or quarantined.
    const state = erp.state();
    const mismatches: string[] = [];
    const last = fleet.lastReported();
    for (const a of fleetAssets(fleet)) {
      const tag = a.identifiers[0]?.value as string;
      const truth = last.get(tag);
      if (!truth) continue;
      const rec = state.locations[a.erpAssetId];
      if (!rec) {
        mismatches.push(`${a.erpAssetId}: no location in the ERP`);
        continue;
      }
      // The demo's fleet sends fixes only: a location without coordinates is a mismatch.
      const d = rec.coordinates ? haversineM(rec.coordinates, truth) : Infinity;
      if ((rec.warehouseLocation ?? undefined) !== truth.zone || d > MIN_DISTANCE_M + 1) {
        mismatches.push(`${a.erpAssetId}: ERP has ${rec.warehouseLocation ?? 'no zone'} ${d.toFixed(0)} m away, fleet last reported ${truth.zone ?? 'in transit'}`);
      }
    }
    const locationMismatches = mismatches.length;
    // Work orders: one per asset that overheated in a good report, none twice (same external key).
    const tagToAsset = new Map(fleetAssets(fleet).map((a) => [a.identifiers[0]?.value as string, a.erpAssetId]));
    const overheated = new Set([...last.values()].filter((r) => r.peakEngineTempC > OVERHEAT_ABOVE_C).map((r) => tagToAsset.get(r.tagId) as string));
    const perKey = new Map<string, number>();
    for (const w of state.workOrders) perKey.set(String(w.externalKey), (perKey.get(String(w.externalKey)) ?? 0) + 1);
    for (const [key, n] of perKey) if (n > 1) mismatches.push(`work order ${key}: ${n} in the ERP`);
    // Every other fact the ERP took twice (the simulator counts them by business key), should the demo's rules send any.
    const twice = erp.counters();
    if (twice.duplicateInventoryCounts > 0) mismatches.push(`inventory counts: ${twice.duplicateInventoryCounts} applied twice in the ERP`);
    if (twice.duplicateUsagePostings > 0) mismatches.push(`usage postings: ${twice.duplicateUsagePostings} posted twice in the ERP`);
    const withWorkOrder = new Set(state.workOrders.map((w) => w.erpAssetId));
    for (const id of overheated) if (!withWorkOrder.has(id)) mismatches.push(`${id}: its engine overheated, but the ERP has no work order`);
    for (const id of withWorkOrder) if (!overheated.has(id)) mismatches.push(`${id}: a work order, but its engine never overheated`);
    let telematics: DemoResult['telematics'];
    if (trackunit) {
      const synced = tuAssets.filter((a) => state.locations[a.erpAssetId] && state.meterReadings.some((m) => m.erpAssetId === a.erpAssetId)).length;
      telematics = { machines: opts.trackunitMachines, matched: tuAssets.length, synced };
      if (synced !== tuAssets.length) mismatches.push(`telematics: only ${synced} of ${tuAssets.length} matched machines reached the ERP with location and hours`);
    }
    const counts = run.counts;
    const badSent = Object.values(counts.bad).reduce((s, n) => s + n, 0);
    const c = erp.counters();
    const result: DemoResult = {
      ok: mismatches.length === 0 && dead === 0 && queue === 0 && stats.received === run.published && stats.quarantined === badSent,
      published: run.published,
      accepted: stats.accepted,
      quarantined: stats.quarantined,
      badSent,
      erpRequests: c.requests,
      erpLocationWrites: c.applied.location,
      erpWrites: Object.values(c.applied).reduce((n, v) => n + v, 0),
      erp429: c.rateLimited,
      erpPausingAnswers: live.dispatcher.metrics().erp?.rateLimited ?? 0,
      duplicatesSuppressed: c.duplicatesSuppressed,
      faultsFired: Object.values(c.faultsFired).reduce((s, n) => s + n, 0),
      deadLetters: dead,
      pendingLeft: queue,
      assetsChecked: last.size,
      workOrders: state.workOrders.length,
      overheatedAssets: overheated.size,
      mismatches,
      ...(telematics ? { telematics } : {}),
    };
    say('');
    say('summary');
    // Per kind, as the ERP simulator counts them: the total is the progress line's "ERP writes applied".
    const kinds = Object.entries(c.applied)
      .filter(([, n]) => n > 0)
      .map(([kind, n]) => `${kind} ${n}`)
      .join(', ');
    const rows: [string, string][] = [
      ['messages published', `${result.published} (${badSent} deliberately bad)`],
      ['accepted / quarantined', `${result.accepted} / ${result.quarantined}${stats.quarantined === badSent ? ' (every bad message quarantined with its reason)' : ' (MISMATCH with bad messages sent)'}`],
      ['ERP requests', `${result.erpRequests} (batched)`],
      ['ERP writes applied', `${result.erpWrites}${kinds ? ` (${kinds}; locations coalesced per asset)` : ''}`],
      ['429/503 answers from the ERP', `${result.erpPausingAnswers} (each paused the destination; nothing lost)`],
      ['ERP faults injected', `${result.faultsFired} (errors, timeouts, dropped connections, slow answers; retried)`],
      ['repeated writes not re-applied', `${result.duplicatesSuppressed} (a retry of a write the ERP had already done, answered from its idempotency key)`],
      ['dead letters / still queued', `${result.deadLetters} / ${result.pendingLeft}`],
      [`work orders (engine > ${OVERHEAT_ABOVE_C} °C)`, `${result.workOrders} for ${result.overheatedAssets} overheating assets${perKey.size === result.workOrders ? ', none duplicated' : ' (DUPLICATES)'}`],
      ['ERP state vs fleet', `${result.assetsChecked - locationMismatches}/${result.assetsChecked} assets match (location)`],
      ...(telematics
        ? [['Trackunit machines', `${telematics.machines} pulled, ${telematics.matched} matched by external reference, ${telematics.synced} with location and hours at the ERP, ${telematics.machines - telematics.matched} awaiting review`] as [string, string]]
        : []),
    ];
    for (const line of summaryTable(rows)) say(line);
    for (const m of mismatches.slice(0, 10)) say(`    ${m}`);
    say(result.ok ? 'demo OK: the ERP matches the fleet, nothing was lost or duplicated' : 'demo FAILED: see above');
    say(`inspect the run: ${opts.cli ?? 'assetbridge'} status --config ${configFile}   (also: audit, quarantine list, dlq list, maintenance status)`);
    return result;
  } finally {
    if (app) await app.stop().catch(() => undefined);
    await erp.close();
    if (broker) await broker.close();
    if (trackunit) await trackunit.close();
  }
}

/** The demo's summary as a table: each label padded to the longest, so every value starts in one column. */
export function summaryTable(rows: readonly (readonly [string, string])[]): string[] {
  const width = Math.max(0, ...rows.map(([label]) => label.length));
  return rows.map(([label, value]) => `  ${label.padEnd(width)}  ${value}`);
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
