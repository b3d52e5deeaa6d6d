/**
 * `rules test` judges each line as the running service judges its message: a line the service
 * would quarantine is rejected with the service's reason, and the lines after it still run.
 */
import { describe, expect, it } from 'vitest';
import { rulesSchema } from '../../config/rules-schema.js';
import { createRules } from '../../core/rules/index.js';
import type { AssetWithIdentifiers } from '../../ports/store.js';
import { formatRulesTest, runRulesTest } from './rules-test.js';

const plain = (erpAssetId: string, tag: string): AssetWithIdentifiers => ({
  asset: { erpAssetId, erpModule: 'maintenance', attributes: {} },
  identifiers: [{ type: 'tag', value: tag, erpAssetId }],
});
const position = (tag: string, iso: string, lat = 52.5, extra: object = {}) => JSON.stringify({ kind: 'position', assetId: tag, eventTime: iso, lat, lng: 13.4, ...extra });
const base = { rules: createRules(rulesSchema.parse({ allowedLateness: 0, location: { minDistanceM: 100 } })), assets: [plain('EQ-1', 'tag-1')], defaultDestination: 'erp', states: new Map() };

describe('rules test: a line over ingest.maxPayloadBytes', () => {
  it('is rejected unparsed with the reason the service quarantines it under as too-large; the lines after it run', async () => {
    const big = position('tag-1', '2026-10-01T08:00:00Z', 52.5, { note: 'x'.repeat(1_048_576) });
    const report = await runRulesTest({ ...base, lines: [big, position('tag-1', '2026-10-01T08:01:00Z')] });
    expect(report.lines[0]).toMatchObject({ accepted: false, reason: expect.stringContaining(`payload of ${Buffer.byteLength(big)} bytes exceeds ingest.maxPayloadBytes (1048576)`) });
    expect(report.lines[0]?.reason).toContain('the service quarantines such a message as too-large, unparsed');
    expect(report.lines[1]).toMatchObject({ accepted: true });
    expect(report.lines[1]?.deliveries.map((d) => d.operation)).toEqual(['location.update']);
    expect(report.counts).toMatchObject({ lines: 2, accepted: 1, rejected: 1 });
  });

  it('is judged against the configured limit, in bytes', async () => {
    const line = position('tag-1', '2026-10-01T08:00:00Z', 52.5, { note: 'é'.repeat(40) }); // 2 bytes a character
    const size = Buffer.byteLength(line);
    const over = await runRulesTest({ ...base, lines: [line], maxPayloadBytes: size - 1 });
    expect(formatRulesTest(over)).toContain(`line 1: rejected: payload of ${size} bytes exceeds ingest.maxPayloadBytes (${size - 1}); raise the limit or fix the sender`);
    const at = await runRulesTest({ ...base, lines: [line], maxPayloadBytes: size });
    expect(at.counts).toMatchObject({ accepted: 1, rejected: 0 });
  });
});
