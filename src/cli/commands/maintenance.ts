/**
 * `assetbridge maintenance status`: per asset, what is due (service intervals with hours to go,
 * threshold rules mid-episode), which work orders are open and which were completed — read from
 * the maintenance rule's state, which ERP feedback keeps current.
 * @module
 */
import type { Command } from 'commander';
import { UsageError } from '../../core/errors/errors.js';
import { maintenanceOptionsOf } from '../../core/rules/index.js';
import { MAINTENANCE_RULE, type MaintenanceState } from '../../core/rules/maintenance/maintenance-rule.js';
import { maintenanceStatus, type MaintenanceStatus } from '../../core/rules/maintenance/status.js';
import type { RulesConfig } from '../../config/rules-schema.js';
import type { Store } from '../../ports/store.js';
import { action, addConfigOption, table, withContext } from '../context.js';
import { rulesConfigOf } from './rules.js';

export interface AssetMaintenance extends MaintenanceStatus {
  readonly erpAssetId: string;
}

/** Status for every asset with maintenance rules or state (or just `asset`). */
export async function loadMaintenanceStatus(store: Store, rules: RulesConfig, asset?: string): Promise<AssetMaintenance[]> {
  const options = maintenanceOptionsOf(rules);
  if (!options) throw new UsageError('no maintenance rules are configured (add rules.maintenance.thresholds or serviceIntervals to the config)');
  let assets = (await store.listAssets()).map((a) => a.asset);
  if (asset !== undefined) {
    assets = assets.filter((a) => a.erpAssetId === asset);
    if (assets.length === 0) throw new UsageError(`no asset "${asset}" in the registry; see 'assetbridge assets list'`);
  }
  const states = await store.loadStates(assets.map((a) => a.erpAssetId));
  const out: AssetMaintenance[] = [];
  for (const a of assets.sort((x, y) => (x.erpAssetId < y.erpAssetId ? -1 : 1))) {
    const state = states.get(a.erpAssetId)?.[MAINTENANCE_RULE] as MaintenanceState | undefined;
    const s = maintenanceStatus(a, state, options);
    // Assets no rule applies to and with no history are noise.
    if (s.due.length === 0 && s.open.length === 0 && s.closed.length === 0) continue;
    out.push({ erpAssetId: a.erpAssetId, ...s });
  }
  return out;
}

const iso = (t: number | undefined) => (t === undefined ? '-' : new Date(t).toISOString().replace('.000Z', 'Z'));

export function formatMaintenanceStatus(rows: readonly AssetMaintenance[], closedLimit: number): string {
  if (rows.length === 0) return 'no assets with maintenance rules or work orders\n';
  const due: (string | number)[][] = [['ASSET', 'RULE', 'TYPE', 'STATE', 'HOURS', 'NEXT DUE', 'TO GO']];
  const open: (string | number)[][] = [['ASSET', 'BUSINESS KEY', 'STATUS', 'PRIORITY', 'OPENED', 'ERP ID']];
  const closed: (string | number)[][] = [['ASSET', 'BUSINESS KEY', 'STATUS', 'CHANGED', 'HOURS AT COMPLETION']];
  for (const r of rows) {
    for (const d of r.due) due.push([r.erpAssetId, d.rule, d.type, d.state, d.hours ?? '-', d.nextDueHours ?? '-', d.remainingHours ?? '-']);
    for (const w of r.open) open.push([r.erpAssetId, w.businessKey, w.status, w.priority, iso(w.openedAt), w.erpWorkOrderId ?? '-']);
    for (const w of r.closed.slice(-closedLimit)) closed.push([r.erpAssetId, w.businessKey, w.status, iso(w.changedAt), w.hoursAtCompletion ?? '-']);
  }
  const parts = [`DUE\n${table(due)}`, open.length > 1 ? `OPEN WORK ORDERS\n${table(open)}` : 'OPEN WORK ORDERS\nnone\n', closed.length > 1 ? `COMPLETED OR CANCELLED\n${table(closed)}` : 'COMPLETED OR CANCELLED\nnone\n'];
  return parts.join('\n');
}

export function registerMaintenanceCommand(program: Command): Command {
  const maintenance = program.command('maintenance').description('maintenance initiation: what is due, open and completed per asset');
  addConfigOption(
    maintenance
      .command('status')
      .description('per asset: service intervals and threshold rules (due), open work orders, completed ones')
      .option('--asset <erpAssetId>', 'one asset only')
      .option('--closed <n>', 'completed/cancelled work orders shown per asset', '5')
      .option('--json', 'print JSON'),
  ).action(
    action(async (opts: { config: string; asset?: string; closed: string; json?: boolean }) => {
      const closedLimit = Number(opts.closed);
      if (!Number.isInteger(closedLimit) || closedLimit < 0) throw new UsageError(`--closed "${opts.closed}" is not a whole number`);
      await withContext(opts.config, async ({ config, store }) => {
        const rows = await loadMaintenanceStatus(store, rulesConfigOf(config), opts.asset);
        process.stdout.write(opts.json ? `${JSON.stringify(rows, null, 2)}\n` : formatMaintenanceStatus(rows, closedLimit));
      });
    }),
  );
  return maintenance;
}
