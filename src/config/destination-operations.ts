/**
 * Whether each destination that can receive deliveries delivers every operation the configured
 * rules produce for the assets routed to it (an asset's `destination`, else the default one). A
 * delivery of an operation its destination's connector does not deliver (`capabilities.operations`)
 * only fails at run time, as a dead letter (invariant 2: nothing is dropped silently, but a refused
 * start says it before anything is lost), so the service's start and `config check` ask this.
 *
 * The decision, per destination and missing operation:
 * - an error (the start is refused) when a rule producing it applies to an asset routed there: a
 *   rule without `appliesTo` (meter sync and location sync, unless limited or off)
 *   reaches every destination assets are routed to, and the default destination always (an asset
 *   that names none goes there, one imported later too); a rule with `appliesTo` (the inventory:
 *   the assets with its SKU attribute) reaches it when a known asset routed there matches it;
 * - a warning when every such rule has an `appliesTo` no known asset routed there matches: nothing
 *   fails now, but an asset imported later that matches would have its deliveries dead-lettered.
 * A destination no known asset names, not the default, receives nothing and is not checked.
 * @module
 */
import type { AssetRecord } from '../core/model/assets.js';
import { matchesFilter } from '../core/rules/maintenance/types.js';
import { isInventoryItem } from '../core/rules/inventory/inventory-rule.js';
import { LOCATION_UPDATE } from '../core/rules/location-sync-state.js';
import { METER_RECORD } from '../core/rules/meter-sync.js';
import { priorityOf, WORKORDER_CREATE, WORKORDER_UPDATE } from '../core/rules/maintenance/work-order.js';
import type { AlertRule } from '../core/rules/maintenance/types.js';
import { INVENTORY_COUNT } from '../core/rules/inventory/counts.js';
import { USAGE_POST } from '../core/rules/depreciation/usage.js';
import type { RulesConfig } from './rules-schema.js';

/** A rule (or built-in) that produces deliveries of one operation. */
export interface OperationProducer {
  readonly operation: string;
  /** Its config key (`rules.maintenance.thresholds.0`), or how a built-in rule is called. */
  readonly key: string;
  /** The assets it produces deliveries for; absent: every asset. */
  readonly appliesTo?: (asset: AssetRecord) => boolean;
  /** Those assets in words, with `appliesTo`. @default 'the assets its appliesTo picks' */
  readonly picks?: string;
  /** What to change so it produces none for the assets routed to that destination, besides routing them elsewhere. */
  readonly remedy?: string;
}

/** A configured destination, with the operations its connector delivers. */
export interface DestinationOperations {
  readonly name: string;
  /** Its config key: `destinations.1`. */
  readonly key: string;
  readonly operations: readonly string[];
}

export interface OperationIssue {
  /** The destination's config key. */
  readonly key: string;
  readonly message: string;
}

/** The rules `createRules` and `buildRules` (src/app.ts) run for `rules`, each with the operation it produces. */
export function operationProducersOf(rules: RulesConfig): OperationProducer[] {
  const out: OperationProducer[] = [];
  if (rules.location.enabled) {
    const f = rules.location.appliesTo;
    out.push({ operation: LOCATION_UPDATE, key: 'rules.location', ...(f ? { appliesTo: (a) => matchesFilter(a, f) } : {}), remedy: 'set rules.location.appliesTo to leave them out (or rules.location.enabled: false)' });
  }
  // Meter sync runs whenever meters arrive (src/app.ts buildRules), on unless `rules.meters` says
  // otherwise: off, it sends no meter.record (meter hygiene still runs), limited, only its assets'.
  if (rules.meters.enabled) {
    const f = rules.meters.appliesTo;
    out.push({
      operation: METER_RECORD,
      key: f ? 'rules.meters' : 'meter sync (rules.meters, on for every asset)',
      ...(f ? { appliesTo: (a) => matchesFilter(a, f) } : {}),
      remedy: f ? 'set rules.meters.appliesTo to leave them out (or rules.meters.enabled: false)' : 'set rules.meters.appliesTo to the assets whose meter readings are to be sent (or rules.meters.enabled: false to send none)',
    });
  }
  const m = rules.maintenance;
  if (m) {
    const lists: [string, readonly { readonly appliesTo?: Parameters<typeof matchesFilter>[1] }[]][] = [
      ['thresholds', m.thresholds],
      ['serviceIntervals', m.serviceIntervals],
      ['calendarIntervals', m.calendarIntervals ?? []],
      ['alerts', m.alerts ?? []],
    ];
    for (const [list, rulesOfList] of lists)
      rulesOfList.forEach((r, i) => {
        const key = `rules.maintenance.${list}.${i}`;
        const f = r.appliesTo;
        out.push({ operation: WORKORDER_CREATE, key, ...(f ? { appliesTo: (a) => matchesFilter(a, f) } : {}), remedy: `remove ${key} or set its appliesTo to leave them out` });
        // An alert rule whose priority comes from the reports raises it when a fault turns critical (alert.ts, escalates).
        if (list === 'alerts' && escalatesAny(r as AlertRule))
          out.push({ operation: WORKORDER_UPDATE, key, ...(f ? { appliesTo: (a) => matchesFilter(a, f) } : {}), remedy: `set ${key}.severity (a fixed priority, never raised), remove it, or set its appliesTo to leave them out` });
      });
  }
  const inv = rules.inventory;
  if (inv) out.push({ operation: INVENTORY_COUNT, key: 'rules.inventory', appliesTo: (a) => isInventoryItem(a, inv.skuAttribute), picks: `the assets with attribute "${inv.skuAttribute}" (its items)`, remedy: `remove rules.inventory (it counts the assets with attribute "${inv.skuAttribute}")` });
  const d = rules.depreciation;
  if (d) {
    const f = d.appliesTo;
    out.push({ operation: USAGE_POST, key: 'rules.depreciation', ...(f ? { appliesTo: (a) => matchesFilter(a, f) } : {}), remedy: 'set rules.depreciation.appliesTo to leave them out (or remove rules.depreciation)' });
  }
  return out;
}

/** An alert rule that can raise a work order's priority: one without a `severity` of its own, taking reports below `critical` too. */
function escalatesAny(r: Pick<AlertRule, 'severity' | 'minSeverity'>): boolean {
  return r.severity === undefined && priorityOf(r.minSeverity) !== 'HIGH';
}

const SHOWN = 3;
/** `rules.inventory produces`, `rules.maintenance.thresholds.0, rules.maintenance.thresholds.1 produce`. */
const produce = (keys: readonly string[]): string => `${keys.join(', ')} ${keys.length === 1 ? 'produces' : 'produce'}`;
const ids = (assets: readonly AssetRecord[]): string => `${assets.slice(0, SHOWN).map((a) => a.erpAssetId).join(', ')}${assets.length > SHOWN ? `, … (${assets.length} in all)` : ''}`;

/**
 * The errors (refuse the start) and warnings of {@link destinationOperationIssues}'s decision
 * (module comment), one per destination and operation it does not deliver. `assets`: the assets
 * known to route (their `destination`, or `defaultDestination`); `where` says which they are
 * (`listed in the config`).
 */
export function destinationOperationIssues(input: {
  readonly destinations: readonly DestinationOperations[];
  readonly defaultDestination: string;
  readonly producers: readonly OperationProducer[];
  readonly assets: readonly AssetRecord[];
  readonly where: string;
}): { errors: OperationIssue[]; warnings: OperationIssue[] } {
  const errors: OperationIssue[] = [];
  const warnings: OperationIssue[] = [];
  const routed = new Map<string, AssetRecord[]>();
  for (const a of input.assets) {
    const to = a.destination ?? input.defaultDestination;
    const list = routed.get(to);
    if (list) list.push(a);
    else routed.set(to, [a]);
  }
  for (const d of input.destinations) {
    const isDefault = d.name === input.defaultDestination;
    const mine = routed.get(d.name) ?? [];
    if (!isDefault && mine.length === 0) continue;
    const operations = [...new Set(input.producers.map((p) => p.operation))].filter((op) => !d.operations.includes(op));
    for (const operation of operations) {
      const reaching: { p: OperationProducer; matched: readonly AssetRecord[] }[] = [];
      const possible: OperationProducer[] = [];
      for (const p of input.producers.filter((x) => x.operation === operation)) {
        const matched = p.appliesTo ? mine.filter(p.appliesTo) : mine;
        if (p.appliesTo === undefined || matched.length > 0) reaching.push({ p, matched });
        else possible.push(p);
      }
      const delivers = `its connector delivers ${d.operations.length ? d.operations.join(', ') : 'no operation'}`;
      const remedies = (ps: readonly OperationProducer[]) => ps.flatMap((p) => (p.remedy ? [p.remedy] : []));
      if (reaching.length > 0) {
        const keys = produce(reaching.map((r) => r.p.key));
        const matched = [...new Set(reaching.flatMap((r) => r.matched))];
        const which = isDefault
          ? `the default destination (defaultDestination): every asset that names no destination goes there${matched.length ? `, such as ${ids(matched)} ${input.where}` : ''}`
          : `assets routed to it (their destination), such as ${ids(matched)} ${input.where}`;
        const fix = [
          `route those assets to a destination that delivers ${operation} (the asset's destination${isDefault ? ', or another defaultDestination' : ''})`,
          ...remedies(reaching.map((r) => r.p)),
        ];
        errors.push({
          key: d.key,
          message: `destination "${d.name}" does not deliver ${operation} (${delivers}), which ${keys} for ${which}: each such delivery would only fail, as a dead letter. Fix: ${fix.join('; or ')}`,
        });
      }
      if (possible.length > 0) {
        const picks = [...new Set(possible.map((p) => p.picks ?? 'the assets its appliesTo picks'))].join(' and ');
        const fix = [`route such assets to a destination that delivers ${operation}`, ...remedies(possible)];
        warnings.push({
          key: d.key,
          message:
            `destination "${d.name}" does not deliver ${operation} (${delivers}), which ${produce(possible.map((p) => p.key))} for ${picks}; none of the assets ${input.where} routed to it${isDefault ? ' (the default destination)' : ''} is one now, ` +
            `but the deliveries of one routed there later would only fail, as dead letters. Fix: ${fix.join('; or ')}`,
        });
      }
    }
  }
  return { errors, warnings };
}
