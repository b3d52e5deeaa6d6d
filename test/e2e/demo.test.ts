/**
 * The demo (the README's first command) end to end, shortened: the simulated fleet over the
 * in-process broker, the real pipeline, a flaky ERP simulator; it must end with the ERP matching
 * the fleet, every bad message quarantined, and one work order per overheating engine.
 */
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { runDemo } from '../../src/demo/demo.js';

describe('assetbridge demo', () => {
  it('ends with the ERP matching the fleet, bad input quarantined and one work order per overheating asset', async () => {
    const out = new PassThrough();
    let text = '';
    out.on('data', (d: Buffer) => (text += d.toString()));
    const result = await runDemo({
      assets: 60,
      durationMs: 6000,
      ratePerSecond: 150,
      badShare: 0.03,
      faults: true,
      erpRatePerMinute: 1200,
      seed: 3,
      trackunitMachines: 0,
      drainTimeoutMs: 60_000,
      overheatShare: 0.05,
      cli: 'node dist/src/cli/main.js',
      out,
    });
    expect(result.mismatches).toEqual([]);
    // The closing hint names the command as the newcomer can run it (`npm run demo` puts no assetbridge on the PATH).
    expect(text).toMatch(/inspect the run: node dist\/src\/cli\/main\.js status --config \S+assetbridge\.yaml/);
    expect(result.ok).toBe(true);
    expect(result.quarantined).toBe(result.badSent);
    expect(result.badSent).toBeGreaterThan(0);
    expect(result.overheatedAssets).toBeGreaterThan(0);
    expect(result.workOrders).toBe(result.overheatedAssets);
    expect(text).toMatch(new RegExp(`work orders \\(engine > 96\\.5 °C\\) +${result.workOrders} for ${result.overheatedAssets} overheating assets, none duplicated`));
    expect(text).toContain('demo OK');
    // What paused the destination, counted as `status` counts it (its 429/503 column): the ERP's
    // 429s and its injected 503s, so a "(paused)" line never stands beside "0".
    expect(result.erpPausingAnswers).toBeGreaterThanOrEqual(result.erp429);
    expect(text).toMatch(new RegExp(`429/503 answers from the ERP +${result.erpPausingAnswers} \\(each paused the destination; nothing lost\\)`));
    expect(text).not.toMatch(/ 429s \d/);
    // Each count on a line of its own that says what it is (not "faults injected / duplicates suppressed … 32 / 1").
    expect(text).toMatch(new RegExp(`ERP faults injected +${result.faultsFired} \\(`));
    expect(text).toMatch(new RegExp(`repeated writes not re-applied +${result.duplicatesSuppressed} \\(`));
    expect(text).not.toContain('faults injected / duplicates');
    // The summary is a table: every value in one column (labels were padded by hand, some values a column off).
    const summary = text.slice(text.indexOf('\nsummary\n') + '\nsummary\n'.length, text.indexOf('\ndemo OK')).split('\n').filter((l) => /^ {2}\S/.test(l));
    expect(summary.length).toBeGreaterThan(8);
    expect(new Set(summary.map((l) => l.length - (/^ {2}\S.*?\S {2,}(\S.*)$/.exec(l)?.[1]?.length ?? -1000)))).toHaveProperty('size', 1);
    // The writes the summary counts are those the progress line counts ("ERP writes applied"), not the location writes alone.
    expect(result.erpWrites).toBeGreaterThanOrEqual(result.erpLocationWrites);
    expect(text).toMatch(new RegExp(`ERP writes applied +${result.erpWrites} \\(location ${result.erpLocationWrites}[,;]`));
    expect(text).not.toContain('location writes');
  }, 120_000);
});
