/**
 * Zones written latitude-first, found by where the assets were: `zones check FILE -c CONFIG` and
 * `zones occupancy` compare the zones with each asset's last position the service stored and warn
 * when none is in or near a zone but several are inside one read the other way round. (A file
 * latitude-first with both numbers within ±90 reads as valid zones elsewhere on Earth: location
 * sync then sent no zone for any asset, and occupancy showed every zone empty, with no word why.)
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, writeConfig } from '../../../test/helpers/cli.js';
import { SqliteStore } from '../../adapters/store/sqlite/sqlite-store.js';

/** Rotterdam port's yard and Hamburg's, as circles: [lat, lng]. */
const ROT = [51.95, 4.05] as const;
const HAM = [53.54, 9.98] as const;
const circle = (name: string, [lat, lng]: readonly [number, number]) => ({ name, locationCode: name, circle: { lat, lng, radiusM: 500 } });

/** A config with `zones` (inline) and a store holding the last position of three assets in the yards. */
async function withStore(zones: object[]): Promise<{ path: string; dir: string }> {
  const cfg = writeConfig((dir) => ({
    store: { path: join(dir, 'data', 'ab.db') },
    destinations: [{ name: 'erp', type: 'rest', baseUrl: 'http://127.0.0.1:9' }],
    assets: { inline: [] },
    rules: { zones: { inline: zones } },
    server: { port: 0 },
  }));
  mkdirSync(join(cfg.dir, 'data'));
  const store = new SqliteStore({ path: join(cfg.dir, 'data', 'ab.db'), commitInWorker: false });
  const at = Date.parse('2026-10-01T08:00:00Z');
  const last = { 'EX-1': [51.9501, 4.0502], 'EX-2': [51.9498, 4.0497], 'EX-3': [53.5401, 9.9799] } as const;
  await store.upsertAssets(Object.keys(last).map((id) => ({ asset: { erpAssetId: id, erpModule: 'maintenance', attributes: {} }, identifiers: [{ type: 'tag' as const, value: id, erpAssetId: id }] })));
  const states = Object.entries(last).map(([erpAssetId, [lat, lng]]) => ({ erpAssetId, doc: { location: { zones: {}, last: { eventTime: at, lat, lng, zone: 'GATE' } } }, changed: ['location'] }));
  await store.commitIngest({ states, deliveries: [], quarantine: [], accepted: 0 });
  await store.close();
  return cfg;
}

const swap = ([lat, lng]: readonly [number, number]) => [lng, lat] as const;

describe('zones occupancy with the configured zones latitude-first', () => {
  it('warns on stderr, naming the zones the positions are in read the other way round; says nothing of zones where they should be', async () => {
    const wrong = await withStore([circle('ROT', swap(ROT)), circle('HAM', swap(HAM))]);
    const r = await runCli(['zones', 'occupancy', '-c', wrong.path]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^ZONE\s+LOCATION CODE\s+INSIDE\s+ARRIVING\s+LEAVING\nROT\s+ROT\s+0\s+0\s+0\nHAM\s+HAM\s+0\s+0\s+0\n/);
    expect(r.stderr).toBe(
      "warning: none of the 3 stored asset position(s) (each asset's last) is in or near a configured zone, but read with latitude and longitude swapped 3 of them are inside 2 zone(s) (ROT, HAM): " +
        'the zones are likely written latitude-first, where GeoJSON positions are [longitude, latitude]; ' +
        "swap the two numbers of every position in the zones file (rules.zones.files; 'assetbridge zones check FILE' shows where its zones lie), or lat and lng of the inline zones; location sync sends no zone until then\n",
    );
    const right = await withStore([circle('ROT', ROT), circle('HAM', HAM)]);
    expect((await runCli(['zones', 'occupancy', '-c', right.path])).stderr).toBe('');
  });
});

describe('zones check FILE with the config of a service that has run', () => {
  const feature = (name: string, [lat, lng]: readonly [number, number]) => ({ type: 'Feature', properties: { name, locationCode: name, radiusM: 500 }, geometry: { type: 'Point', coordinates: [lng, lat] } });

  it('compares the file\'s zones with the stored positions: warns of a file written latitude-first, counts those in a right one', async () => {
    const cfg = await withStore([circle('GATE', [50, 8])]);
    const wrongFile = join(cfg.dir, 'latfirst.geojson');
    writeFileSync(wrongFile, JSON.stringify({ type: 'FeatureCollection', features: [feature('ROT', swap(ROT)), feature('HAM', swap(HAM))] }));
    const wrong = await runCli(['zones', 'check', wrongFile, '-c', cfg.path]);
    expect(wrong.code).toBe(0);
    expect(wrong.stdout).toContain(`0 of the 3 asset position(s) stored by ${cfg.path}'s service (each asset's last) are in or near these zones\n`);
    expect(wrong.stderr).toBe(
      `warning: none of the 3 stored asset position(s) (each asset's last) is in or near a zone of ${wrongFile}, but read with latitude and longitude swapped 3 of them are inside 2 zone(s) (ROT, HAM): ` +
        'the zones are likely written latitude-first, where GeoJSON positions are [longitude, latitude]; swap the two numbers of every position in the file before the config names it\n',
    );
    const json = JSON.parse((await runCli(['zones', 'check', wrongFile, '-c', cfg.path, '--json'])).stdout) as { storedPositions: Record<string, unknown> };
    expect(json.storedPositions).toMatchObject({ positions: 3, located: 0, swapped: 3, zones: ['ROT', 'HAM'] });
    expect(json.storedPositions.warning).toEqual(expect.stringContaining('latitude-first'));

    const rightFile = join(cfg.dir, 'ports.geojson');
    writeFileSync(rightFile, JSON.stringify({ type: 'FeatureCollection', features: [feature('ROT', ROT), feature('HAM', HAM)] }));
    const right = await runCli(['zones', 'check', rightFile, '-c', cfg.path]);
    expect(right.stderr).toBe('');
    expect(right.stdout).toContain(`3 of the 3 asset position(s) stored by ${cfg.path}'s service (each asset's last) are in or near these zones\n`);
    // Without a config, or one nothing has run with, no store is read.
    expect((await runCli(['zones', 'check', wrongFile])).stdout).not.toContain('asset position(s)');
  });
});
