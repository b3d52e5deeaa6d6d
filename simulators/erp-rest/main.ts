/**
 * CLI for the generic REST ERP simulator (test tooling): `node dist/simulators/erp-rest/main.js
 * --port 4010 --rate-per-minute 120 --token sim-token`. Prints its URL and runs until SIGINT/SIGTERM.
 * Tests in other processes drive it through `/__sim/` (see erp-simulator.ts).
 * @module
 */
import { Command, InvalidArgumentError } from 'commander';
import { startErpSimulator, type ErpSimulatorOptions } from './erp-simulator.js';

function positiveInt(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`${name} must be a whole number ≥ 0, got "${value}"`);
    return n;
  };
}

const program = new Command('erp-rest-sim')
  .description('Simulated generic REST ERP: auth, OAuth2 tokens, rate limit, idempotency, batches, work orders, faults.')
  .option('--port <n>', 'port to listen on (0 = any free port)', positiveInt('--port'), 4010)
  .option('--host <host>', 'address to bind', '127.0.0.1')
  .option('--token <token>', 'static bearer token accepted on /api/* ("none" to accept only OAuth tokens)', 'sim-token')
  .option('--client-id <id>', 'OAuth2 client id accepted at POST /oauth/token', 'assetbridge')
  .option('--client-secret <secret>', 'OAuth2 client secret', 'sim-secret')
  .option('--token-ttl <seconds>', 'lifetime of issued OAuth2 tokens', positiveInt('--token-ttl'), 3600)
  .option('--rate-per-minute <n>', 'requests per minute on /api/* before 429 (0 = unlimited)', positiveInt('--rate-per-minute'), 0)
  .option('--rate-window <kind>', 'fixed or sliding rate window', 'fixed')
  .option('--max-concurrent <n>', 'most /api/* requests in flight at once before 429 TooManyConcurrentRequests (0 = unlimited)', positiveInt('--max-concurrent'), 0)
  .option('--no-idempotency', 'ignore the idempotency header (an ERP without idempotency support)')
  .option('--idempotency-keeps-4xx', 'store a 4xx answer under its idempotency key and replay it for that key, as Stripe-style idempotency does (default: only 2xx answers are stored)')
  .option('--known-assets <ids>', 'comma-separated asset ids; writes for others get 404')
  .option('--webhook-url <url>', 'POST work-order status changes here')
  .option('--webhook-secret <secret>', 'sign webhooks with HMAC-SHA256 (X-Signature-256)')
  .option('--webhook-retries <n>', 'times a webhook is sent again after a 408, 429, 5xx or no answer (after its Retry-After, else 1 s doubling)', positiveInt('--webhook-retries'), 5)
  .option('--max-batch-size <n>', 'largest $batch accepted', positiveInt('--max-batch-size'), 50)
  .option('--batch-atomic', 'all-or-nothing batches: one failing request rolls the batch back, answered 400 BatchRolledBack naming none')
  .option('--seed <n>', 'seed for probabilistic faults', positiveInt('--seed'), 1)
  .option('--no-created-body', 'answer a work-order create with 201 and its Location only (OData return=minimal)')
  .option('--unique-external-key', 'refuse a create whose externalKey a record already has with 409 DuplicateEntry (a unique business key)')
  .option('--page-size <n>', 'work orders per page of a work-order list (next links to the rest)', positiveInt('--page-size'), 100)
  .option('--list-order <order>', 'order of work-order lists without ?orderBy=: oldest-first or newest-first (as many ERPs list)', 'oldest-first')
  .option('--inventory-takes <kind>', 'what an inventory count changes on hand: total (countedQuantity) or delta (added, as NetSuite adjustQtyBy)', 'total')
  .addHelpText('after', '\nControl API: GET /__sim/state, GET /__sim/counters, POST /__sim/faults, POST /__sim/reset,\nPOST /__sim/complete-work-order, POST /__sim/on-hand, POST /__sim/token (see simulators/erp-rest/README.md).');

program.parse();
const opts = program.opts<{
  port: number;
  host: string;
  token: string;
  clientId: string;
  clientSecret: string;
  tokenTtl: number;
  ratePerMinute: number;
  rateWindow: string;
  maxConcurrent: number;
  idempotency: boolean;
  idempotencyKeeps4xx?: boolean;
  knownAssets?: string;
  webhookUrl?: string;
  webhookSecret?: string;
  webhookRetries: number;
  maxBatchSize: number;
  batchAtomic?: boolean;
  seed: number;
  createdBody: boolean;
  inventoryTakes: string;
  uniqueExternalKey?: boolean;
  pageSize: number;
  listOrder: string;
}>();

if (opts.rateWindow !== 'fixed' && opts.rateWindow !== 'sliding') {
  program.error(`--rate-window must be fixed or sliding, got "${opts.rateWindow}"`);
}

if (opts.inventoryTakes !== 'total' && opts.inventoryTakes !== 'delta') {
  program.error(`--inventory-takes must be total or delta, got "${opts.inventoryTakes}"`);
}

if (opts.listOrder !== 'oldest-first' && opts.listOrder !== 'newest-first') {
  program.error(`--list-order must be oldest-first or newest-first, got "${opts.listOrder}"`);
}

if (opts.pageSize < 1) program.error('--page-size must be 1 or more');

const options: ErpSimulatorOptions = {
  port: opts.port,
  host: opts.host,
  token: opts.token === 'none' ? null : opts.token,
  oauthClients: [{ clientId: opts.clientId, clientSecret: opts.clientSecret }],
  tokenTtlSeconds: opts.tokenTtl,
  ...(opts.ratePerMinute > 0 ? { ratePerMinute: opts.ratePerMinute } : {}),
  rateWindow: opts.rateWindow === 'sliding' ? 'sliding' : 'fixed',
  ...(opts.maxConcurrent > 0 ? { maxConcurrent: opts.maxConcurrent } : {}),
  idempotency: opts.idempotency,
  idempotencyKeeps4xx: opts.idempotencyKeeps4xx === true,
  ...(opts.knownAssets !== undefined ? { knownAssets: opts.knownAssets.split(',').map((s) => s.trim()).filter((s) => s !== '') } : {}),
  ...(opts.webhookUrl !== undefined ? { webhookUrl: opts.webhookUrl } : {}),
  ...(opts.webhookSecret !== undefined ? { webhookSecret: opts.webhookSecret } : {}),
  webhookRetries: opts.webhookRetries,
  maxBatchSize: opts.maxBatchSize,
  batchAtomic: opts.batchAtomic === true,
  seed: opts.seed,
  createdBody: opts.createdBody,
  inventoryTakes: opts.inventoryTakes === 'delta' ? 'delta' : 'total',
  uniqueExternalKey: opts.uniqueExternalKey === true,
  pageSize: opts.pageSize,
  listOrder: opts.listOrder === 'newest-first' ? 'newest-first' : 'oldest-first',
};

try {
  const sim = await startErpSimulator(options);
  process.stdout.write(`ERP simulator listening on ${sim.url}\n`);
  let closing = false;
  const stop = (): void => {
    if (closing) return;
    closing = true;
    sim.close().then(
      () => process.exit(0),
      (err: unknown) => {
        process.stderr.write(`error while closing: ${(err as Error).message}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
} catch (err) {
  const e = err as NodeJS.ErrnoException;
  const hint = e.code === 'EADDRINUSE' ? ` — port ${opts.port} is taken; pass --port <other> or --port 0` : '';
  process.stderr.write(`cannot start the ERP simulator: ${e.message}${hint}\n`);
  process.exit(1);
}
