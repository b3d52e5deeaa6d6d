/**
 * Every default docs/configuration.md states, for the sections outside `rules` (those are in
 * rules-schema.mutation.test.ts): a changed default is a changed product, so each one is pinned
 * here as the reference gives it. From a mutation audit in which each of them could change unseen.
 */
import { describe, expect, it } from 'vitest';
import { compileConfig } from './load.js';
import { defaultDestinationOf } from './schema.js';
import { telematicsSchema } from './telematics-schema.js';

const S = 1000;
const MIN = 60 * S;
const H = 60 * MIN;
const D = 24 * H;

const erp = { name: 'erp', type: 'rest', baseUrl: 'http://127.0.0.1:4010' };
const base = compileConfig({ destinations: [erp] }, {});

describe('defaults as docs/configuration.md states them', () => {
  it('store: the SQLite file, full sync, 8 MiB cache on a commit worker, and the retention table', () => {
    expect(base.store).toEqual({
      path: './data/assetbridge.db',
      synchronous: 'full',
      commitInWorker: true,
      cacheMiB: 8,
      retention: { delivered: 7 * D, deliveredFacts: 0, audit: 90 * D, quarantine: 30 * D, every: H },
    });
  });

  it('ingest: batches of 1000 within 5 ms, 4 deep, checkpoints every 5 s or 50,000 messages (10 per changed asset), 5 min future skew, 1 MiB payloads, no age limit', () => {
    expect(base.ingest).toEqual({ maxBatch: 1000, maxWaitMs: 5, pipelineDepth: 4, checkpointMs: 5 * S, checkpointMessages: 50_000, checkpointMessagesPerAsset: 10, maxFutureSkewMs: 5 * MIN, maxPayloadBytes: 1_048_576, maxAgeMs: 0 });
  });

  it('sources.mqtt[] and its decoder: client id assetbridge, TLS verified, MQTT 5, 7 d session, 5 s reconnect, 5000 in flight, tag ids, ISO times', () => {
    const c = compileConfig(
      { destinations: [erp], sources: { mqtt: [{ name: 'yard', url: 'mqtts://127.0.0.1:8883', topics: [{ filter: 'fleet/+/t', decoder: { assetId: { topicSegment: 1 }, time: { path: 'ts' } } }] }] } },
      {},
    );
    const s = c.sources.mqtt[0];
    expect(s).toMatchObject({ clientId: 'assetbridge', rejectUnauthorized: true, protocolVersion: 5, sessionExpiryMs: 7 * D, reconnectDelayMs: 5 * S, maxInflight: 5000 });
    expect(s?.sharedGroup).toBeUndefined();
    expect(s?.topics[0]?.decoder).toEqual({ assetId: { topicSegment: 1 }, idType: 'tag', time: { path: 'ts', format: 'iso' }, sensors: {}, meters: {} });
  });

  it('sources.http: 1 MiB bodies, 5000 events a POST, 503 above 50,000 waiting; no intake unless configured', () => {
    expect(base.sources.http).toBeUndefined();
    expect(compileConfig({ destinations: [erp], sources: { http: { token: 'a-long-token' } } }, {}).sources.http).toEqual({ token: 'a-long-token', bodyLimitBytes: 1_048_576, maxEvents: 5000, maxBacklog: 50_000 });
  });

  it('destinations[].rateLimit.maxPauseMs under a second is refused, naming the key (a 429 would otherwise be answered at once)', () => {
    expect(() => compileConfig({ destinations: [{ ...erp, rateLimit: { maxPauseMs: '0' } }] }, {})).toThrow(
      'destinations.0.rateLimit.maxPauseMs: 0ms is too short: a pause shorter than a second answers throttling with a request per rate token (e.g. 1h)',
    );
    expect(compileConfig({ destinations: [{ ...erp, rateLimit: { maxPauseMs: '10m' } }] }, {}).destinations[0]?.rateLimit.maxPauseMs).toBe(600_000);
  });

  it('destinations[]: the documented paths, idempotency header, 409s read by the ERP\'s reason, 100 pages a work-order poll in the ERP\'s order, 15 s timeout, 300/min at 4 at once and pauses of 1 h at most, 12 attempts over 2 d, circuit 5 / 30 s, no batch, no webhook', () => {
    expect(base.destinations[0]).toEqual({
      ...erp,
      paths: {
        location: '/api/v1/assets/{erpAssetId}/location',
        workOrders: '/api/v1/work-orders',
        workOrder: '/api/v1/work-orders/{workOrderId}',
        meterReadings: '/api/v1/assets/{erpAssetId}/meter-readings',
        inventoryCounts: '/api/v1/inventory/counts',
        usagePostings: '/api/v1/assets/{erpAssetId}/usage',
      },
      headers: {},
      idempotencyHeader: 'X-Idempotency-Key',
      idempotencySupported: true,
      on409: { location: 'auto', workOrders: 'auto', workOrder: 'auto', meterReadings: 'auto', inventoryCounts: 'auto', usagePostings: 'auto' },
      workOrderStatuses: {},
      workOrderFields: {},
      maxWorkOrderPages: 100,
      timeoutMs: 15 * S,
      rateLimit: { requestsPerMinute: 300, maxConcurrency: 4, maxPauseMs: 3_600_000 },
      retry: { maxAttempts: 12, baseDelayMs: S, maxDelayMs: 5 * MIN, maxAgeMs: 2 * D, unknownOutcomeSettleMs: 2 * MIN },
      circuitBreaker: { failureThreshold: 5, openMs: 30 * S },
      redactFields: [],
    });
  });

  it('destinations[]: a batch of 50 at /api/v1/$batch, OAuth2 credentials in the body minted 60 s early, webhooks signed in X-Signature-256 (a timestamp, when sent, within 5 min)', () => {
    const d = compileConfig(
      {
        destinations: [{ ...erp, batch: {}, auth: { type: 'oauth2-client-credentials', tokenUrl: 'http://127.0.0.1:9/token', clientId: 'ab', clientSecret: 's' }, webhook: { secret: '0123456789abcdef' } }],
      },
      {},
    ).destinations[0];
    expect(d?.batch).toEqual({ path: '/api/v1/$batch', maxSize: 50 });
    expect(d?.auth).toMatchObject({ clientAuth: 'body', expiryMarginMs: 60 * S });
    expect(d?.webhook).toEqual({ secret: '0123456789abcdef', signatureHeader: 'X-Signature-256', toleranceMs: 5 * MIN });
  });

  it('assets: none imported; an inline asset is fixed-assets with no attributes, sent to the first destination', () => {
    expect(base.assets).toEqual({ files: [], inline: [] });
    const c = compileConfig({ destinations: [erp, { ...erp, name: 'sap' }], assets: { inline: [{ erpAssetId: 'EQ-1', identifiers: [{ type: 'tag', value: 'tag-1' }] }] } }, {});
    expect(c.assets.inline[0]).toEqual({ erpAssetId: 'EQ-1', erpModule: 'fixed-assets', identifiers: [{ type: 'tag', value: 'tag-1' }], attributes: {} });
    expect(defaultDestinationOf(c)).toBe('erp');
  });

  it('capture: off unless configured; then 7 days of files of at most 1024 MiB', () => {
    expect(base.capture).toBeUndefined();
    expect(compileConfig({ destinations: [erp], capture: { dir: '/var/lib/ab/capture' } }, {}).capture).toEqual({ dir: '/var/lib/ab/capture', keepDays: 7, maxFileMiB: 1024 });
  });

  it('server, shutdown and log: 127.0.0.1:8080, 10 s grace, info', () => {
    expect(base.server).toEqual({ host: '127.0.0.1', port: 8080 });
    expect(base.shutdown).toEqual({ graceMs: 10 * S });
    expect(base.log).toEqual({ level: 'info' });
    expect(base.telematics).toEqual([]);
  });

  it('telematics[]: generic vendor, JSON, 60 s timeout, 03:00 UTC daily, reserve on request keeping 5, 20 min budget wait, 2 pages ahead, resume within 12 h', () => {
    const t = telematicsSchema.parse({ name: 'oem', baseUrl: 'https://oem.example/aemp', auth: { type: 'basic', username: 'u', password: 'p' } });
    expect(t).toEqual({
      name: 'oem',
      vendor: 'generic',
      baseUrl: 'https://oem.example/aemp',
      auth: { type: 'basic', username: 'u', password: 'p' },
      format: 'json',
      headers: {},
      timeout: 60 * S,
      schedule: { enabled: true, cron: '0 3 * * *', timeZone: 'UTC' },
      reserve: { policy: 'on-request', keep: 5 },
      maxBudgetWait: 20 * MIN,
      pageLookahead: 2,
      resumeWithin: 12 * H,
      timeSeries: { elements: ['Locations', 'CumulativeOperatingHours', 'CumulativeIdleHours', 'Distance'], concurrency: 4 },
      profile: {},
    });
  });

  it('telematics auth: client credentials in the body; a password grant with Basic client credentials and its refresh token', () => {
    const auth = (a: object) => telematicsSchema.parse({ name: 'oem', auth: a }).auth;
    expect(auth({ type: 'oauth2-client-credentials', tokenUrl: 'https://id.example/token', clientId: 'c', clientSecret: 's' })).toMatchObject({ clientAuth: 'body' });
    expect(auth({ type: 'oauth2-password', tokenUrl: 'https://id.example/token', username: 'u', password: 'p' })).toMatchObject({ clientAuth: 'basic', useRefreshToken: true });
  });
});
