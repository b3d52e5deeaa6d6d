/**
 * The tolerant reading layer under the AEMP parser: it hides how a vendor spells things. Keys are
 * looked up case-insensitively with aliases (`PIN|Pin|pin`, `datetime|dateTime|DateTime`), single
 * objects count as one-element arrays, numeric strings (also `428,7`) are numbers, and placeholder
 * values (`missing`, `N/A`, empty strings, `0001-01-01…`) count as absent. Nothing here throws.
 * @module
 */
import { EARLIEST_EVENT_TIME } from '../../../core/normalize/validate.js';

/** A JSON object, or an XML element after parsing (attributes become keys, text becomes `#text`). */
export type AempNode = Record<string, unknown>;

export function isNode(v: unknown): v is AempNode {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Key comparison form: lower-case without `_`, `-`, spaces or dots (`Equipment_Header` =
 * `equipmentheader`), and without the `@` that XML-to-JSON converters put before an attribute
 * (Json.NET's `@datetime`, fast-xml-parser's `@_datetime`), so such JSON reads like the XML.
 */
export function normKey(key: string): string {
  let k = normalizedCache.get(key);
  if (k === undefined) {
    k = key.toLowerCase().replace(/[\s_.-]+/g, '').replace(/^@/, '');
    // Feeds repeat the same few hundred keys; the cap keeps hostile input from growing the cache.
    if (normalizedCache.size < 10_000) normalizedCache.set(key, k);
  }
  return k;
}

const normalizedCache = new Map<string, string>();

/** A value found under one of the accepted spellings, with the key as the feed wrote it. */
export interface Found {
  readonly key: string;
  readonly value: unknown;
}

/**
 * First present key among `names` (in the order of `names`); `names` must already be normalised.
 * A linear scan: AEMP elements have a dozen keys, so this beats building an index per element.
 */
export function findKey(node: AempNode, names: readonly string[]): Found | undefined {
  let best = -1;
  let bestKey = '';
  for (const key in node) {
    if (!Object.hasOwn(node, key)) continue;
    const i = names.indexOf(normKey(key));
    if (i !== -1 && (best === -1 || i < best)) {
      best = i;
      bestKey = key;
      if (i === 0) break;
    }
  }
  return best === -1 ? undefined : { key: bestKey, value: node[bestKey] };
}

/** The value under one of `names`, or undefined. */
export function get(node: AempNode, names: readonly string[]): unknown {
  return findKey(node, names)?.value;
}

/** The node's keys as `[normalised, original]` pairs; the first spelling wins when two normalise alike. */
export function normalizedKeys(node: AempNode): [string, string][] {
  const out: [string, string][] = [];
  for (const key in node) {
    if (!Object.hasOwn(node, key)) continue;
    const k = normKey(key);
    if (!out.some(([seen]) => seen === k)) out.push([k, key]);
  }
  return out;
}

/** Normalises the usual alias spellings once, so call sites can list them readably. */
export function aliases(...names: string[]): readonly string[] {
  return names.map(normKey);
}

/** XML→JSON converters return one object where a list has a single entry; always iterate arrays. */
export function asArray(v: unknown): unknown[] {
  if (v === undefined || v === null || v === '') return [];
  return Array.isArray(v) ? v : [v];
}

/** The scalar inside a value: XML elements with attributes carry their text under `#text`. */
function scalar(v: unknown): unknown {
  return isNode(v) && '#text' in v ? v['#text'] : v;
}

const PLACEHOLDER_TEXT = new Set(['missing', 'n/a', 'na', 'null', 'none', 'unknown', 'undefined', '-', '--', '?']);

/** Text read from a feed: a value, absent, or a placeholder that means absent. */
export type TextRead = { readonly kind: 'value'; readonly text: string } | { readonly kind: 'absent' } | { readonly kind: 'placeholder'; readonly raw: string };

/** Reads an identifier-like or name-like text field. Numbers become strings (JSON serials are often numbers). */
export function readText(v: unknown): TextRead {
  const s = scalar(v);
  if (s === undefined || s === null) return { kind: 'absent' };
  if (typeof s === 'number' && Number.isFinite(s)) return { kind: 'value', text: String(s) };
  if (typeof s !== 'string') return isNode(s) && Object.keys(s).length === 0 ? { kind: 'placeholder', raw: '' } : { kind: 'absent' };
  const text = s.trim();
  if (text === '' || PLACEHOLDER_TEXT.has(text.toLowerCase())) return { kind: 'placeholder', raw: s };
  return { kind: 'value', text };
}

const NUMERIC = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;
const COMMA_DECIMAL = /^[+-]?\d+,\d+$/;
/** `8,186` is 8186 with a thousands separator as often as 8.186 with a decimal comma: neither is guessed. */
const THOUSANDS_OR_DECIMAL = /^[+-]?\d{1,3},\d{3}$/;

/** A number read from a feed: a value, absent (missing/empty/placeholder), or not a number at all. */
export type NumberRead = { readonly kind: 'value'; readonly value: number } | { readonly kind: 'absent' } | { readonly kind: 'invalid'; readonly raw: string };

/** True for `8,186`-like text, which {@link readNumber} refuses as ambiguous. */
export function isAmbiguousComma(text: string): boolean {
  return THOUSANDS_OR_DECIMAL.test(text);
}

/** Numbers may be JSON numbers, numeric strings, or comma-decimal strings (`428,7` as in vendor docs). */
export function readNumber(v: unknown): NumberRead {
  const s = scalar(v);
  if (typeof s === 'number') return Number.isFinite(s) ? { kind: 'value', value: s } : { kind: 'invalid', raw: String(s) };
  const t = readText(s);
  if (t.kind !== 'value') return { kind: 'absent' };
  if (NUMERIC.test(t.text)) return { kind: 'value', value: Number(t.text) };
  if (COMMA_DECIMAL.test(t.text) && !THOUSANDS_OR_DECIMAL.test(t.text)) return { kind: 'value', value: Number(t.text.replace(',', '.')) };
  return { kind: 'invalid', raw: t.text };
}

const TRUE_WORDS = new Set(['true', '1', 'yes', 'y', 'on', 'running']);
const FALSE_WORDS = new Set(['false', '0', 'no', 'n', 'off', 'stopped']);

/** Booleans as `true`, `"true"`, `1`, `"on"`, ...; anything else is undefined. */
export function readBoolean(v: unknown): boolean | undefined {
  const s = scalar(v);
  if (typeof s === 'boolean') return s;
  if (typeof s === 'number') return s === 1 ? true : s === 0 ? false : undefined;
  if (typeof s !== 'string') return undefined;
  const w = s.trim().toLowerCase();
  return TRUE_WORDS.has(w) ? true : FALSE_WORDS.has(w) ? false : undefined;
}

/** A time read from a feed. `placeholder` covers .NET MinValue (`0001-01-01…`) and anything before 2000. */
export type TimeRead =
  | { readonly kind: 'value'; readonly time: number }
  | { readonly kind: 'absent' }
  | { readonly kind: 'placeholder'; readonly raw: string }
  | { readonly kind: 'invalid'; readonly raw: string };

const ISO_TIME =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?\s*(Z|[+-]\d{2}(?::?\d{2})?)?$/i;

/**
 * ISO-8601 with or without milliseconds and offsets; a missing zone means UTC (as the standard
 * intends). Calendar-invalid dates (`2025-02-30`) are invalid, not rolled over.
 */
export function readTime(v: unknown): TimeRead {
  const s = scalar(v);
  if (s === undefined || s === null) return { kind: 'absent' };
  if (typeof s !== 'string') return { kind: 'invalid', raw: typeof s === 'number' ? String(s) : typeof s };
  const text = s.trim();
  if (text === '') return { kind: 'absent' };
  const m = ISO_TIME.exec(text);
  if (!m) return { kind: 'invalid', raw: text };
  const [year, month, day, hour, minute, second] = [m[1], m[2], m[3], m[4], m[5], m[6]].map((x) => Number(x ?? 0)) as [
    number, number, number, number, number, number,
  ];
  const fraction = m[7] ? Number(`0.${m[7]}`) : 0;
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) return { kind: 'invalid', raw: text };
  const base = Date.UTC(year, month - 1, day, hour, minute, second);
  // Date.UTC maps years 0-99 to 1900-1999; both are placeholders anyway.
  if (day > daysInMonth(year, month)) return { kind: 'invalid', raw: text };
  const offsetMs = parseOffset(m[8]);
  const time = base + Math.round(fraction * 1000) - offsetMs;
  if (year < 2000 || time < EARLIEST_EVENT_TIME) return { kind: 'placeholder', raw: text };
  return { kind: 'value', time };
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

function parseOffset(zone: string | undefined): number {
  if (!zone || zone.toUpperCase() === 'Z') return 0;
  const sign = zone.startsWith('-') ? -1 : 1;
  const digits = zone.slice(1).replace(':', '');
  const hours = Number(digits.slice(0, 2));
  const minutes = Number(digits.slice(2, 4) || '0');
  return sign * (hours * 60 + minutes) * 60_000;
}

/** `CumulativeOperatingHours` → `cumulativeOperatingHours`, for sensor names built from element names. */
export function lowerCamel(name: string): string {
  const cleaned = name.replace(/[^A-Za-z0-9]+(.)?/g, (_m, c: string | undefined) => (c ? c.toUpperCase() : ''));
  // Leading acronyms: `DEFRemaining` → `defRemaining`, `EEC1EngSpeed` → `eec1EngSpeed`.
  const lead = /^[A-Z0-9]+(?=[A-Z][a-z]|$)/.exec(cleaned)?.[0] ?? cleaned.charAt(0);
  return lead.toLowerCase() + cleaned.slice(lead.length);
}
