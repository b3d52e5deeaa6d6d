/**
 * `assetbridge maintenance status`: per asset, what is due (service intervals with hours to go,
 * threshold rules mid-episode), which work orders are open and which were completed — read from
 * the maintenance rule's state, which ERP feedback keeps current.
 *
 * `assetbridge maintenance complete KEY --hours H`: record a completion (or cancellation) by hand,
 * for an ERP that neither lists work orders nor pushes webhooks: the same `workorder` event ERP
 * feedback would bring, through the running service's pipeline (or, with none running, this
 * process's), so the service baseline resets the same way. Only for a work order assetbridge
 * knows (or with `--force`): a mistyped key would reset a baseline all the same.
 * @module
 */
import type { Command } from 'commander';
import { WORKORDER_CREATE, occurrenceProblem, parseWorkOrderKey, type WorkOrderRecord } from '../../core/rules/maintenance/work-order.js';
import { configuredAssets } from '../../app.js';
import type { Config } from '../../config/schema.js';
import { editDistance } from '../../core/edit-distance.js';
import { CSV_FILE_BOM, joinCellList, splitCellList, toCsv } from '../../core/csv.js';
import { NotFoundError, UsageError } from '../../core/errors/errors.js';
import { parseIsoTime } from '../../core/normalize/iso-time.js';
import { maintenanceOptionsOf } from '../../core/rules/index.js';
import { completionMeter, feedbackWaitsFor, formatDuration, MAINTENANCE_RULE, type MaintenanceState } from '../../core/rules/maintenance/maintenance-rule.js';
import { maintenanceStatus, type MaintenanceStatus, type WorkOrderRow } from '../../core/rules/maintenance/status.js';
import { METER_RULE, type MeterSyncState } from '../../core/rules/meter-sync.js';
import { MAX_OPEN_REMEMBERED } from '../../core/rules/maintenance/work-order-memory.js';
import type { RulesConfig } from '../../config/rules-schema.js';
import type { FactDelivery, Store } from '../../ports/store.js';
import { action, isoTime, addConfigOption, checkOutputOptions, CSV_OUTPUT, resolveConfig, storeExists, table, withConfigContext, withContext, toJson, writeOut, OUT_FILE_HELP } from '../context.js';
import { calendarMarksOf, loadCalendarMarks } from '../../engine/tasks/calendar-intervals.js';
import { recordOperatorEvent, storedRuleStateAsOf, warnOfLeftIngestLog } from './submit-event.js';
import { rulesConfigOf } from './rules.js';
import { NO_SUCH_ASSET, resolveAssetArg } from './asset-name.js';
import { plannedTime, plannedZoneOf, type PlannedZone } from './rules-test.js';

export interface AssetMaintenance extends MaintenanceStatus {
  readonly erpAssetId: string;
}

/** Status for every asset with maintenance rules or state (or just `asset`). */
export async function loadMaintenanceStatus(store: Store, rules: RulesConfig, name?: string, now = Date.now()): Promise<AssetMaintenance[]> {
  const options = maintenanceOptionsOf(rules);
  if (!options) throw new UsageError('no maintenance rules are configured (add rules.maintenance.thresholds, alerts, serviceIntervals or calendarIntervals to the config)');
  let assets = await store.listAssetRecords();
  // Named by its ERP id or any identifier the registry maps to it.
  const asset = name === undefined ? undefined : await resolveAssetArg(store, name);
  if (name !== undefined) {
    assets = assets.filter((a) => a.erpAssetId === asset);
    if (assets.length === 0) throw new NotFoundError(`no asset "${name}" in the registry ${NO_SUCH_ASSET}`);
  }
  const states = await store.loadRuleStates(assets.map((a) => a.erpAssetId), [MAINTENANCE_RULE, METER_RULE]);
  // One asset asked for: only its marks (a fleet's are hundreds of thousands of keys).
  const marks = await loadCalendarMarks(store, asset !== undefined ? (options.calendarIntervals ?? []).map((r) => [asset, r.name] as const) : undefined);
  const out: AssetMaintenance[] = [];
  for (const a of assets.sort((x, y) => (x.erpAssetId < y.erpAssetId ? -1 : 1))) {
    const state = states.get(a.erpAssetId)?.[MAINTENANCE_RULE] as MaintenanceState | undefined;
    // The meter rule's state: a meter replacement declared since (see maintenanceStatus).
    const meter = states.get(a.erpAssetId)?.[METER_RULE] as MeterSyncState | undefined;
    const s = maintenanceStatus(a, state, options, { now, marks: (rule) => calendarMarksOf(marks, a.erpAssetId, rule) }, meter);
    // Assets no rule applies to and with no history are noise.
    if (s.due.length === 0 && s.open.length === 0 && s.closed.length === 0 && s.openForgotten === undefined) continue;
    out.push({ erpAssetId: a.erpAssetId, ...s });
  }
  return withDeliveries(store, out, plannedZoneOf(rules.maintenance?.windows));
}

/**
 * Work orders the ERP has not reported on yet (`requested`): where their delivery stands, and the
 * ERP's id from its answer to the create once delivered, so "requested" does not read as "not sent".
 * And the destination of each work order as the feedback path decides it: where its create in the
 * outbox went, where the outbox holds one (over a record that says otherwise: one rebuilt by a
 * replay after a crash, with the asset moved to another destination since), else the record's.
 * Only that destination's feedback changes it. One read of the outbox for all of them.
 */
async function withDeliveries(store: Store, rows: AssetMaintenance[], zoneOf: PlannedZone): Promise<AssetMaintenance[]> {
  const keys = rows.flatMap((r) => [...r.open, ...r.closed].map((w) => w.businessKey));
  if (keys.length === 0) return rows;
  const found = await store.factDeliveries(WORKORDER_CREATE, keys);
  const stand = (d: FactDelivery): string =>
    d.status === 'delivered' ? 'sent' : d.status === 'dead' ? `dead letter ${d.id}${d.mayHaveLanded ? ', may be in the ERP' : ''}` : d.status === 'discarded' ? 'discarded' : 'queued';
  // The outbox decides, as it does for feedback (openedAtOf): the first create of the key.
  const located = (w: WorkOrderRow, d: FactDelivery | undefined): WorkOrderRow => (d !== undefined && w.destination !== d.destination ? { ...w, destination: d.destination } : w);
  // When an open one is planned, as `rules test` shows it: in its site's time, beside the UTC the ERP got.
  const planned = (w: WorkOrderRow, d: FactDelivery | undefined): WorkOrderRow => {
    const start = d?.payload.plannedStart;
    if (typeof start !== 'string') return w;
    const end = d?.payload.plannedEnd;
    const zone = zoneOf(d?.payload.site);
    return { ...w, plannedStart: start, ...(typeof end === 'string' ? { plannedEnd: end } : {}), ...(zone !== undefined ? { plannedTimeZone: zone } : {}) };
  };
  return rows.map((r) => ({
    ...r,
    open: r.open.map((o) => {
      const d = found.get(o.businessKey);
      const w = planned(o, d);
      if (!d || w.status !== 'requested') return located(w, d);
      const erpId = w.erpWorkOrderId ?? erpIdOf(d.response);
      return located({ ...w, delivery: stand(d), ...(erpId !== undefined ? { erpWorkOrderId: erpId } : {}) }, d);
    }),
    closed: r.closed.map((w) => located(w, found.get(w.businessKey))),
  }));
}

/** The work order's id in the ERP's answer to its create, where the answer has one. */
function erpIdOf(response: unknown): string | undefined {
  if (response === null || typeof response !== 'object') return undefined;
  const r = response as Record<string, unknown>;
  const id = r.id ?? r.erpWorkOrderId ?? r.workOrderId ?? r.number;
  return typeof id === 'string' || typeof id === 'number' ? String(id) : undefined;
}

/**
 * What needs attention (`--due`): intervals due or due soon, thresholds breached (pending) or
 * active, and open work orders; completed ones and quiet rules are left out, and assets with
 * nothing left.
 */
export function onlyDue(rows: readonly AssetMaintenance[]): AssetMaintenance[] {
  const attention = (d: AssetMaintenance['due'][number]) => (d.type === 'threshold' ? d.state !== 'normal' : d.type === 'alert' ? d.state !== 'quiet' : /^due\b/.test(d.state));
  return rows.map((r) => ({ ...r, due: r.due.filter(attention), closed: [] })).filter((r) => r.due.length > 0 || r.open.length > 0 || r.openForgotten !== undefined);
}

// A time as every command prints it (isoTime), '-' for none.
const iso = (t: number | undefined) => (t === undefined ? '-' : isoTime(t));

/** The widest STATE the table shows; a longer state (and any with details after `; `) is numbered and given whole below the table. */
export const STATE_WIDTH = 60;

/**
 * A rule's state as the table's STATE cell: what comes before its details (`ok`, `due soon`,
 * `pending since …`), at most {@link STATE_WIDTH} characters; `whole` when the cell leaves
 * something out (meter hygiene's set-aside readings, a replaced meter, …), to be given below.
 */
export function stateCell(state: string): { cell: string; whole?: string } {
  const cut = state.indexOf('; ');
  const head = cut >= 0 ? state.slice(0, cut) : state;
  if (cut < 0 && head.length <= STATE_WIDTH) return { cell: state };
  return { cell: head.length > STATE_WIDTH ? `${head.slice(0, STATE_WIDTH - 1)}…` : head, whole: state };
}

/**
 * The tables `maintenance status` prints. `destinations`: the config has more than one, so each
 * work order's destination (where it was opened, and the only one whose feedback changes it) is
 * shown in a DESTINATION column (`-` where neither its record nor the outbox says).
 */
export function formatMaintenanceStatus(rows: readonly AssetMaintenance[], closedLimit: number, opts: { readonly destinations?: boolean; readonly asset?: string } = {}): string {
  if (rows.length === 0) {
    // One asset asked for (`--asset`): it is that no rule selects it, not that the fleet has none.
    return opts.asset === undefined
      ? 'no assets with maintenance rules or work orders\n'
      : `no maintenance rule applies to asset ${opts.asset} and it has no work orders: the appliesTo of every rule in rules.maintenance leaves it out ('assetbridge rules list' shows whom each applies to)\n`;
  }
  const due: (string | number)[][] = [['ASSET', 'RULE', 'TYPE', 'STATE', 'METER', 'NEXT DUE', 'TO GO']];
  // Service intervals count hours or km, calendar intervals days, whichever-first ones both.
  type Due = AssetMaintenance['due'][number];
  const withUnit = (h: number | undefined, km: number | undefined) => (h !== undefined ? `${h} h` : km !== undefined ? `${km} km` : '-');
  const either = (days: string | undefined, m: string) => (days === undefined ? m : m === '-' ? days : `${days} or ${m}`);
  const meter = (d: Due) => withUnit(d.hours, d.km);
  const nextDue = (d: Due) => either(d.nextDueDate, withUnit(d.nextDueHours, d.nextDueKm));
  const toGo = (d: Due) => either(d.remainingDays !== undefined ? `${d.remainingDays} d` : undefined, withUnit(d.remainingHours, d.remainingKm));
  // With more than one destination, where each work order was opened, after its asset.
  const at = (w: { readonly destination?: string }): string[] => (opts.destinations ? [w.destination ?? '-'] : []);
  const open: (string | number)[][] = [['ASSET', ...at({ destination: 'DESTINATION' }), 'BUSINESS KEY', 'STATUS', 'PRIORITY', 'OPENED', 'ERP ID', 'PLANNED']];
  const closed: (string | number)[][] = [['ASSET', ...at({ destination: 'DESTINATION' }), 'BUSINESS KEY', 'STATUS', 'CHANGED', 'METER AT COMPLETION']];
  const atCompletion = (w: AssetMaintenance['closed'][number]) =>
    // As the due rows show meters: to 2 decimals (the continuous counter carries float noise).
    [w.hoursAtCompletion !== undefined ? `${Math.round(w.hoursAtCompletion * 100) / 100} h` : '', w.kmAtCompletion !== undefined ? `${Math.round(w.kmAtCompletion * 100) / 100} km` : ''].filter(Boolean).join(', ') || '-';
  // States too long for the table (meter hygiene's sentence runs to hundreds of characters): numbered, and given whole below it.
  const notes: string[] = [];
  for (const r of rows) {
    for (const d of r.due) {
      const { cell, whole } = stateCell(d.state);
      if (whole !== undefined) notes.push(`[${notes.length + 1}] ${r.erpAssetId} ${d.rule}: ${whole}`);
      due.push([r.erpAssetId, d.rule, d.type, whole !== undefined ? `${cell} [${notes.length}]` : cell, meter(d), nextDue(d), toGo(d)]);
    }
    for (const w of r.open) open.push([r.erpAssetId, ...at(w), w.businessKey, w.delivery !== undefined ? `${w.status} (${w.delivery})` : w.status, w.priority, iso(w.openedAt), w.erpWorkOrderId ?? '-', w.plannedStart !== undefined ? plannedTime(w.plannedStart, w.plannedTimeZone, w.plannedEnd) : '-']);
    // `--closed 0` shows none (`slice(-0)` would be all of them).
    for (const w of closedLimit > 0 ? r.closed.slice(-closedLimit) : []) closed.push([r.erpAssetId, ...at(w), w.businessKey, w.status, iso(w.changedAt), atCompletion(w)]);
  }
  // Every rule of every asset (with --due only those needing attention): what is due, and how each stands.
  // Open work orders the state no longer lists (it keeps a bounded number per asset): said, not left out silently.
  const forgotten = rows
    .filter((r) => r.openForgotten !== undefined)
    .map((r) => `${r.erpAssetId}: ${r.openForgotten} older work order(s) forgotten while open, to keep the state bounded (it keeps the newest ${MAX_OPEN_REMEMBERED} open ones per asset); not listed above whatever the ERP did with them since, unless it reported on them since\n`)
    .join('');
  const parts = [
    due.length > 1 ? `RULES PER ASSET: WHAT IS DUE AND HOW EACH STANDS\n${table(due)}${notes.map((n) => `${n}\n`).join('')}` : 'RULES PER ASSET\nnothing due or breached\n',
    `${open.length > 1 ? `OPEN WORK ORDERS\n${table(open)}` : `OPEN WORK ORDERS\n${forgotten === '' ? 'none\n' : ''}`}${forgotten}`,
  ];
  if (closedLimit > 0) parts.push(closed.length > 1 ? `COMPLETED OR CANCELLED\n${table(closed)}` : 'COMPLETED OR CANCELLED\nnone\n');
  return parts.join('\n');
}

/**
 * The `openWorkOrders` cell of {@link maintenanceCsv}: `key (status)` per open work order, separated by
 * `; `, with a `\` before every `;` and `\` an entry holds ({@link joinCellList}), so an asset id or key
 * holding `; ` cannot be taken for two work orders; {@link parseOpenWorkOrdersCell} reads it back.
 */
export function openWorkOrdersCell(open: readonly { readonly businessKey: string; readonly status: string }[]): string {
  return joinCellList(
    open.map((w) => `${w.businessKey} (${w.status})`),
    ';',
    ' ',
  );
}

/** The `key (status)` entries an {@link openWorkOrdersCell} lists (for a reader of the CSV). */
export function parseOpenWorkOrdersCell(cell: string): string[] {
  return splitCellList(cell, ';', ' ');
}

/**
 * The `openWorkOrderDestinations` cell of {@link maintenanceCsv}: where each work order of its
 * `openWorkOrders` cell was opened (the one destination whose feedback changes it), in the same
 * order and written the same way, `-` where neither its record nor the outbox says; read it with
 * {@link parseOpenWorkOrdersCell}.
 */
export function openWorkOrderDestinationsCell(open: readonly { readonly destination?: string }[]): string {
  return joinCellList(
    open.map((w) => w.destination ?? '-'),
    ';',
    ' ',
  );
}

/**
 * The due rows as CSV, one per asset and rule (for planners' spreadsheets), with the open work
 * orders for the rule beside it when there are any, and where each was opened. Every column is
 * there whatever the config (with one destination too), so a spreadsheet reads the same columns.
 */
export function maintenanceCsv(rows: readonly AssetMaintenance[]): string {
  const header = ['erpAssetId', 'rule', 'type', 'state', 'hours', 'baselineHours', 'nextDueHours', 'remainingHours', 'km', 'baselineKm', 'nextDueKm', 'remainingKm', 'baselineDate', 'nextDueDate', 'remainingDays', 'openWorkOrders', 'openWorkOrderDestinations'];
  const lines: (string | number | undefined)[][] = [header];
  for (const r of rows)
    for (const d of r.due) {
      const open = r.open.filter((w) => w.rule === d.rule);
      lines.push([d.erpAssetId, d.rule, d.type, d.state, d.hours, d.baselineHours, d.nextDueHours, d.remainingHours, d.km, d.baselineKm, d.nextDueKm, d.remainingKm, d.baselineDate, d.nextDueDate, d.remainingDays, openWorkOrdersCell(open), openWorkOrderDestinationsCell(open)]);
    }
  return toCsv(lines);
}

export interface CompletionInput {
  readonly businessKey: string;
  readonly status: 'completed' | 'cancelled';
  /** Operating hours at completion; absent: taken from the readings around `at`. */
  readonly hours?: number;
  /** Odometer (km) at completion; absent: taken from the readings around `at`. */
  readonly km?: number;
  readonly at: number;
  readonly erpWorkOrderId?: string;
}

/**
 * The canonical `workorder` event for a completion recorded by hand. `keyHint`: what a key of no
 * form assetbridge makes likely means ({@link malformedKeyHint}), said instead of pointing to the list.
 */
export function completionEvent(input: CompletionInput, keyHint?: string): Record<string, unknown> {
  const lists = keyHint ?? "'assetbridge maintenance status' lists them";
  const key = parseWorkOrderKey(input.businessKey);
  if (!key) throw new UsageError(`"${input.businessKey}" is not a work-order business key (asset|rule|occurrence); ${lists}`);
  if (input.hours !== undefined && !(Number.isFinite(input.hours) && input.hours >= 0)) throw new UsageError('--hours must be a number of operating hours, 0 or more');
  if (input.km !== undefined && !(Number.isFinite(input.km) && input.km >= 0)) throw new UsageError('--km must be an odometer reading in km, 0 or more');
  if (!Number.isFinite(input.at)) throw new UsageError('--at must be an ISO date-time, e.g. 2026-11-30T14:00:00Z');
  // Recorded, it would be about no work order a rule opened, and reset nothing.
  const problem = occurrenceProblem(key.occurrence);
  if (problem !== undefined) throw new UsageError(`"${input.businessKey}": ${problem}; ${keyHint ?? "'assetbridge maintenance status' lists the keys"}`);
  return {
    kind: 'workorder',
    erpAssetId: key.erpAssetId,
    businessKey: input.businessKey,
    status: input.status,
    eventTime: new Date(input.at).toISOString(),
    ...(input.erpWorkOrderId !== undefined ? { erpWorkOrderId: input.erpWorkOrderId } : {}),
    ...(input.hours !== undefined ? { operatingHoursAtCompletion: input.hours } : {}),
    ...(input.km !== undefined ? { odometerKmAtCompletion: input.km } : {}),
  };
}

/** Whether `businessKey` is of no form assetbridge makes: not `asset|rule|occurrence`, or an occurrence no rule makes. */
export function malformedKey(businessKey: string): boolean {
  const key = parseWorkOrderKey(businessKey);
  return key === undefined || occurrenceProblem(key.occurrence) !== undefined;
}

/** A work order as `maintenance status` lists it, for {@link malformedKeyHint}. */
export interface ListedWorkOrder {
  readonly businessKey: string;
  readonly erpWorkOrderId?: string | undefined;
}

/** The work orders (open first) that `maintenance status` shows, with the ERP's ids it shows. */
export function listedWorkOrders(rows: readonly AssetMaintenance[]): ListedWorkOrder[] {
  const all = [...rows.flatMap((r) => r.open), ...rows.flatMap((r) => r.closed)];
  return all.map((w) => ({ businessKey: w.businessKey, erpWorkOrderId: w.erpWorkOrderId }));
}

/**
 * `occurrence` with its time as assetbridge writes it (`2026-10-06T13:00:00.000Z`) where it is
 * written another way (`2026-10-06T13:00:00Z`, `2026-10-06T15:00+02:00`), for a threshold's and
 * an alert's (`<fault>@<time>`) occurrence; undefined when it holds no such time.
 */
function canonicalTimeOccurrence(occurrence: string): string | undefined {
  const at = occurrence.lastIndexOf('@');
  const [prefix, time] = at < 0 ? ['', occurrence] : [occurrence.slice(0, at + 1), occurrence.slice(at + 1)];
  const t = parseIsoTime(time);
  return typeof t === 'number' ? `${prefix}${new Date(t).toISOString()}` : undefined;
}

/**
 * What a key of no form assetbridge makes most likely means, from the work orders it knows
 * (`known`): the one whose ERP id it is (`WO-1042`, the number the ERP shows), the one it names
 * with its time written another way, else the asset's work orders closest to it. Undefined when
 * none is known, so the error points to `maintenance status` as before.
 */
export function malformedKeyHint(typed: string, known: readonly ListedWorkOrder[]): string | undefined {
  const quoted = (k: string) => `'${k}'`;
  const text = typed.trim().toLowerCase();
  const byErpId = known.filter((w) => w.erpWorkOrderId !== undefined && w.erpWorkOrderId.trim().toLowerCase() === text);
  if (byErpId.length > 0)
    return `"${typed}" is the ERP's number of ${byErpId.map((w) => quoted(w.businessKey)).join(', ')}: give its business key (quoted, as the shell reads | as a pipe)`;
  const key = parseWorkOrderKey(typed);
  if (key === undefined) return undefined;
  const canonical = canonicalTimeOccurrence(key.occurrence);
  const rewritten = canonical !== undefined ? `${key.erpAssetId}|${key.rule}|${canonical}` : undefined;
  if (rewritten !== undefined && known.some((w) => w.businessKey === rewritten)) return `did you mean ${quoted(rewritten)}? (times in keys are written as assetbridge writes them: UTC with milliseconds)`;
  const ofAsset = known.map((w) => w.businessKey).filter((k) => parseWorkOrderKey(k)?.erpAssetId === key.erpAssetId);
  if (ofAsset.length === 0) return undefined;
  const sameRule = ofAsset.filter((k) => parseWorkOrderKey(k)?.rule === key.rule);
  return `the closest work orders of ${key.erpAssetId}: ${listed(closestFirst(typed, sameRule.length > 0 ? sameRule : ofAsset), 5)} ('assetbridge maintenance status --asset ${key.erpAssetId}' lists them)`;
}

/**
 * A hand completion names a work order of a configured maintenance rule: any other key (a typo in
 * the rule name) would be recorded as a work order no rule opened, and reset nothing.
 */
export function checkWorkOrderRule(businessKey: string, rules: RulesConfig): void {
  const key = parseWorkOrderKey(businessKey);
  if (!key) return; // completionEvent says what is wrong with it
  const m = rules.maintenance;
  const names = [...(m?.thresholds ?? []), ...(m?.serviceIntervals ?? []), ...(m?.calendarIntervals ?? []), ...(m?.alerts ?? [])].map((r) => r.name);
  if (names.includes(key.rule)) return;
  if (names.length === 0) throw new UsageError(`"${businessKey}" names rule "${key.rule}", but no maintenance rules are configured (rules.maintenance)`);
  throw new NotFoundError(`"${businessKey}" names rule "${key.rule}", which is not a maintenance rule of this config (rules: ${names.join(', ')}); 'assetbridge maintenance status' lists the work orders`);
}

/** What the store knows of the work order a hand completion names. */
export interface WorkOrderKnowledge {
  /** The asset ids of the registry and of the config's assets (merged into it at start). */
  readonly assetIds: readonly string[];
  /** The named asset's work orders in its maintenance state, by business key. */
  readonly workOrders: Readonly<Record<string, WorkOrderRecord>>;
  /** The named asset's maintenance state (its meter readings: see {@link checkCompletionMeter}). */
  readonly state?: MaintenanceState;
  /** Whether the outbox holds a `workorder.create` fact under the key: assetbridge opened it. */
  readonly opened: boolean;
  /**
   * The asset's work orders the outbox holds, newest first (at most {@link OUTBOX_SUGGESTIONS}):
   * also those its maintenance state no longer keeps (at most MAX_OPEN_REMEMBERED (1000) open, `keepClosed` closed).
   */
  readonly outbox?: readonly string[];
}

/** How many of an asset's work orders from the outbox a refused key is compared with. */
const OUTBOX_SUGGESTIONS = 500;

export async function loadWorkOrderKnowledge(store: Store, config: Config, businessKey: string): Promise<WorkOrderKnowledge> {
  const key = parseWorkOrderKey(businessKey);
  const assetIds = [...new Set([...(await store.listAssets()).map((a) => a.asset.erpAssetId), ...configuredAssets(config).map((a) => a.asset.erpAssetId)])];
  if (!key || !assetIds.includes(key.erpAssetId)) return { assetIds, workOrders: {}, opened: false };
  const state = (await store.loadStates([key.erpAssetId])).get(key.erpAssetId)?.[MAINTENANCE_RULE] as MaintenanceState | undefined;
  const workOrders = state?.workOrders ?? {};
  const opened = businessKey in workOrders || (await store.factDeliveries(WORKORDER_CREATE, [businessKey])).has(businessKey);
  const withState = state !== undefined ? { state } : {};
  if (opened) return { assetIds, workOrders, opened, ...withState };
  // Refused: what to suggest instead, from the outbox too (the state keeps only the newest).
  return { assetIds, workOrders, opened, ...withState, outbox: await store.factKeysOfAsset(WORKORDER_CREATE, key.erpAssetId, OUTBOX_SUGGESTIONS) };
}

/**
 * For a completion just recorded (by the CLI's own pipeline, or by a running service, which stores
 * its rule state after an operator's event): `; not applied yet: waits for …` when
 * the asset's stored state holds it back (a reading dated before it still buffered, or one that may
 * still arrive within `rules.allowedLateness`), so the operator is not left wondering why the
 * baseline has not moved; empty when it was applied.
 */
async function heldCompletionNote(config: Config, configPath: string, businessKey: string, status: 'completed' | 'cancelled', at: number): Promise<string> {
  const erpAssetId = parseWorkOrderKey(businessKey)?.erpAssetId;
  const options = maintenanceOptionsOf(rulesConfigOf(config));
  if (erpAssetId === undefined || options === undefined) return '';
  return withConfigContext(
    config,
    configPath,
    async ({ store }) => {
      const state = (await store.loadStates([erpAssetId])).get(erpAssetId)?.[MAINTENANCE_RULE] as MaintenanceState | undefined;
      const e = state?.feedbackHeld?.find((x) => x.businessKey === businessKey && x.status === status && x.eventTime === at);
      return state !== undefined && e !== undefined ? `; not applied yet: it waits for ${feedbackWaitsFor(state, e, options)}` : '';
    },
    { readOnly: true },
  );
}

/** `known`, closest to `typed` first (the likeliest meant by a typo). */
function closestFirst(typed: string, known: readonly string[]): string[] {
  const lower = typed.toLowerCase();
  return known.map((k) => ({ k, d: editDistance(lower, k.toLowerCase()) })).sort((x, y) => x.d - y.d || (x.k < y.k ? -1 : 1)).map((x) => x.k);
}

const listed = (keys: readonly string[], max: number) => `${keys.slice(0, max).join(', ')}${keys.length > max ? ` (and ${keys.length - max} more)` : ''}`;

/**
 * A hand completion names a work order assetbridge knows: one it opened (the outbox) or one in the
 * asset's maintenance state (which ERP feedback also fills). A typo would otherwise reset a
 * service baseline, and an unknown asset land in quarantine. `force` lets through a key known
 * nowhere (a work order made in the ERP by hand, or one forgotten after retention pruned it), but
 * never an unknown asset: the pipeline could only quarantine it.
 */
export function checkKnownWorkOrder(businessKey: string, known: WorkOrderKnowledge, force: boolean): void {
  const key = parseWorkOrderKey(businessKey);
  if (!key) return; // completionEvent says what is wrong with it
  const asset = key.erpAssetId;
  if (!known.assetIds.includes(asset)) {
    const lower = asset.toLowerCase();
    const similar = closestFirst(asset, known.assetIds.filter((id) => editDistance(lower, id.toLowerCase()) <= 2 || id.toLowerCase().includes(lower) || lower.includes(id.toLowerCase())));
    const hint = similar.length ? `did you mean ${listed(similar, 5)}? ` : '';
    throw new NotFoundError(`no asset "${asset}" in the registry (the asset of "${businessKey}"); ${hint}'assetbridge maintenance status' lists the work orders per asset, 'assetbridge assets list' the assets`);
  }
  if (known.opened || force) return;
  const closed = (w: WorkOrderRecord) => w.status === 'completed' || w.status === 'cancelled';
  const entries = Object.entries(known.workOrders);
  const open = closestFirst(businessKey, entries.filter(([, w]) => !closed(w)).map(([k]) => k));
  const done = closestFirst(businessKey, entries.filter(([, w]) => closed(w)).map(([k]) => k));
  // Opened by assetbridge but no longer in the state: open or closed, the state cannot say.
  const older = closestFirst(businessKey, (known.outbox ?? []).filter((k) => !(k in known.workOrders)));
  const candidates =
    (open.length ? `open work orders of ${asset}: ${listed(open, 5)}` : `no open work orders of ${asset}${done.length ? `; closest completed or cancelled: ${listed(done, 3)}` : ''}`) +
    (older.length ? `; other work orders assetbridge opened for ${asset} (beyond what its maintenance state keeps): ${listed(older, 5)}` : '');
  throw new NotFoundError(
    `"${businessKey}" names no work order assetbridge knows (none was opened under that key, and ${asset}'s maintenance state holds none); ${candidates}. ` +
      `Check the key with 'assetbridge maintenance status --asset ${asset}'; for a work order assetbridge did not open (made in the ERP by hand) or no longer remembers (its outbox row pruned by store.retention.deliveredFacts), add --force`,
  );
}

/**
 * A work order already recorded as completed (or cancelled) is not completed again: the first
 * completion set its baseline, and a second one changes nothing, so saying "recorded" would mislead
 * (an operator correcting a mistyped --hours, say).
 */
export function checkNotAlreadyClosed(businessKey: string, known: Pick<WorkOrderKnowledge, 'workOrders'>, status: 'completed' | 'cancelled'): void {
  const record = known.workOrders[businessKey];
  if (record?.status !== status) return;
  // Completed without the meter then, it did not count: recorded again with the meter, it does.
  if (status === 'completed' && record.uncounted === true) return;
  const when = record.changedAt !== undefined ? ` on ${isoTime(record.changedAt)}` : '';
  const meter = [record.hoursAtCompletion !== undefined ? `${formatNumber(record.hoursAtCompletion)} h` : '', record.kmAtCompletion !== undefined ? `${formatNumber(record.kmAtCompletion)} km` : ''].filter(Boolean).join(', ');
  throw new UsageError(
    `${businessKey} is already recorded as ${status}${when}${meter ? ` at ${meter}` : ''}; recording it again would change nothing. ` +
      (status === 'completed'
        ? "A service baseline moves only to a later service: record a later one through the asset's baseline attribute (lastServiceHours / lastServiceKm, with 'assetbridge assets import')"
        : "'assetbridge maintenance status' shows it"),
  );
}

/**
 * A hand completion (or cancellation) dated before the latest update of the work order the asset's
 * maintenance state holds (the ERP's "open" as a poll found it, say) changes nothing: event time wins,
 * and the rule passes over feedback older than what it applied. Saying "recorded" would mislead:
 * it is refused, saying from when it counts. Taken whatever its time, as the rule takes them: a
 * completion over a cancellation, and one that did not count (no meter then) recorded with the meter.
 */
export function checkNotBeforeLastChange(businessKey: string, known: Pick<WorkOrderKnowledge, 'workOrders'>, input: { readonly status: 'completed' | 'cancelled'; readonly at: number; readonly meter: boolean }): void {
  const record = known.workOrders[businessKey];
  if (record?.changedAt === undefined || input.at >= record.changedAt) return;
  if (input.status === 'completed' && (record.status === 'cancelled' || (record.uncounted === true && input.meter))) return;
  throw new UsageError(
    `--at ${isoTime(input.at)} is before the latest update of ${businessKey} that assetbridge has (${record.status} at ${isoTime(record.changedAt)}): ` +
      `an update dated earlier changes nothing (event time wins), so it would not be recorded as ${input.status}. Give --at at or after ${isoTime(record.changedAt)}` +
      (input.status === 'completed' ? "; a service done before then is recorded through the asset's baseline attribute (lastServiceHours / lastServiceKm, with 'assetbridge assets import')" : ''),
  );
}

const formatNumber = (v: number): string => String(Math.round(v * 100) / 100);

/** How far from now `--at` may be: what the pipeline takes (`ingest.maxFutureSkewMs`, `ingest.maxAgeMs`). */
export interface AtLimits {
  readonly now: number;
  readonly maxFutureSkewMs: number;
  /** 0: no limit. */
  readonly maxAgeMs?: number;
}

/**
 * `--at`: an ISO 8601 date-time with its zone (a zone-less time would be read in this host's
 * zone); with `limits`, no further ahead of now than the pipeline takes an event (nor older): it
 * would refuse the completion and keep it in quarantine.
 */
export function parseAtOption(text: string, limits?: AtLimits): number {
  const t = parseIsoTime(text);
  if (t === 'zoneless') throw new UsageError(`--at ${text} has no time zone: add Z for UTC or an offset, e.g. ${text}Z or ${text}+01:00`);
  if (typeof t !== 'number') throw new UsageError(`--at must be an ISO date-time with its zone, e.g. 2026-11-30T14:00:00Z; got "${text}"`);
  if (limits && t > limits.now + limits.maxFutureSkewMs)
    throw new UsageError(
      `--at ${text} is in the future (more than ${formatDuration(limits.maxFutureSkewMs)} after this host's clock, ${isoTime(limits.now)}; ingest.maxFutureSkewMs): give the time the work was completed, or leave --at out for now`,
    );
  if (limits?.maxAgeMs !== undefined && limits.maxAgeMs > 0 && t < limits.now - limits.maxAgeMs)
    throw new UsageError(`--at ${text} is older than ingest.maxAgeMs (${formatDuration(limits.maxAgeMs)}), so the completion would be refused as stale: raise ingest.maxAgeMs, or record it in the ERP`);
  return t;
}

/**
 * `--hours` / `--km`: a meter reading, a decimal number 0 or more (`251.5`). Blank text is no
 * reading (`Number('')` is 0), nor is `0x10`, `1e3` or `251,5`.
 */
export function parseMeterOption(option: '--hours' | '--km', text: string): number {
  if (!/^\s*(\d+(\.\d*)?|\.\d+)\s*$/.test(text))
    throw new UsageError(
      option === '--hours'
        ? `--hours "${text}" is not a meter reading: give the hour meter at completion as a decimal number, e.g. --hours 251.5 (or leave --hours out to take it from the readings around --at)`
        : `--km "${text}" is not an odometer reading: give the odometer at completion in km as a decimal number, e.g. --km 30120 (or leave --km out to take it from the readings around --at)`,
    );
  return Number(text);
}

/**
 * The meter of a hand completion, for the interval the key names (a service interval, or a
 * whichever-first calendar interval): refused when `--hours` (`--km`) is more than the meter can
 * have shown at `--at` (a typo, `2410` for `241`: the schedule would count from it), and, without
 * it, when no reading the rule keeps covers `--at` (the last readings, at least 20 min apart: a
 * later reading would be a guess). Returns what the meter was taken as, without `--hours`/`--km`.
 */
export function checkCompletionMeter(businessKey: string, rules: RulesConfig, state: MaintenanceState | undefined, input: Pick<CompletionInput, 'hours' | 'km' | 'at'>): string | undefined {
  const key = parseWorkOrderKey(businessKey);
  const options = maintenanceOptionsOf(rules);
  if (!key || !options) return undefined;
  let taken: string | undefined;
  const service = options.serviceIntervals.find((r) => r.name === key.rule);
  const counted = service?.meter ?? options.calendarIntervals?.find((r) => r.name === key.rule)?.orMeter?.meter;
  for (const meter of ['hours', 'km'] as const) {
    const given = meter === 'km' ? input.km : input.hours;
    if (given === undefined && meter !== counted) continue;
    const m = completionMeter(state, meter, input.at, given);
    const option = `--${meter}`;
    if (given !== undefined && m.problem !== undefined)
      throw new UsageError(`${option} ${m.problem}; check the value: the ${meter === 'km' ? 'odometer' : 'hour meter'} as it showed at the completion (--at)`);
    if (given === undefined && m.value === undefined)
      throw new UsageError(`${businessKey} at ${isoTime(input.at)}: ${m.problem}, so the ${meter === 'km' ? 'odometer' : 'hour meter'} at completion is not known; pass ${option} <the reading at completion>`);
    if (given === undefined && m.from !== undefined) {
      // Taken from the readings: said, and where the latest is well before --at, that the meter may have run since (counted from less, the next service comes early, never late).
      const since = m.readAt !== undefined && input.at - m.readAt > COMPLETION_READING_STALE_MS ? ` (${formatDuration(input.at - m.readAt)} before --at: if it ran since, the next service comes due early by what it ran; give ${option} next time)` : '';
      taken = `the ${meter === 'km' ? 'odometer' : 'hour meter'} at completion taken from the readings: ${m.from}${since}`;
    }
  }
  return taken;
}

/** A reading taken for a completion (no `--hours`/`--km`) this long before `--at` is said to be maybe out of date. */
const COMPLETION_READING_STALE_MS = 60 * 60_000;

/** `--closed <n>`: digits only (not `-1`, which is whole but no count, nor an empty value, which Number() reads as 0). */
export function parseClosedLimit(value: string): number {
  const n = Number(value);
  if (!/^\s*\d+\s*$/.test(value) || !Number.isSafeInteger(n)) throw new UsageError(`--closed "${value}" is not a whole number of 0 or more (0: none)`);
  return n;
}

export function registerMaintenanceCommand(program: Command): Command {
  const maintenance = program.command('maintenance').description('maintenance initiation: what is due, open and completed per asset');
  addConfigOption(
    maintenance
      .command('status')
      .description('per asset: the state of each maintenance rule (service and calendar intervals: what is due; thresholds; fault codes), open work orders, completed ones')
      .option('--asset <asset>', 'one asset only: its ERP asset id, or any identifier of it (tag, PIN, ...)')
      .option('--closed <n>', 'completed/cancelled work orders shown per asset (0: none; none with --due)', '5')
      .option('--due', 'only what needs attention: due or due soon, thresholds breached, faults active, open work orders')
      .option('--csv', 'print the rules-per-asset table as CSV instead of tables: one row per asset and rule, with its open work orders and the destination each was opened at (every rule; with --due only those that need attention)')
      .option('--out <file>', `write that CSV to a file (${OUT_FILE_HELP})`)
      .option('--json', 'print JSON')
      .addHelpText('after', '\nExamples:\n  assetbridge maintenance status --due\n  assetbridge maintenance status --due --csv --out due.csv'),
  ).action(
    action(async (opts: { config: string; asset?: string; closed: string; due?: boolean; csv?: boolean; out?: string; json?: boolean }) => {
      const closedLimit = parseClosedLimit(opts.closed);
      checkOutputOptions(opts, CSV_OUTPUT);
      await withContext(opts.config, async ({ config, store }) => {
        const all = await loadMaintenanceStatus(store, rulesConfigOf(config), opts.asset);
        await warnOfLeftIngestLog(store, 'their readings and work-order changes are not in the stored maintenance state yet, so meters and what is due may be behind');
        const rows = opts.due ? onlyDue(all) : all;
        if (opts.json) return void process.stdout.write(`${toJson(rows)}\n`);
        if (opts.csv || opts.out) {
          const csv = maintenanceCsv(rows);
          if (opts.out === undefined) return void process.stdout.write(csv);
          writeOut(opts.out, CSV_FILE_BOM + csv, config.store.path);
          return void process.stdout.write(`wrote ${rows.reduce((n, r) => n + r.due.length, 0)} row(s) to ${opts.out}\n`);
        }
        if (opts.asset !== undefined && all.length === 0) return void process.stdout.write(formatMaintenanceStatus([], closedLimit, { asset: opts.asset }));
        // As zones occupancy and inventory counts end: which checkpoint of a running service this is as of.
        if (opts.due && rows.length === 0) return void process.stdout.write(`nothing due, breached or open (${all.length} asset(s) checked)\n${await storedRuleStateAsOf(store)}`);
        // --due leaves completed ones out: a COMPLETED section would read "none" however many there are.
        process.stdout.write(formatMaintenanceStatus(rows, opts.due ? 0 : closedLimit, { destinations: config.destinations.length > 1 }) + (await storedRuleStateAsOf(store)));
      }, { readOnly: true });
    }),
  );
  addConfigOption(
    maintenance
      .command('complete <businessKey>')
      .description('record a work order as completed (or cancelled) by hand, as ERP feedback would: the service baseline resets to the hours (or km) at completion (calendar intervals: to the day of --at)')
      .option('--hours <h>', 'the reading of the hour meter at completion, as it shows it (default: from the readings around --at; required when none are kept from then); more than the meter can have shown then is refused')
      .option('--km <km>', 'the reading of the odometer at completion, as it shows it, for an interval in km (default: from the readings around --at; required when none are kept from then)')
      .option('--at <iso>', 'when it was completed, ISO 8601 with Z or an offset, not in the future (default: now)')
      .option('--cancelled', 'record it as cancelled instead (no baseline reset)')
      .option('--erp-id <id>', "the ERP's work-order number, for the record")
      .option('--force', 'record it even though assetbridge knows no work order under this key (one made in the ERP by hand, or forgotten after retention pruned it)')
      .addHelpText(
        'after',
        "\nThe key must name a work order assetbridge opened or holds in the asset's maintenance state\n('assetbridge maintenance status' lists them); any other is refused unless --force is given.\nAn asset not in the registry is always refused.\n" +
          "\nExamples:\n  assetbridge maintenance complete 'EQ-1|service-250h|250h@b0' --hours 251.5\n  assetbridge maintenance complete 'TRUCK-7|oil-15000km|30000km@b15000' --km 30120",
      ),
  ).action(
    action(async (businessKey: string, opts: { config: string; hours?: string; km?: string; at?: string; cancelled?: boolean; erpId?: string; force?: boolean }) => {
      const hours = opts.hours !== undefined ? parseMeterOption('--hours', opts.hours) : undefined;
      const km = opts.km !== undefined ? parseMeterOption('--km', opts.km) : undefined;
      const { config, configPath } = resolveConfig(opts.config);
      const now = Date.now();
      const at = opts.at !== undefined ? parseAtOption(opts.at, { now, maxFutureSkewMs: config.ingest.maxFutureSkewMs, maxAgeMs: config.ingest.maxAgeMs }) : now;
      const status = opts.cancelled ? 'cancelled' : 'completed';
      const input: CompletionInput = {
        businessKey,
        status,
        at,
        ...(hours !== undefined ? { hours } : {}),
        ...(km !== undefined ? { km } : {}),
        ...(opts.erpId !== undefined ? { erpWorkOrderId: opts.erpId } : {}),
      };
      // A key of no form assetbridge makes (the ERP's number, a time written otherwise): refused, saying which one it likely means.
      const keyHint =
        malformedKey(businessKey) && storeExists(config)
          ? malformedKeyHint(businessKey, await withConfigContext(config, configPath, async ({ store }) => listedWorkOrders(await loadMaintenanceStatus(store, rulesConfigOf(config))), { readOnly: true }))
          : undefined;
      const event = completionEvent(input, keyHint);
      checkWorkOrderRule(businessKey, rulesConfigOf(config));
      // Before anything is submitted: a refused key leaves no event, state or quarantine entry.
      let meterTaken: string | undefined;
      await withConfigContext(
        config,
        configPath,
        async ({ store }) => {
          const known = await loadWorkOrderKnowledge(store, config, businessKey);
          checkKnownWorkOrder(businessKey, known, opts.force === true);
          checkNotAlreadyClosed(businessKey, known, status);
          checkNotBeforeLastChange(businessKey, known, { status, at, meter: hours !== undefined || km !== undefined });
          if (status === 'completed') meterTaken = checkCompletionMeter(businessKey, rulesConfigOf(config), known.state, { at, ...(hours !== undefined ? { hours } : {}), ...(km !== undefined ? { km } : {}) });
        },
        { existingStore: true },
      );
      await recordOperatorEvent(config, configPath, event, 'assetbridge maintenance complete', async (via) => {
        // Whether the rule holds it back, and for what (event time wins): from the stored state, which
        // has it either way (here: stored by this pipeline; a running service checkpoints after the event).
        const held = await heldCompletionNote(config, configPath, businessKey, status, at);
        return `recorded ${businessKey} as ${String(event.status)}${via}${meterTaken !== undefined ? `; ${meterTaken}` : ''}${held}; 'assetbridge maintenance status' shows the result`;
      });
    }),
  );
  return maintenance;
}
