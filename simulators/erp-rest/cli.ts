/**
 * The ERP simulator's command line, parsed into `startErpSimulator` options (`main.ts` runs them).
 * A number out of an option's range is refused naming the option and the range, rather than
 * started with an effect no test wants (every token expired at once, every batch refused).
 * @module
 */
import { Command, InvalidArgumentError } from 'commander';
import type { ErpSimulatorOptions } from './erp-simulator.js';
import { rangeText, readWholeNumber } from '../whole-number.js';

/**
 * A whole number from `min` to `max` (digits only: not `''`, `1.5`, `-1`, `1e3` or `0x10`); `what`
 * names it (`a whole number of seconds`), `meaning` says what a special value does (` (0 = unlimited)`).
 */
export function wholeNumber(min: number, max: number = Number.MAX_SAFE_INTEGER, meaning = '', what = 'a whole number') {
  return (value: string): number => {
    const n = readWholeNumber(value, min, max);
    if (n === undefined) throw new InvalidArgumentError(`It takes ${what}, ${rangeText(min, max)}${meaning}, got "${value}".`);
    return n;
  };
}

/** The simulator's command (help, options and their parsers); `parseErpSimulatorArgs` reads one. */
export function erpSimulatorCommand(): Command {
  return new Command('erp-rest-sim')
    .description('Simulated generic REST ERP: auth, OAuth2 tokens, rate limit, idempotency, batches, work orders, faults.')
    .option('--port <n>', 'port to listen on, 0 to 65535 (0 = any free port)', wholeNumber(0, 65535, ' (0 = any free port)'), 4010)
    .option('--host <host>', 'address to bind', '127.0.0.1')
    .option('--token <token>', 'static bearer token accepted on /api/* ("none" to accept only OAuth tokens)', 'sim-token')
    .option('--client-id <id>', 'OAuth2 client id accepted at POST /oauth/token', 'assetbridge')
    .option('--client-secret <secret>', 'OAuth2 client secret', 'sim-secret')
    .option('--token-ttl <seconds>', 'lifetime of issued OAuth2 tokens, 1 or more seconds', wholeNumber(1, undefined, '', 'a whole number of seconds'), 3600)
    .option('--rate-per-minute <n>', 'requests per minute on /api/* before 429 (0 = unlimited)', wholeNumber(0, undefined, ' (0 = unlimited)'), 0)
    .option('--rate-window <kind>', 'fixed or sliding rate window', 'fixed')
    .option('--max-concurrent <n>', 'most /api/* requests in flight at once before 429 TooManyConcurrentRequests (0 = unlimited)', wholeNumber(0, undefined, ' (0 = unlimited)'), 0)
    .option('--no-idempotency', 'ignore the idempotency header (an ERP without idempotency support)')
    .option('--idempotency-keeps-4xx', 'store a 4xx answer under its idempotency key and replay it for that key, as Stripe-style idempotency does (default: only 2xx answers are stored)')
    .option('--known-assets <ids>', 'comma-separated asset ids, at least one; writes for others get 404 (left out: writes for any asset)')
    .option('--webhook-url <url>', 'POST work-order status changes to this http:// or https:// URL')
    .option('--webhook-secret <secret>', 'sign webhooks with HMAC-SHA256 (X-Signature-256)')
    .option('--webhook-timestamp-header <name>', 'with --webhook-secret: put the Unix time in seconds in this header and sign "<timestamp>.<body>", afresh on every attempt (a destination\'s webhook.timestampHeader)')
    .option('--webhook-retries <n>', 'times a webhook is sent again after a 408, 429, 5xx or no answer (after its Retry-After, else 1 s doubling; 0 = sent once)', wholeNumber(0, undefined, ' (0 = sent once, never again)'), 5)
    .option('--max-batch-size <n>', 'largest $batch accepted, 1 or more requests', wholeNumber(1), 50)
    .option('--batch-atomic', 'all-or-nothing batches: one failing request rolls the batch back, answered 400 BatchRolledBack naming none')
    .option('--batch-atomic-answer <how>', 'how a rolled-back batch is answered: rolled-back (400 BatchRolledBack) or failed-request (its first failed request\'s status and body)', 'rolled-back')
    .option('--seed <n>', 'seed for probabilistic faults, 0 to 4294967295', wholeNumber(0, 0xffffffff), 1)
    .option('--no-created-body', 'answer a work-order create with 201 and its Location only (OData return=minimal)')
    .option('--unique-external-key', 'refuse a create whose externalKey a record already has with 409 DuplicateEntry (a unique business key)')
    .option('--page-size <n>', 'work orders per page of a work-order list, 1 or more (next links to the rest)', wholeNumber(1), 100)
    .option('--ignore-updated-since', 'work-order lists ignore ?updatedSince= and list every work order on every poll (an ERP or middleware that does not pass the filter on)')
    .option('--list-order <order>', 'order of work-order lists without ?orderBy=: oldest-first or newest-first (as many ERPs list)', 'oldest-first')
    .option('--inventory-takes <kind>', 'what an inventory count changes on hand: total (countedQuantity) or delta (added, as NetSuite adjustQtyBy)', 'total')
    .addHelpText('after', '\nControl API: GET /__sim/state, GET /__sim/counters, POST /__sim/faults, POST /__sim/reset,\nPOST /__sim/complete-work-order, POST /__sim/on-hand, POST /__sim/token (see simulators/erp-rest/README.md).');
}

interface ParsedOptions {
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
  webhookTimestampHeader?: string;
  webhookRetries: number;
  maxBatchSize: number;
  batchAtomic?: boolean;
  batchAtomicAnswer?: string;
  seed: number;
  createdBody: boolean;
  inventoryTakes: string;
  uniqueExternalKey?: boolean;
  ignoreUpdatedSince?: boolean;
  pageSize: number;
  listOrder: string;
}

/**
 * The simulator options `argv` (the arguments after the script) asks for. A bad argument goes
 * through `program.error` (exit 1 with its message; a CommanderError with `exitOverride()`).
 */
export function parseErpSimulatorArgs(argv: readonly string[], program: Command = erpSimulatorCommand()): ErpSimulatorOptions {
  program.parse(argv, { from: 'user' });
  const opts = program.opts<ParsedOptions>();

  if (opts.rateWindow !== 'fixed' && opts.rateWindow !== 'sliding') {
    program.error(`error: --rate-window must be fixed or sliding, got "${opts.rateWindow}"`);
  }
  if (opts.inventoryTakes !== 'total' && opts.inventoryTakes !== 'delta') {
    program.error(`error: --inventory-takes must be total or delta, got "${opts.inventoryTakes}"`);
  }
  if (opts.listOrder !== 'oldest-first' && opts.listOrder !== 'newest-first') {
    program.error(`error: --list-order must be oldest-first or newest-first, got "${opts.listOrder}"`);
  }

  const knownAssets = opts.knownAssets?.split(',').map((s) => s.trim()).filter((s) => s !== '');
  // An empty list would answer every write 404: not what leaving the option out (any asset) means.
  if (knownAssets?.length === 0) program.error(`error: --known-assets names no asset, got "${opts.knownAssets}"; give comma-separated asset ids, or leave it out to take writes for any asset`);
  if (opts.webhookUrl !== undefined && !(URL.canParse(opts.webhookUrl) && /^https?:$/.test(new URL(opts.webhookUrl).protocol))) {
    program.error(`error: --webhook-url must be an http:// or https:// URL, got "${opts.webhookUrl}"`);
  }
  if (opts.webhookTimestampHeader !== undefined && opts.webhookSecret === undefined) {
    program.error('error: --webhook-timestamp-header needs --webhook-secret: the timestamp is signed with the body');
  }
  if (opts.batchAtomicAnswer !== undefined && opts.batchAtomicAnswer !== 'rolled-back' && opts.batchAtomicAnswer !== 'failed-request') {
    program.error(`error: --batch-atomic-answer must be rolled-back or failed-request, got "${opts.batchAtomicAnswer}"`);
  }

  return {
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
    ...(knownAssets !== undefined ? { knownAssets } : {}),
    ...(opts.webhookUrl !== undefined ? { webhookUrl: opts.webhookUrl } : {}),
    ...(opts.webhookSecret !== undefined ? { webhookSecret: opts.webhookSecret } : {}),
    ...(opts.webhookTimestampHeader !== undefined ? { webhookTimestampHeader: opts.webhookTimestampHeader } : {}),
    webhookRetries: opts.webhookRetries,
    maxBatchSize: opts.maxBatchSize,
    batchAtomic: opts.batchAtomic === true,
    batchAtomicAnswer: opts.batchAtomicAnswer === 'failed-request' ? 'failed-request' : 'rolled-back',
    seed: opts.seed,
    createdBody: opts.createdBody,
    inventoryTakes: opts.inventoryTakes === 'delta' ? 'delta' : 'total',
    uniqueExternalKey: opts.uniqueExternalKey === true,
    ...(opts.ignoreUpdatedSince === true ? { updatedSinceFilter: false } : {}),
    pageSize: opts.pageSize,
    listOrder: opts.listOrder === 'newest-first' ? 'newest-first' : 'oldest-first',
  };
}
