/**
 * The identity registry as CSV, for spreadsheets and ERP exports:
 * `identifier,id_type,erp_asset_id,erp_module,destination,<any attribute columns...>`.
 * One row per identifier; rows for the same asset are merged. Errors name the line and column.
 * The core column names match in any case; attribute columns keep theirs (rules read `expectedUnits`).
 * @module
 */
import { parse } from 'csv-parse/sync';
import { IDENTIFIER_TYPES, type IdentifierType } from '../../core/model/events.js';
import type { AssetWithIdentifiers } from '../../ports/store.js';
import { normalizeIdentifier, type IdentifierRecord } from '../../core/model/assets.js';
import { csvCellValue, toCsv } from '../../core/csv.js';
import { editDistance } from '../../core/edit-distance.js';
import { decodeUtf16WithBom, firstLineNotUtf8 } from '../../core/text-bytes.js';
import { QUANTITY_HINT, parseQuantity } from '../../core/rules/inventory/counts.js';

const CORE_COLUMNS = ['identifier', 'id_type', 'erp_asset_id', 'erp_module', 'destination'] as const;
const REQUIRED_COLUMNS = ['identifier', 'erp_asset_id'] as const;
/** `id_type` of the row that stands for an asset with no tracking identifier (`<erp id>,erp,<erp id>`). */
const ASSET_ONLY_TYPE: IdentifierType = 'erp';

/** How Excel shows (and saves) a long numeric id it took for a number: `3.5604E+14`. */
const SPREADSHEET_NUMBER = /^[0-9](\.[0-9]+)?E\+[0-9]+$/i;

/**
 * How a spreadsheet saves a value it took for a date (the cell's display format): `2026-10` as
 * `Oct-26`, `1-2` as `2-Jan`, `2026-10-01` as `10/1/2026` or `01.10.2026`, maybe with a time.
 * Months are matched as Excel writes them (`Oct`), not as a code would be (`OCT-26`).
 */
const SPREADSHEET_DATES = [
  /^\d{1,2}-(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)(-\d{2}|-\d{4})?$/,
  /^(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)-(\d{2}|\d{4})$/,
  /^\d{1,2}\/\d{1,2}\/(\d{2}|\d{4})( \d{1,2}:\d{2}(:\d{2})?)?$/,
  /^\d{1,2}\.\d{1,2}\.\d{4}( \d{1,2}:\d{2}(:\d{2})?)?$/,
];
/** Attribute columns that hold codes, not dates (`sku`, `locationCode`, `serialNumber`, `partNo`). */
const CODE_COLUMN = /(id|code|sku|serial|ref|number|no|nr)$/i;

/** A warning for a code cell that reads like a date a spreadsheet made of it, or undefined. */
function spreadsheetDateWarning(where: string, column: string, value: string): string | undefined {
  if (!SPREADSHEET_DATES.some((re) => re.test(value))) return undefined;
  return `${where}, column ${column}: "${value}" looks like a date a spreadsheet made of the value (it saves 2026-10 as Oct-26, 1-2 as 2-Jan, 2026-10-01 as 10/1/2026); if it was, the value is lost: re-enter it in a column formatted as Text (or open the original with Data → From Text/CSV, the column set to Text) and import the file again`;
}

/** `; did you mean X?` for a cell a letter off a value it may hold (`tagg`, `ERP`; two letters for a value over four), else ''. */
function didYouMean(value: string, known: readonly string[]): string {
  const lower = value.toLowerCase();
  const near = known.map((k) => ({ k, d: editDistance(lower, k.toLowerCase()) })).filter((c) => c.d <= (c.k.length <= 4 ? 1 : 2)).sort((a, b) => a.d - b.d)[0];
  return near ? `; did you mean ${near.k}?` : '';
}

/**
 * The core column a header name is another spelling of (any case, without `_`, `-`, `.` or spaces: `idType`,
 * `ERP Module`) or one letter off (`destinaton`, `erp_modul`), else undefined.
 */
function lookalikeCoreColumn(name: string): string | undefined {
  const squeeze = (s: string): string => s.toLowerCase().replace(/[\s_.-]/g, '');
  const n = squeeze(name);
  return CORE_COLUMNS.find((c) => editDistance(n, squeeze(c)) <= 1);
}

/** How many of a CSV's problems an error lists before it counts the rest. */
export const CSV_PROBLEMS_SHOWN = 50;

export class CsvError extends Error {
  /**
   * The problems to show: all of them up to {@link CSV_PROBLEMS_SHOWN}, else that many and a last
   * line counting the rest (a mistyped id_type or destination column, or a file of another kind, has a problem on every
   * row: thousands of lines that hide the first, which usually says what is wrong).
   */
  readonly shown: readonly string[];
  constructor(readonly problems: readonly string[]) {
    const shown =
      problems.length <= CSV_PROBLEMS_SHOWN
        ? problems
        : [...problems.slice(0, CSV_PROBLEMS_SHOWN), `… and ${problems.length - CSV_PROBLEMS_SHOWN} more problem(s) not shown (${problems.length} in all): fix those above, which are often the same mistake on every row, and read the file again`];
    super(shown.join('\n'));
    this.name = 'CsvError';
    this.shown = shown;
  }
}

/**
 * What a CSV says about one asset. A column the file lacks says nothing (an import leaves that
 * field as it is); an empty cell in a column the file has clears it.
 */
export interface AssetUpdate {
  readonly erpAssetId: string;
  /** Absent when no row gives one. */
  readonly erpModule?: string;
  /** Present when the file has a destination column: the destination, or '' for the default. */
  readonly destination?: string;
  /** Every attribute column of the file: the value, or '' to remove the attribute. */
  readonly attributes: Readonly<Record<string, string>>;
  readonly identifiers: readonly IdentifierRecord[];
}

/**
 * A CSV file's bytes as text: UTF-8 (with or without a BOM), or UTF-16 with its BOM (Excel's
 * "Unicode Text"). Anything else is refused, naming the first line that is not UTF-8: read as
 * UTF-8, a Windows-1252 "Grúa-7" would be stored as "Gr\uFFFDa-7" and never match its events.
 */
export function decodeAssetCsv(bytes: Uint8Array, fileName = 'CSV'): string {
  const utf16 = decodeUtf16WithBom(bytes);
  if (utf16 !== undefined) return withoutNul(utf16, fileName);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    const bad = firstLineNotUtf8(bytes);
    if (bad === undefined) throw new CsvError([`${fileName}: not UTF-8 text; save the file as UTF-8 (in Excel: "CSV UTF-8") and import it again`]);
    throw new CsvError([
      `${fileName} line ${bad.line}: not UTF-8 text ("${bad.text.length > 60 ? `${bad.text.slice(0, 60)}…` : bad.text}"); save the file as UTF-8 (in Excel: "CSV UTF-8") and import it again`,
    ]);
  }
  return withoutNul(text, fileName);
}

/**
 * `text`, refused when it holds a NUL character: valid UTF-8, but no CSV holds one. It is what
 * UTF-16 without its byte-order mark reads as ("i\0d\0…"), or a binary file; stored, it would make
 * identifiers that never match.
 */
function withoutNul(text: string, fileName: string): string {
  const at = text.indexOf('\0');
  if (at < 0) return text;
  const before = text.slice(0, at);
  const line = before.split(/\r\n|\r|\n/).length;
  const column = at - Math.max(before.lastIndexOf('\n'), before.lastIndexOf('\r'));
  throw new CsvError([
    `${fileName} line ${line}: a NUL character (at character ${column} of the line): the file is not CSV text, or UTF-16 without its byte-order mark; save it as UTF-8 (in Excel: "CSV UTF-8") and import it again`,
  ]);
}

/** The separator of a header that has no comma but semicolons or tabs (Excel in many locales, "Unicode Text"). */
function otherDelimiter(text: string): string | undefined {
  // Lines may end in CR alone ("CSV (Macintosh)"): else the whole file is the first line, and a decimal comma in any cell makes it comma-separated.
  const first = text.replace(/^\uFEFF/, '').split(/\r\n|\r|\n/, 1)[0] ?? '';
  if (first.includes(',')) return undefined;
  return first.includes(';') ? ';' : first.includes('\t') ? '\t' : undefined;
}

/**
 * Excel's `sep=;` first line (it reads one to know the separator, and some set-ups write one): the
 * separator it names, and the text with that line left blank (so lines keep their numbers), or
 * undefined when the first line is no such line. A `sep=` line naming no single character is refused.
 */
function separatorLine(text: string, fileName: string): { delimiter: string; text: string } | undefined {
  const body = text.replace(/^\uFEFF/, '');
  const first = /^[^\r\n]*/.exec(body)?.[0] ?? '';
  const sep = /^sep=(.*)$/i.exec(first);
  if (!sep) return undefined;
  const named = sep[1] as string;
  if (named.length !== 1 || named === '"') {
    throw new CsvError([
      `${fileName} line 1: "${first}" names no separator a CSV can use (it is Excel's line naming the one separator character, as in "sep=;" or "sep=,"); fix or delete the line and import the file again`,
    ]);
  }
  return { delimiter: named, text: body.slice(first.length) };
}

/** How far a long check of a CSV got: its parsing (bytes of the file) or its rows (checked of all). */
export type CsvProgress = (stage: 'parsing' | 'checking', done: number, total: number) => void;

/** Rows between two calls of a {@link CsvProgress}. */
export const PROGRESS_EVERY = 10_000;

/** The rows as records (fields trimmed, quoted or not; spreadsheet guards taken off) with the line each starts on; the header is the first. */
function readRecords(text: string, fileName: string, delimiter = ',', onProgress?: CsvProgress): { fields: string[]; line: number }[] {
  let parsed: { record: string[]; info: { bytes: number } }[];
  const total = onProgress ? Buffer.byteLength(text) : 0;
  // csv-parse counts a CRLF inside a quoted field as two lines; count from the byte offsets instead.
  const bytes = Buffer.from(text, 'utf8');
  const lineStarts = [0];
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i];
    if (b === 0x0a || (b === 0x0d && bytes[i + 1] !== 0x0a)) lineStarts.push(i + 1);
  }
  let line = 0;
  /** The line of the record that starts at or after byte `end` (past the line breaks of skipped empty lines). */
  const lineAfter = (end: number): number => {
    let start = end;
    while (start < bytes.length && (bytes[start] === 0x0a || bytes[start] === 0x0d)) start++;
    while (line < lineStarts.length && (lineStarts[line] as number) <= start) line++;
    return line;
  };
  // csv-parse's record hook: where the last whole record ended (a parse error is in the next one), and how far it got.
  let lastEnd = 0;
  let header: string[] | undefined;
  const onRecord = <T>(record: T, context: { records: number; bytes: number }): T => {
    lastEnd = context.bytes;
    header ??= (record as { record: string[] }).record;
    if (onProgress && context.records % PROGRESS_EVERY === 0) onProgress('parsing', context.bytes, total);
    return record;
  };
  try {
    // relax_column_count: a row with more or fewer cells than the header is said by readAssetCsv, with the rest of the file's problems.
    parsed = parse(text, { skip_empty_lines: true, trim: true, bom: true, info: true, delimiter, relax_column_count: true, on_record: onRecord }) as unknown as typeof parsed;
  } catch (err) {
    throw new CsvError([csvSyntaxProblem(err as Error & { code?: string; index?: unknown }, `${fileName} line ${lineAfter(lastEnd)}`, header)]);
  }
  let previousEnd = 0;
  return parsed.map(({ record, info }) => {
    const start = lineAfter(previousEnd);
    previousEnd = info.bytes;
    // Quoted or not, a cell's spaces at either end are no part of its value (csv-parse's trim keeps a quoted cell's):
    // `" A1 "` and `A1` are one asset, as identifiers compare trimmed. Spaces inside a value are kept.
    return { fields: record.map((f) => csvCellValue(f.trim())), line: start };
  });
}

/** What is wrong with a row csv-parse could not read (`where`: the file and the line the row starts on), and how to fix it. */
function csvSyntaxProblem(err: Error & { code?: string; index?: unknown }, where: string, header: readonly string[] | undefined): string {
  const index = typeof err.index === 'number' ? err.index : undefined;
  const name = index !== undefined ? header?.[index] : undefined;
  const column = index === undefined ? '' : `, column ${name || index + 1}`;
  const fix = 'a value holding a quote must be in quotes as a whole, with each quote inside doubled ("5"" pipe")';
  switch (err.code) {
    case 'CSV_QUOTE_NOT_CLOSED':
      return `${where}${column}: a quoted value is never closed (the rest of the file would be read into it); close its quote: ${fix}`;
    case 'INVALID_OPENING_QUOTE':
      return `${where}${column}: a quote in the middle of a value; ${fix}`;
    case 'CSV_NON_TRIMABLE_CHAR_AFTER_CLOSING_QUOTE':
    case 'CSV_INVALID_CLOSING_QUOTE':
      return `${where}${column}: text after the closing quote of a quoted value; ${fix}`;
    default:
      return `${where}${column}: not valid CSV: ${err.message}`;
  }
}

/**
 * The CSV as updates to the registry, one per asset; throws a {@link CsvError} naming every problem.
 * With `destinations`, a destination that is not one of them is a problem (its deliveries would
 * wait for a destination that never sends them). With `quantityAttribute` (inventory configured),
 * a value of that column that is not a whole number is a problem (the item would not be counted).
 */
export function readAssetCsv(
  text: string,
  fileName = 'CSV',
  opts: {
    destinations?: readonly string[];
    quantityAttribute?: string;
    /** Filled with the line each asset's attribute value was read from (asset → column → line), for warnings that name it. */
    attributeLines?: Map<string, Map<string, number>>;
    /** Told how far the check got, every {@link PROGRESS_EVERY} rows (a large file takes seconds). */
    onProgress?: CsvProgress;
    /**
     * Filled with what is read but looks wrong: a cell of an identifier, erp_asset_id or code
     * attribute column (`sku`, `locationCode`, …) that reads like a date a spreadsheet made of it, naming the line and column.
     */
    warnings?: string[];
  } = {},
): AssetUpdate[] {
  // A first line `sep=;` names the separator; it is no header.
  const sep = separatorLine(text, fileName);
  const delimiter = sep?.delimiter ?? otherDelimiter(text) ?? ',';
  const [header, ...records] = readRecords(sep?.text ?? text, fileName, delimiter, opts.onProgress);
  if (!header || records.length === 0) {
    throw new CsvError([`${fileName}: no rows; expected a header line "identifier,id_type,erp_asset_id,erp_module" and one row per identifier`]);
  }
  const problems: string[] = [];
  const names = header.fields.map((h) => ((CORE_COLUMNS as readonly string[]).includes(h.toLowerCase()) ? h.toLowerCase() : h));
  names.forEach((n, i) => {
    if (n !== '' && names.indexOf(n) !== i) problems.push(`${fileName} line ${header.line}: column ${n} appears twice in the header`);
  });
  // A core column written another way (`idtype`, `ERP Module`, `destinaton`) would be read as an attribute, and every
  // row's id_type, module or destination left at its default without a word: a PIN stored as a tag never matches.
  for (const n of names) {
    const core = n === '' || (CORE_COLUMNS as readonly string[]).includes(n) ? undefined : lookalikeCoreColumn(n);
    if (core !== undefined && !names.includes(core)) {
      problems.push(`${fileName} line ${header.line}: column "${n}" is not one assetbridge reads, but looks like ${core}: name it ${core} (read as an attribute, every row's ${core} would be left out)`);
    }
  }
  const missing = REQUIRED_COLUMNS.filter((c) => !names.includes(c));
  if (missing.length) {
    problems.unshift(
      `${fileName} line ${header.line}: the header has no column ${missing.join(', ')} (found "${header.fields.join(',')}"); columns are separated by commas (or, when the header has none, semicolons or tabs; or by what a first line "sep=;" names): ${CORE_COLUMNS.join(',')},<attributes...>`,
    );
  }
  if (problems.length) throw new CsvError(problems);
  const attributeColumns = names.filter((n) => n !== '' && !(CORE_COLUMNS as readonly string[]).includes(n));
  const hasDestination = names.includes('destination');
  const codeColumns = ['identifier', 'erp_asset_id', ...attributeColumns.filter((c) => CODE_COLUMN.test(c))];

  const byAsset = new Map<string, { given: Map<string, { value: string; line: number }>; ids: IdentifierRecord[] }>();
  const seenIds = new Map<string, { erpAssetId: string; line: number }>();
  let checked = 0;
  for (const { fields, line } of records) {
    if (opts.onProgress && ++checked % PROGRESS_EVERY === 0) opts.onProgress('checking', checked, records.length);
    const cell = (column: string): string => fields[names.indexOf(column)] ?? '';
    const where = `${fileName} line ${line}`;
    names.forEach((n, i) => {
      if (n === '' && fields[i]) problems.push(`${where}: column ${i + 1} has a value but no name in the header`);
    });
    // A row with more cells than the header has values no column names; with fewer, its missing cells would clear what they stand for.
    const extra = fields.slice(names.length).findIndex((f) => f !== '');
    if (extra >= 0) {
      problems.push(
        `${where}: ${fields.length} cells but the header has ${names.length} columns, so "${fields[names.length + extra]}" (cell ${names.length + extra + 1}) would be lost; a value holding the separator must be in quotes ("1,5"), or the header needs a name for the column`,
      );
      continue;
    }
    if (fields.length < names.length) {
      const absent = names.slice(fields.length).map((n, i) => n || `column ${fields.length + i + 1}`);
      problems.push(`${where}: ${fields.length} cells but the header has ${names.length} columns (none for ${absent.join(', ')}); give every row a cell for every column, an empty one to clear a value`);
      continue;
    }
    const identifier = cell('identifier');
    const erpAssetId = cell('erp_asset_id');
    // Spreadsheets capitalise ("PIN", "Serial"); the types are lower case.
    const idType = (cell('id_type').toLowerCase() || 'tag') as IdentifierType;
    if (!identifier) problems.push(`${where}: column identifier is empty`);
    else if (SPREADSHEET_NUMBER.test(identifier)) {
      problems.push(`${where}: identifier "${identifier}" is a number a spreadsheet rewrote in scientific notation (its digits are lost); format the column as Text, re-enter the identifiers and save again`);
    }
    if (!erpAssetId) problems.push(`${where}: column erp_asset_id is empty`);
    if (!IDENTIFIER_TYPES.includes(idType)) problems.push(`${where}: id_type "${idType}" is not one of ${IDENTIFIER_TYPES.join(', ')}${didYouMean(idType, IDENTIFIER_TYPES)}`);
    const destination = cell('destination');
    if (destination && opts.destinations && !opts.destinations.includes(destination)) {
      problems.push(`${where}: destination "${destination}" is not configured (destinations: ${opts.destinations.join(', ')})${didYouMean(destination, opts.destinations)}`);
    }
    if (opts.warnings) {
      for (const column of codeColumns) {
        const warning = spreadsheetDateWarning(where, column, cell(column));
        if (warning !== undefined) opts.warnings.push(warning);
      }
    }
    const quantity = opts.quantityAttribute !== undefined && attributeColumns.includes(opts.quantityAttribute) ? cell(opts.quantityAttribute) : '';
    if (quantity !== '' && parseQuantity(quantity) === undefined) problems.push(`${where}: ${quantityProblem(erpAssetId || '(no erp_asset_id)', opts.quantityAttribute as string, quantity)}; fix the cell`);
    if (!identifier || !erpAssetId) continue;
    const entry = byAsset.get(erpAssetId) ?? { given: new Map<string, { value: string; line: number }>(), ids: [] };
    byAsset.set(erpAssetId, entry);
    // Rows of one asset must agree; an empty cell leaves the value another row gives.
    for (const column of ['erp_module', 'destination', ...attributeColumns]) {
      const value = cell(column);
      const earlier = entry.given.get(column);
      if (value === '') continue;
      if (!earlier) entry.given.set(column, { value, line });
      else if (earlier.value !== value) problems.push(`${where}: asset ${erpAssetId} has ${column} "${value}" here but "${earlier.value}" on line ${earlier.line}`);
    }
    if (idType === ASSET_ONLY_TYPE && normalizeIdentifier(identifier) === normalizeIdentifier(erpAssetId)) continue; // the asset itself
    if (idType === ASSET_ONLY_TYPE) {
      // Events name an asset by type erp with its ERP id only: such a row would map nothing.
      problems.push(`${where}: id_type erp is for a row naming the asset itself ("${erpAssetId},erp,${erpAssetId}"), not "${identifier}"; for another number the asset is known by, use id_type external-ref`);
      continue;
    }
    // One identifier names one asset: two rows giving it to two assets would leave the last one silently.
    const key = `${idType}\u001f${normalizeIdentifier(identifier)}`;
    const seen = seenIds.get(key);
    if (seen && seen.erpAssetId !== erpAssetId) {
      problems.push(`${where}: ${idType} "${identifier}" is already given to asset ${seen.erpAssetId} on line ${seen.line}; an identifier can name only one asset`);
      continue;
    }
    if (seen) continue; // listed twice for the same asset
    seenIds.set(key, { erpAssetId, line });
    entry.ids.push({ type: idType, value: identifier, erpAssetId });
  }
  if (problems.length) throw new CsvError(problems);
  for (const [erpAssetId, e] of byAsset) opts.attributeLines?.set(erpAssetId, new Map([...e.given].map(([column, g]) => [column, g.line])));
  return [...byAsset].map(([erpAssetId, e]) => {
    const module = e.given.get('erp_module')?.value;
    return {
      erpAssetId,
      ...(module !== undefined ? { erpModule: module } : {}),
      ...(hasDestination ? { destination: e.given.get('destination')?.value ?? '' } : {}),
      attributes: Object.fromEntries(attributeColumns.map((c) => [c, e.given.get(c)?.value ?? ''])),
      identifiers: e.ids,
    };
  });
}

/** Why `value` of an asset's quantity attribute is refused, and what it must be. */
export function quantityProblem(erpAssetId: string, attribute: string, value: string): string {
  return `asset ${erpAssetId} has ${attribute} "${value}": the quantity attribute (rules.inventory.quantityAttribute) must be ${QUANTITY_HINT}`;
}

/**
 * The registry rows to store for `updates`, over the assets already there: what the CSV leaves
 * out (module, destination, attribute columns it lacks) stays as it was; new assets default to
 * `fixed-assets` and the default destination. Identifiers are added (or moved to this asset).
 */
export function applyAssetUpdates(existing: readonly AssetWithIdentifiers[], updates: readonly AssetUpdate[]): AssetWithIdentifiers[] {
  const known = new Map(existing.map((r) => [r.asset.erpAssetId, r.asset]));
  return updates.map((u) => {
    const old = known.get(u.erpAssetId);
    const attributes: Record<string, string> = { ...old?.attributes };
    for (const [k, v] of Object.entries(u.attributes)) {
      if (v === '') delete attributes[k];
      else attributes[k] = v;
    }
    const destination = u.destination === undefined ? old?.destination : u.destination || undefined;
    return {
      asset: { erpAssetId: u.erpAssetId, erpModule: u.erpModule ?? old?.erpModule ?? 'fixed-assets', ...(destination ? { destination } : {}), attributes },
      identifiers: u.identifiers,
    };
  });
}

/** The CSV as complete registry rows (as for an empty registry). */
export function parseAssetCsv(text: string, fileName = 'CSV'): AssetWithIdentifiers[] {
  return applyAssetUpdates([], readAssetCsv(text, fileName));
}

/** The registry as CSV, each line ended by CRLF as the tool's other CSVs are (RFC 4180, {@link toCsv}). */
export function formatAssetCsv(rows: readonly AssetWithIdentifiers[]): string {
  const attrCols = [...new Set(rows.flatMap((r) => Object.keys(r.asset.attributes)))].sort();
  const lines: (string | undefined)[][] = [[...CORE_COLUMNS, ...attrCols]];
  for (const { asset, identifiers } of rows) {
    // An asset without tracking identifiers (events name its ERP id) still gets a row, or a re-import would lose it.
    const ids = identifiers.length ? identifiers : [{ type: ASSET_ONLY_TYPE, value: asset.erpAssetId }];
    for (const id of ids) lines.push([id.value, id.type, asset.erpAssetId, asset.erpModule, asset.destination ?? '', ...attrCols.map((c) => asset.attributes[c] ?? '')]);
  }
  return toCsv(lines);
}
