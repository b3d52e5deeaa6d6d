/**
 * Depreciation benchmark: the period-end usage posting (what the `depreciation-posting` task and
 * `depreciation post` do: every asset's usage state and posting ledger read, its posting planned,
 * the ledgers recorded and the `usage.post` facts committed) over a large fleet, for three periods
 * in turn, as a ratio to the least any posting must do in the same process: read and parse every
 * asset's usage state in one query. Also the longest the event loop was held at once, which is
 * how long MQTT acks, HTTP answers and timers wait at a period end, and the longest a second
 * process's writes waited for the write lock meanwhile (as the commit worker's ingest commits do).
 * @module
 */
import { resolve } from 'node:path';
import { monthlyCalendar, type Period } from '../src/core/rules/depreciation/calendar.js';
import { DEFAULT_DEPRECIATION_ATTRIBUTES } from '../src/core/rules/depreciation/usage.js';
import type { UsageState } from '../src/core/rules/depreciation/usage-rule.js';
import { loadUsageLines, postUsage, type UsageLoadOptions } from '../src/engine/tasks/usage-posting.js';
import { tuneV8 } from '../src/runtime/v8-tuning.js';
import { withTempStore } from '../test/helpers/temp-store.js';
import { watchHolds } from './event-loop-hold.js';
import { median } from './rules.js';
import { otherWriter } from './other-writer.js';

export interface DepreciationBenchResult {
  readonly assets: number;
  /** ms per period posted (median of the three; the first finds no ledgers yet). */
  readonly postingMs: number;
  /** ms to read and parse every asset's usage state in one query: the floor. */
  readonly bareReadMs: number;
  /** bare read / posting (1 = a posting costs no more than reading the states). */
  readonly ratio: number;
  /** The longest the event loop was held at once during the postings, ms. */
  readonly longestHoldMs: number;
  /** The longest a write of another process (every 5 ms, as the commit worker's ingest commits or a running service's) waited for the lock meanwhile, ms. */
  readonly otherWriterWaitMs: number;
  readonly postingsPerPeriod: number;
}

const calendar = monthlyCalendar('Europe/Berlin');
const OPTIONS: UsageLoadOptions = { calendar, attributes: DEFAULT_DEPRECIATION_ATTRIBUTES, units: { hours: 'h', km: 'km' }, defaultDestination: 'erp' };

/** An asset's usage from 1 September to 30 November, about 10 h a day, as the usage rule files it in Berlin's months. */
function usage(i: number): UsageState {
  const base = 1000 + (i % 500);
  return {
    first: [Date.parse('2026-09-01T00:00:00Z'), base],
    last: [Date.parse('2026-11-30T12:00:00Z'), base + 905],
    periods: { '2026-09': { units: 302, meterAtEnd: base + 302 }, '2026-10': { units: 310, meterAtEnd: base + 612 }, '2026-11': { units: 293, meterAtEnd: base + 905 } },
  };
}

export async function benchDepreciation(assets = 50_000): Promise<DepreciationBenchResult> {
  return withTempStore({ synchronous: 'normal' }, async (store) => {
    for (let i = 0; i < assets; i += 5000) {
      const ids = Array.from({ length: Math.min(5000, assets - i) }, (_, k) => `FA-${i + k}`);
      await store.upsertAssets(ids.map((id) => ({ asset: { erpAssetId: id, erpModule: 'fixed-assets', attributes: { cost: '120000', salvage: '20000', expectedUnits: '10000' } }, identifiers: [{ type: 'tag' as const, value: `t-${id}`, erpAssetId: id }] })));
      await store.commitIngest({ states: ids.map((id, k) => ({ erpAssetId: id, doc: { depreciation: usage(i + k) }, changed: ['depreciation'] })), deliveries: [], quarantine: [], accepted: 0, checkpoint: true });
    }
    const read = store.db.prepare(`SELECT doc FROM asset_rule_state WHERE rule = 'depreciation'`).pluck();
    const bare: number[] = [];
    const posting: number[] = [];
    let hold = 0;
    let otherWait = 0;
    let postings = 0;
    const now = Date.parse('2026-12-05T00:00:00Z');
    for (const id of ['2026-09', '2026-10', '2026-11']) {
      const period = calendar.period(id) as Period;
      let t = performance.now();
      let n = 0;
      for (const doc of read.iterate() as Iterable<string>) if ((JSON.parse(doc) as UsageState).periods !== undefined) n++;
      if (n !== assets) throw new Error(`the bare read found ${n} states of ${assets}`);
      bare.push(performance.now() - t);
      const writer = await otherWriter(store.db.name);
      const holds = watchHolds();
      t = performance.now();
      const lines = await loadUsageLines(store, OPTIONS, period, now);
      const made = await postUsage(store, (d) => store.commitIngest({ states: [], deliveries: d, quarantine: [], accepted: 0 }), lines, period);
      posting.push(performance.now() - t);
      hold = Math.max(hold, holds.stop());
      const other = await writer.stop();
      if (other.failed > 0) throw new Error(`the other process's writes failed ${other.failed} time(s) during the posting (busy_timeout 5 s)`);
      otherWait = Math.max(otherWait, other.worstMs);
      if (made.length !== assets) throw new Error(`${made.length} postings for ${id}, not one per asset (${assets}): the benchmark is wrong`);
      postings = made.length;
    }
    const b = median(bare);
    const p = median(posting);
    return { assets, postingMs: Math.round(p), bareReadMs: Math.round(b), ratio: Math.round((b / p) * 1000) / 1000, longestHoldMs: Math.round(hold), otherWriterWaitMs: otherWait, postingsPerPeriod: postings };
  });
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === resolve(import.meta.filename)) {
  tuneV8();
  process.stdout.write(`${JSON.stringify(await benchDepreciation(Number(process.env.BENCH_DEPRECIATION_ASSETS ?? 50_000)), null, 2)}\n`);
}
