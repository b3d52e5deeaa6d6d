/**
 * The configured rule a delivery comes from, by which `rules test` counts deliveries (`by rule:`,
 * `byRule`) and `rules test --compare` compares them.
 * @module
 */
import type { DeliveryIntent } from '../model/delivery.js';
import { DEPRECIATION_RULE } from './depreciation/usage-rule.js';
import { USAGE_POST } from './depreciation/usage.js';
import { INVENTORY_COUNT } from './inventory/counts.js';
import { INVENTORY_RULE } from './inventory/inventory-rule.js';
import { LOCATION_UPDATE } from './location-sync-state.js';
import { parseWorkOrderKey, WORKORDER_CREATE, WORKORDER_UPDATE } from './maintenance/work-order.js';
import { METER_RECORD } from './meter-sync.js';

/** The rule that makes each operation other than a work order (whose rule its business key names). */
const RULE_OF_OPERATION: Readonly<Record<string, string>> = { [LOCATION_UPDATE]: 'location', [METER_RECORD]: 'meter', [INVENTORY_COUNT]: INVENTORY_RULE, [USAGE_POST]: DEPRECIATION_RULE };

/**
 * The configured rule a delivery comes from: for a work order (and an update of one) the one its business key names
 * (`asset|rule|occurrence`: a threshold, a service or calendar interval, an alert rule); a location
 * update is location sync's (`location`, zones included), a meter reading meter sync's (`meter`),
 * an inventory count inventory's and a period's usage depreciation's; any other its operation.
 * A maintenance rule cannot take one of those names (see `BUILT_IN_RULE_NAMES`).
 */
export function ruleOfDelivery(d: Pick<DeliveryIntent, 'operation' | 'businessKey'>): string {
  if (d.operation === WORKORDER_CREATE || d.operation === WORKORDER_UPDATE) return parseWorkOrderKey(d.businessKey)?.rule ?? d.operation;
  return RULE_OF_OPERATION[d.operation] ?? d.operation;
}
