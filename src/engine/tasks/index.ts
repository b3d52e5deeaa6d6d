/**
 * The scheduled tasks the rules need, built from the compiled `rules` config: ERP work-order
 * feedback polling (maintenance closed loop), calendar intervals, idle watermarks (held events of
 * quiet assets), inventory count sync, and period-end usage posting.
 * @module
 */
import { depreciationMeterOf, type RulesConfig } from '../../config/rules-schema.js';
import { calendarOf, hasMaintenanceRules, zoneTrackingOf } from '../../core/rules/index.js';
import type { ZoneIndex } from '../../core/rules/zones/zone-index.js';
import { createCalendarIntervalTask, type CalendarTaskOptions } from './calendar-intervals.js';
import { createIdleWatermarkTask } from './idle-watermark.js';
import type { ScheduledTask } from '../../ports/task.js';
import { createInventorySyncTask, type InventorySyncOptions } from './inventory-sync.js';
import { createUsagePostingTask } from './usage-posting.js';
import { createWorkOrderFeedbackTask } from './work-order-feedback.js';

export interface RuleTaskOptions {
  /** Destination for assets that do not name one. */
  readonly defaultDestination: string;
  /** All configured destinations (feedback polls those whose connector can list work orders). */
  readonly destinations: readonly string[];
  /** Each destination's `retry.unknownOutcomeSettleMs` (inventory: a discarded count that may have landed is sent again no sooner). */
  readonly settleMs?: Readonly<Record<string, number>>;
  /** For tasks that warn about bad asset data (calendar intervals) or say what they did. */
  readonly logger?: { info(obj: object, msg: string): void; warn(obj: object, msg: string): void; debug(obj: object, msg: string): void };
}

/**
 * After how much silence the service sends an asset an idle watermark: `rules.idleAfter` (at least
 * the allowed lateness), where rules hold events or zone dwell waits; 0 where it sends none.
 * (`rules test` sends the same ones between captured lines.)
 */
export function idleMsOf(config: RulesConfig): number {
  return config.idleAfter > 0 && (config.allowedLateness > 0 || (config.zones?.zones.length ?? 0) > 0) ? Math.max(config.idleAfter, config.allowedLateness) : 0;
}

/** The calendar-interval task's options from the rules, as the service runs it; undefined with no calendar interval configured. */
export function calendarTaskOptionsOf(config: RulesConfig, defaultDestination: string): CalendarTaskOptions | undefined {
  const m = config.maintenance;
  if (!m || m.calendarIntervals.length === 0) return undefined;
  return {
    rules: m.calendarIntervals,
    checkEveryMs: m.calendarCheckEvery,
    defaultDestination,
    allowedLatenessMs: config.allowedLateness,
    snapshotMaxAgeMs: m.snapshotMaxAge,
    siteAttribute: m.siteAttribute,
    windows: m.windows,
  };
}

/** Whether the service polls its destinations for work-order changes (rules.maintenance.feedback.pollEvery, with maintenance rules to feed). */
export function pollsWorkOrders(config: RulesConfig): boolean {
  const m = config.maintenance;
  return m !== undefined && m.feedback.pollEvery > 0 && hasMaintenanceRules(m);
}

export function createRuleTasks(config: RulesConfig, options: RuleTaskOptions): ScheduledTask[] {
  const tasks: ScheduledTask[] = [];
  const m = config.maintenance;
  if (m && pollsWorkOrders(config)) {
    tasks.push(createWorkOrderFeedbackTask({ destinations: options.destinations, pollEveryMs: m.feedback.pollEvery, initialLookbackMs: m.feedback.initialLookback, pollOverlapMs: m.feedback.pollOverlap }));
  }
  const calendar = calendarTaskOptionsOf(config, options.defaultDestination);
  if (calendar) tasks.push(createCalendarIntervalTask(options.logger ? { ...calendar, logger: options.logger } : calendar));
  // Idle watermarks matter only where rules hold events for a lateness, or zone dwell waits for a next fix.
  const idleMs = idleMsOf(config);
  if (idleMs > 0) {
    tasks.push(createIdleWatermarkTask({ idleMs, checkEveryMs: Math.max(1000, Math.min(60_000, Math.round(idleMs / 4))), ...(options.logger ? { logger: options.logger } : {}) }));
  }
  const inv = inventorySyncOptionsOf(config, options.defaultDestination, undefined, options.destinations);
  // The logger: a long snapshot's on-hand read logs its progress.
  if (inv) tasks.push(createInventorySyncTask(options.settleMs ? { ...inv, settleMs: options.settleMs } : inv, options.logger ? { logger: options.logger } : {}));
  const d = config.depreciation;
  if (d) {
    tasks.push(
      createUsagePostingTask({
        calendar: calendarOf(d),
        attributes: d.attributes,
        units: { hours: d.unit, km: d.kmUnit },
        meterOf: depreciationMeterOf(d),
        postAfterMs: d.postAfter,
        checkEveryMs: d.checkEvery,
        defaultDestination: options.defaultDestination,
        holdBack: d.holdBack,
        ...(d.appliesTo ? { appliesTo: d.appliesTo } : {}),
        ...(options.logger ? { logger: options.logger } : {}),
      }),
    );
  }
  return tasks;
}

/** Each destination's `retry.unknownOutcomeSettleMs`, by name (see {@link RuleTaskOptions.settleMs}). */
export function settleMsOf(destinations: readonly { readonly name: string; readonly retry: { readonly unknownOutcomeSettleMs: number } }[]): Record<string, number> {
  return Object.fromEntries(destinations.map((d) => [d.name, d.retry.unknownOutcomeSettleMs]));
}

/** The inventory task's options from the compiled rules config (undefined: inventory is not configured). */
export function inventorySyncOptionsOf(
  config: RulesConfig,
  defaultDestination: string,
  zones: ZoneIndex | undefined = zoneTrackingOf(config)?.index,
  destinations?: readonly string[],
): InventorySyncOptions | undefined {
  const inv = config.inventory;
  if (!inv) return undefined;
  return {
    skuAttribute: inv.skuAttribute,
    quantityAttribute: inv.quantityAttribute,
    freshnessMs: inv.freshness,
    changesEveryMs: inv.changesEvery,
    fullSnapshotCron: inv.fullSnapshotCron,
    timeZone: inv.timeZone,
    defaultDestination,
    ...(zones ? { zones } : {}),
    ...(destinations ? { destinations } : {}),
  };
}

export * from './calendar-intervals.js';
export * from './inventory-sync.js';
export * from './usage-posting.js';
export * from './work-order-feedback.js';
