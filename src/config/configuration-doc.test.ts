/**
 * docs/configuration.md and the schema stay in step: every key the schema takes is named in the
 * reference, and every default the reference's tables give (`| `key` | `default` | …`) is the
 * schema's, as the JSON Schema states it and as a config that leaves the key out is read.
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { describe, expect, it } from 'vitest';
import { parseDuration } from './duration.js';
import { configSchema } from './schema.js';

const doc = readFileSync(join(resolve(import.meta.dirname, '../..'), 'docs/configuration.md'), 'utf8');

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

/** The words in the reference's code spans and YAML examples. */
function documentedWords(): Set<string> {
  const text = doc.replace(/^```.*$/gm, '');
  const words = new Set<string>();
  for (const [, span] of text.matchAll(/`([^`]+)`/g)) for (const [word] of (span ?? '').matchAll(/[A-Za-z][A-Za-z0-9]*/g)) words.add(word);
  for (const [, block] of doc.matchAll(/^```yaml\n([\s\S]*?)^```$/gm)) for (const [word] of (block ?? '').matchAll(/[A-Za-z][A-Za-z0-9]*/g)) words.add(word);
  return words;
}

const codeSpans = (cell: string): string[] => [...cell.matchAll(/`([^`]+)`/g)].map((m) => m[1] ?? '');

/**
 * The defaults the reference's key tables give: `[key path, default as written]`, for rows whose
 * key cell names keys in code spans (`a.b`, `c` meaning `a.c`) and whose default cell gives one
 * code span per key.
 */
function documentedDefaults(): [string, string][] {
  const out: [string, string][] = [];
  let prefix = '';
  let withDefaults = false;
  for (const line of doc.split('\n')) {
    const heading = /^## (.*)$/.exec(line);
    if (heading) {
      // `## \`store\`` sets the section's prefix; a heading naming several sections lists full keys.
      const names = codeSpans(heading[1] ?? '').filter((n) => /^[\w.[\]]+$/.test(n));
      prefix = names.length === 1 ? `${(names[0] ?? '').replace(/\[\]$/, '')}.` : '';
      continue;
    }
    const cells = line.split(/(?<!\\)\|/).map((c) => c.trim());
    if (cells[1] === 'key') withDefaults = cells[2] === 'default';
    if (!withDefaults || cells.length < 5 || !cells[1]?.startsWith('`')) continue;
    const names = codeSpans(cells[1]);
    const values = codeSpans(cells[2] ?? '');
    if (names.length === 0 || names.length !== values.length || names.some((n) => !/^[A-Za-z][\w.[\]]*$/.test(n))) continue;
    const first = names[0] ?? '';
    const parent = first.includes('.') ? first.slice(0, first.lastIndexOf('.') + 1) : '';
    names.forEach((name, i) => {
      const key = i === 0 || name.includes('.') ? name : `${parent}${name}`;
      out.push([`${prefix}${key}`.replace(/\[\]/g, ''), values[i] ?? '']);
    });
  }
  return out;
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

  it('names every key the schema takes', () => {
    const words = documentedWords();
    expect(keys.size).toBeGreaterThan(200);
    const missing = [...keys.keys()].filter((path) => !words.has(path.split('.').at(-1) ?? ''));
    expect(missing).toEqual([]);
  });

  it('every top-level and second-level key is named in full or under its section', () => {
    const words = documentedWords();
    const missing = [...keys.keys()].filter((path) => path.split('.').length <= 2 && !path.split('.').every((part) => words.has(part)));
    expect(missing).toEqual([]);
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
