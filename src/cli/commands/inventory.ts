/**
 * `assetbridge inventory`: the inventory counts per (location, SKU).
 *
 * - `counts` shows, per destination, what is counted now from the stored item states beside what
 *   was last sent and the change the next run will send; with how many items count and why the
 *   others do not. As a table, CSV (`--csv`, `--out`) or JSON.
 * - `items` lists every tagged item with its standing: the tags behind a count, and those left out
 *   (stale, seen outside every location, not seen yet, a quantity that is not a whole number), to
 *   reconcile a count with the shelf.
 * - `snapshot` asks the running service for a full snapshot at its next inventory run instead of
 *   at the next cron time (with none running, the request waits for its start, and says so). The
 *   run stays the service's, so two processes never hand out the same count revision.
 * @module
 */
import type { Command } from 'commander';
import { NotFoundError, UsageError } from '../../core/errors/errors.js';
import { CSV_FILE_BOM, toCsv } from '../../core/csv.js';
import { defaultDestinationOf, type Config } from '../../config/schema.js';
import { damagedRecordsWarning, inventoryReport, inventorySyncOptionsOf, loadInventoryItems, malformedKeysWarning, settleMsOf, requestFullSnapshot, unconfiguredDestinationsWarning, type InventoryReport, type InventorySyncOptions } from '../../engine/tasks/index.js';
import { action, isoTime, addConfigOption, checkDestination, checkOutputOptions, CSV_OUTPUT, table, withContext, toJson, writeOut, OUT_FILE_HELP } from '../context.js';
import { storedRuleStateAsOf, warnOfLeftIngestLog } from './submit-event.js';
import { QUANTITY_HINT, inventoryItemRows, type ItemFilter, type ItemRow } from '../../core/rules/inventory/counts.js';
import type { AssetWithIdentifiers } from '../../ports/store.js';
import { formatDuration } from '../../core/rules/maintenance/maintenance-rule.js';
import { rulesConfigOf } from './rules.js';
import { runningService } from './status.js';

function inventoryOf(config: Config): InventorySyncOptions {
  const options = inventorySyncOptionsOf(rulesConfigOf(config), defaultDestinationOf(config), undefined, config.destinations.map((d) => d.name));
  if (!options) throw new UsageError('inventory is not configured (add a rules.inventory section to the config, e.g. "inventory: { skuAttribute: sku }")');
  return { ...options, settleMs: settleMsOf(config.destinations) };
}

/** A `--destination` that names no configured destination: refused as every command refuses it (exit 1), with those there are. */
function checkDestinationOption(config: Config, name: string | undefined): void {
  if (name !== undefined) checkDestination(config, name);
}

export interface CountFilter {
  readonly destination?: string;
  readonly location?: string;
  readonly sku?: string;
}

/** The report with only the destinations and cells the filter names. */
export function filterReport(report: InventoryReport, filter: CountFilter): InventoryReport {
  return {
    ...report,
    destinations: report.destinations
      .filter((d) => filter.destination === undefined || d.destination === filter.destination)
      .map((d) => {
      const inCell = (c: { readonly location: string; readonly sku: string }) => (filter.location === undefined || c.location === filter.location) && (filter.sku === undefined || c.sku === filter.sku);
      const dead = d.deadLetters?.filter(inCell);
      return { destination: d.destination, cells: d.cells.filter(inCell), ...(dead?.length ? { deadLetters: dead } : {}) };
    }),
  };
}

/** `changesEvery` as said: `60 s`, `1.5 s`, under a second `500 ms` (at least 100 ms is allowed: rounded to seconds, `0 s`). */
const seconds = (ms: number) => (ms < 1000 ? `${ms} ms` : `${ms / 1000} s`);
const signed = (n: number) => (n > 0 ? `+${n}` : String(n));

export function countsCsv(report: InventoryReport): string {
  const rows: (string | number)[][] = [['destination', 'location', 'sku', 'countedQuantity', 'items', 'lastSentQuantity', 'revision', 'change']];
  for (const d of report.destinations) for (const c of d.cells) rows.push([d.destination, c.location, c.sku, c.quantity, c.items, c.sentQuantity, c.revision, c.change]);
  return toCsv(rows);
}

/**
 * Why an item just seen can still be `unseen`: its sighting waits rules.allowedLateness for later
 * ones to sort it among, and when none follows (a tag read once), until the asset has been quiet
 * for rules.idleAfter (2 min by default), not the allowed lateness alone.
 */
const UNSEEN_NOTE = 'or only just: a sighting is held rules.allowedLateness, and rules.idleAfter when none follows it';

const STANDINGS: readonly ItemRow['standing'][] = ['counted', 'stale', 'unplaced', 'unseen', 'bad-quantity'];

/** Per ERP asset, the identifier to look for on the item: its tag, else its first identifier. */
export function tagsOf(assets: readonly AssetWithIdentifiers[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const { asset, identifiers } of assets) {
    const id = identifiers.find((i) => i.type === 'tag') ?? identifiers[0];
    if (id) out.set(asset.erpAssetId, id.value);
  }
  return out;
}

const ITEM_COLUMNS = ['destination', 'item', 'tag', 'sku', 'quantity', 'location', 'standing', 'lastSeen', 'thereSince'] as const;

function itemCells(r: ItemRow, tags: ReadonlyMap<string, string>): (string | number)[] {
  return [r.destination, r.erpAssetId, tags.get(r.erpAssetId) ?? '', r.sku, r.quantity ?? r.badQuantity ?? '', r.location ?? '', r.standing, r.seenAt !== undefined ? isoTime(r.seenAt) : '', r.since !== undefined ? isoTime(r.since) : ''];
}

export function itemsCsv(rows: readonly ItemRow[], tags: ReadonlyMap<string, string>): string {
  return toCsv([[...ITEM_COLUMNS], ...rows.map((r) => itemCells(r, tags))]);
}

/**
 * What to say when `inventory items` matches nothing: the location or SKU asked for that no item
 * has, with those there are (a typo, or the ERP's code for another site), from `all` (unfiltered).
 */
export function noItemsText(all: readonly ItemRow[], filter: ItemFilter): string {
  const why = itemFilterMiss(all, filter);
  return `no inventory items match${why === undefined ? '' : `: ${why}`}\n`;
}

/**
 * Why no item of `all` (before the location and SKU filter) is at `filter.location` or has
 * `filter.sku`, with those there are; undefined when some is and has. `inventory items` refuses
 * such a value (exit 1), as other commands refuse a zone or destination that names nothing
 * (without either, and no item at all, only that there are none yet).
 */
export function itemFilterMiss(all: readonly ItemRow[], filter: Pick<ItemFilter, 'location' | 'sku'>): string | undefined {
  if (all.length === 0) {
    if (filter.location === undefined && filter.sku === undefined) return 'there are no inventory items (assets with the SKU attribute) yet';
    const asked = filter.location !== undefined ? `is at location "${filter.location}"` : `has SKU "${filter.sku as string}"`;
    return `no item ${asked}: there are no inventory items (assets with the SKU attribute) yet`;
  }
  const listed = (values: Iterable<string>) => [...new Set(values)].sort().join(', ');
  if (filter.location !== undefined && !all.some((r) => r.location === filter.location)) {
    const locations = listed(all.flatMap((r) => (r.location !== undefined ? [r.location] : [])));
    // No item placed anywhere yet (none seen, or only outside every zone): an empty list would read as cut off.
    return `no item is at location "${filter.location}"; ${locations ? `locations with items: ${locations}` : 'no item is at any location yet (not seen, or seen only outside every zone): see them without --location'}`;
  }
  if (filter.sku !== undefined && !all.some((r) => r.sku === filter.sku)) return `no item has SKU "${filter.sku}"; SKUs: ${listed(all.map((r) => r.sku))}`;
  return undefined;
}

/**
 * Why `inventory counts` refuses a `--location` or `--sku` (exit 1, as other commands refuse a zone
 * or destination that names nothing): no count of the destination asked for (or of any) is there
 * or has it, and no item either (`items`: those of that destination, before the location and SKU
 * filter); with those there are. Undefined when a count or an item has it: an empty table then
 * says why ({@link noCountsText}).
 */
export function countFilterMiss(all: InventoryReport, filter: CountFilter, items: readonly ItemRow[]): string | undefined {
  const cells = all.destinations.filter((d) => filter.destination === undefined || d.destination === filter.destination).flatMap((d) => d.cells);
  const listed = (values: Iterable<string>) => [...new Set(values)].sort().join(', ');
  if (filter.location !== undefined && !cells.some((c) => c.location === filter.location) && !items.some((r) => r.location === filter.location)) {
    const there = listed([...cells.map((c) => c.location), ...items.flatMap((r) => (r.location !== undefined ? [r.location] : []))]);
    return `no count or item is at location "${filter.location}"; ${there ? `locations with counts or items: ${there}` : 'no count or item is at any location yet'}`;
  }
  if (filter.sku !== undefined && !cells.some((c) => c.sku === filter.sku) && !items.some((r) => r.sku === filter.sku)) {
    const there = listed([...cells.map((c) => c.sku), ...items.map((r) => r.sku)]);
    return `no count or item has SKU "${filter.sku}"; ${there ? `SKUs with counts or items: ${there}` : 'there are no counts or inventory items (assets with the SKU attribute) yet'}`;
  }
  return undefined;
}

/**
 * Counts in dead letters: LAST SENT includes their change, but the ERP does not have it. Said per
 * cell, with what to do (a few named, then counted).
 */
export function deadCountsWarning(report: InventoryReport): string | undefined {
  const dead = report.destinations.flatMap((d) => (d.deadLetters ?? []).map((c) => ({ ...c, destination: d.destination })));
  if (dead.length === 0) return undefined;
  const shown = dead
    .slice(0, 10)
    .map((c) => `${c.destination} ${c.location} ${c.sku} ${signed(c.delta)} (dead letter ${c.id})`)
    .join(', ');
  return (
    `warning: ${dead.length} count(s) in dead letters, not in the ERP though LAST SENT includes their change: ${shown}${dead.length > 10 ? `, … (${dead.length - 10} more: 'assetbridge dlq list')` : ''}; ` +
    `fix the cause, then 'assetbridge dlq replay ${dead.slice(0, 10).map((c) => c.id).join(' ')}' (or 'dlq discard' them: their change goes out again with the next inventory run)`
  );
}

/** Items left out of every count for a quantity that is not a whole number: said, with what to do. */
export function badQuantityWarning(items: number, quantityAttribute: string): string {
  return (
    `warning: ${items} item(s) not counted: their ${quantityAttribute} attribute (rules.inventory.quantityAttribute) is not ${QUANTITY_HINT}; ` +
    `fix it with 'assetbridge assets import' (or in assets.inline) and they count at the next run ('assetbridge inventory items --standing bad-quantity' lists them)`
  );
}

export function formatItems(rows: readonly ItemRow[], tags: ReadonlyMap<string, string>, freshnessMs: number, quantityAttribute = 'quantity'): string {
  if (rows.length === 0) return 'no inventory items match\n';
  const table_ = table([ITEM_COLUMNS.map((c) => c.replace(/([A-Z])/g, ' $1').toUpperCase()), ...rows.map((r) => itemCells(r, tags))]);
  const by = (standing: ItemRow['standing']) => rows.filter((r) => r.standing === standing);
  const counted = by('counted');
  const summary =
    `${rows.length} item(s): ${counted.length} counted (quantity ${counted.reduce((n, r) => n + (r.quantity ?? 0), 0)}), ` +
    `${by('stale').length} stale (last seen over ${formatDuration(freshnessMs)} ago: rules.inventory.freshness), ${by('unplaced').length} last seen outside every location, ${by('unseen').length} not seen yet${by('unseen').length ? ` (${UNSEEN_NOTE})` : ''}`;
  const bad = by('bad-quantity').length;
  return `${table_.trimEnd()}\n\n${summary}\n${bad ? `${badQuantityWarning(bad, quantityAttribute)}\n` : ''}`;
}

/**
 * What to say when `inventory counts` shows no cell: the location or SKU asked for that no count
 * has, with those there are (a typo, or the ERP's code for another site), from `all` (the report
 * before the location and SKU filter), as {@link noItemsText} does for items. With no count at all,
 * `items` (the items of the destination asked for, before the location and SKU filter) says whether
 * the location or SKU is one no item has: that is said, not that no item has been seen.
 */
export function noCountsText(all: InventoryReport, filter: CountFilter, items?: readonly ItemRow[]): string {
  const cells = all.destinations.filter((d) => filter.destination === undefined || d.destination === filter.destination).flatMap((d) => d.cells);
  if (cells.length === 0) {
    const why = items !== undefined && (filter.location !== undefined || filter.sku !== undefined) ? itemFilterMiss(items, filter) : undefined;
    return why !== undefined ? `no counts match: ${why}` : 'no counts: no item has been seen at a location within the freshness window, and no cell was last sent a total above 0';
  }
  const listed = (values: Iterable<string>) => [...new Set(values)].sort().join(', ');
  if (filter.location !== undefined && !cells.some((c) => c.location === filter.location)) return `no counts match: no count is at location "${filter.location}"; locations with counts: ${listed(cells.map((c) => c.location))}`;
  if (filter.sku !== undefined && !cells.some((c) => c.sku === filter.sku)) return `no counts match: no count has SKU "${filter.sku}"; SKUs with counts: ${listed(cells.map((c) => c.sku))}`;
  return 'no counts match';
}

/** `filter`, `all` and `items`: what was asked for, the report and the items before the location and SKU filter (see {@link noCountsText}); `report.items` is then about those items only. */
export function formatCounts(
  report: InventoryReport,
  options: Pick<InventorySyncOptions, 'freshnessMs' | 'changesEveryMs'> & Partial<Pick<InventorySyncOptions, 'quantityAttribute'>>,
  filter: CountFilter = {},
  all: InventoryReport = report,
  items?: readonly ItemRow[],
): string {
  const rows: (string | number)[][] = [['DESTINATION', 'LOCATION', 'SKU', 'COUNTED', 'ITEMS', 'LAST SENT', 'REVISION', 'CHANGE']];
  for (const d of report.destinations) for (const c of d.cells) rows.push([d.destination, c.location, c.sku, c.quantity, c.items, c.sentQuantity, c.revision || '-', c.change ? signed(c.change) : '']);
  const i = report.items;
  // The items line counts only the items the filter names.
  const scope = [
    ...(filter.destination !== undefined ? [`--destination ${filter.destination}`] : []),
    ...(filter.location !== undefined ? [`--location ${filter.location}`] : []),
    ...(filter.sku !== undefined ? [`--sku ${filter.sku}`] : []),
  ].join(', ');
  const lines = [
    rows.length > 1 ? table(rows).trimEnd() : noCountsText(all, filter, items),
    '',
    `items${scope ? ` (${scope})` : ''}: ${i.total} with a SKU; ${i.counted} counted, ${i.stale} last seen over ${formatDuration(options.freshnessMs)} ago, ${i.unplaced} last seen outside every location, ${i.unseen} not seen yet (${UNSEEN_NOTE})`,
    `changes go out every ${seconds(options.changesEveryMs)} in a running service; ` +
      (report.snapshotRequestedAt !== undefined
        ? `a full snapshot was asked for at ${isoTime(report.snapshotRequestedAt)} and goes with the next run`
        : `last full snapshot ${report.lastFullAt === undefined ? 'never' : isoTime(report.lastFullAt)}, next ${report.nextFullAt <= report.now ? 'with the next run' : isoTime(report.nextFullAt)}`),
    ...(i['bad-quantity'] ? [badQuantityWarning(i['bad-quantity'], options.quantityAttribute ?? 'quantity')] : []),
    ...(report.unconfiguredDestinations?.length ? [`warning: ${unconfiguredDestinationsWarning(report.unconfiguredDestinations)}`] : []),
    ...[deadCountsWarning(report)].filter((w) => w !== undefined),
  ];
  return `${lines.join('\n')}\n`;
}

/**
 * What `inventory snapshot` says once the request is stored: when the counts go, which depends on
 * whether a service runs (only the service's inventory task sends them; the request waits for it).
 */
export function snapshotRequestedText(service: { readonly pid: number } | undefined, changesEveryMs: number): string {
  const within = `${seconds(changesEveryMs)} (rules.inventory.changesEvery)`;
  return service
    ? `full snapshot requested: the running service (pid ${service.pid}) sends every count with its next inventory run, within ${within}\n`
    : `full snapshot requested, not sent yet: no service is running on this store. The request is kept: the service sends every count with its first inventory run after it starts ('assetbridge run'), within ${within} of the start\n`;
}

/** What `inventory counts` and `items` lack while a crash's ingest log holds messages ({@link warnOfLeftIngestLog}). */
const SIGHTINGS_LACK = 'their sightings are not in the stored rule state yet, so counts and where items are may be behind';

export function registerInventoryCommand(program: Command): Command {
  const inventory = program.command('inventory').description('inventory sync: counts of tagged items per (location, SKU) and what the ERP was sent');
  addConfigOption(
    inventory
      .command('counts')
      .description('per destination, location and SKU: counted now, last sent, and the change the next run sends')
      .option('--destination <name>', 'one destination only')
      .option('--location <code>', 'one ERP location code only')
      .option('--sku <sku>', 'one SKU only')
      .option('--csv', 'print CSV instead of a table')
      .option('--out <file>', `write the CSV to a file (${OUT_FILE_HELP})`)
      .option('--json', 'print JSON')
      .addHelpText('after', '\nExamples:\n  assetbridge inventory counts\n  assetbridge inventory counts --location 1000/0001 --csv --out counts.csv'),
  ).action(
    action(async (opts: { config: string; destination?: string; location?: string; sku?: string; csv?: boolean; out?: string; json?: boolean }) => {
      checkOutputOptions(opts, CSV_OUTPUT);
      await withContext(opts.config, async ({ config, store }) => {
        const options = inventoryOf(config);
        const filter: CountFilter = {
          ...(opts.destination !== undefined ? { destination: opts.destination } : {}),
          ...(opts.location !== undefined ? { location: opts.location } : {}),
          ...(opts.sku !== undefined ? { sku: opts.sku } : {}),
        };
        checkDestinationOption(config, opts.destination);
        const all = await inventoryReport(store, options, Date.now(), filter);
        await warnOfLeftIngestLog(store, SIGHTINGS_LACK);
        // Entries of a sent record naming no cell: not shown, as the task leaves them out; said whatever the output.
        if (all.malformedKeys) process.stderr.write(`warning: ${malformedKeysWarning(all.malformedKeys)}\n`);
        // A record that is not JSON or not a record's shape: shown as never sent, as the next run takes it; said whatever the output.
        if (all.damagedRecords) process.stderr.write(`warning: ${damagedRecordsWarning(all.damagedRecords, false)}\n`);
        // The items of the destination asked for, before the location and SKU filter: read when a --location or --sku no count has may be one no item has either.
        let scoped: ItemRow[] | undefined;
        const itemsInScope = async (): Promise<ItemRow[]> =>
          (scoped ??= inventoryItemRows(await loadInventoryItems(store, options.skuAttribute, options.defaultDestination, options.zones), Date.now(), options, filter.destination !== undefined ? { destination: filter.destination } : {}));
        // A --location or --sku that no count or item has (a typo, another site's code): refused, in every output format, as a zone or destination naming nothing is.
        if (countFilterMiss(all, filter, []) !== undefined) {
          const miss = countFilterMiss(all, filter, await itemsInScope());
          if (miss !== undefined) throw new NotFoundError(miss);
        }
        const report = filterReport(all, filter);
        if (opts.json) return void process.stdout.write(`${toJson(report)}\n`);
        if (opts.csv || opts.out) {
          const csv = countsCsv(report);
          if (opts.out) {
            writeOut(opts.out, CSV_FILE_BOM + csv, config.store.path);
            process.stdout.write(`wrote ${report.destinations.reduce((n, d) => n + d.cells.length, 0)} row(s) to ${opts.out}\n`);
          } else process.stdout.write(csv);
          return;
        }
        // No count shown for a --location or --sku: the items say whether it is one no item has.
        const noCells = report.destinations.every((d) => d.cells.length === 0);
        const items = noCells && (filter.location !== undefined || filter.sku !== undefined) ? await itemsInScope() : undefined;
        process.stdout.write(formatCounts(report, options, filter, all, items));
        // As `zones occupancy` and `depreciation preview` say it: the sightings are the stored rule state's, as of when.
        process.stdout.write(await storedRuleStateAsOf(store));
      }, { readOnly: true });
    }),
  );
  addConfigOption(
    inventory
      .command('items')
      .description('every tagged item: where it counts, or why it does not (stale, seen outside every location, not seen yet); to reconcile a count with the shelf')
      .option('--destination <name>', 'one destination only')
      .option('--location <code>', 'items last seen at this ERP location code')
      .option('--sku <sku>', 'one SKU only')
      .option('--standing <standing>', 'only items with this standing: counted, stale (last seen before the freshness window), unplaced (last seen outside every location), unseen, or bad-quantity (quantity attribute not a whole number: not counted)')
      .option('--csv', 'print CSV instead of a table')
      .option('--out <file>', `write the CSV to a file (${OUT_FILE_HELP})`)
      .option('--json', 'print JSON')
      .addHelpText('after', '\nExamples:\n  assetbridge inventory items --location 1000/0001 --sku PAL-40\n  assetbridge inventory items --standing stale --csv --out stale.csv'),
  ).action(
    action(async (opts: { config: string; destination?: string; location?: string; sku?: string; standing?: string; csv?: boolean; out?: string; json?: boolean }) => {
      if (opts.standing !== undefined && !STANDINGS.includes(opts.standing as ItemRow['standing'])) throw new UsageError(`--standing "${opts.standing}": use one of ${STANDINGS.join(', ')}`);
      checkOutputOptions(opts, CSV_OUTPUT);
      await withContext(opts.config, async ({ config, store }) => {
        const options = inventoryOf(config);
        checkDestinationOption(config, opts.destination);
        const filter: ItemFilter = {
          ...(opts.destination !== undefined ? { destination: opts.destination } : {}),
          ...(opts.location !== undefined ? { location: opts.location } : {}),
          ...(opts.sku !== undefined ? { sku: opts.sku } : {}),
          ...(opts.standing !== undefined ? { standing: opts.standing as ItemRow['standing'] } : {}),
        };
        const now = Date.now();
        const items = await loadInventoryItems(store, options.skuAttribute, options.defaultDestination, options.zones);
        await warnOfLeftIngestLog(store, SIGHTINGS_LACK);
        const inDestination = inventoryItemRows(items, now, options, opts.destination !== undefined ? { destination: opts.destination } : {});
        // A --location or --sku no item has (a typo, another site's code): refused, in every output format, as a zone or destination naming nothing is.
        const miss = filter.location !== undefined || filter.sku !== undefined ? itemFilterMiss(inDestination, filter) : undefined;
        if (miss !== undefined) throw new NotFoundError(miss);
        const rows = inventoryItemRows(items, now, options, filter);
        const tags = tagsOf(await store.listAssets());
        if (opts.json) return void process.stdout.write(`${toJson(rows.map((r) => ({ ...r, tag: tags.get(r.erpAssetId) })))}\n`);
        if (opts.csv || opts.out) {
          const csv = itemsCsv(rows, tags);
          if (opts.out) {
            writeOut(opts.out, CSV_FILE_BOM + csv, config.store.path);
            process.stdout.write(`wrote ${rows.length} item(s) to ${opts.out}\n`);
          } else process.stdout.write(csv);
          return;
        }
        process.stdout.write(rows.length === 0 ? noItemsText(inDestination, filter) : formatItems(rows, tags, options.freshnessMs, options.quantityAttribute));
        // As `inventory counts` says it: where items are comes from the stored rule state, as of when.
        process.stdout.write(await storedRuleStateAsOf(store));
      }, { readOnly: true });
    }),
  );
  addConfigOption(
    inventory
      .command('snapshot')
      .description('ask the service for a full snapshot of every count at its next inventory run, instead of at the next cron time')
      .addHelpText('after', '\nExample:\n  assetbridge inventory snapshot -c assetbridge.yaml'),
  ).action(
    action(async (opts: { config: string }) => {
      await withContext(opts.config, async ({ config, store }) => {
        const options = inventoryOf(config);
        const now = Date.now();
        await requestFullSnapshot(store, now);
        process.stdout.write(snapshotRequestedText(await runningService(store, now), options.changesEveryMs));
      }, { existingStore: true }); // no store: a wrong --config (and a service's first run sends a full snapshot anyway)
    }),
  );
  return inventory;
}
