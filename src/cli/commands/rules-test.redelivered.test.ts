/**
 * `rules test` over lines marked `"redelivered": true` (the event capture marks the events of a
 * message its source sent again, an MQTT redelivery): the rules run as the service ran them on it
 * (`RuleContext.redelivered`), so an older event is not counted late and an older meter reading is
 * not flagged again, nor counted among meter readings held or set aside; what is delivered is the same.
 */
import { describe, expect, it } from 'vitest';
import { rulesSchema } from '../../config/rules-schema.js';
import { createRules } from '../../core/rules/index.js';
import { createMeterSyncRule } from '../../core/rules/meter-sync.js';
import type { AssetWithIdentifiers } from '../../ports/store.js';
import { formatLine, formatSummary, runRulesTest } from './rules-test.js';

const config = rulesSchema.parse({ allowedLateness: 0, maintenance: { serviceIntervals: [{ name: 'svc', everyHours: 250 }] } });
const assets: AssetWithIdentifiers[] = [{ asset: { erpAssetId: 'EQ-1', erpModule: 'maintenance', attributes: {} }, identifiers: [{ type: 'tag', value: 'tag-1', erpAssetId: 'EQ-1' }] }];
const at = (hour: number) => new Date(Date.UTC(2026, 9, 1, hour)).toISOString();
/** A meter reading as the capture writes it: received a minute after it was taken, maybe marked as sent again. */
const meter = (hour: number, hours: number, redelivered?: unknown) =>
  JSON.stringify({ kind: 'meter', erpAssetId: 'EQ-1', eventTime: at(hour), operatingHours: hours, source: 'mqtt:fleet', receivedAt: new Date(Date.parse(at(hour)) + 60_000).toISOString(), ...(redelivered !== undefined ? { redelivered } : {}) });

const run = (lines: string[]) =>
  runRulesTest({ lines, rules: [...createRules(config), createMeterSyncRule()], assets, defaultDestination: 'erp', states: new Map(), now: Date.parse('2026-10-02T00:00:00Z') });

describe('rules test: events of a message sent again (redelivered)', () => {
  it('an older meter reading redelivered is not late, nor flagged by meter hygiene; sent once, it is both', async () => {
    const once = await run([meter(0, 100), meter(1, 101), meter(0, 100)]);
    expect(once.lines[2]?.late?.length).toBeGreaterThan(0);
    expect(once.lines[2]?.meterHygiene).toEqual([expect.stringMatching(/^meter hygiene set aside as out-of-order/)]);
    expect(once.counts.late).toBe(1);

    const again = await run([meter(0, 100), meter(1, 101), meter(0, 100, true)]);
    const line = again.lines[2];
    expect(line).toMatchObject({ accepted: true, redelivered: true, deliveries: [] });
    expect(line?.late).toBeUndefined();
    expect(line?.meterHygiene).toBeUndefined();
    expect(again.counts.late).toBe(0);
    expect(formatSummary(again)).not.toContain('dropped as late');
    expect(formatLine(line as NonNullable<typeof line>)).toContain('  redelivered: its source sent the message again (an MQTT redelivery)');
    // The same deliveries either way; `false` is a message sent once.
    expect(again.totals).toEqual(once.totals);
    const unmarked = await run([meter(0, 100), meter(1, 101), meter(0, 100, false)]);
    expect(unmarked.counts.late).toBe(1);
    expect(unmarked.lines[2]?.redelivered).toBeUndefined();
  });

  it('counts meter readings held as the service does: not those of a redelivered message', async () => {
    // Possible since the meter first showed 100, not since it last showed it: held.
    const held = await run([meter(0, 100), meter(10, 100), meter(11, 105)]);
    expect(held.meterReadings).toEqual({ held: { hours: 1, km: 0 }, setAside: { hours: 0, km: 0 } });
    expect(formatSummary(held)).toContain('meter readings held by meter hygiene: 1 hour-meter, 0 odometer; held ones set aside: 0 hour-meter, 0 odometer');
    const redelivered = await run([meter(0, 100), meter(10, 100), meter(11, 105, true)]);
    expect(redelivered.meterReadings).toBeUndefined();
    expect(formatSummary(redelivered)).not.toContain('meter readings held');
  });

  it('rejects a line whose redelivered is not true or false, saying what to write', async () => {
    const report = await run([meter(0, 100, 'yes'), meter(1, 101, 1)]);
    expect(report.counts).toMatchObject({ accepted: 0, rejected: 2 });
    expect(report.lines[0]?.reason).toBe(
      'redelivered must be true or false, got "yes": it says the service took the event from a message its source sent again (an MQTT redelivery), as the capture writes it; write true (without quotes), or remove it for a message sent once',
    );
    expect(report.lines[1]?.reason).toMatch(/^redelivered must be true or false, got 1:/);
  });
});
