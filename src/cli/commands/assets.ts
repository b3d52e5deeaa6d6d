import { existsSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { UsageError } from '../../core/errors/errors.js';
import { CsvError, applyAssetUpdates, decodeAssetCsv, formatAssetCsv, readAssetCsv, type CsvProgress } from '../../adapters/identity/asset-csv.js';
import { normalizeIdentifier } from '../../core/model/assets.js';
import { IDENTIFIER_TYPES, type IdentifierType, type SourceIdentifier } from '../../core/model/events.js';
import { IdentityIndex } from '../../core/identity/resolver.js';
import { CSV_FILE_BOM } from '../../core/csv.js';
import { awaitIdentityReload, bumpIdentityGeneration, operationRoutingIssues, operationsOf } from '../../app.js';
import type { AssetWithIdentifiers, Store } from '../../ports/store.js';
import { runningService } from './status.js';
import { replayLeftIngestLog } from './submit-event.js';
import { depreciationInputWarnings } from '../../config/rule-inputs.js';
import { action, addConfigOption, resolveConfig, table, withConfigContext, withContext, toJson, whyUnreadable } from '../context.js';
import { HardLinkedFileError, replaceFile } from '../replace-file.js';

/** Identifiers that `rows` give to another asset than the registry did. */
function movedIdentifiers(existing: readonly AssetWithIdentifiers[], rows: readonly AssetWithIdentifiers[]): { type: string; value: string; from: string; to: string }[] {
  const owner = new Map(existing.flatMap((a) => a.identifiers.map((i) => [`${i.type}\u001f${normalizeIdentifier(i.value)}`, a.asset.erpAssetId] as const)));
  return rows.flatMap((r) =>
    r.identifiers.flatMap((i) => {
      const from = owner.get(`${i.type}\u001f${normalizeIdentifier(i.value)}`);
      return from !== undefined && from !== r.asset.erpAssetId ? [{ type: i.type, value: i.value, from, to: r.asset.erpAssetId }] : [];
    }),
  );
}

/** Identifiers that the assets `rows` lists had in the registry and that no row lists now (`--replace`). */
function removedIdentifiers(existing: readonly AssetWithIdentifiers[], rows: readonly AssetWithIdentifiers[]): { type: string; value: string; from: string }[] {
  const key = (i: { type: string; value: string }): string => `${i.type}\u001f${normalizeIdentifier(i.value)}`;
  const listed = new Set(rows.flatMap((r) => r.identifiers.map(key)));
  const assets = new Set(rows.map((r) => r.asset.erpAssetId));
  return existing.flatMap((a) => (assets.has(a.asset.erpAssetId) ? a.identifiers.filter((i) => !listed.has(key(i))).map((i) => ({ type: i.type, value: i.value, from: a.asset.erpAssetId })) : []));
}

/** An import file from this size on says what it is doing on stderr while it takes its seconds. */
export const LARGE_IMPORT_BYTES = 1_048_576;

/** Says on stderr how far each stage of a large file's check got, once per quarter of its way (not when nearly done). */
function quarterSteps(file: string): CsvProgress {
  const said = { parsing: 0, checking: 0 };
  return (stage, done, total) => {
    const percent = Math.floor((done / total) * 100);
    const quarter = Math.floor(percent / 25);
    if (quarter <= said[stage] || percent >= 95) return;
    said[stage] = quarter;
    process.stderr.write(`  ${file}: ${stage === 'parsing' ? 'read' : 'checked'} ${percent} % of the ${stage === 'parsing' ? 'file' : 'rows'}\n`);
  };
}

/**
 * With a service running on the store: waits until it identifies events with the registry just
 * changed (within about a second) and says so; events naming a new identifier that arrive before
 * that are quarantined as unknown-asset, so a service that has not picked it up is warned of.
 */
export async function reportIdentityReload(store: Store, gen: string, write: (text: string) => void = (t) => void process.stdout.write(t), timeoutMs = 30_000): Promise<void> {
  const service = await runningService(store, Date.now());
  if (!service) return;
  if (await awaitIdentityReload(store, gen, timeoutMs)) {
    write(`the running service (pid ${service.pid}) identifies events with it now\n`);
    return;
  }
  write(
    `warning: the running service (pid ${service.pid}) has not picked up the change within ${Math.round(timeoutMs / 1000)} s (its log says why); ` +
      `until it does, events naming an identifier added here are quarantined as unknown-asset: replay them afterwards with 'assetbridge quarantine replay --code unknown-asset'\n`,
  );
}

/** A file refused for its content: the problems, and that none of its rows went in (the whole file is checked before any is stored). */
function nothingImported(err: CsvError, file: string): UsageError {
  return new UsageError(`${err.message}\nnothing of ${file} was imported: fix what is named above in the file and import it again`);
}

export function registerAssetsCommand(program: Command): Command {
  const assets = program
    .command('assets')
    .description('the identity registry: tracking identifiers → ERP assets')
    .addHelpText(
      'after',
      `
CSV format (one row per identifier; extra columns become asset attributes):
  identifier,id_type,erp_asset_id,erp_module,destination,site
  tag-7823,tag,10004711,fixed-assets,,PLANT-1000
  WNCE0803PAAL00542,pin,10004711,fixed-assets,,PLANT-1000
id_type: tag, tracker, pin, vin, serial, device-serial, external-ref, machine-id, unit-id, erp
Columns a file leaves out (erp_module, destination, attributes) keep their stored values; an
empty destination or attribute cell clears it. An identifier named for another asset moves to it.
An import adds identifiers; with --replace, each asset in the file keeps only those it lists (an
asset listed only as "<id>,erp,<id>" loses all of them).
A row "<id>,erp,<id>" stands for an asset without tracking identifiers (id_type erp names
nothing else; another number the asset is known by is an external-ref).
The file is UTF-8 (or UTF-16 with its BOM, Excel's "Unicode Text"); a header without commas may
separate its columns by semicolons or tabs; a first line "sep=;" (Excel's) names
the separator. Every cell is read without the spaces at either end, quoted or not
(" A1 " is asset A1; spaces inside a value are kept). A cell that would open as a spreadsheet formula
(=, +, -, @) is exported behind a ', which an import takes off again.
With rules.inventory, the quantity column (rules.inventory.quantityAttribute) must be a whole
number, 0 or more, or empty (1); a file with any other value is refused, naming the line.
A cell of identifier, erp_asset_id or a code attribute column (sku, locationCode, serialNumber,
…) that reads like a date a spreadsheet made of a code (2026-10 saved as Oct-26, 1-2 as 2-Jan,
2026-10-01 as 10/1/2026) is imported as it is, with a warning naming the line and column.
With rules.depreciation, depreciation attributes (cost, salvage, expectedUnits, …) that are not
plain numbers, negative, a salvage above cost, zero expected units or a useful life under one
period are imported, with a warning
naming the line, asset and attribute.`,
    );

  addConfigOption(
    assets
      .command('import <file>')
      .description('import or update mappings from a CSV file')
      .option('--replace', "each asset in the file keeps only the identifiers the file lists (the others are removed, and named); assets the file does not list are left as they are")
      .addHelpText(
        'after',
        "\nThe file: one row per identifier, under the header\n  identifier,id_type,erp_asset_id,erp_module,destination,site\n(extra columns become asset attributes; 'assetbridge assets --help' gives the whole format, 'assetbridge assets export' writes the registry in it).\n\nExamples:\n  assetbridge assets import mapping.csv -c assetbridge.yaml\n  assetbridge quarantine replay --code unknown-asset   # then, for events that named identifiers it adds",
      ),
  ).action(
    action(async (file: string, opts: { config: string; replace?: boolean }) => {
      let text: string;
      let bytes: Buffer;
      try {
        bytes = readFileSync(file);
        text = decodeAssetCsv(bytes, file);
      } catch (err) {
        if (err instanceof CsvError) throw nothingImported(err, file);
        throw new UsageError(`cannot read ${file} (${whyUnreadable(err)}): give the path of an asset CSV (as 'assetbridge assets export' writes one)`);
      }
      const { config, configPath } = resolveConfig(opts.config);
      const quantityAttribute = config.rules.inventory?.quantityAttribute;
      const lines = new Map<string, Map<string, number>>();
      const warnings: string[] = [];
      // A large file takes a while (200,000 rows: about 10 s to check, as long to store): say what is going on.
      const started = Date.now();
      const large = bytes.length >= LARGE_IMPORT_BYTES;
      if (large) process.stderr.write(`checking ${file} (${(bytes.length / 1_048_576).toFixed(1)} MiB)…\n`);
      let updates: ReturnType<typeof readAssetCsv>;
      try {
        updates = readAssetCsv(text, file, {
          destinations: config.destinations.map((d) => d.name),
          attributeLines: lines,
          warnings,
          ...(quantityAttribute !== undefined ? { quantityAttribute } : {}),
          ...(large ? { onProgress: quarterSteps(file) } : {}),
        });
      } catch (err) {
        throw err instanceof CsvError ? nothingImported(err, file) : err;
      }
      await replayLeftIngestLog(config, configPath, 'assetbridge assets import');
      await withConfigContext(config, configPath, async ({ store }) => {
        // Columns the file lacks leave the stored module, destination and attributes as they are.
        const existing = await store.listAssets();
        const rows = applyAssetUpdates(existing, updates);
        // An asset routed to a destination that does not deliver an operation the rules produce for
        // it: its deliveries would only be dead letters (the start and config check refuse it too).
        const importedIds = new Set(updates.map((u) => u.erpAssetId));
        const routing = operationRoutingIssues(config, rows.filter((r) => importedIds.has(r.asset.erpAssetId)).map((r) => r.asset), operationsOf, `in ${file}`);
        if (routing.errors.length) throw new UsageError(`${routing.errors.map((e) => `${e.key}: ${e.message}`).join('\n')}\nnothing of ${file} was imported: route those assets to another destination in the file (its destination column), or change the rules as named, then import it again`);
        for (const w of routing.warnings) process.stdout.write(`warning: ${w.key}: ${w.message}\n`);
        if (large) process.stderr.write(`${file}: ${rows.length} asset(s) checked in ${((Date.now() - started) / 1000).toFixed(1)} s; storing them in one transaction (interrupted now, nothing is imported)…\n`);
        const r = await store.upsertAssets(rows, { replaceIdentifiers: opts.replace === true });
        const gen = await bumpIdentityGeneration(store);
        process.stdout.write(`imported ${r.identifiers} identifier(s) for ${r.assets} asset(s) from ${file}\n`);
        await reportIdentityReload(store, gen);
        for (const m of movedIdentifiers(existing, rows)) process.stdout.write(`  ${m.type} ${m.value} moved from asset ${m.from} to ${m.to}\n`);
        const removed = opts.replace ? removedIdentifiers(existing, rows) : [];
        for (const m of removed) process.stdout.write(`  ${m.type} ${m.value} removed from asset ${m.from}\n`);
        if (removed.length) process.stdout.write(`events naming a removed identifier are quarantined from now on (unknown-asset)\n`);
        // Depreciation inputs the assets now have (the file's values over the stored ones) that are
        // not valid: imported all the same, and said, naming the line or that the value is stored.
        const listed = rows
          .filter((r) => importedIds.has(r.asset.erpAssetId))
          .map(({ asset }) => ({ asset, key: () => file, where: (attribute: string) => { const line = lines.get(asset.erpAssetId)?.get(attribute); return line !== undefined ? `${file} line ${line}` : `${file} (stored value, not in the file)`; } }));
        for (const w of depreciationInputWarnings(config.rules, listed)) process.stdout.write(`warning: ${w.message}; fix it in the file and import it again\n`);
        // Codes a spreadsheet may have turned into dates (imported as they are: they may be real).
        for (const w of warnings) process.stdout.write(`warning: ${w}\n`);
        const waiting = await unknownAssetEntriesMapped(store);
        if (waiting.open) process.stdout.write(`${unknownAssetAdvice(waiting)}\n`);
      });
    }),
  );

  addConfigOption(
    assets
      .command('export [file]')
      .description('export the registry as CSV (stdout when no file)')
      .option('--force', 'replace FILE if it exists (an asset CSV the config imports has columns the registry may not hold)')
      .addHelpText('after', '\nThe CSV is written beside FILE first, flushed to disk and renamed when complete, so an export cut short never stands as FILE (a FILE that was there is left as it was). As a new file takes its name, a FILE with other hard links is refused, and its POSIX ACL and extended attributes are not kept (a default ACL on its directory is what a new file gets). A FILE starts with the UTF-8 byte-order mark (Excel reads it as UTF-8); printed, the CSV has none.\n\nExample:\n  assetbridge assets export assets-export.csv -c assetbridge.yaml'),
  ).action(
    action(async (file: string | undefined, opts: { config: string; force?: boolean }) => {
      const { config, configPath } = resolveConfig(opts.config);
      const target = file === undefined ? undefined : resolve(file);
      if (target !== undefined && existsSync(target)) {
        if (statSync(target).isDirectory()) throw new UsageError(`${target} is a directory: give FILE as a file path, e.g. ${join(target, 'assets.csv')}`);
        // Not even with --force: the CSV would replace the store (or its WAL) and every record in it.
        const storeFile = resolve(config.store.path);
        if ([storeFile, `${storeFile}-wal`, `${storeFile}-shm`].some((f) => existsSync(f) && realpathSync(f) === realpathSync(target)))
          throw new UsageError(`${target} is the store itself (store.path): give FILE another path`);
        if (opts.force !== true) {
          // The very CSV the config imports: its hand-edited columns would be lost to the export.
          const imported = config.assets.files.some((f) => resolve(f) === target) ? ' (it is an asset CSV the config imports, assets.files: the export holds only what the registry stores)' : '';
          throw new UsageError(`${target} exists${imported}: give another FILE, or --force to replace it`);
        }
      }
      await withConfigContext(config, configPath, async ({ store }) => {
        const rows = await store.listAssets();
        const csv = formatAssetCsv(rows);
        if (target === undefined) return void process.stdout.write(csv);
        try {
          replaceFile(target, CSV_FILE_BOM + csv);
        } catch (err) {
          if (err instanceof HardLinkedFileError) throw new UsageError(err.message);
          const code = (err as { code?: unknown }).code;
          const why = code === 'ENOENT' ? 'its directory does not exist' : code === 'EACCES' || code === 'EPERM' ? 'permission denied' : (err as Error).message;
          throw new UsageError(`cannot write ${target} (${why}): give a path in an existing directory you can write to`);
        }
        // As the commands that write an --out file say it: what was written where (one row per identifier).
        const lines = rows.reduce((n, r) => n + Math.max(1, r.identifiers.length), 0);
        process.stdout.write(`wrote ${rows.length} asset(s) (${lines} row(s)) to ${target}\n`);
      }, { readOnly: true });
    }),
  );

  addConfigOption(
    assets
      .command('list')
      .description('list mapped assets')
      .option('--json', 'print JSON')
      .addHelpText('after', '\nExamples:\n  assetbridge assets list -c assetbridge.yaml\n  assetbridge assets list --json > assets.json'),
  ).action(
    action(async (opts: { config: string; json?: boolean }) => {
      await withContext(opts.config, async ({ store }) => {
        const rows = await store.listAssets();
        if (opts.json) return void process.stdout.write(`${toJson(rows)}\n`);
        process.stdout.write(
          table([
            ['ERP ASSET', 'MODULE', 'DESTINATION', 'IDENTIFIERS'],
            ...rows.map((r) => [r.asset.erpAssetId, r.asset.erpModule, r.asset.destination ?? '(default)', r.identifiers.map((i) => `${i.type}:${i.value}`).join(' ')]),
          ]),
        );
      }, { readOnly: true });
    }),
  );
  return assets;
}

/**
 * The identifiers an `unknown-asset` entry's reason names (`no ERP mapping for tag tag-7, pin
 * P-1; …`), undefined for a reason in another form.
 */
export function unmappedIdentifiers(reason: string): SourceIdentifier[] | undefined {
  const m = /^no ERP mapping for (.+?)(?:;|$)/.exec(reason);
  if (!m?.[1]) return undefined;
  const ids: SourceIdentifier[] = [];
  for (const part of m[1].split(', ')) {
    const space = part.indexOf(' ');
    const type = part.slice(0, space);
    if (space < 1 || !(IDENTIFIER_TYPES as readonly string[]).includes(type)) return undefined;
    ids.push({ type: type as IdentifierType, value: part.slice(space + 1) });
  }
  return ids;
}

/**
 * The open `unknown-asset` quarantine entries, and how many of them the registry maps now (their
 * reason names an identifier it resolves, or is in a form not read here: a replay decides those).
 */
export async function unknownAssetEntriesMapped(store: Store): Promise<{ open: number; mapped: number }> {
  const index = new IdentityIndex(await store.listAssets());
  let open = 0;
  let mapped = 0;
  for (let afterId = 0; ; ) {
    const page = await store.listQuarantine({ status: 'open', code: 'unknown-asset', afterId, limit: 1000 });
    for (const entry of page) {
      const ids = unmappedIdentifiers(entry.reason);
      open++;
      if (ids === undefined || index.resolve(ids).ok) mapped++;
    }
    const last = page.at(-1);
    if (page.length < 1000 || last === undefined) break;
    afterId = last.id;
  }
  return { open, mapped };
}

/** What `assets import` says of the open unknown-asset entries: replay those it maps now; the others would be set aside again. */
export function unknownAssetAdvice({ open, mapped }: { open: number; mapped: number }): string {
  const list = "'assetbridge quarantine list --code unknown-asset' names them";
  if (mapped === 0) return `${open} quarantined message(s) (unknown-asset) name identifiers the registry still lacks (${list}): a replay now would set them aside again; import a file that maps them first`;
  const rest = open - mapped;
  return `${mapped} of ${open} quarantined message(s) (unknown-asset) name an identifier the registry maps now: run 'assetbridge quarantine replay --code unknown-asset' to process them${rest ? ` (the other ${rest} name identifiers it still lacks: ${list}, and a replay sets them aside again)` : ''}`;
}
