/**
 * docs/configuration.md and the schema stay in step: every key the schema takes is named in the
 * reference, and every default the reference's tables give (`| `key` | `default` | …`) is the
 * schema's, as the JSON Schema states it and as a config that leaves the key out is read.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { describe, expect, it } from 'vitest';
import { anchorLinks, headingAnchors } from '../../test/helpers/doc-anchors.js';
import { parseDuration } from './duration.js';
import { configSchema } from './schema.js';

const root = resolve(import.meta.dirname, '../..');
const doc = readFileSync(join(root, 'docs/configuration.md'), 'utf8');

interface JsonSchema {
  properties?: Record<string, JsonSchema>;
  items?: JsonSchema;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  allOf?: JsonSchema[];
  additionalProperties?: JsonSchema | boolean;
  default?: unknown;
}

/** Every key path the schema takes (`destinations.rateLimit.maxConcurrency`: array items and union members folded in), with the defaults given for it. */
function schemaKeys(): Map<string, unknown[]> {
  const keys = new Map<string, unknown[]>();
  const walk = (s: JsonSchema | boolean | undefined, path: string): void => {
    if (!s || typeof s !== 'object') return;
    for (const member of [...(s.anyOf ?? []), ...(s.oneOf ?? []), ...(s.allOf ?? [])]) walk(member, path);
    walk(s.items, path);
    walk(s.additionalProperties, path); // a record's values: keys below it are the record's
    for (const [key, value] of Object.entries(s.properties ?? {})) {
      const p = path ? `${path}.${key}` : key;
      const defaults = keys.get(p) ?? [];
      if (value.default !== undefined) defaults.push(value.default);
      keys.set(p, defaults);
      walk(value, p);
    }
  };
  walk(z.toJSONSchema(configSchema, { io: 'input', unrepresentable: 'any' }) as JsonSchema, '');
  // `attributes: {}` whose keys have defaults of their own defaults to those: `{cost: cost, …}`.
  for (const [path, defaults] of keys) {
    if (!defaults.some((d) => JSON.stringify(d) === '{}')) continue;
    const children = [...keys].filter(([p, d]) => p.startsWith(`${path}.`) && !p.slice(path.length + 1).includes('.') && d.length === 1);
    if (children.length > 0) defaults.push(Object.fromEntries(children.map(([p, d]) => [p.slice(path.length + 1), d[0]])));
  }
  return keys;
}

const codeSpans = (cell: string): string[] => [...cell.matchAll(/`([^`]+)`/g)].map((m) => m[1] ?? '');

/** The words (`erpModules`, `path`) in code spans of `text`. */
const spanWords = (text: string): Set<string> => new Set(codeSpans(text).flatMap((span) => span.match(/[A-Za-z][A-Za-z0-9]*/g) ?? []));

/** A key as the reference writes it (`topics[].decoder`, `sensors.<name>`) as a schema path: lists and chosen names folded in. */
const keyPath = (written: string): string =>
  written
    .replace(/\[\]/g, '')
    .split('.')
    .filter((part) => !/^<.*>$/.test(part))
    .join('.');

/** A key the reference's heading or table cell writes: `store`, `inline[].circle.lat`, `sensors.<name>`. */
const KEY = /^[A-Za-z][\w.[\]<>]*$/;

interface Row {
  /** The full schema paths the row's key cell names. */
  keys: string[];
  /** The words in the row's code spans: the keys below the row's own that it names. */
  words: Set<string>;
  /** The default cell, when the table has a `default` column. */
  defaults?: string;
  line: string;
}

/**
 * The rows of the reference's key tables. A `##` heading that names one key (`## \`store\``) is
 * its section, whose keys the rows give relative to it; a `###` heading that names one key (in
 * full: `### \`rules.zones\``) is the section of the rows under it, another one returns to the
 * `##` section. A key cell names keys in code spans, `a.b`, `c` meaning `a.c`.
 */
function documentedRows(text: string): Row[] {
  const rows: Row[] = [];
  let section = '';
  let prefix = '';
  let defaultColumn: number | undefined;
  let inTable = false;
  const headingKey = (heading: string): string => {
    const names = codeSpans(heading).filter((n) => KEY.test(n));
    return names.length === 1 ? `${keyPath(names[0] ?? '')}.` : '';
  };
  for (const line of text.split('\n')) {
    const heading = /^(##|###) (.*)$/.exec(line);
    if (heading) {
      const key = headingKey(heading[2] ?? '');
      if (heading[1] === '##') section = prefix = key;
      else prefix = key || section;
      continue;
    }
    if (!line.startsWith('|')) {
      inTable = false;
      continue;
    }
    const cells = line.split(/(?<!\\)\|/).map((c) => c.trim());
    if (cells[1] === 'key') {
      inTable = true;
      const d = cells.indexOf('default');
      defaultColumn = d > 0 ? d : undefined;
      continue;
    }
    if (!inTable) continue;
    const names = codeSpans(cells[1] ?? '');
    if (names.length === 0 || names.some((n) => !KEY.test(n))) continue;
    const first = names[0] ?? '';
    const parent = first.includes('.') ? first.slice(0, first.lastIndexOf('.') + 1) : '';
    const keys = names.map((name, i) => keyPath(`${prefix}${i === 0 || name.includes('.') ? name : `${parent}${name}`}`));
    rows.push({ keys, words: spanWords(line), ...(defaultColumn === undefined ? {} : { defaults: cells[defaultColumn] ?? '' }), line });
  }
  return rows;
}

/**
 * The schema's keys the reference leaves out: a key is given when a row names it, when it holds
 * keys rows name (`store.retention`), or when a row names a key above it and, in code spans, each
 * key on the way down (`decoder.assetId` with `{ path: tagId }` gives `decoder.assetId.path`).
 */
function undocumentedKeys(text: string, keys: Iterable<string>): string[] {
  const rows = documentedRows(text);
  const named = new Set(rows.flatMap((r) => r.keys));
  return [...keys].filter((key) => {
    if (named.has(key) || [...named].some((n) => n.startsWith(`${key}.`))) return false;
    return !rows.some((r) => r.keys.some((n) => key.startsWith(`${n}.`) && key.slice(n.length + 1).split('.').every((part) => r.words.has(part))));
  });
}

/**
 * The defaults the reference's key tables give: `[key path, default as written]`, for rows whose
 * default cell gives one code span per key.
 */
function documentedDefaults(): [string, string][] {
  return documentedRows(doc).flatMap((row) => {
    const values = codeSpans(row.defaults ?? '');
    if (row.keys.length !== values.length) return [];
    return row.keys.map((key, i): [string, string] => [key, values[i] ?? '']);
  });
}

/**
 * A config with one entry of every list and every optional section, giving only the keys that have
 * no default: what the schema reads it as holds every other key's default, after its transforms
 * (durations in milliseconds), which the JSON Schema leaves out.
 */
const MINIMAL = {
  sources: { mqtt: [{ name: 'm', url: 'mqtt://127.0.0.1', topics: [{ filter: 'a/#', decoder: { assetId: { path: 'id' } } }] }], http: { token: 'intake-token' } },
  destinations: [{ name: 'erp', type: 'rest', baseUrl: 'https://erp.example.com' }],
  telematics: [{ name: 'feed', baseUrl: 'https://aemp.example.com', auth: { type: 'bearer', token: 't' } }],
  rules: { zones: {}, inventory: {}, depreciation: {}, maintenance: {} },
  capture: { dir: './capture' },
};

/** The value at a documented key path (`destinations.retry.maxAttempts`) of a read config, lists at their first entry. */
function valueAt(config: unknown, path: string): unknown {
  let value = config;
  for (const part of path.split('.')) {
    if (Array.isArray(value)) value = value[0];
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<string, unknown>)[part];
  }
  return value;
}

/** A default as the reference writes it and as the schema has it are the same value (durations by their length). */
function sameDefault(written: string, actual: unknown): boolean {
  let value: unknown = written;
  try {
    value = parseYaml(written);
  } catch {
    // not YAML (`0 2 * * *`): the text itself
  }
  if (typeof actual === 'number' && typeof value === 'string') return parseDuration(value) === actual;
  if (typeof actual === 'string' && (typeof value === 'string' || typeof value === 'number')) {
    if (String(value) === actual) return true;
    const ms = (v: string | number) => (typeof v === 'number' || /^\d+$/.test(v) ? Number(v) : parseDuration(v));
    const a = ms(actual);
    return a !== undefined && ms(value) === a;
  }
  return JSON.stringify(value) === JSON.stringify(actual);
}

describe('docs/configuration.md', () => {
  const keys = schemaKeys();

  it('gives every key the schema takes a row in its section\'s table', () => {
    expect(keys.size).toBeGreaterThan(300);
    expect(undocumentedKeys(doc, keys.keys())).toEqual([]);
  });

  it('finds a key left out (a row dropped, or a key below a row not named in it)', () => {
    expect(undocumentedKeys(doc.replace(/^\| `maxInflight` .*\n/m, ''), keys.keys())).toEqual(['sources.mqtt.maxInflight']);
    expect(undocumentedKeys(doc.replace(/^(\| `sensors\.<name>` .*)`\{path, unit\}`/m, '$1mapping'), keys.keys())).toEqual(['sources.mqtt.topics.decoder.sensors.path']);
    expect(undocumentedKeys(doc.replace(/^## `capture`\n[\s\S]*?(?=^## )/m, ''), keys.keys())).toEqual(['capture', 'capture.dir', 'capture.keepDays', 'capture.maxFileMiB']);
  });

  it('names in its tables only keys the schema has', () => {
    const rows = documentedRows(doc);
    expect(rows.length).toBeGreaterThan(150);
    const unknown = rows.flatMap((r) => r.keys.filter((k) => !keys.has(k)).map((k) => `${k}: ${r.line.slice(0, 80)}`));
    expect(unknown).toEqual([]);
  });

  it('has a heading for every anchor the reference, the other docs and the code link to', () => {
    const own = headingAnchors(doc);
    expect(own.has('sourcesmqtttopicsdecoder')).toBe(true);
    const files = ['README.md', ...readdirSync(join(root, 'docs')).map((f) => `docs/${f}`), ...readdirSync(join(root, 'src'), { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts')).map((f) => `src/${f}`)];
    const links = anchorLinks(root, 'docs/configuration.md', files);
    expect(links.length).toBeGreaterThan(15);
    expect(links.filter(([, anchor]) => !own.has(anchor)).map(([f, anchor]) => `${f}: #${anchor}`)).toEqual([]);
  });

  it("gives the schema's defaults, for keys the schema has", () => {
    const rows = documentedDefaults();
    expect(rows.length).toBeGreaterThan(80);
    const wrong = rows.flatMap(([key, written]) => {
      const defaults = keys.get(key);
      if (defaults === undefined) return [`${key}: no such key`];
      // A default behind a transform (some durations, time zones) is not in the JSON Schema: not checked here.
      if (defaults.length === 0) return [];
      return defaults.some((d) => sameDefault(written, d)) ? [] : [`${key}: documented ${written}, the schema has ${defaults.map((d) => JSON.stringify(d)).join(' or ')}`];
    });
    expect(wrong).toEqual([]);
  });

  it('gives the defaults a config that leaves the key out is read with (also those behind a transform)', () => {
    const read = configSchema.safeParse(MINIMAL);
    expect(read.error).toBeUndefined();
    const checked = documentedDefaults().flatMap(([key, written]) => {
      const actual = valueAt(read.data, key);
      return actual === undefined ? [] : [[key, written, actual] as const];
    });
    expect(checked.length).toBeGreaterThan(90);
    const wrong = checked.filter(([, written, actual]) => !sameDefault(written, actual)).map(([key, written, actual]) => `${key}: documented ${written}, read as ${JSON.stringify(actual)}`);
    expect(wrong).toEqual([]);
  });
});
