/**
 * CSV output (RFC 4180) for reports people open in spreadsheets: `depreciation preview --csv`,
 * `inventory counts --csv`, `assets export`. Reading CSV is csv-parse's job.
 *
 * A cell a spreadsheet would take for a formula (it starts with = + - @, a tab or a carriage
 * return: an asset name, a serial or an ERP error text can) is written with a leading `'`, so Excel
 * and LibreOffice show it as text instead of running it (OWASP "CSV injection"). A plain number
 * (`-5`, `+3`) is left as it is. {@link csvCellValue} takes the `'` off again when the file is read back.
 * @module
 */

/** A cell a spreadsheet runs as a formula, or one that already starts with guard quotes before such a character. */
const FORMULA_START = /^'*[=+\-@\t\r]/;
/** A value that opens as a number, not a formula, even with its sign. */
const PLAIN_NUMBER = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;
/** A cell {@link csvField} guarded: one `'` more than the value it stands for. */
const GUARDED = /^'+[=+\-@\t\r]/;

/** The text of a cell as a spreadsheet may safely open it: `'` before one it would run as a formula. */
export function csvSafeText(s: string): string {
  return FORMULA_START.test(s) && !PLAIN_NUMBER.test(s) ? `'${s}` : s;
}

/**
 * The value a cell written by {@link csvField} stands for: without the `'` it put before a
 * formula character. (A value that itself starts with `'` and such a character was written with
 * one `'` more, so every value reads back as it was.)
 */
export function csvCellValue(s: string): string {
  return GUARDED.test(s) ? s.slice(1) : s;
}

/** One field: guarded when a spreadsheet would run it ({@link csvSafeText}), quoted when it holds a quote, a comma or a line break; empty for null/undefined. */
export function csvField(v: string | number | null | undefined): string {
  const s = csvSafeText(v === null || v === undefined ? '' : String(v));
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/**
 * Before a CSV the tool writes to a file: the UTF-8 byte-order mark. Without it Excel reads the file
 * in the system's code page, so "Grúa-7" opens as "GrÃºa-7", and is saved back (and imported) so.
 * Standard output stays without it, for pipes.
 */
export const CSV_FILE_BOM = '\uFEFF';

/** Rows of fields as CSV text, each line ended by `eol` (RFC 4180: CRLF). */
export function toCsv(rows: readonly (readonly (string | number | null | undefined)[])[], eol = '\r\n'): string {
  return rows.map((r) => r.map(csvField).join(',') + eol).join('');
}

/**
 * Items in one cell, read back by {@link splitCellList}: joined by `separator` (one character) and
 * `glue` after it (e.g. `;` and ` ` give `a; b`), each item with a `\` put before every `\` and
 * `separator` it holds. So an item may hold any text, the separator too (`a\; b` is one item), and
 * an item without `\` or the separator is written as it is.
 */
export function joinCellList(items: readonly string[], separator: string, glue = ''): string {
  return items.map((item) => escapeCellItem(item, separator)).join(separator + glue);
}

function escapeCellItem(item: string, separator: string): string {
  let out = '';
  for (const ch of item) out += ch === '\\' || ch === separator ? `\\${ch}` : ch;
  return out;
}

/** The items a {@link joinCellList} cell holds (given the same `separator` and `glue`); an empty cell holds none. */
export function splitCellList(cell: string, separator: string, glue = ''): string[] {
  if (cell === '') return [];
  const items: string[] = [];
  let item = '';
  for (let i = 0; i < cell.length; i++) {
    const ch = cell.charAt(i);
    if (ch === '\\' && i + 1 < cell.length) {
      item += cell.charAt(++i);
    } else if (ch === separator) {
      items.push(item);
      item = '';
      if (glue !== '' && cell.startsWith(glue, i + 1)) i += glue.length;
    } else item += ch;
  }
  items.push(item);
  return items;
}
