import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { CanonicalEvent } from '../model/events.js';
import { canonicalFromJson } from './canonical-decoder.js';
import { canonicalLine, canonicalToJson } from './canonical-encoder.js';
import { validateEvent } from './validate.js';
import { parseWorkOrderKey } from '../rules/maintenance/work-order.js';

const base = { source: 'mqtt:fleet', ids: [{ type: 'tag' as const, value: 'tag-1' }], eventTime: Date.UTC(2026, 9, 1, 8), receivedAt: Date.UTC(2026, 9, 1, 8, 0, 2), raw: { big: 'payload' } };
const samples: CanonicalEvent[] = [
  { ...base, kind: 'position', lat: 51.95, lng: 4.04, accuracyM: 8, zone: 'YARD-A' },
  { ...base, kind: 'meter', operatingHours: 1234.5, odometerKm: 30_040, originalUnits: { odometerKm: 'mile' } },
  { ...base, kind: 'meter', operatingHours: 0, declaredReset: true },
  { ...base, kind: 'sensor', values: { engineTempC: { value: 97.4, unit: 'Cel' }, fuelPct: { value: 40 } } },
  { ...base, kind: 'alert', reason: 'Engine coolant temperature high', severity: 'critical', code: 'SPN_110_FMI_0' },
  { ...base, kind: 'workorder', businessKey: 'EQ-1|svc|250h@b0', status: 'completed', erpWorkOrderId: 'WO-9', operatingHoursAtCompletion: 251 },
];

/** What a rule sees of an event: everything but where and when it was received, and the raw payload. */
const seen = (e: CanonicalEvent) => {
  const { source: _s, receivedAt: _r, raw: _raw, ids: _ids, ...rest } = e;
  return rest;
};

describe('canonical encoder (event capture lines)', () => {
  it.each(samples.map((e) => [e.kind, e] as const))('a %s event decodes back to the same event, for the ERP asset it was resolved to', (_kind, event) => {
    const line = canonicalLine(event, 'EQ-1');
    expect(line.endsWith('\n')).toBe(true);
    expect(line.slice(0, -1)).not.toContain('\n');
    const back = canonicalFromJson(JSON.parse(line), 'cli', Date.UTC(2026, 10, 1));
    if (typeof back === 'string') throw new Error(back);
    expect(seen(back)).toEqual(seen(event));
    expect(back.ids).toEqual([{ type: 'erp', value: 'EQ-1' }]);
    expect(validateEvent(back, Date.UTC(2026, 10, 1))).toEqual({ ok: true });
  });

  it('writes ISO times, keeps where it came from for the reader, and leaves the raw payload out', () => {
    const json = canonicalToJson(samples[0] as CanonicalEvent, 'EQ-1');
    expect(Object.keys(json).slice(0, 3)).toEqual(['kind', 'erpAssetId', 'eventTime']);
    expect(json).toMatchObject({ eventTime: '2026-10-01T08:00:00.000Z', receivedAt: '2026-10-01T08:00:02.000Z', source: 'mqtt:fleet' });
    expect(json).not.toHaveProperty('raw');
    expect(json).not.toHaveProperty('ids');
  });

  it('marks an event of a message sent again ("redelivered": true) beside the event, only then; the decoder leaves the mark out of the event', () => {
    const event = samples[1] as CanonicalEvent;
    const plain = JSON.parse(canonicalLine(event, 'EQ-1')) as Record<string, unknown>;
    expect(plain).not.toHaveProperty('redelivered');
    const again = JSON.parse(canonicalLine(event, 'EQ-1', true)) as Record<string, unknown>;
    expect(again).toEqual({ ...plain, redelivered: true });
    expect(Object.keys(again).slice(-3)).toEqual(['source', 'receivedAt', 'redelivered']);
    // Both decode to the same event: the mark is for the reader (rules test reads it from raw), not a field of the event.
    const back = canonicalFromJson(again, 'cli', 0);
    const backPlain = canonicalFromJson(plain, 'cli', 0);
    if (typeof back === 'string' || typeof backPlain === 'string') throw new Error('not decoded');
    expect(back).not.toHaveProperty('redelivered');
    expect(seen(back)).toEqual(seen(backPlain));
    expect((back.raw as Record<string, unknown>).redelivered).toBe(true);
    // An event that carried one (a field of an older decoder's) is written marked only when asked.
    expect(canonicalToJson({ ...event, redelivered: true } as unknown as CanonicalEvent, 'EQ-1')).not.toHaveProperty('redelivered');
  });

  it('round-trips any sensor reading (property)', () => {
    fc.assert(
      fc.property(
        fc.dictionary(fc.string({ minLength: 1, maxLength: 12 }).filter((k) => k !== '__proto__'), fc.record({ value: fc.double({ noNaN: true, noDefaultInfinity: true }) }), { minKeys: 1 }),
        fc.integer({ min: Date.UTC(2000, 0, 1), max: Date.UTC(2100, 0, 1) }),
        (values, eventTime) => {
          const event: CanonicalEvent = { ...base, eventTime, kind: 'sensor', values };
          const back = canonicalFromJson(JSON.parse(canonicalLine(event, 'EQ-7')), 'cli', 0);
          if (typeof back === 'string') return false;
          // JSON has no -0: compare as JSON does.
          const json = (x: unknown): unknown => JSON.parse(JSON.stringify(x));
          expect(json(seen(back))).toEqual(json(seen(event)));
          return true;
        },
      ),
    );
  });

  it('round-trips any valid event of every kind, every field included (property)', () => {
    const time = fc.integer({ min: Date.UTC(2000, 0, 1), max: Date.UTC(2026, 9, 1) });
    const num = (min: number, max: number) => fc.double({ min, max, noNaN: true, noDefaultInfinity: true });
    const text = fc.string({ minLength: 1, maxLength: 20 }).filter((s) => s.trim() !== '');
    const fields = fc.oneof(
      fc.record(
        { kind: fc.constant('position' as const), lat: num(-90, 90), lng: num(-180, 180), altM: num(-500, 100_000), accuracyM: num(0, 1e6), zone: text },
        { requiredKeys: ['kind', 'lat', 'lng'] },
      ),
      fc.record(
        {
          kind: fc.constant('meter' as const),
          operatingHours: num(0, 1e7),
          idleHours: num(0, 1e7),
          odometerKm: num(0, 1e7),
          fuelUsedL: num(0, 1e10),
          originalUnits: fc.dictionary(fc.constantFrom('operatingHours', 'odometerKm', 'fuelUsedL', 'idleHours'), fc.constantFrom('mile', 'min', 's', 'gal')),
          declaredReset: fc.boolean(),
          odometerReset: fc.boolean(),
        },
        { requiredKeys: ['kind', 'operatingHours', 'odometerKm'] },
      ),
      fc.record({
        kind: fc.constant('sensor' as const),
        values: fc.dictionary(text, fc.record({ value: num(-1e9, 1e9), unit: text }, { requiredKeys: ['value'] }), { minKeys: 1 }),
      }),
      fc.record({ kind: fc.constant('alert' as const), reason: text, severity: fc.constantFrom('info' as const, 'warning' as const, 'critical' as const), code: text }, { requiredKeys: ['kind', 'reason', 'severity'] }),
      fc.record(
        {
          kind: fc.constant('workorder' as const),
          businessKey: text,
          status: fc.constantFrom('open' as const, 'in-progress' as const, 'completed' as const, 'cancelled' as const),
          erpWorkOrderId: text,
          operatingHoursAtCompletion: num(0, 1e7),
          odometerKmAtCompletion: num(0, 1e8),
        },
        { requiredKeys: ['kind', 'businessKey', 'status'] },
      ),
    );
    const json = (x: unknown): unknown => JSON.parse(JSON.stringify(x));
    fc.assert(
      fc.property(fields, time, text, (f, eventTime, anyAsset) => {
        // Feedback on one of our keys is valid only for the asset its key names.
        const erpAssetId = (f.kind === 'workorder' ? parseWorkOrderKey(f.businessKey)?.erpAssetId : undefined) ?? anyAsset;
        const event = { ...base, eventTime, ...f } as unknown as CanonicalEvent;
        fc.pre(validateEvent(event, Date.UTC(2026, 10, 1)).ok);
        const back = canonicalFromJson(JSON.parse(canonicalLine(event, erpAssetId)), 'cli', 0);
        if (typeof back === 'string') throw new Error(back);
        expect(json(seen(back))).toEqual(json(seen(event)));
        expect(back.ids).toEqual([{ type: 'erp', value: erpAssetId }]);
        expect(validateEvent(back, Date.UTC(2026, 10, 1))).toEqual({ ok: true });
      }),
      { numRuns: 1000 },
    );
  });
});
