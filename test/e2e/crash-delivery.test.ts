/**
 * Crash during ERP delivery (invariants 1 and 3), at a known instant: `assetbridge run` is killed
 * with SIGKILL while the ERP holds the work-order create it was sent (a proxy in front of the ERP
 * simulator keeps the request until the test lets it through, then the ERP applies it, as a real
 * one does for a client that went away), then started again. The delivery was in flight in the
 * store at the kill, so the new process sends it again, no earlier than
 * `retry.unknownOutcomeSettleMs` after the start: with the idempotency key it was first sent with
 * (an ERP that honours the header answers it from its idempotency store), or, for an ERP without
 * idempotency support, looking it up before creating it (the held create lands meanwhile). The sender then
 * posts the same events again (at-least-once upstream). The ERP ends with one work order and the
 * location of record: nothing lost, nothing applied twice. Rule state is only in the ingest log at
 * the kill (no checkpoint), so the restart also rebuilds it by replay.
 */
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startErpSimulator, type ErpSimulator } from '../../simulators/erp-rest/erp-simulator.js';
import { freePort, startReadyService, writeConfig, type ServiceProcess } from '../helpers/cli.js';
import { waitFor } from '../helpers/wait.js';

const env = { INTAKE_TOKEN: 'intake-token-crash', ERP_TOKEN: 'erp-token' };
const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

const t0 = Date.now() - 3_600_000;
const at = (s: number) => new Date(t0 + s * 1000).toISOString();
/** A move, then an engine over its threshold (one work order), then the asset's last position. */
const events = [
  { kind: 'position', assetId: 'tag-1', eventTime: at(0), lat: 48.1, lng: 11.5 },
  { kind: 'sensor', assetId: 'tag-1', eventTime: at(10), values: { coolantTemp: { value: 99 } } },
  { kind: 'position', assetId: 'tag-1', eventTime: at(20), lat: 48.2, lng: 11.6 },
];

interface Status {
  readonly outbox: readonly { readonly pending: number; readonly inflight: number; readonly delivered: number; readonly dead: number }[];
}

/**
 * A pass-through proxy to `target` that holds the first work-order create until `release()`, then
 * forwards it whether or not its client is still there.
 */
async function holdingProxy(target: string) {
  let release!: () => void;
  const released = new Promise<void>((r) => (release = r));
  let held = false;
  const read = async (req: IncomingMessage) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    return Buffer.concat(chunks);
  };
  const server = createServer((req, res) => {
    void (async () => {
      const body = await read(req);
      if (req.method === 'POST' && req.url === '/api/v1/work-orders' && !held) {
        held = true;
        await released;
      }
      const headers = Object.fromEntries(Object.entries(req.headers).filter(([k]) => !['host', 'connection', 'content-length'].includes(k))) as Record<string, string>;
      const answer = await fetch(`${target}${req.url ?? '/'}`, { method: req.method ?? 'GET', headers, ...(body.length ? { body } : {}) });
      const text = await answer.text();
      if (res.destroyed) return;
      res.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? 'application/json' });
      res.end(text);
    })().catch(() => res.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    held: () => held,
    release,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

async function setup(idempotency: boolean, settle: number) {
  const erp: ErpSimulator = await startErpSimulator({ token: env.ERP_TOKEN, idempotency });
  cleanup.push(() => erp.close());
  const proxy = await holdingProxy(erp.url);
  cleanup.push(() => proxy.close());
  cleanup.push(() => Promise.resolve(proxy.release()));
  const port = await freePort();
  const cfg = writeConfig({
    store: { path: 'ab.db' },
    sources: { http: { token: '${INTAKE_TOKEN}' } },
    destinations: [
      {
        name: 'erp',
        type: 'rest',
        baseUrl: proxy.url,
        token: '${ERP_TOKEN}',
        idempotencySupported: idempotency,
        timeoutMs: '30s',
        retry: { baseDelayMs: '100ms', maxDelayMs: '500ms', unknownOutcomeSettleMs: `${settle}ms` },
      },
    ],
    assets: { inline: [{ erpAssetId: 'EQ-1', identifiers: [{ type: 'tag', value: 'tag-1' }] }] },
    // No checkpoint before the kill: the rule state the restart needs is in the ingest log.
    ingest: { checkpointMs: '1h' },
    rules: {
      allowedLateness: '0s',
      location: { minDistanceM: 10 },
      maintenance: { thresholds: [{ name: 'overheat', sensor: 'coolantTemp', above: 95, clearBelow: 90, for: '0s', severity: 'critical' }] },
    },
    server: { port },
  });
  let svc: ServiceProcess | undefined;
  cleanup.push(async () => svc?.kill9());
  const start = async () => {
    svc = await startReadyService(cfg.path, port, env);
    return svc;
  };
  const post = () =>
    fetch(`http://127.0.0.1:${port}/v1/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${env.INTAKE_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify(events),
    });
  const status = async () => (await (await fetch(`http://127.0.0.1:${port}/v1/status`)).json()) as Status;
  return { erp, proxy, start, post, status };
}

describe.each([
  // The held create lands before the restart; the retry carries the same key.
  { idempotency: true, settle: 1000 },
  // The held create lands only once the service is back and ready (well within the settle time,
  // counted from the start of delivery, just before ready): a lookup before the settle time would
  // miss it and create the work order a second time.
  { idempotency: false, settle: 4000 },
])('kill -9 while the ERP applies a work-order create (idempotency header honoured: $idempotency)', ({ idempotency, settle }) => {
  it('ends with the work order created once and the last location, after a restart and a resend of the events', async () => {
    const { erp, proxy, start, post, status } = await setup(idempotency, settle);
    let svc = await start();
    expect((await post()).status).toBe(202);
    // The create reached the ERP, which holds it: the delivery is in flight when the process dies.
    await waitFor(() => proxy.held(), 'the work-order create to reach the ERP');
    await svc.kill9();
    expect(erp.counters().applied.workOrders).toBe(0);
    if (idempotency) {
      proxy.release();
      await waitFor(() => erp.counters().applied.workOrders === 1, 'the held create to land');
    }
    svc = await start();
    proxy.release();
    // An at-least-once sender posts the same events again.
    expect((await post()).status).toBe(202);
    const drained = await waitFor(async () => {
      const s = (await status()).outbox[0];
      return s !== undefined && s.pending === 0 && s.inflight === 0 ? s : undefined;
    }, 'the outbox to drain');
    expect(drained.dead).toBe(0);

    const state = erp.state();
    expect(state.workOrders.map((w) => w.erpAssetId)).toEqual(['EQ-1']);
    expect(erp.counters()).toMatchObject({ duplicateWorkOrders: 0, duplicateInventoryCounts: 0, duplicateUsagePostings: 0 });
    expect(state.locations['EQ-1']?.coordinates).toEqual({ lat: 48.2, lng: 11.6 });
    // The create was sent again after the restart, and that took no second effect.
    if (idempotency) expect(erp.counters().duplicatesSuppressed).toBeGreaterThanOrEqual(1);
    expect(erp.counters().applied.workOrders).toBe(1);
    expect(await svc.stop()).toBe(0);
  }, 60_000);
});
