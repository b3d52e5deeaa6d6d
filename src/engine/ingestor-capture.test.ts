/**
 * The event capture through the real ingestor and store: what is captured is what was accepted and
 * committed, once, in order, with the asset identity resolved it to. Quarantined input, the
 * engine's own watermarks and a crash replay of the ingest log add nothing; a batch whose commit
 * fails is not captured (its messages are redelivered and captured then).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { SqliteStore } from '../adapters/store/sqlite/sqlite-store.js';
import { rulesSchema } from '../config/rules-schema.js';
import { IdentityIndex } from '../core/identity/resolver.js';
import { ENGINE_SOURCE } from '../core/model/events.js';
import type { RawMessage } from '../core/model/messages.js';
import { createCanonicalDecoder } from '../core/normalize/canonical-decoder.js';
import { createRules } from '../core/rules/index.js';
import type { CapturedEvent, EventCapture } from '../ports/capture.js';
import type { Store } from '../ports/store.js';
import { tempStorePath } from '../../test/helpers/temp-store.js';
import { DecoderRegistry, Ingestor } from './ingestor.js';
import { watermarkMessage } from './tasks/idle-watermark.js';

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

const T0 = Date.parse('2026-11-20T08:00:00Z');
const MIN = 60_000;
const rules = createRules(rulesSchema.parse({ allowedLateness: '10m', maintenance: { serviceIntervals: [{ name: 'svc', everyHours: 250 }] } }));

/** Records what the ingestor hands it, with the processing time. */
class RecordingCapture implements EventCapture {
  readonly calls: { now: number; events: CapturedEvent[] }[] = [];
  write(events: readonly CapturedEvent[], now: number): number {
    this.calls.push({ now, events: [...events] });
    return 0;
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
  get lines(): string[] {
    return this.calls.flatMap((c) => c.events.map((e) => `${e.erpAssetId} ${e.event.kind} ${new Date(e.event.eventTime).toISOString().slice(11, 16)}`));
  }
}

async function setup(path = tempStorePath(), wrap: (s: Store) => Store = (s) => s) {
  const real = new SqliteStore({ path, synchronous: 'normal' });
  cleanup.push(() => real.close());
  await real.upsertAssets([0, 1].map((a) => ({ asset: { erpAssetId: `EQ-${a}`, erpModule: 'maintenance', attributes: {} }, identifiers: [{ type: 'tag' as const, value: `tag-${a}`, erpAssetId: `EQ-${a}` }] })));
  const identity = new IdentityIndex(await real.listAssets());
  const capture = new RecordingCapture();
  const clock = { t: T0 + 60 * MIN };
  const ingestor = new Ingestor({
    store: wrap(real),
    clock: { now: () => clock.t },
    decoders: new DecoderRegistry().register('http', createCanonicalDecoder()).register(ENGINE_SOURCE, createCanonicalDecoder()),
    rules,
    identity: () => identity,
    validation: { maxFutureSkewMs: 300_000, maxAgeMs: 0 },
    defaultDestination: 'erp',
    maxWaitMs: 1,
    checkpointMs: 86_400_000, // the log holds every batch: a "crash" replays them all
    capture,
  });
  return { store: real, ingestor, capture, clock };
}

const msg = (asset: number | string, min: number, body: object): RawMessage => ({
  source: 'http',
  channel: '/v1/events',
  payload: JSON.stringify({ assetId: typeof asset === 'number' ? `tag-${asset}` : asset, eventTime: new Date(T0 + min * MIN).toISOString(), ...body }),
  receivedAt: T0 + 60 * MIN,
});

describe('event capture in the ingestor', () => {
  it('marks the events of a redelivered message (as the rules ran on them), and only those; a retained copy is not one', async () => {
    const { ingestor, capture } = await setup();
    await ingestor.submit([
      msg(0, 0, { kind: 'meter', operatingHours: 249 }),
      { ...msg(0, 0, { kind: 'meter', operatingHours: 249 }), redelivered: true },
      { ...msg(1, 1, { kind: 'meter', operatingHours: 10 }), retained: true },
    ]);
    expect(capture.calls.flatMap((c) => c.events.map((e) => [e.erpAssetId, e.redelivered]))).toEqual([
      ['EQ-0', undefined],
      ['EQ-0', true],
      ['EQ-1', undefined],
    ]);
  });

  it('captures each accepted event once its batch has committed, with its resolved asset, in order; not quarantined input or watermarks', async () => {
    const { ingestor, capture, clock } = await setup();
    const r = await ingestor.submit([
      msg(0, 0, { kind: 'meter', operatingHours: 249 }),
      msg('tag-unknown', 1, { kind: 'meter', operatingHours: 1 }), // quarantined: no mapping
      msg(1, 2, { kind: 'alert', reason: 'low fuel', severity: 'warning' }), // no rule reads alerts here: still input
      msg(0, 3, { kind: 'position', lat: 91, lng: 0 }), // quarantined: out of range
      msg(0, 4, { kind: 'sensor', values: { t: { value: 80 } } }),
    ]);
    expect(r.quarantined.map((q) => q.index)).toEqual([1, 3]);
    expect(capture.lines).toEqual(['EQ-0 meter 08:00', 'EQ-1 alert 08:02', 'EQ-0 sensor 08:04']);
    expect(capture.calls.map((c) => c.now)).toEqual([clock.t]);
    clock.t += 120 * MIN;
    await ingestor.submitInternal([watermarkMessage('EQ-0', clock.t)]);
    await ingestor.flush();
    expect(capture.lines).toHaveLength(3); // the engine's own message is not input
    expect(ingestor.stats.captured).toBe(3);
    expect(ingestor.stats.watermarks).toBe(1); // it was processed, just not captured
  });

  it('a crash replay of the ingest log captures nothing again', async () => {
    const path = tempStorePath();
    const first = await setup(path);
    await first.ingestor.submit([msg(0, 0, { kind: 'meter', operatingHours: 249 }), msg(0, 30, { kind: 'meter', operatingHours: 250.5 })]);
    expect(first.capture.lines).toHaveLength(2);
    expect((await first.store.readIngestLog()).length).toBeGreaterThan(0);
    const second = await setup(path);
    await second.ingestor.submit([msg(1, 31, { kind: 'meter', operatingHours: 3 })]); // recovery replays the log first
    expect(second.capture.lines).toEqual(['EQ-1 meter 08:31']);
  });

  it('a batch whose commit fails is not captured', async () => {
    let failNext = true;
    const { ingestor, capture } = await setup(tempStorePath(), (s) =>
      new Proxy(s, {
        get(target, prop, receiver) {
          if (prop !== 'commitIngest') return Reflect.get(target, prop, receiver) as unknown;
          return (c: Parameters<Store['commitIngest']>[0]) => {
            if (!failNext) return target.commitIngest(c);
            failNext = false;
            return Promise.reject(new Error('disk full'));
          };
        },
      }),
    );
    await expect(ingestor.submit([msg(0, 0, { kind: 'meter', operatingHours: 249 })])).rejects.toThrow(/disk full/);
    expect(capture.lines).toEqual([]);
    await ingestor.submit([msg(0, 0, { kind: 'meter', operatingHours: 249 })]); // redelivered
    expect(capture.lines).toEqual(['EQ-0 meter 08:00']);
  });
});
