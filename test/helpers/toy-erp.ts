/**
 * The smallest connector docs/adding-a-connector.md describes, and its ERP: work orders as JSON over
 * HTTP with an API key, no idempotency key (so each create looks before it creates, by the business
 * key in `ref`), classified with the helpers of `rest/rest-errors.ts`. Run through the connector
 * contract, it keeps the guide's recipe (and the helpers it names) working for a new connector.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PermanentError, type DeliveryError } from '../../src/core/errors/errors.js';
import type { OutboxItem } from '../../src/core/model/delivery.js';
import { createHttpClient, type HttpClient, type HttpResult } from '../../src/adapters/http/http-client.js';
import { classifyNetworkFailure, classifyResponse, conflictMeaning } from '../../src/adapters/erp/rest/rest-errors.js';
import { CallPacing } from '../../src/adapters/erp/call-pacing.js';
import type { ConnectorCapabilities, ErpConnector, ItemResult, SendContext } from '../../src/ports/connector.js';

export class ToyConnector implements ErpConnector {
  readonly name = 'toy';
  readonly capabilities: ConnectorCapabilities = { maxBatchSize: 1, operations: ['workorder.create'], createsRecord: ['workorder.create'] };
  private readonly http: HttpClient;

  constructor(
    private readonly baseUrl: string,
    private readonly apiKey: string,
  ) {
    this.http = createHttpClient({ timeoutMs: 2000, secrets: () => [apiKey] });
  }

  async send(items: readonly OutboxItem[], ctx: SendContext): Promise<ItemResult[]> {
    // Each request of the call waits for the budget (the first goes at once); none after a 429.
    const pacing = new CallPacing(ctx);
    const out: ItemResult[] = [];
    for (const item of items) out.push(await this.sendOne(item, ctx, pacing));
    return out;
  }

  private async sendOne(item: OutboxItem, ctx: SendContext, pacing: CallPacing): Promise<ItemResult> {
    if (item.operation !== 'workorder.create') return { id: item.id, ok: false, error: new PermanentError(`the toy ERP takes no ${item.operation}`) };
    // No idempotency key here: look the business key up before creating (a read: its failure changed nothing).
    const refused = await pacing.next();
    if (refused) return { id: item.id, ok: false, error: refused };
    const lookup = await this.request('GET', `/wo?ref=${encodeURIComponent(item.businessKey)}`, ctx);
    const error = this.classify(lookup, true);
    if (error) {
      pacing.stop(error);
      return { id: item.id, ok: false, exchange: lookup.exchange, error };
    }
    if (lookup.type === 'response' && (JSON.parse(lookup.bodyText) as unknown[]).length > 0) return { id: item.id, ok: true, exchange: lookup.exchange };
    const waited = await pacing.next(); // a second request in one call
    if (waited) return { id: item.id, ok: false, error: waited };
    const created = await this.request('POST', '/wo', ctx, { ref: item.businessKey, asset: item.erpAssetId, title: item.payload.title });
    // A 409 "already exists" of our key is the earlier attempt that landed: delivered.
    if (created.type === 'response' && created.status === 409 && conflictMeaning(created.bodyText, 'auto', true, [item.businessKey]) === 'exists') return { id: item.id, ok: true, exchange: created.exchange };
    const failed = this.classify(created, false);
    if (failed) pacing.stop(failed);
    return failed ? { id: item.id, ok: false, exchange: created.exchange, error: failed } : { id: item.id, ok: true, exchange: created.exchange };
  }

  private request(method: string, path: string, ctx: SendContext, body?: unknown): Promise<HttpResult> {
    const headers = { 'x-api-key': this.apiKey, ...(body === undefined ? {} : { 'content-type': 'application/json' }) };
    return this.http.request({ method, url: `${this.baseUrl}${path}`, headers, signal: ctx.signal, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  }

  private classify(r: HttpResult, read: boolean): DeliveryError | undefined {
    const what = `${r.exchange.method} ${r.exchange.url}`;
    if (r.type === 'failure') return classifyNetworkFailure(r.failure, what, { read });
    return classifyResponse({ status: r.status, retryAfter: r.headers.get('retry-after'), bodyText: r.bodyText }, what, Date.now(), undefined, { read });
  }
}

/** The toy ERP: `GET /wo?ref=`, `POST /wo` (409 for a `ref` it holds), with a lost answer or a 429 on demand. */
export async function startToyErp(apiKey: string): Promise<{ url: string; records: () => number; requests: () => number; loseNextAnswer: () => void; throttleNext: (seconds: number) => void; close: () => Promise<void> }> {
  const records: { ref: string }[] = [];
  let lose = false;
  let throttle: number | undefined;
  let requests = 0;
  const server = createServer((req, res) => {
    requests++;
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const json = (status: number, value: unknown, headers: Record<string, string> = {}) => res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(value));
      if (throttle !== undefined) {
        json(429, { message: 'slow down' }, { 'retry-after': String(throttle) });
        throttle = undefined;
        return;
      }
      if (req.headers['x-api-key'] !== apiKey) return void json(401, { message: 'bad API key' });
      const url = new URL(req.url ?? '/', 'http://toy');
      if (req.method === 'GET' && url.pathname === '/wo') return void json(200, records.filter((r) => r.ref === url.searchParams.get('ref')));
      if (req.method !== 'POST' || url.pathname !== '/wo') return void json(404, { message: 'no such path' });
      const record = JSON.parse(body) as { ref: string };
      if (records.some((r) => r.ref === record.ref)) return void json(409, { message: `ref ${record.ref} already exists` });
      records.push(record);
      if (lose) {
        lose = false;
        req.socket.destroy(); // applied, answer lost
        return;
      }
      json(201, { id: `WO-${records.length}`, ...record });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    records: () => records.length,
    requests: () => requests,
    loseNextAnswer: () => void (lose = true),
    throttleNext: (seconds) => void (throttle = seconds),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
