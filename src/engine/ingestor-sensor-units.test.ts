/**
 * A sensor reading in another unit than its threshold rules' reaches them converted (°F to a rule
 * in °C), or is quarantined with the rule and both units named, never compared as if the same.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { IdentityIndex } from '../core/identity/resolver.js';
import type { CanonicalEvent, SensorEvent } from '../core/model/events.js';
import type { Rule } from '../core/rules/rule.js';
import { tempStore } from '../../test/helpers/temp-store.js';
import { locationIngestor } from '../../test/helpers/ingestor.js';
import { rulesSchema } from '../config/rules-schema.js';
import { sensorUnitsOf } from '../core/rules/index.js';

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

/** A rule that records each sensor event's asset and values as the rules get them. */
function recordingRule(seen: { asset: string; values: SensorEvent['values'] }[]): Rule<number> {
  return {
    name: 'recorder',
    kinds: ['sensor'],
    apply(state, event: CanonicalEvent, ctx) {
      if (event.kind === 'sensor') seen.push({ asset: ctx.asset.erpAssetId, values: event.values });
      return { state: (state ?? 0) + 1, deliveries: [] };
    },
  };
}

describe('ingest of sensor readings in another unit than the threshold rules\'', () => {
  it('converts what converts, and quarantines what does not with the rule and both units named', async () => {
    const store = tempStore();
    cleanup.push(() => store.close());
    await store.upsertAssets([{ asset: { erpAssetId: 'EQ-1', erpModule: 'maintenance', attributes: {} }, identifiers: [{ type: 'tag' as const, value: 'tag-1', erpAssetId: 'EQ-1' }] }]);
    const seen: SensorEvent['values'][] = [];
    const recorder: Rule<number> = {
      name: 'recorder',
      kinds: ['sensor'],
      apply(state, event: CanonicalEvent) {
        if (event.kind === 'sensor') seen.push(event.values);
        return { state: (state ?? 0) + 1, deliveries: [] };
      },
    };
    const ingestor = locationIngestor(store, new IdentityIndex(await store.listAssets()), {
      rules: [recorder],
      validation: { maxFutureSkewMs: 300_000, maxAgeMs: 0, sensorUnits: new Map([['engineTemp', [{ unit: '°C', rules: [{ name: 'engine-hot' }] }]]]) },
    });
    const at = new Date(Date.now() - 60_000).toISOString();
    const msg = (value: number, unit: string) => ({ source: 'http', channel: 't', payload: JSON.stringify({ kind: 'sensor', assetId: 'tag-1', eventTime: at, values: { engineTemp: { value, unit } } }), receivedAt: Date.now() });
    const result = await ingestor.submit([msg(212, '°F'), msg(96, 'Cel'), msg(12, 'mA')]);
    await ingestor.flush();
    expect(result).toEqual({ accepted: 2, quarantined: [{ index: 2, reason: expect.stringMatching(/sensor engineTemp is in "mA" but threshold rule engine-hot compares it in "°C"/) as unknown }] });
    expect(seen).toEqual([{ engineTemp: { value: 100, unit: '°C' } }, { engineTemp: { value: 96, unit: 'Cel' } }]);
    expect(await store.countQuarantine({ status: 'open', code: 'invalid' })).toBe(1);
  });

  it('judges the unit against the rules that apply to the message\'s asset: one no such rule applies to is accepted as sent', async () => {
    const store = tempStore();
    cleanup.push(() => store.close());
    await store.upsertAssets([
      { asset: { erpAssetId: 'EQ-1', erpModule: 'maintenance', attributes: { fleet: 'cranes' } }, identifiers: [{ type: 'tag' as const, value: 'tag-1', erpAssetId: 'EQ-1' }] },
      { asset: { erpAssetId: 'EQ-2', erpModule: 'maintenance', attributes: { fleet: 'trucks' } }, identifiers: [{ type: 'tag' as const, value: 'tag-2', erpAssetId: 'EQ-2' }] },
    ]);
    const seen: { asset: string; values: SensorEvent['values'] }[] = [];
    const recorder = recordingRule(seen);
    const ingestor = locationIngestor(store, new IdentityIndex(await store.listAssets()), {
      rules: [recorder],
      validation: { maxFutureSkewMs: 300_000, maxAgeMs: 0, sensorUnits: new Map([['engineTemp', [{ unit: '°C', rules: [{ name: 'engine-hot', appliesTo: { attributes: { fleet: ['cranes'] } } }] }]]]) },
    });
    const at = new Date(Date.now() - 60_000).toISOString();
    const msg = (tag: string, value: number, unit: string) => ({ source: 'http', channel: 't', payload: JSON.stringify({ kind: 'sensor', assetId: tag, eventTime: at, values: { engineTemp: { value, unit } } }), receivedAt: Date.now() });
    const result = await ingestor.submit([msg('tag-2', 12, 'mA'), msg('tag-2', 212, '°F'), msg('tag-1', 12, 'mA'), msg('tag-1', 212, '°F')]);
    await ingestor.flush();
    // The truck's readings reach the rules as sent (no rule with a unit applies to it); the crane's in mA is quarantined naming the rule, its °F converted.
    expect(result).toEqual({ accepted: 3, quarantined: [{ index: 2, reason: expect.stringMatching(/^sensor engineTemp is in "mA" but threshold rule engine-hot compares it in "°C".*then replay the message$/) as unknown }] });
    expect(seen).toEqual([
      { asset: 'EQ-2', values: { engineTemp: { value: 12, unit: 'mA' } } },
      { asset: 'EQ-2', values: { engineTemp: { value: 212, unit: '°F' } } },
      { asset: 'EQ-1', values: { engineTemp: { value: 100, unit: '°C' } } },
    ]);
    expect(await store.countQuarantine({ status: 'open', code: 'invalid' })).toBe(1);
  });

  it('converts each asset\'s reading to the unit of its own rules: °C for group EU, °F for group US on one sensor', async () => {
    const store = tempStore();
    cleanup.push(() => store.close());
    await store.upsertAssets([
      { asset: { erpAssetId: 'EQ-EU', erpModule: 'maintenance', attributes: { group: 'EU' } }, identifiers: [{ type: 'tag' as const, value: 'tag-eu', erpAssetId: 'EQ-EU' }] },
      { asset: { erpAssetId: 'EQ-US', erpModule: 'maintenance', attributes: { group: 'US' } }, identifiers: [{ type: 'tag' as const, value: 'tag-us', erpAssetId: 'EQ-US' }] },
    ]);
    const rules = rulesSchema.parse({
      allowedLateness: 0,
      maintenance: {
        thresholds: [
          { name: 'coolant-hot-eu', sensor: 'coolantTemp', above: 95, unit: 'degC', appliesTo: { attributes: { group: 'EU' } } },
          { name: 'coolant-hot-us', sensor: 'coolantTemp', above: 203, unit: 'degF', appliesTo: { attributes: { group: 'US' } } },
        ],
      },
    });
    const seen: { asset: string; values: SensorEvent['values'] }[] = [];
    const recorder = recordingRule(seen);
    const units = sensorUnitsOf(rules);
    const ingestor = locationIngestor(store, new IdentityIndex(await store.listAssets()), { rules: [recorder], validation: { maxFutureSkewMs: 300_000, maxAgeMs: 0, ...(units ? { sensorUnits: units } : {}) } });
    const at = new Date(Date.now() - 60_000).toISOString();
    const msg = (tag: string, value: number, unit: string) => ({ source: 'http', channel: 't', payload: JSON.stringify({ kind: 'sensor', assetId: tag, eventTime: at, values: { coolantTemp: { value, unit } } }), receivedAt: Date.now() });
    const result = await ingestor.submit([msg('tag-us', 212, '°F'), msg('tag-us', 100, '°C'), msg('tag-eu', 100, '°C'), msg('tag-eu', 212, '°F'), msg('tag-us', 12, 'mA')]);
    await ingestor.flush();
    expect(result).toEqual({ accepted: 4, quarantined: [{ index: 4, reason: expect.stringMatching(/^sensor coolantTemp is in "mA" but threshold rule coolant-hot-us compares it in "degF"/) as unknown }] });
    expect(seen).toEqual([
      { asset: 'EQ-US', values: { coolantTemp: { value: 212, unit: '°F' } } },
      { asset: 'EQ-US', values: { coolantTemp: { value: 212, unit: 'degF' } } },
      { asset: 'EQ-EU', values: { coolantTemp: { value: 100, unit: '°C' } } },
      { asset: 'EQ-EU', values: { coolantTemp: { value: 100, unit: 'degC' } } },
    ]);
  });
});
