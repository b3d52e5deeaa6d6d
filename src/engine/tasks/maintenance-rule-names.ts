/**
 * A maintenance rule renamed in the config is a new rule: its name is in its work orders' business
 * keys and keys the state it keeps per asset, so the renamed rule opens again work orders the old
 * name opened or the ERP completed (an interval counts again from the baseline attribute; a
 * threshold or alert opens another for a condition or fault still active). Nothing in the config
 * tells a rename from a rule removed and another added, so the names configured at each start are
 * remembered, and a start (or `config check`) that finds, in one list, names gone and names new
 * says so under the first new one's key.
 * @module
 */
import type { RulesConfig } from '../../config/rules-schema.js';
import type { Store } from '../../ports/store.js';

/** kv namespace and key of the maintenance rule names configured at the last start. */
export const RULE_NAMES_NS = 'maintenance-rules';
export const RULE_NAMES_KEY = 'configured';

const LISTS = ['thresholds', 'serviceIntervals', 'calendarIntervals', 'alerts'] as const;
type List = (typeof LISTS)[number];
export type MaintenanceRuleNames = Partial<Record<List, readonly string[]>>;

/** The maintenance rule names the config has, per list. */
export function maintenanceRuleNames(rules: RulesConfig): MaintenanceRuleNames {
  const m = rules.maintenance;
  const out: Partial<Record<List, string[]>> = {};
  if (!m) return out;
  for (const list of LISTS) out[list] = m[list].map((r) => r.name);
  return out;
}

const WHAT_REOPENS: Record<List, string> = {
  serviceIntervals:
    'counts again from each asset\'s baseline attribute (else from 0), not from the completions the ERP reported under the old name, so work orders for due points already opened or done are opened again',
  calendarIntervals:
    'counts again from each asset\'s baseline attribute (else from its first check), not from the completions the ERP reported under the old name, so work orders for due dates already opened or done are opened again',
  thresholds: 'opens another work order for a condition still held on an asset whose work order the old name opened',
  alerts: 'opens another work order for a fault still reported whose work order the old name opened',
};

/**
 * Names gone from a list since `before` beside names new in it: each a possible rename, said
 * under the first new rule's key (`rules.maintenance.<list>.<i>.name`). Nothing when `before` is
 * unknown, or a list only lost or only gained rules.
 */
export function renamedRuleWarnings(before: MaintenanceRuleNames | undefined, now: MaintenanceRuleNames): { key: string; message: string }[] {
  if (!before) return [];
  const out: { key: string; message: string }[] = [];
  for (const list of LISTS) {
    const was = before[list] ?? [];
    const is = now[list] ?? [];
    const gone = was.filter((n) => !is.includes(n));
    const added = is.filter((n) => !was.includes(n));
    const first = added[0];
    if (!gone.length || first === undefined) continue;
    const q = (names: readonly string[]) => names.map((n) => `"${n}"`).join(', ');
    const tip =
      list === 'serviceIntervals' || list === 'calendarIntervals'
        ? 'to rename it, first set each asset\'s baseline attribute to its last service (\'assetbridge assets import\'), then restart'
        : 'to rename it anyway, expect one more work order per condition or fault still active';
    out.push({
      key: `rules.maintenance.${list}.${is.indexOf(first)}.name`,
      message:
        `${q(added)} ${added.length === 1 ? 'is' : 'are'} new and ${q(gone)}, configured at the last start, ${gone.length === 1 ? 'is' : 'are'} gone: a rule renamed is a new rule ` +
        `(its name is in its work orders' keys and keys what it keeps per asset): it ${WHAT_REOPENS[list]}. ` +
        `If that is a rename, set the name back and change the rule's title instead; ${tip}. A rule removed and another added: nothing to do`,
    });
  }
  return out;
}

function parse(text: string | undefined): MaintenanceRuleNames | undefined {
  if (text === undefined) return undefined;
  try {
    const v = JSON.parse(text) as unknown;
    if (typeof v !== 'object' || v === null) return undefined;
    const out: Partial<Record<List, string[]>> = {};
    for (const list of LISTS) {
      const names = (v as Record<string, unknown>)[list];
      if (Array.isArray(names)) out[list] = names.filter((n): n is string => typeof n === 'string');
    }
    return out;
  } catch {
    return undefined; // unreadable: as if never recorded (the next start records it anew)
  }
}

/**
 * The possible renames since the names the store recorded (at the last start), and, with
 * `record`, the names now recorded in their place (the service's start; `config check` only reads).
 */
export async function maintenanceRenameWarnings(store: Pick<Store, 'kvGet' | 'kvSet'>, rules: RulesConfig, options: { record: boolean }): Promise<{ key: string; message: string }[]> {
  const now = maintenanceRuleNames(rules);
  const warnings = renamedRuleWarnings(parse(await store.kvGet(RULE_NAMES_NS, RULE_NAMES_KEY)), now);
  if (options.record) await store.kvSet(RULE_NAMES_NS, RULE_NAMES_KEY, JSON.stringify(now));
  return warnings;
}
