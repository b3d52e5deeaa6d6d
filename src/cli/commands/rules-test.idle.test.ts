/**
 * `rules test` over a capture decides as the running service decided the same events, idle
 * watermarks included: the service decides a silent asset's held events and its zone dwell after
 * `rules.idleAfter` of wall-clock silence, in the middle of the day, not only at its end. The
 * captured lines carry when each event was received, so the replay knows where those silences were.
 */
import { YARD_AND_DEPOT } from '../../../test/helpers/rules-stream.js';
import { afterEach, describe, expect, it } from 'vitest';
import { tempStorePath } from '../../../test/helpers/temp-store.js';
import { SqliteStore } from '../../adapters/store/sqlite/sqlite-store.js';
import { rulesSchema } from '../../config/rules-schema.js';
import { IdentityIndex } from '../../core/identity/resolver.js';
import type { DeliveryIntent } from '../../core/model/delivery.js';
import { ENGINE_SOURCE } from '../../core/model/events.js';
import { createCanonicalDecoder } from '../../core/normalize/canonical-decoder.js';
import { createRules } from '../../core/rules/index.js';
import { DecoderRegistry, Ingestor } from '../../engine/ingestor.js';
import { watermarkMessage } from '../../engine/tasks/idle-watermark.js';
import type { AssetWithIdentifiers } from '../../ports/store.js';
import { captureLines, observeCommits } from '../../../test/helpers/ingestor.js';
import { formatLine, runRulesTest } from './rules-test.js';

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

const T0 = Date.parse('2026-11-20T08:00:00Z');
const MIN = 60_000;
const IDLE = 2 * MIN;
const config = rulesSchema.parse({
  allowedLateness: '30s',
  idleAfter: '2m',
  location: { minDistanceM: 50, heartbeatMs: '1h' },
  zones: YARD_AND_DEPOT,
});
const assets: AssetWithIdentifiers[] = [{ asset: { erpAssetId: 'EQ-1', erpModule: 'maintenance', attributes: {} }, identifiers: [{ type: 'tag', value: 'tag-1', erpAssetId: 'EQ-1' }] }];

/** The service: the real ingestor and store, the capture as lines, every delivery it committed. */
async function service() {
  const real = new SqliteStore({ path: tempStorePath(), synchronous: 'normal' });
  cleanup.push(() => real.close());
  await real.upsertAssets(assets);
  const committed: DeliveryIntent[] = [];
  const store = observeCommits(real, (c) => committed.push(...c.deliveries));
  const { lines, capture } = captureLines();
  const clock = { t: T0 };
  const identity = new IdentityIndex(assets);
  const ingestor = new Ingestor({
    store,
    clock: { now: () => clock.t },
    decoders: new DecoderRegistry().register('http', createCanonicalDecoder()).register(ENGINE_SOURCE, createCanonicalDecoder()),
    rules: createRules(config),
    identity: () => identity,
    validation: { maxFutureSkewMs: 300_000, maxAgeMs: 0 },
    defaultDestination: 'erp',
    maxWaitMs: 1,
    capture,
  });
  cleanup.push(() => ingestor.flush());
  /** An event received (and processed) at its event time. */
  const receive = async (min: number, lat: number) => {
    clock.t = T0 + min * MIN;
    const payload = JSON.stringify({ kind: 'position', assetId: 'tag-1', eventTime: new Date(clock.t).toISOString(), lat, lng: 10 });
    await ingestor.submit([{ source: 'http', channel: '/v1/events', payload, receivedAt: clock.t }]);
  };
  /** The idle watermark task's check at `min`. */
  const check = async (min: number) => {
    clock.t = T0 + min * MIN;
    await ingestor.submitInternal(ingestor.idleHolding(clock.t, IDLE).map((id) => watermarkMessage(id, clock.t)));
  };
  return { receive, check, committed, lines };
}

const where = (ds: readonly DeliveryIntent[]) => ds.filter((d) => d.operation === 'location.update').map((d) => [d.payload.warehouseLocation, new Date(d.eventTime).toISOString().slice(11, 19)]);

describe('rules test over a capture, where the service sent idle watermarks', () => {
  it('an asset parked in the yard with its tracker quiet, then seen in the depot an hour later: it was in the yard, as the ERP was told', async () => {
    const s = await service();
    await s.receive(0, 50.05); // on the road
    await s.receive(1, 50); // into the yard, then the tracker goes quiet
    await s.check(3); // silent for 2 min: the entry is settled (the yard, as of the end of its dwell)
    await s.receive(60, 50.01); // an hour later, in the depot
    await s.receive(61, 50.01);
    await s.receive(62, 50.01);
    await s.check(64);
    expect(where(s.committed)).toEqual([
      [null, '08:00:00'],
      ['Y1', '08:01:30'],
      // 09:00: an hour unseen, then beyond the yard: it has left it, but it is in the depot, not yet
      // entered: nothing sent (no location with coordinates in the depot) until it is
      ['D1', '09:01:00'],
    ]);

    const report = await runRulesTest({ lines: s.lines, rules: createRules(config), assets, defaultDestination: 'erp', states: new Map(), now: T0 + 120 * MIN, idleMs: IDLE });
    expect(where([...report.lines.flatMap((l) => [...(l.idle ?? []).flatMap((w) => w.deliveries), ...l.deliveries]), ...report.flushed])).toEqual(where(s.committed));
    // Shown under the line whose arrival ended the silence.
    const depot = report.lines.find((l) => l.line === 3);
    expect(depot && formatLine(depot)).toContain('  idle: EQ-1 silent since 2026-11-20T08:01:00.000Z, decided at 2026-11-20T08:03:00.000Z (rules.idleAfter)\n    location.update → erp [state] EQ-1: location Y1');

    // Without the received times (a hand-written file), or with idleAfter 0: only the end of the input is decided.
    const plain = await runRulesTest({ lines: s.lines, rules: createRules(config), assets, defaultDestination: 'erp', states: new Map(), now: T0 + 120 * MIN });
    // (The fixes in the yard and in the depot before their enter dwells are over send nothing.)
    expect(where([...plain.lines.flatMap((l) => l.deliveries), ...plain.flushed]).map(([z]) => z)).toEqual([null, 'D1']);
  });

  it('--compare runs each rule set with its own idle watermarks', async () => {
    const s = await service();
    await s.receive(0, 50.05);
    await s.receive(1, 50); // parked in the yard
    await s.check(3);
    await s.receive(60, 50.05); // an hour later, back on the road where it was
    await s.receive(61, 50.05);
    await s.check(64);
    expect(where(s.committed).map(([z]) => z)).toEqual([null, 'Y1', null]);
    const input = { lines: s.lines, rules: createRules(config), assets, defaultDestination: 'erp', states: new Map(), now: T0 + 120 * MIN, idleMs: IDLE };
    const same = await runRulesTest({ ...input, compare: createRules(config), compareIdleMs: IDLE });
    expect(same.comparison?.totals).toEqual({ 'location.update (state)': { current: 3, proposed: 3 } });
    // The proposed config sets idleAfter 0: the yard is never entered (its enter dwell waited for a
    // next fix, which was on the road again), and the fix in it, placed in no zone, sent nothing:
    // the road at 08:00, then only the hourly heartbeat at 09:01.
    const never = await runRulesTest({ ...input, compare: createRules(config), compareIdleMs: 0 });
    expect(never.comparison?.totals).toEqual({ 'location.update (state)': { current: 3, proposed: 2 } });
  });
});
