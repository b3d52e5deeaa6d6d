/**
 * CSV output (RFC 4180) for reports people open in spreadsheets: `depreciation preview --csv`,
 * `inventory counts --csv`, `assets export`. Reading CSV is csv-parse's job.
 * @module
 */

/** One field: quoted when it holds a quote, a comma or a line break; empty for null/undefined. */
export function csvField(v: string | number | null | undefined): string {
  const s = v === null || v === undefined ? '' : String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** Rows of fields as CSV text, each line ended by `eol` (RFC 4180: CRLF). */
export function toCsv(rows: readonly (readonly (string | number | null | undefined)[])[], eol = '\r\n'): string {
  return rows.map((r) => r.map(csvField).join(',') + eol).join('');
}
