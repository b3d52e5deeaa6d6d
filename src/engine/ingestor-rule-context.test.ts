/**
 * The context the ingestor gives each rule call (`RuleContext`): that event's asset, the asset's
 * destination (its own, else the default), the batch's processing time, and whether its message
 * may have been taken before (`redelivered`). Each call gets its own, so a rule may keep it.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { IdentityIndex } from '../core/identity/resolver.js';
import type { RawMessage } from '../core/model/messages.js';
import type { Rule, RuleContext } from '../core/rules/rule.js';
import { tempStore } from '../../test/helpers/temp-store.js';
import { locationIngestor } from '../../test/helpers/ingestor.js';

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

const T0 = Date.UTC(2026, 9, 1, 8);
const NOW = T0 + 60_000;

/** A canonical sensor message of `tag`'s at T0 + `s` seconds. */
const sample = (tag: string, s: number, extra: Partial<RawMessage> = {}): RawMessage => ({
  source: 'http',
  channel: '/v1/events',
  payload: JSON.stringify({ kind: 'sensor', assetId: tag, eventTime: new Date(T0 + s * 1000).toISOString(), values: { coolantTemp: { value: 80 + s } } }),
  receivedAt: NOW,
  ...extra,
});

describe('the rules’ context', () => {
  it('holds each event’s asset, destination, time and redelivery, and still does after later events', async () => {
    const store = tempStore();
    cleanup.push(() => store.close());
    await store.upsertAssets([
      { asset: { erpAssetId: 'EQ-1', erpModule: 'maintenance', attributes: {} }, identifiers: [{ type: 'tag', value: 'tag-1', erpAssetId: 'EQ-1' }] },
      { asset: { erpAssetId: 'EQ-2', erpModule: 'maintenance', attributes: {}, destination: 'sap-2' }, identifiers: [{ type: 'tag', value: 'tag-2', erpAssetId: 'EQ-2' }] },
    ]);
    const identity = new IdentityIndex(await store.listAssets());
    const seen: { ctx: RuleContext; asset: string; destination: string; now: number; redelivered: boolean | undefined }[] = [];
    // Two rules on sensor events (each run through ownedFromPure): both see the event's context.
    const spy = (name: string): Rule<number> => ({
      name,
      kinds: ['sensor'],
      apply: (state, _event, ctx) => {
        seen.push({ ctx, asset: ctx.asset.erpAssetId, destination: ctx.destination, now: ctx.now, redelivered: ctx.redelivered });
        return { state: (state ?? 0) + 1, deliveries: [] };
      },
    });
    const ingestor = locationIngestor(store, identity, { rules: [spy('a'), spy('b')], clock: { now: () => NOW } });
    expect(await ingestor.submit([sample('tag-1', 1), sample('tag-2', 2, { redelivered: true }), sample('tag-1', 3), sample('tag-2', 4)])).toEqual({ accepted: 4, quarantined: [] });
    await ingestor.flush();

    const expected = [
      ['EQ-1', 'erp', false],
      ['EQ-2', 'sap-2', true],
      ['EQ-1', 'erp', false],
      ['EQ-2', 'sap-2', false],
    ].flatMap(([asset, destination, redelivered]) => [0, 1].map(() => ({ asset, destination, now: NOW, redelivered })));
    expect(seen.map(({ ctx: _ctx, ...values }) => values)).toEqual(expected);
    // Read again after the batch: a context kept by a rule was not refilled with a later event's.
    expect(seen.map(({ ctx }) => ({ asset: ctx.asset.erpAssetId, destination: ctx.destination, now: ctx.now, redelivered: ctx.redelivered }))).toEqual(expected);
  });
});
