import { describe, expect, it } from 'vitest';
import { createHttpApp } from '../../api/server.js';
import { rulesSchema } from '../../config/rules-schema.js';
import type { RawMessage } from '../../core/model/messages.js';
import { createRules } from '../../core/rules/index.js';
import { formatLine, formatSummary, runRulesTest } from './rules-test.js';

const assets = [{ asset: { erpAssetId: 'EQ-1', erpModule: 'maintenance', attributes: {} }, identifiers: [{ type: 'tag' as const, value: 'tag-1', erpAssetId: 'EQ-1' }] }];
const input = (lines: string[]) => ({ lines, rules: createRules(rulesSchema.parse({ allowedLateness: 0 })), assets, defaultDestination: 'erp', states: new Map(), now: Date.parse('2026-10-02T00:00:00Z') });
const position = (tag: string, minute: number, lat: number) => ({ kind: 'position', assetId: tag, eventTime: `2026-10-01T08:0${minute}:00Z`, lat, lng: 4.05 });

describe('rules test: a line holding a JSON array', () => {
  // The middle item names a tag the registry lacks: the intake quarantines that item alone and stores the other two.
  const items = [position('tag-1', 0, 51.95), position('tag-9', 1, 51.96), position('tag-1', 2, 51.97)];

  it('takes each item as its own message, as POST /v1/events does: a bad item is rejected alone, named by its line and index', async () => {
    const report = await runRulesTest(input(['# one POST body, as a line', JSON.stringify(items)]));
    expect(report.lines.map((l) => [l.line, l.item, l.accepted])).toEqual([
      [2, 0, true],
      [2, 1, false],
      [2, 2, true],
    ]);
    expect(report.counts).toEqual({ lines: 1, messages: 3, accepted: 2, rejected: 1, shown: 3, late: 0 });
    expect(formatLine(report.lines[1]!)).toMatch(/^line 2 item 1: rejected: no ERP mapping for tag tag-9;/);
    expect(formatLine(report.lines[2]!)).toMatch(/^line 2 item 2: position EQ-1 @ 2026-10-01T08:02:00.000Z\n {2}location.update/);
    expect(formatSummary(report)).toContain('\n1 event line(s) holding 3 message(s) (each item of a JSON array its own, as POST /v1/events takes it): 2 accepted, 1 rejected\n');
  });

  it('splits a line as the intake splits the same POST body: the same items, in the same order, as the same payloads', async () => {
    const body = JSON.stringify(items);
    const taken: RawMessage[] = [];
    const app = createHttpApp({
      host: '127.0.0.1',
      port: 0,
      now: () => 0,
      intake: { token: 't0ken-walk', bodyLimitBytes: 1_048_576, maxEvents: 100 },
      sink: {
        submit: (m) => {
          taken.push(...m);
          return Promise.resolve({ accepted: m.length, quarantined: [] });
        },
      },
      status: { ready: () => true, status: () => Promise.resolve({}), metrics: () => Promise.resolve('') },
    });
    const res = await app.request('/v1/events', { method: 'POST', body, headers: { authorization: 'Bearer t0ken-walk', 'content-type': 'application/json' } });
    expect(res.status).toBe(202);
    const report = await runRulesTest(input([body]));
    // Each accepted item's event is the message the intake made of the item at that index.
    const accepted = report.lines.filter((l) => l.accepted);
    expect(accepted.map((l) => [l.item, l.events[0]?.eventTime])).toEqual(accepted.map((l) => [l.item, new Date(String((JSON.parse(String(taken[l.item!]?.payload)) as { eventTime: string }).eventTime)).toISOString()]));
    expect(taken.length).toBe(report.counts.messages);
  });

  it('keeps a line of one object, an empty list and a line that is no JSON as one message each', async () => {
    const report = await runRulesTest(input([JSON.stringify(items[0]), '[]', '[{"kind":']));
    expect(report.lines.map((l) => [l.line, l.item, l.accepted])).toEqual([
      [1, undefined, true],
      [2, undefined, false],
      [3, undefined, false],
    ]);
    expect(report.counts.messages).toBeUndefined();
    expect(report.lines[2]?.reason).toMatch(/^payload is not JSON/);
  });
});
