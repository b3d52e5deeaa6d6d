/**
 * Builds the configured rules from the compiled `rules` config section, so the engine only calls
 * {@link createRules}. Order matters only for reading the state document; each rule keeps its own
 * sub-state (`location`, `maintenance`, `inventory`, `depreciation`).
 * @module
 */
import type { RulesConfig, DepreciationConfig } from '../../config/rules-schema.js';
import { depreciationMeterOf } from './depreciation/usage.js';
import { customCalendar, monthlyCalendar, type PeriodCalendar } from './depreciation/calendar.js';
import { createUsageRule } from './depreciation/usage-rule.js';
import { createInventoryRule } from './inventory/inventory-rule.js';
import { createLocationSyncRule } from './location-sync.js';
import type { MeterSyncOptions } from './meter-sync.js';
import { createMaintenanceRule } from './maintenance/maintenance-rule.js';
import type { MaintenanceOptions } from './maintenance/types.js';
import type { Rule } from './rule.js';
import { sameUnit, type SensorUnitRule, type SensorUnits } from '../normalize/sensor-units.js';
import { ZoneIndex } from './zones/zone-index.js';
import type { ZoneTracking } from './zones/tracking.js';

/** One zone index per compiled config: the rules, the inventory task and the commands share it (a large zones file is built once). */
const trackings = new WeakMap<RulesConfig, ZoneTracking>();

/** Zone tracking from the `zones` block; undefined when no zones are configured. */
export function zoneTrackingOf(config: RulesConfig): ZoneTracking | undefined {
  const z = config.zones;
  if (!z || z.zones.length === 0) return undefined;
  const known = trackings.get(config);
  if (known) return known;
  const tracking: ZoneTracking = {
    index: new ZoneIndex(z.zones, { hysteresisM: z.hysteresisM }),
    dwell: { enterDwellMs: z.enterDwellMs, exitDwellMs: z.exitDwellMs },
    maxAccuracyM: z.maxAccuracyM,
  };
  trackings.set(config, tracking);
  return tracking;
}

/** Names of the configured zones (what a zone sighting must name), or undefined when there are none. */
export function zoneNamesOf(config: RulesConfig): ReadonlySet<string> | undefined {
  const zones = config.zones?.zones;
  return zones && zones.length > 0 ? new Set(zones.map((z) => z.name)) : undefined;
}

/**
 * The unit(s) each sensor's threshold rules compare in (their `unit`), with the rules and the
 * assets each applies to: a reading of an asset one of them applies to is converted to its unit or
 * refused for it before the rules (see normalize/sensor-units). One entry per unit, however spelled
 * (°C and Cel are one), in the order the rules give them; rules on one sensor in different units
 * apply to different assets (config validation). Undefined when no rule gives a unit.
 */
export function sensorUnitsOf(config: RulesConfig): SensorUnits | undefined {
  const units = new Map<string, { unit: string; rules: SensorUnitRule[] }[]>();
  for (const r of config.maintenance?.thresholds ?? []) {
    const unit = r.unit;
    if (unit === undefined) continue;
    const rule: SensorUnitRule = r.appliesTo !== undefined ? { name: r.name, appliesTo: r.appliesTo } : { name: r.name };
    const entries = units.get(r.sensor);
    const entry = entries?.find((e) => sameUnit(e.unit, unit));
    if (entry !== undefined) entry.rules.push(rule);
    else if (entries !== undefined) entries.push({ unit, rules: [rule] });
    else units.set(r.sensor, [{ unit, rules: [rule] }]);
  }
  return units.size > 0 ? units : undefined;
}

/** The maintenance rule's options from the `maintenance` block (undefined when absent). */
export function maintenanceOptionsOf(config: RulesConfig): MaintenanceOptions | undefined {
  const m = config.maintenance;
  if (!m) return undefined;
  return {
    thresholds: m.thresholds,
    serviceIntervals: m.serviceIntervals,
    calendarIntervals: m.calendarIntervals,
    alerts: m.alerts,
    allowedLatenessMs: config.allowedLateness,
    siteAttribute: m.siteAttribute,
    windows: m.windows,
    keepClosed: m.keepClosed,
    snapshotMaxAgeMs: m.snapshotMaxAge,
  };
}

/** Meter sync's options from the `meters` block: whether, and for which assets, readings are sent (`meter.record`). */
export function meterSyncOptionsOf(config: RulesConfig): Pick<MeterSyncOptions, 'enabled' | 'appliesTo'> {
  const m = config.meters;
  return { ...(m.enabled ? {} : { enabled: false }), ...(m.appliesTo ? { appliesTo: m.appliesTo } : {}) };
}

/** Any threshold, service interval, calendar interval or alert rule configured (the maintenance rule then runs). */
export function hasMaintenanceRules(m: Pick<MaintenanceOptions, 'thresholds' | 'serviceIntervals' | 'calendarIntervals' | 'alerts'>): boolean {
  return m.thresholds.length > 0 || m.serviceIntervals.length > 0 || (m.calendarIntervals?.length ?? 0) > 0 || (m.alerts?.length ?? 0) > 0;
}

/** The fiscal period calendar of the `depreciation` block. */
export function calendarOf(d: DepreciationConfig): PeriodCalendar {
  return d.periods === 'monthly' ? monthlyCalendar(d.timeZone) : customCalendar(d.timeZone, d.periods, d.periodsEnd as string);
}

/**
 * Every configured rule: location sync (zone-aware when zones are configured), maintenance
 * (thresholds and service intervals), inventory item locations, and usage per period. Pass the
 * zone tracking to share one zone index with other users (e.g. the `zones` command).
 */
export function createRules(config: RulesConfig, zones: ZoneTracking | undefined = zoneTrackingOf(config)): Rule[] {
  const rules: Rule[] = [];
  if (config.location.enabled) {
    rules.push(
      createLocationSyncRule({
        minDistanceM: config.location.minDistanceM,
        heartbeatMs: config.location.heartbeatMs,
        ...(zones ? { zones, allowedLatenessMs: config.allowedLateness } : {}),
        // Without a zone configured, `zones.maxAccuracyM` still applies to the positions sent.
        ...(config.zones && !zones ? { maxAccuracyM: config.zones.maxAccuracyM } : {}),
        ...(config.location.appliesTo ? { appliesTo: config.location.appliesTo } : {}),
      }),
    );
  }
  const maintenance = maintenanceOptionsOf(config);
  if (maintenance && hasMaintenanceRules(maintenance)) {
    rules.push(createMaintenanceRule(maintenance));
  }
  if (config.inventory) {
    rules.push(
      createInventoryRule({
        skuAttribute: config.inventory.skuAttribute,
        allowedLatenessMs: config.allowedLateness,
        freshnessMs: config.inventory.freshness,
        ...(zones ? { zones } : {}),
        // Without a zone configured, `zones.maxAccuracyM` still keeps an inaccurate sighting from moving an item.
        ...(config.zones && !zones ? { maxAccuracyM: config.zones.maxAccuracyM } : {}),
      }),
    );
  }
  if (config.depreciation) {
    const d = config.depreciation;
    const meterOfAsset = depreciationMeterOf(d);
    rules.push(
      createUsageRule({ calendar: calendarOf(d), allowedLatenessMs: config.allowedLateness, keepPeriods: d.keepPeriods, meterOf: (asset) => meterOfAsset(asset).meter, ...(d.appliesTo ? { appliesTo: d.appliesTo } : {}) }),
    );
  }
  return rules;
}

export type { Rule, RuleContext, RuleResult } from './rule.js';
export { isFlushable, type FlushableRule } from './event-time.js';
export { simulateRules, flushRules, type SimulationStep, type StateDoc } from './simulate.js';
