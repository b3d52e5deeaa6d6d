/**
 * The demo with the maintenance feedback poll running during the fleet (as a run longer than its
 * 5m default has it): the work-order updates the poll lists from the ERP are not fleet messages, so
 * the demo's "received = published" check and its progress line must not count them.
 */
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { runDemo } from '../../src/demo/demo.js';

describe('assetbridge demo with the work-order feedback poll on', () => {
  it('counts only the fleet\'s messages as received, however many work-order updates the poll lists', async () => {
    const out = new PassThrough();
    let text = '';
    out.on('data', (d: Buffer) => (text += d.toString()));
    const result = await runDemo({
      assets: 40,
      durationMs: 5000,
      ratePerSecond: 100,
      badShare: 0.03,
      faults: false,
      erpRatePerMinute: 6000,
      seed: 5,
      trackunitMachines: 0,
      drainTimeoutMs: 60_000,
      overheatShare: 0.1,
      feedbackPollEvery: '500ms',
      out,
    });
    expect(result.workOrders).toBeGreaterThan(0);
    expect(result.mismatches).toEqual([]);
    expect(result.quarantined).toBe(result.badSent);
    expect(result.ok).toBe(true);
    expect(text).toContain('demo OK');
  }, 120_000);
});
