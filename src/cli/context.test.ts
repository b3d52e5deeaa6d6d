import { afterEach, describe, expect, it, vi } from 'vitest';
import { linkSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UsageError } from '../core/errors/errors.js';
import { debugOn, defaultConfigPath, parseIds, parseLimit, parseSince, reportError, resolveConfig, toJson, writeOut } from './context.js';

describe('toJson (--json output)', () => {
  it('writes times (fields named at, since, now, eventTime or ending in At) as ISO strings, at any depth', () => {
    const t = Date.UTC(2026, 10, 30, 12, 0, 0);
    // `now`: when `inventory counts --json` was taken (InventoryReport.now), before printed as epoch ms.
    const out = JSON.parse(toJson({ at: t, since: t, now: t, eventTime: t, rows: [{ receivedAt: t + 1000, nextFullAt: t }], nested: { openedAt: t } })) as unknown;
    expect(out).toEqual({
      at: '2026-11-30T12:00:00.000Z',
      since: '2026-11-30T12:00:00.000Z',
      now: '2026-11-30T12:00:00.000Z',
      eventTime: '2026-11-30T12:00:00.000Z',
      rows: [{ receivedAt: '2026-11-30T12:00:01.000Z', nextFullAt: '2026-11-30T12:00:00.000Z' }],
      nested: { openedAt: '2026-11-30T12:00:00.000Z' },
    });
  });

  it('leaves other numbers, time strings and out-of-range values alone', () => {
    const out = JSON.parse(toJson({ latencyMs: 1796104072833, dueAtHours: 250, hoursAtCompletion: 12.5, countedAt: '2026-01-01T00:00:00.000Z', lastAt: Number.MAX_VALUE, at: null })) as unknown;
    expect(out).toEqual({ latencyMs: 1796104072833, dueAtHours: 250, hoursAtCompletion: 12.5, countedAt: '2026-01-01T00:00:00.000Z', lastAt: Number.MAX_VALUE, at: null });
  });

  it("leaves a threshold's clear value (clearAt: 85 in rules list and a work order's trigger) a number, not a time in 1970", () => {
    expect(JSON.parse(toJson({ threshold: 96.5, clearAt: 85, trigger: { clearAt: 240, firstBreachAt: '2026-10-01T09:00:00.000Z' } }))).toEqual({ threshold: 96.5, clearAt: 85, trigger: { clearAt: 240, firstBreachAt: '2026-10-01T09:00:00.000Z' } });
  });

  it('writes one line with indent 0 (JSON lines) and indented JSON by default', () => {
    expect(toJson({ a: 1 }, 0)).toBe('{"a":1}');
    expect(toJson({ a: 1 })).toBe('{\n  "a": 1\n}');
  });
});

describe('parseSince', () => {
  it('reads a duration back from now, or a date', () => {
    const now = Date.UTC(2026, 0, 2);
    expect(parseSince('1h', now)).toBe(now - 3_600_000);
    expect(parseSince('2026-01-01', now)).toBe(Date.UTC(2026, 0, 1));
    expect(parseSince('2026-01-01T10:30:00Z', now)).toBe(Date.UTC(2026, 0, 1, 10, 30));
  });

  it('refuses what is not a duration or an ISO date, rather than guess a date from it', () => {
    // Date.parse reads '10' as 2001-10-01 and rolls 2026-02-30 over to 2026-03-02.
    for (const bad of ['abc', '10', '1x', '', '-1h', '2026-02-30', '2026-13-01', 'Dec 1']) expect(() => parseSince(bad, Date.UTC(2026, 0, 2)), bad).toThrow(/--since/);
  });
});

describe('parseIds and parseLimit', () => {
  it('read positive whole numbers', () => {
    expect(parseIds(['1', '42'], 'delivery')).toEqual([1, 42]);
    expect(parseLimit('200')).toBe(200);
  });

  it('refuse a number too large to be exact as too large, rather than pass it on to SQLite ("datatype mismatch")', () => {
    expect(() => parseLimit('99999999999999999999')).toThrow('--limit "99999999999999999999" is too large (at most 9007199254740991)');
    expect(() => parseIds(['99999999999999999999'], 'quarantine')).toThrow('quarantine id "99999999999999999999" is too large');
    expect(() => parseLimit('-1')).toThrow('--limit "-1" is not a positive whole number');
  });
});

describe('reportError', () => {
  afterEach(() => {
    vi.restoreAllMocks();
    vi.unstubAllEnvs();
  });

  it('redacts a secret an unexpected error quotes, in its message and (with ASSETBRIDGE_DEBUG) its stack', () => {
    const written: string[] = [];
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    });
    vi.stubEnv('ASSETBRIDGE_DEBUG', '1');
    const code = reportError(new TypeError('Headers.append: "Bearer "ERR-S3CR3T-1"" is an invalid header value; GET https://u:ERR-S3CR3T-2@h/x?token=ERR-S3CR3T-3'));
    expect(code).toBe(1);
    expect(written.join('')).toMatch(/^error: Headers\.append: /);
    expect(written.join('')).toContain('TypeError');
    expect(written.join('')).not.toContain('S3CR3T');
  });

  it("scrubs the loaded config's own secret values too, which no pattern finds (an MQTT source's start error quoting its broker's answer)", () => {
    const dir = mkdtempSync(join(tmpdir(), 'ab-report-'));
    const path = join(dir, 'assetbridge.yaml');
    const topics = [{ filter: 'fleet/+/t', decoder: { assetId: { topicSegment: 1 }, meters: { operatingHours: 'h' } } }];
    writeFileSync(path, JSON.stringify({ store: { path: join(dir, 'ab.db') }, destinations: [{ name: 'erp', type: 'rest', baseUrl: 'http://127.0.0.1:9' }], sources: { mqtt: [{ name: 'yard', url: 'mqtt://127.0.0.1:1883', username: 'ingest', password: '${MQTT_PW_REPORT}', topics }] } }));
    vi.stubEnv('MQTT_PW_REPORT', 'Yard-Broker-7731');
    resolveConfig(path);
    const written: string[] = [];
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    });
    vi.stubEnv('ASSETBRIDGE_DEBUG', '1');
    reportError(new Error('MQTT source "yard": could not connect to mqtt://127.0.0.1:1883 within 30 s (proxy refused ingest/Yard-Broker-7731); check that the broker is running and reachable from here, and sources.mqtt.0.url, then start again'));
    expect(written[0]).toBe('error: MQTT source "yard": could not connect to mqtt://127.0.0.1:1883 within 30 s (proxy refused ingest/[REDACTED]); check that the broker is running and reachable from here, and sources.mqtt.0.url, then start again\n');
    expect(written.join('')).not.toContain('Yard-Broker-7731');
  });

  it('prints no stack with ASSETBRIDGE_DEBUG=0 (or false, no, off), which reads as off', () => {
    const written: string[] = [];
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    });
    vi.stubEnv('ASSETBRIDGE_DEBUG', '0');
    reportError(new TypeError('boom'));
    expect(written.join('')).toBe('error: boom\n');
    for (const off of ['', '0', 'false', 'No', ' off ']) expect(debugOn({ ASSETBRIDGE_DEBUG: off }), off).toBe(false);
    for (const on of ['1', 'true', 'yes', 'on']) expect(debugOn({ ASSETBRIDGE_DEBUG: on }), on).toBe(true);
    expect(debugOn({})).toBe(false);
  });
});

describe('the config file', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it('takes an empty ASSETBRIDGE_CONFIG (NAME= left by an env file) as not set, not as a file named ""', () => {
    expect(defaultConfigPath({ ASSETBRIDGE_CONFIG: '' })).toBe('assetbridge.yaml');
    expect(defaultConfigPath({ ASSETBRIDGE_CONFIG: ' ' })).toBe('assetbridge.yaml');
    expect(defaultConfigPath({})).toBe('assetbridge.yaml');
    expect(defaultConfigPath({ ASSETBRIDGE_CONFIG: '/srv/ab/assetbridge.yaml' })).toBe('/srv/ab/assetbridge.yaml');
    vi.stubEnv('ASSETBRIDGE_CONFIG', '');
    expect(() => resolveConfig(undefined)).toThrow(/^config file assetbridge\.yaml not found/);
  });

  // It said "Pass --config <file>, set ASSETBRIDGE_CONFIG, …" when the variable was set, to a path that is not there.
  it('says a missing config file is the one ASSETBRIDGE_CONFIG names, when it is', () => {
    const missing = join(mkdtempSync(join(tmpdir(), 'ab-ctx-')), 'nope.yaml');
    vi.stubEnv('ASSETBRIDGE_CONFIG', missing);
    expect(() => resolveConfig(missing)).toThrow(new UsageError(`config file ${missing} not found: it is what ASSETBRIDGE_CONFIG names; fix or unset that variable, or pass --config <file>`));
    // Another file given with --config: the usual advice.
    expect(() => resolveConfig(`${missing}.other`)).toThrow(/^config file .*nope\.yaml\.other not found\. Pass --config <file>, set ASSETBRIDGE_CONFIG/);
  });

  it('says a directory given as the config is one, naming the config file in it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ab-ctx-'));
    expect(() => resolveConfig(dir)).toThrow(new UsageError(`${dir} is a directory, not a config file: pass the file itself (--config <dir>/assetbridge.yaml)`));
    writeFileSync(join(dir, 'assetbridge.yaml'), 'destinations: []\n');
    expect(() => resolveConfig(dir)).toThrow(new UsageError(`${dir} is a directory, not a config file: pass the file itself (--config ${join(dir, 'assetbridge.yaml')})`));
  });
});

describe('writeOut (--out)', () => {
  it.skipIf(process.platform === 'win32')('refuses a file with other hard links as a usage error naming --out and what to do, the file left as it was', () => {
    const d = mkdtempSync(join(tmpdir(), 'ab-out-'));
    const f = join(d, 'report.csv');
    writeFileSync(f, 'old\n');
    linkSync(f, join(d, 'kept.csv'));
    let thrown: unknown;
    try {
      writeOut(f, 'new\n');
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(UsageError);
    expect((thrown as Error).message).toMatch(new RegExp(`^--out ${f.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} has 2 hard links .*give a path of its own`));
    expect([readFileSync(f, 'utf8'), readFileSync(join(d, 'kept.csv'), 'utf8')]).toEqual(['old\n', 'old\n']);
  });
});
