/**
 * Period-end posting of units-of-production inputs (`usage.post`): once a fiscal period has ended
 * and the `postAfter` grace for late readings has passed, post each tracked asset's usage for it.
 * One fact per asset and period, ever (`<asset>|usage|<period>`), so a crash, a re-run or an
 * on-demand `depreciation post` for the same period adds nothing. The first run posts only the
 * latest closed period (no backfill of history nobody asked for); after that, each period in turn.
 * @module
 */
import type { AssetRecord } from '../../core/model/assets.js';
import type { DeliveryIntent } from '../../core/model/delivery.js';
import type { Period, PeriodCalendar } from '../../core/rules/depreciation/calendar.js';
import { usageFor, usagePostDelivery, type DepreciationAttributes, type UsageLine, type UsageMeterKind, type UsageUnits } from '../../core/rules/depreciation/usage.js';
import { DEPRECIATION_RULE, type UsageState } from '../../core/rules/depreciation/usage-rule.js';
import { matchesFilter, type AssetFilter } from '../../core/rules/maintenance/types.js';
import type { ScheduledTask } from '../../ports/task.js';
import type { Store } from '../../ports/store.js';

export const USAGE_TASK = 'depreciation-posting';
/** kv namespace; key `lastPosted` holds the last period posted by the task. */
export const USAGE_NS = 'depreciation';
/** At most this many periods are posted in one run (a long outage catches up over several runs). */
const MAX_PERIODS_PER_RUN = 12;

export interface UsagePostingOptions {
  readonly calendar: PeriodCalendar;
  readonly attributes: DepreciationAttributes;
  /** The `unit` sent for usage counted in hours and in km. */
  readonly units: UsageUnits;
  /** Each asset's meter (for assets with no usage counted yet). @default hours */
  readonly meterOf?: (asset: AssetRecord) => { readonly meter: UsageMeterKind; readonly problem?: string };
  readonly postAfterMs: number;
  readonly checkEveryMs: number;
  readonly appliesTo?: AssetFilter;
  readonly defaultDestination: string;
}

export interface AssetUsageLine {
  readonly line: UsageLine;
  readonly asset: AssetRecord;
  readonly destination: string;
}

/** Usage lines for every asset the depreciation rule applies to, for one period. */
export async function loadUsageLines(
  store: Store,
  options: Pick<UsagePostingOptions, 'attributes' | 'appliesTo' | 'defaultDestination' | 'meterOf'>,
  period: Period,
  now: number,
  filter?: (asset: AssetRecord) => boolean,
): Promise<AssetUsageLine[]> {
  const assets = (await store.listAssets()).map((a) => a.asset).filter((a) => matchesFilter(a, options.appliesTo) && (!filter || filter(a)));
  const states = await store.loadStates(assets.map((a) => a.erpAssetId));
  return assets
    .sort((a, b) => (a.erpAssetId < b.erpAssetId ? -1 : a.erpAssetId > b.erpAssetId ? 1 : 0))
    .map((asset) => ({
      asset,
      destination: asset.destination ?? options.defaultDestination,
      line: usageFor(asset, states.get(asset.erpAssetId)?.[DEPRECIATION_RULE] as UsageState | undefined, period, options.attributes, now, options.meterOf?.(asset)),
    }));
}

/** The `usage.post` deliveries for the tracked assets among `lines`. */
export function usageDeliveries(lines: readonly AssetUsageLine[], timeZone: string, units: UsageUnits): DeliveryIntent[] {
  return lines.filter((l) => l.line.tracked).map((l) => usagePostDelivery(l.line, l.destination, timeZone, units));
}

/** The latest period whose posting time (end + grace) has come at `now`. */
export function latestPostable(calendar: PeriodCalendar, now: number, postAfterMs: number): Period | undefined {
  const current = calendar.periodAt(now - postAfterMs);
  if (!current) return undefined;
  return current.end <= now - postAfterMs ? current : calendar.periodAt(current.start - 1);
}

export function createUsagePostingTask(options: UsagePostingOptions): ScheduledTask {
  return {
    name: USAGE_TASK,
    schedule: { everyMs: options.checkEveryMs },
    async run(ctx) {
      const now = ctx.clock.now();
      const last = await ctx.store.kvGet(USAGE_NS, 'lastPosted');
      const lastPeriod = last !== undefined ? options.calendar.period(last) : undefined;
      let period = lastPeriod ? options.calendar.next(lastPeriod) : latestPostable(options.calendar, now, options.postAfterMs);
      for (let i = 0; period && period.end + options.postAfterMs <= now && i < MAX_PERIODS_PER_RUN; i++) {
        if (ctx.signal.aborted) return;
        if (i === 0) await ctx.checkpoint(); // usage the ingestor still holds in memory counts too
        const lines = await loadUsageLines(ctx.store, options, period, now);
        const deliveries = usageDeliveries(lines, options.calendar.timeZone, options.units);
        if (deliveries.length) await ctx.commit(deliveries);
        await ctx.store.kvSet(USAGE_NS, 'lastPosted', period.id);
        period = options.calendar.next(period);
      }
    },
  };
}
