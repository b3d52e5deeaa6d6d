import { describe, expect, it } from 'vitest';
import { jsonDecoderSchema, mqttSourceSchema } from '../../src/config/schema.js';
import { parseAssetCsv } from '../../src/adapters/identity/asset-csv.js';
import { createJsonDecoder } from '../../src/core/normalize/json-decoder.js';
import { validateEvent } from '../../src/core/normalize/validate.js';
import { BAD_MESSAGE_KINDS, createFleet, OVERHEAT_ABOVE_C, type FleetMessage } from './fleet.js';
import { FLEET_TOPIC_FILTER, fleetAssets, fleetAssetsCsv, fleetDecoderConfig, fleetMqttSourceConfig } from './fleet-config.js';
import { distanceM } from './zones.js';

const T0 = Date.parse('2026-03-01T08:00:00Z');
const decode = createJsonDecoder('mqtt:fleet', [{ filter: FLEET_TOPIC_FILTER, decoder: fleetDecoderConfig }]);

function run(fleet: ReturnType<typeof createFleet>, n: number): FleetMessage[] {
  return Array.from({ length: n }, (_, i) => fleet.next(T0 + i * 10));
}

/** Whether the pipeline would take every event of the message (decodes, validates, known tag). */
function accepted(m: FleetMessage, tags: ReadonlySet<string>): boolean {
  const result = decode({ source: 'mqtt:fleet', channel: m.topic, payload: m.payload, receivedAt: T0 + 1e7 });
  if (!result.ok) return false;
  return result.events.every((e) => validateEvent(e, T0 + 1e7).ok && tags.has(e.ids[0]?.value ?? ''));
}

describe('createFleet', () => {
  it('is deterministic for a seed and differs between seeds', () => {
    const a = run(createFleet({ assets: 5, seed: 7, badShare: 0.2 }), 300);
    const b = run(createFleet({ assets: 5, seed: 7, badShare: 0.2 }), 300);
    const c = run(createFleet({ assets: 5, seed: 8, badShare: 0.2 }), 300);
    expect(a.map((m) => m.payload.toString('hex'))).toEqual(b.map((m) => m.payload.toString('hex')));
    expect(a.map((m) => m.payload.toString('hex'))).not.toEqual(c.map((m) => m.payload.toString('hex')));
  });

  it('publishes the documented payload on fleet/<tagId>/telemetry, and it decodes to valid events', () => {
    const fleet = createFleet({ assets: 3, seed: 1 });
    expect(fleet.tagIds).toEqual(['tag-0001', 'tag-0002', 'tag-0003']);
    const messages = run(fleet, 600);
    const first = JSON.parse(messages[0]?.payload.toString() ?? '{}');
    expect(messages[0]?.topic).toBe('fleet/tag-0001/telemetry');
    expect(first).toMatchObject({ tagId: 'tag-0001', ts: '2026-03-01T08:00:00.000Z', pos: { lat: expect.any(Number), lng: expect.any(Number) }, sensors: { engineTempC: expect.any(Number), batteryV: expect.any(Number) }, hours: expect.any(Number) });
    const tags = new Set(fleet.tagIds);
    for (const m of messages) expect(accepted(m, tags), m.payload.toString()).toBe(true);
    const kinds = decode({ source: 'mqtt:fleet', channel: messages[0]?.topic ?? '', payload: messages[0]?.payload ?? '', receivedAt: T0 });
    expect(kinds.ok && kinds.events.map((e) => e.kind)).toEqual(['position', 'sensor', 'meter']);
  });

  it('moves assets between zones: zone reported inside one, absent in transit; hours never decrease', () => {
    const fleet = createFleet({ assets: 4, seed: 3 });
    const byTag = new Map<string, { zone?: string; lat: number; lng: number; hours: number }[]>();
    for (const m of run(fleet, 4 * 400)) {
      const p = JSON.parse(m.payload.toString());
      byTag.set(m.tagId, [...(byTag.get(m.tagId) ?? []), { zone: p.zone, lat: p.pos.lat, lng: p.pos.lng, hours: p.hours }]);
    }
    for (const [tag, reports] of byTag) {
      const zonesSeen = new Set(reports.map((r) => r.zone).filter(Boolean));
      expect(zonesSeen.size, tag).toBeGreaterThan(1);
      expect(reports.some((r) => r.zone === undefined), `${tag} is sometimes in transit`).toBe(true);
      for (const r of reports) {
        if (r.zone === undefined) continue;
        const zone = fleet.zones.find((z) => z.name === r.zone);
        expect(zone && distanceM(r, zone), `${tag} in ${r.zone}`).toBeLessThanOrEqual(zone?.radiusM ?? 0);
      }
      for (let i = 1; i < reports.length; i++) expect(reports[i]?.hours).toBeGreaterThanOrEqual(reports[i - 1]?.hours ?? Infinity);
    }
  });

  it('makes out-of-range positions out of range wherever the zones are, also near the equator', () => {
    const zones = [
      { name: 'SG-JURONG', lat: 1.3294, lng: 103.7014, radiusM: 400 },
      { name: 'SG-TUAS', lat: 1.2966, lng: 103.6362, radiusM: 400 },
      { name: 'QUITO', lat: -0.1807, lng: -78.4678, radiusM: 300 },
    ];
    const fleet = createFleet({ assets: 4, seed: 3, zones, badShare: 0.5, badKinds: ['out-of-range'] });
    const messages = run(fleet, 400);
    const tags = new Set(fleet.tagIds);
    expect(messages.some((m) => m.bad)).toBe(true);
    for (const m of messages) expect(accepted(m, tags), `${m.bad ?? 'good'}: ${m.payload.toString()}`).toBe(!m.bad);
  });

  it('injects the configured share of bad messages, each of which the pipeline would reject', () => {
    const fleet = createFleet({ assets: 10, seed: 11, badShare: 0.25 });
    const messages = run(fleet, 4000);
    const bad = messages.filter((m) => m.bad);
    expect(bad.length / messages.length).toBeGreaterThan(0.2);
    expect(bad.length / messages.length).toBeLessThan(0.3);
    const counts = fleet.counts();
    expect(counts.total).toBe(4000);
    expect(counts.good).toBe(4000 - bad.length);
    for (const kind of BAD_MESSAGE_KINDS) {
      expect(counts.bad[kind], kind).toBe(bad.filter((m) => m.bad === kind).length);
      expect(counts.bad[kind], kind).toBeGreaterThan(0);
    }
    const tags = new Set(fleet.tagIds);
    for (const m of messages) expect(accepted(m, tags), `${m.bad ?? 'good'}: ${m.payload.toString()}`).toBe(!m.bad);
  });

  it('only injects the chosen kinds', () => {
    const fleet = createFleet({ assets: 2, badShare: 1, badKinds: ['unknown-tag'] });
    const messages = run(fleet, 50);
    expect(new Set(messages.map((m) => m.bad))).toEqual(new Set(['unknown-tag']));
    for (const m of messages) expect(fleet.tagIds).not.toContain(m.tagId);
    expect(fleet.lastReported().size).toBe(0);
  });

  it('lastReported is each asset\'s last good report, with the hottest engine of all its good reports', () => {
    const fleet = createFleet({ assets: 3, seed: 5, badShare: 0.3, overheatShare: 0.05 });
    const messages = run(fleet, 900);
    const last = fleet.lastReported();
    let overheated = 0;
    for (const tag of fleet.tagIds) {
      const goods = messages.filter((m) => m.tagId === tag && !m.bad).map((m) => JSON.parse(m.payload.toString()) as { ts: string; pos: { lat: number; lng: number }; zone?: string; hours: number; sensors: { engineTempC: number } });
      const p = goods.at(-1);
      if (!p) throw new Error(`no good report for ${tag}`);
      const peak = Math.max(...goods.map((g) => g.sensors.engineTempC));
      expect(last.get(tag)).toEqual({ tagId: tag, lat: p.pos.lat, lng: p.pos.lng, ...(p.zone ? { zone: p.zone } : {}), hours: p.hours, eventTime: Date.parse(p.ts), peakEngineTempC: peak });
      // Hotter than OVERHEAT_ABOVE_C only when overheating, and then 97 or more.
      const hot = goods.filter((g) => g.sensors.engineTempC > OVERHEAT_ABOVE_C);
      expect(hot.every((g) => g.sensors.engineTempC >= 97 && g.zone === undefined)).toBe(true);
      overheated += hot.length;
    }
    expect(overheated).toBeGreaterThan(0);
    const normal = createFleet({ assets: 3, seed: 5, overheatShare: 0 });
    expect(run(normal, 900).every((m) => (JSON.parse(m.payload.toString()) as { sensors: { engineTempC: number } }).sensors.engineTempC <= 96)).toBe(true);
  });

  it('keeps event times strictly increasing per asset even when called faster than 1 ms', () => {
    const fleet = createFleet({ assets: 2 });
    const ts = Array.from({ length: 20 }, () => fleet.next(T0)).filter((m) => m.tagId === 'tag-0001').map((m) => Date.parse(JSON.parse(m.payload.toString()).ts));
    for (let i = 1; i < ts.length; i++) expect(ts[i]).toBeGreaterThan(ts[i - 1] ?? Infinity);
  });

  it('rejects impossible options with a clear message', () => {
    expect(() => createFleet({ assets: 0 })).toThrow(/assets must be a positive integer, got 0/);
    expect(() => createFleet({ assets: 1, zones: 1 })).toThrow(/at least 2 zones/);
    expect(() => createFleet({ assets: 1, badShare: 2 })).toThrow(/badShare must be between 0 and 1, got 2/);
  });
});

describe('fleet config for the demo', () => {
  it('the decoder config and the MQTT source config pass the config schema', () => {
    expect(jsonDecoderSchema.parse(fleetDecoderConfig)).toEqual(fleetDecoderConfig);
    const source = mqttSourceSchema.parse(fleetMqttSourceConfig('mqtt://127.0.0.1:1883'));
    expect(source).toMatchObject({ name: 'fleet', protocolVersion: 4, topics: [{ filter: 'fleet/+/telemetry' }] });
  });

  it('lists the assets inline and as CSV', () => {
    const fleet = createFleet({ assets: 3 });
    expect(fleetAssets(fleet)[0]).toEqual({ erpAssetId: 'EQ-0001', erpModule: 'fixed-assets', identifiers: [{ type: 'tag', value: 'tag-0001' }], attributes: { model: 'Excavator 20t' } });
    expect(fleetAssetsCsv(fleet, { erpAssetId: (_t, i) => `100${i}` }).split('\n')).toEqual([
      'identifier,id_type,erp_asset_id,erp_module,model',
      'tag-0001,tag,1000,fixed-assets,Excavator 20t',
      'tag-0002,tag,1001,fixed-assets,Wheel loader',
      'tag-0003,tag,1002,fixed-assets,Telehandler',
      '',
    ]);
    // The identity registry's own CSV reader takes it.
    expect(parseAssetCsv(fleetAssetsCsv(fleet), 'fleet.csv').map((a) => [a.asset.erpAssetId, a.identifiers.map((i) => `${i.type}:${i.value}`)])).toEqual([
      ['EQ-0001', ['tag:tag-0001']],
      ['EQ-0002', ['tag:tag-0002']],
      ['EQ-0003', ['tag:tag-0003']],
    ]);
  });
});
