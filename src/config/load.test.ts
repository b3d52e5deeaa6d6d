import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compileConfig, loadConfigFile } from './load.js';
import { ConfigError } from '../core/errors/errors.js';

const minimal = { destinations: [{ name: 'erp', type: 'rest', baseUrl: 'http://127.0.0.1:4010', token: '${ERP_TOKEN}' }] };

function problems(fn: () => unknown): { key: string; message: string }[] {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return [...err.problems];
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('config', () => {
  it('applies defaults and interpolates env', () => {
    const c = compileConfig(minimal, { ERP_TOKEN: 's3cret' });
    expect(c.store.path).toBe('./data/assetbridge.db');
    expect(c.ingest.maxWaitMs).toBe(5);
    const d = c.destinations[0];
    expect(d?.rateLimit.requestsPerMinute).toBe(300);
    expect(d?.retry.maxAgeMs).toBe(2 * 86_400_000);
    expect(d?.type === 'rest' && d.token).toBe('s3cret');
    expect(Object.isFrozen(c.destinations)).toBe(true);
  });

  it('reads secrets from NAME_FILE', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ab-cfg-'));
    writeFileSync(join(dir, 'token'), 'from-file\n');
    const c = compileConfig(minimal, { ERP_TOKEN_FILE: join(dir, 'token') });
    expect(c.destinations[0]?.type === 'rest' && c.destinations[0].token).toBe('from-file');
  });

  it('names the key of a missing variable', () => {
    expect(problems(() => compileConfig(minimal, {}))).toEqual([
      { key: 'destinations.0.token', message: 'environment variable ERP_TOKEN is not set (set ERP_TOKEN or ERP_TOKEN_FILE)' },
    ]);
  });

  it('reports a missing variable together with the other problems, and not again as an empty value', () => {
    const p = problems(() => compileConfig({ ...minimal, ingest: { maxBatch: 0 } }, {}));
    expect(p.map((x) => x.key)).toEqual(['destinations.0.token', 'ingest.maxBatch']);
  });

  it('names every bad key at once', () => {
    const p = problems(() =>
      compileConfig(
        {
          destinations: [{ name: 'erp', type: 'rest', baseUrl: 'not a url', rateLimit: { requestsPerMinute: -1 }, timeoutMs: 'soon' }],
          ingest: { maxBatch: 0 },
          bogus: true,
        },
        {},
      ),
    );
    const keys = p.map((x) => x.key);
    expect(keys).toEqual(expect.arrayContaining(['destinations.0.baseUrl', 'destinations.0.rateLimit.requestsPerMinute', 'destinations.0.timeoutMs', 'ingest.maxBatch']));
    expect(p.find((x) => x.key === 'destinations.0.timeoutMs')?.message).toContain('is not a duration');
    expect(p.find((x) => x.key === 'bogus')?.message).toMatch(/^unknown key/);
  });

  it('says what an unknown key was likely meant to be, that a missing one is missing, and why a ${NAME} cannot be a number', () => {
    const p = problems(() =>
      compileConfig({ destinations: [{ name: 'erp', type: 'rest', baseUrl: 'http://x', timeout: '5s' }], stor: {}, server: { port: '${PORT}' }, rules: { maintenance: { thresholds: [{ name: 'a', sensor: 's', above: 1, coolDown: '1h' }] } } }, { PORT: '8080' }),
    );
    expect(p).toEqual(
      expect.arrayContaining([
        { key: 'stor', message: 'unknown key: did you mean store?' },
        { key: 'destinations.0.timeout', message: 'unknown key: did you mean timeoutMs?' },
        { key: 'rules.maintenance.thresholds.0.coolDown', message: 'unknown key: did you mean cooldown?' },
        { key: 'server.port', message: expect.stringContaining('a ${NAME} reference always gives text') as unknown },
      ]),
    );
    expect(problems(() => compileConfig({}, {}))).toEqual([{ key: 'destinations', message: 'missing: this key is required (array)' }]);
    expect(problems(() => compileConfig({ ...minimal, store: { zzz: 1 } }, { ERP_TOKEN: 'x' }))[0]?.message).toMatch(/^unknown key; known here: .*path/);
  });

  it('checks cross-field references', () => {
    const p = problems(() => compileConfig({ ...minimal, defaultDestination: 'nope' }, { ERP_TOKEN: 'x' }));
    expect(p).toEqual([{ key: 'defaultDestination', message: 'no destination named "nope"; configured: erp' }]);
  });

  it('reports unreadable files and bad YAML with the file name', () => {
    expect(problems(() => loadConfigFile('/nonexistent/ab.yaml'))[0]?.message).toContain('cannot read /nonexistent/ab.yaml');
    const dir = mkdtempSync(join(tmpdir(), 'ab-cfg-'));
    writeFileSync(join(dir, 'bad.yaml'), 'destinations: [\n');
    expect(problems(() => loadConfigFile(join(dir, 'bad.yaml')))[0]?.key).toBe('(yaml)');
  });

  it('resolves the file paths a config file names against its directory, after ${ENV}', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ab-cfg-'));
    mkdirSync(join(dir, 'zones'));
    writeFileSync(join(dir, 'zones', 'site.geojson'), JSON.stringify({ type: 'FeatureCollection', features: [{ type: 'Feature', properties: { name: 'yard', locationCode: 'Y1' }, geometry: { type: 'Point', coordinates: [4, 52] } }] }).replace('"name"', '"radiusM":50,"name"'));
    const yaml = [
      'store: { path: "${DATA}/ab.db" }',
      'destinations: [{ name: erp, type: rest, baseUrl: "http://127.0.0.1:4010" }]',
      'assets: { files: [mapping.csv, /abs/other.csv] }',
      'sources: { mqtt: [{ name: tags, url: "mqtts://127.0.0.1:8883", topics: [{ filter: "t/#", decoder: { assetId: { path: tagId } } }], caFile: certs/ca.pem }] }',
      'rules: { zones: { files: [zones/site.geojson] } }',
    ].join('\n');
    writeFileSync(join(dir, 'assetbridge.yaml'), yaml);
    // The zones file is read while the config is checked: it is found beside the config, not in the working directory.
    const c = loadConfigFile(join(dir, 'assetbridge.yaml'), { DATA: 'state' });
    expect(c.store.path).toBe(join(dir, 'state', 'ab.db'));
    expect(c.assets.files).toEqual([join(dir, 'mapping.csv'), '/abs/other.csv']);
    expect(c.sources.mqtt[0]?.caFile).toBe(join(dir, 'certs', 'ca.pem'));
    expect(c.rules.zones?.zones.map((z) => z.name)).toEqual(['yard']);
    // The default store is beside the config too; an absolute path and `:memory:` stay as they are.
    writeFileSync(join(dir, 'default.yaml'), 'destinations: [{ name: erp, type: rest, baseUrl: "http://127.0.0.1:4010" }]');
    expect(loadConfigFile(join(dir, 'default.yaml')).store.path).toBe(join(dir, 'data', 'assetbridge.db'));
    expect(loadConfigFile(join(dir, 'assetbridge.yaml'), { DATA: '/var/lib/ab' }).store.path).toBe('/var/lib/ab/ab.db');
    writeFileSync(join(dir, 'memory.yaml'), 'store: { path: ":memory:" }\ndestinations: [{ name: erp, type: rest, baseUrl: "http://127.0.0.1:4010" }]');
    expect(loadConfigFile(join(dir, 'memory.yaml')).store.path).toBe(':memory:');
  });
});
