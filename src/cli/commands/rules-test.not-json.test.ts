/** `rules test`: a line that is not JSON says where in the line, as a zone file's error does (`column C`), not V8's offset from 0. */
import { describe, expect, it } from 'vitest';
import { rulesSchema } from '../../config/rules-schema.js';
import { createRules } from '../../core/rules/index.js';
import { formatLine, notJsonReasonInLine, runRulesTest } from './rules-test.js';

const assets = [{ asset: { erpAssetId: 'EQ-1', erpModule: 'maintenance', attributes: {} }, identifiers: [{ type: 'tag' as const, value: 'tag-1', erpAssetId: 'EQ-1' }] }];
const input = (lines: string[]) => ({ lines, rules: createRules(rulesSchema.parse({ allowedLateness: 0 })), assets, defaultDestination: 'erp', states: new Map(), now: Date.parse('2026-10-02T00:00:00Z') });

describe('rules test: a line that is not JSON', () => {
  it('says the line and the column within it (1-based, leading blanks counted), not "at position N"', async () => {
    // Was: "line 2: rejected: payload is not JSON: … in JSON at position 98", an offset from 0 no editor shows.
    const good = '{"kind":"position","assetId":"tag-1","eventTime":"2026-10-01T08:00:00Z","lat":51.95,"lng":4.05}';
    const bad = '  {"kind":"position","assetId":"tag-1","eventTime":"2026-10-01T08:01:00Z","lat":51.95,"lng":4.05,}';
    const column = bad.lastIndexOf('}') + 1;
    const report = await runRulesTest(input([good, bad]));
    const line = report.lines.find((l) => l.line === 2);
    expect(line?.accepted).toBe(false);
    expect(line?.reason).toMatch(new RegExp(`^payload is not JSON: column ${column}: `));
    expect(line?.reason).not.toMatch(/position \d+/);
    expect(formatLine(line!)).toMatch(new RegExp(`^line 2: rejected: payload is not JSON: column ${column}: `));
  });

  it('counts the column in the line as read (the decoder was given it trimmed), and keeps other reasons', () => {
    expect(notJsonReasonInLine('payload is not JSON: column 9: Expected double-quoted property name in JSON', '   {"a": 1,}')).toBe('payload is not JSON: column 12: Expected double-quoted property name in JSON');
    expect(notJsonReasonInLine('payload is not JSON: column 9: Expected double-quoted property name in JSON', '{"a": 1,}')).toBe('payload is not JSON: column 9: Expected double-quoted property name in JSON');
    expect(notJsonReasonInLine('events: not a list', '{"a": 1,}')).toBe('events: not a list');
  });
});
