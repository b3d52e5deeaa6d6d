/**
 * Wrong usage of the operator commands through the CLI: each is refused with exit code 2 and a
 * message naming the option or config key at fault, rather than an empty answer, a new empty
 * store, a raw system error or a process that never ends.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SqliteStore } from '../../src/adapters/store/sqlite/sqlite-store.js';
import { freePort, runCli, writeConfig } from '../helpers/cli.js';

const base = { store: { path: 'ab.db' }, destinations: [{ name: 'erp', type: 'rest', baseUrl: 'http://127.0.0.1:9' }] };
const telematics = [{ name: 'trackunit', vendor: 'trackunit', baseUrl: 'http://127.0.0.1:9/iso', auth: { type: 'bearer', token: 'tu-token-123' } }];

describe('commands that only look at what ran', () => {
  it('status, assets list, export, unmatched and reset-meter and aemp budget refuse a store that does not exist rather than create an empty one (exit 2)', async () => {
    const { path, dir } = writeConfig({ ...base, telematics });
    for (const args of [
      ['status'],
      ['assets', 'unmatched'],
      ['aemp', 'budget'],
      ['assets', 'list'],
      ['assets', 'export'],
      ['assets', 'reset-meter', 'EQ-1', '--hours', '0'],
    ]) {
      const r = await runCli([...args, '-c', path]);
      expect({ args, code: r.code, stderr: r.stderr }).toEqual({ args, code: 2, stderr: expect.stringContaining('there is no store at') as unknown });
    }
    expect(existsSync(join(dir, 'ab.db'))).toBe(false);
    // The CLI reference lists them among the commands that refuse it.
    const reference = readFileSync(join(import.meta.dirname, '../../docs/cli.md'), 'utf8').replace(/\s+/g, ' ');
    expect(reference.includes('`assets list`, `export`, `meters` and `unmatched`') && reference.includes('and `assets reset-meter` and `confirm`, `depreciation preview`'), 'docs/cli.md names them').toBe(true);
    // And gives the exit code, as status --help does (a script tells a wrong --config from a failure by it).
    expect(reference).toContain('a store that does not exist for the commands above that refuse one: `status` with a config nothing has run with exits 2');
    expect((await runCli(['status', '--help'])).stdout.replace(/\s+/g, ' ')).toContain("2 bad usage or config, or no store at the config's store.path");
  });

  it('a store.path naming a file that is not a store is called that, not a store at "schema version 0"; an empty file is no store yet; neither is changed', async () => {
    const { path, dir } = writeConfig(base);
    const store = join(dir, 'ab.db');
    writeFileSync(store, '');
    for (const args of [['status'], ['store', 'backup', join(dir, 'copy.db')]]) {
      const r = await runCli([...args, '-c', path]);
      expect({ args, code: r.code, stderr: r.stderr }).toEqual({ args, code: 2, stderr: expect.stringContaining(`there is no store at ${store} (store.path in ${path})`) as unknown });
    }
    expect(readFileSync(store, 'utf8')).toBe('');
    writeFileSync(store, 'root:x:0:0:root:/root:/bin/bash\n');
    for (const args of [['status'], ['store', 'prune']]) {
      const r = await runCli([...args, '-c', path]);
      expect({ args, code: r.code, stderr: r.stderr }).toEqual({ args, code: 1, stderr: expect.stringContaining(`error: ${store} (store.path) is not an assetbridge store: it is not an SQLite file at all`) as unknown });
      expect(r.stderr).not.toContain('schema version');
    }
    expect(readFileSync(store, 'utf8')).toBe('root:x:0:0:root:/root:/bin/bash\n');
  });

  // It made an empty store for a wrong --config, then said there was no such review entry (as if the feed had none).
  it('assets confirm refuses a store that does not exist (a wrong --config: no machine was pulled into it), naming store.path, and creates none', async () => {
    const { path, dir } = writeConfig(base);
    const r = await runCli(['assets', 'confirm', 'trackunit|pin:X1', 'EQ-1', '-c', path]);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 2, stderr: expect.stringContaining(`there is no store at ${join(dir, 'ab.db')} (store.path in ${path})`) as unknown });
    expect(existsSync(join(dir, 'ab.db'))).toBe(false);
  });

  it('rules list, zones list and zones locate read the config only: they leave no empty store behind for the commands above to take for one that ran', async () => {
    const { path, dir } = writeConfig({ ...base, rules: { zones: { inline: [{ name: 'YARD', locationCode: 'L1', circle: { lat: 51.95, lng: 4.05, radiusM: 100 } }] } } });
    for (const args of [['rules', 'list'], ['zones', 'list'], ['zones', 'locate', '51.95', '4.05']]) {
      const r = await runCli([...args, '-c', path]);
      expect({ args, code: r.code, stderr: r.stderr }).toEqual({ args, code: 0, stderr: '' });
    }
    expect(existsSync(join(dir, 'ab.db'))).toBe(false);
    expect((await runCli(['status', '-c', path])).stderr).toContain('there is no store at');
  });
});

describe('names that match nothing', () => {
  // A name or id that names nothing is a failure (1) in every command, as a delivery or quarantine
  // id that names nothing is; asset, destination and provider names were usage errors (2).
  it('every command exits 1 for an asset, destination, provider, zone, rule, work order, review entry, inventory location or SKU, delivery or quarantine id that names nothing, naming those there are', async () => {
    const { path, dir } = writeConfig((d) => ({
      ...base,
      store: { path: join(d, 'ab.db') },
      telematics,
      assets: { inline: [{ erpAssetId: 'EQ-1', identifiers: [{ type: 'tag', value: 'tag-1' }] }] },
      rules: {
        zones: { inline: [{ name: 'YARD', locationCode: '1000/0001', circle: { lat: 52.5, lng: 13.4, radiusM: 200 } }] },
        maintenance: { serviceIntervals: [{ name: 'svc-10h', everyHours: 10 }], feedback: { pollEvery: 0 } },
        inventory: { skuAttribute: 'sku' },
        depreciation: {},
      },
    }));
    const store = new SqliteStore({ path: join(dir, 'ab.db'), commitInWorker: false });
    await store.upsertAssets([
      { asset: { erpAssetId: 'EQ-1', erpModule: 'fixed-assets', attributes: {} }, identifiers: [{ type: 'tag', value: 'tag-1', erpAssetId: 'EQ-1' }] },
      { asset: { erpAssetId: 'P-1', erpModule: 'inventory', attributes: { sku: 'PAL-40' } }, identifiers: [{ type: 'tag', value: 'tag-p1', erpAssetId: 'P-1' }] },
    ]);
    await store.close();
    writeFileSync(join(dir, 'events.jsonl'), '{"kind":"meter","assetId":"tag-1","eventTime":"2026-10-01T09:00:00Z","operatingHours":12}\n');
    const cases: [readonly string[], string][] = [
      [['dlq', 'list', '--destination', 'nope'], 'error: no destination "nope" in the config (destinations: erp)'],
      [['dlq', 'show', '999'], 'error: no delivery 999'],
      [['quarantine', 'show', '999'], 'error: no quarantine entry 999'],
      [['audit', '--destination', 'nope'], 'error: no destination "nope" in the config (destinations: erp)'],
      [['audit', '--asset', 'NOPE'], 'error: no asset "NOPE" in the registry'],
      [['audit', '--delivery', '999'], 'error: no delivery 999'],
      [['inventory', 'counts', '--destination', 'nope'], 'error: no destination "nope" in the config (destinations: erp)'],
      [['inventory', 'items', '--destination', 'nope'], 'error: no destination "nope" in the config (destinations: erp)'],
      // A location or SKU no item (nor count) has: a typo, or another site's code (was exit 0 for items, with the same text).
      [['inventory', 'items', '--sku', 'NOPE'], 'error: no item has SKU "NOPE"; SKUs: PAL-40\n'],
      [['inventory', 'items', '--sku', 'NOPE', '--json'], 'error: no item has SKU "NOPE"; SKUs: PAL-40\n'],
      [['inventory', 'items', '--location', 'NOPE'], 'error: no item is at location "NOPE"; no item is at any location yet'],
      [['inventory', 'counts', '--sku', 'NOPE'], 'error: no count or item has SKU "NOPE"; SKUs with counts or items: PAL-40\n'],
      [['inventory', 'counts', '--location', 'NOPE', '--csv'], 'error: no count or item is at location "NOPE"; no count or item is at any location yet\n'],
      [['assets', 'unmatched', '--provider', 'nope'], 'error: no telematics provider named "nope"; configured: trackunit'],
      [['assets', 'confirm', 'nope:X', 'EQ-1'], 'error: no review entry "nope:X"'],
      [['assets', 'meters', '--asset', 'NOPE'], 'error: no asset "NOPE" in the registry'],
      [['assets', 'reset-meter', 'NOPE', '--hours', '0'], 'error: no asset "NOPE" in the registry'],
      [['maintenance', 'status', '--asset', 'NOPE'], 'error: no asset "NOPE" in the registry'],
      [['maintenance', 'complete', 'EQ-1|svc-10hh|10h@b0', '--hours', '10'], 'names rule "svc-10hh", which is not a maintenance rule of this config (rules: svc-10h)'],
      [['maintenance', 'complete', 'EQ-1|svc-10h|99h@b0', '--hours', '10'], 'error: "EQ-1|svc-10h|99h@b0" names no work order assetbridge knows'],
      [['maintenance', 'complete', 'NOPE|svc-10h|10h@b0', '--hours', '10', '--force'], 'error: no asset "NOPE" in the registry'],
      [['depreciation', 'preview', '--period', '2026-10', '--asset', 'NOPE'], 'error: no asset "NOPE"'],
      [['depreciation', 'refile', '--asset', 'NOPE'], 'error: no asset "NOPE"'],
      [['zones', 'occupancy', '--zone', 'NOPE'], 'error: no zone "NOPE" is configured'],
      [['rules', 'test', '--events', join(dir, 'events.jsonl'), '--trace', 'NOPE'], "error: --trace NOPE: no asset has that ERP id or identifier; see 'assetbridge assets list'"],
    ];
    for (const [args, message] of cases) {
      const r = await runCli([...args, '-c', path]);
      expect({ args, code: r.code, stderr: r.stderr }).toEqual({ args, code: 1, stderr: expect.stringContaining(message) as unknown });
    }
    expect((await runCli(['dlq', 'list', '--destination', 'erp', '-c', path])).stdout).toBe('no dead letters\n');
    // A SKU an item has, though none is counted (never seen): nothing to refuse.
    const sku = await runCli(['inventory', 'items', '--sku', 'PAL-40', '--standing', 'counted', '-c', path]);
    expect([sku.code, sku.stdout]).toEqual([0, expect.stringContaining('no inventory items match\n')]);
    const counted = await runCli(['inventory', 'counts', '--sku', 'PAL-40', '-c', path]);
    expect([counted.code, counted.stdout]).toEqual([0, expect.stringMatching(/^no counts: no item has been seen/)]);
    // The CLI reference says so, and the README in short.
    const reference = readFileSync(join(import.meta.dirname, '../../docs/cli.md'), 'utf8').replace(/\s+/g, ' ');
    expect(reference).toContain('1 failure, also for a name or id that names nothing');
    const readme = readFileSync(join(import.meta.dirname, '../../README.md'), 'utf8').replace(/\s+/g, ' ');
    expect(readme).toContain('1 failure (also a name or id that names nothing)');
    // Twenty-odd CLI runs one after another: on a loaded machine each takes seconds.
  }, 300_000);

  it('a --period a listed fiscal calendar does not hold names nothing (1, naming rules.depreciation.periods); one that is no month at all is written wrong (2)', async () => {
    const periods = [{ id: 'FY 27:P1', start: '2026-10-01' }, { id: 'FY 27:P2', start: '2026-11-01' }];
    const listed = writeConfig({ ...base, rules: { depreciation: { periods, periodsEnd: '2026-12-01' } } });
    for (const command of ['preview', 'post']) {
      const r = await runCli(['depreciation', command, '--period', 'FY27-P1', '-c', listed.path]);
      // What the calendar's ids look like, the one meant, and (the calendar over) the last period ended.
      expect({ code: r.code, stderr: r.stderr }).toEqual({
        code: 1,
        stderr: 'error: --period "FY27-P1" is not in the configured calendar (rules.depreciation.periods: a list of 2 period(s), named by their ids as written); did you mean "FY 27:P1"?; periods: FY 27:P1, FY 27:P2; the last ended is FY 27:P2\n',
      });
    }
    const monthly = writeConfig({ ...base, rules: { depreciation: {} } });
    const r = await runCli(['depreciation', 'preview', '--period', '2026-13', '-c', monthly.path]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^error: --period "2026-13" is not a month; the calendar is monthly \(rules\.depreciation\.periods\) in UTC: write YYYY-MM, e\.g\. \d{4}-\d\d \(the current period is \d{4}-\d\d, the last ended is \d{4}-\d\d\)\n$/);
  }, 60_000);
});

describe('files and ports', () => {
  it('assets export names the file it cannot write', async () => {
    const { path, dir } = writeConfig(base);
    await new SqliteStore({ path: join(dir, 'ab.db') }).close(); // a store that has run
    const r = await runCli(['assets', 'export', join(dir, 'missing-dir', 'out.csv'), '-c', path]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`cannot write ${join(dir, 'missing-dir', 'out.csv')}`);
  });

  it('run names server.port when the port is taken', async () => {
    const blocker = createServer();
    await new Promise<void>((res) => blocker.listen(0, '127.0.0.1', res));
    const port = (blocker.address() as AddressInfo).port;
    try {
      const { path } = writeConfig({ ...base, server: { port } });
      const r = await runCli(['run', '-c', path], { ASSETBRIDGE_LOG_LEVEL: 'error' });
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`server.port ${port}`);
      expect(r.stderr).not.toMatch(/^\s+at /m);
    } finally {
      blocker.close();
    }
  });

  // Was "error: listen EADDRNOTAVAIL: address not available 192.0.2.1:…", exit 1.
  it('run names server.host when it is no address of this machine', async () => {
    const { path } = writeConfig({ ...base, server: { host: '192.0.2.1', port: await freePort() } }); // TEST-NET-1: assigned to no machine
    const r = await runCli(['run', '-c', path], { ASSETBRIDGE_LOG_LEVEL: 'error' });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('error: server.host 192.0.2.1 is no address of this machine');
  });

  // Was "error: EEXIST: file already exists, mkdir '…'", exit 1.
  it('demo names --data-dir when it cannot be the demo directory, and ends at once', async () => {
    const { dir } = writeConfig(base);
    const file = join(dir, 'a-file');
    writeFileSync(file, '');
    const r = await runCli(['demo', '--data-dir', file, '--duration', '1s', '--assets', '2']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`error: --data-dir ${file} cannot hold the demo's store: EEXIST: file already exists, mkdir '${file}'; name a directory (it is created if missing) or leave --data-dir out for a new temporary one\n`);
  }, 15_000);

  // Was a run of the whole demo ending "demo FAILED": the earlier run's work orders counted as sent, the new ERP simulator had none.
  it('demo refuses a --data-dir holding an earlier run\'s store, and ends at once', async () => {
    const { dir } = writeConfig(base);
    writeFileSync(join(dir, 'assetbridge.db'), '');
    const r = await runCli(['demo', '--data-dir', dir, '--duration', '1s', '--assets', '2']);
    expect({ code: r.code, stdout: r.stdout }).toEqual({ code: 2, stdout: '' });
    expect(r.stderr).toContain(`error: --data-dir ${dir} holds the store of an earlier demo run (${join(dir, 'assetbridge.db')})`);
  }, 15_000);

  it('an ASSETBRIDGE_LOG_LEVEL that is no level is refused naming the variable and the levels, by run and by the other commands', async () => {
    const { path, dir } = writeConfig({ ...base, server: { port: 0 } });
    await new SqliteStore({ path: join(dir, 'ab.db') }).close(); // a store that has run
    for (const args of [['run'], ['dlq', 'list'], ['audit']]) {
      const r = await runCli([...args, '-c', path], { ASSETBRIDGE_LOG_LEVEL: 'verbose' });
      expect({ args, code: r.code, stderr: r.stderr }).toEqual({
        args,
        code: 2,
        stderr: 'error: ASSETBRIDGE_LOG_LEVEL "verbose" is not a log level; use one of fatal, error, warn, info, debug, trace, silent (or unset it)\n',
      });
    }
  });

  it('demo refuses an --mqtt-url that is not mqtt:// or mqtts:// and ends at once', async () => {
    const r = await runCli(['demo', '--mqtt-url', 'localhost:1883', '--duration', '1s', '--assets', '2']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--mqtt-url "localhost:1883"');
  }, 15_000);
});

describe('ids and --all', () => {
  it('ids together with --all are refused, not one of them picked (dlq replay and discard took every dead letter, quarantine replay only the ids)', async () => {
    const { path, dir } = writeConfig(base);
    for (const [args, what] of [
      [['quarantine', 'replay', '17', '--all'], '--all replays every open entry; ids: only 17'],
      [['dlq', 'replay', '5', '--all'], '--all replays every dead letter; ids: only 5'],
      [['dlq', 'discard', '5', '6', '--all', '--destination', 'erp'], '--all discards every dead letter of erp; ids: only 5, 6'],
    ] as const) {
      const r = await runCli([...args, '-c', path]);
      expect({ args, code: r.code, stderr: r.stderr }).toEqual({ args, code: 2, stderr: expect.stringContaining(`not both (${what})`) as unknown });
    }
    expect(existsSync(join(dir, 'ab.db'))).toBe(false);
  });
});

describe('help', () => {
  it('describes every option and quotes examples the shell would otherwise split', async () => {
    const dlq = await runCli(['dlq', 'list', '--help']);
    expect(dlq.stdout).toMatch(/--destination <name>\s+\S/);
    const confirm = await runCli(['assets', 'confirm', '--help']);
    expect(confirm.stdout).toContain("assetbridge assets confirm 'trackunit|machine-id:");
    const backfill = await runCli(['aemp', 'backfill', '--help']);
    expect(backfill.stdout).toContain('75');
  });
});

describe('a command word that names no command', () => {
  it('is refused with exit 2 and the group to look in, also with --help (commander printed the group\'s help and exited 0, as if it existed)', async () => {
    for (const [args, word, group, meant] of [
      [['assets', 'review', '--help'], 'review', 'assetbridge assets', ''],
      [['aemp', 'pul', '--help'], 'pul', 'assetbridge aemp', ": did you mean 'assetbridge aemp pull'?"],
      [['bogus', '--help'], 'bogus', 'assetbridge', ''],
      [['assets', 'review'], 'review', 'assetbridge assets', ''],
      // A typo is answered with the command it likely meant; `help X` and `group help X` are checked too
      // (commander printed the top-level or the group's help for them, as if X existed).
      [['stauts'], 'stauts', 'assetbridge', ": did you mean 'assetbridge status'?"],
      [['config', 'chek', '-c', 'x.yaml'], 'chek', 'assetbridge config', ": did you mean 'assetbridge config check'?"],
      [['help', 'stauts'], 'stauts', 'assetbridge', ": did you mean 'assetbridge status'?"],
      [['assets', 'help', 'imprt'], 'imprt', 'assetbridge assets', ": did you mean 'assetbridge assets import'?"],
    ] as const) {
      const r = await runCli([...args]);
      expect({ args, code: r.code, stdout: r.stdout, stderr: r.stderr }).toEqual({
        args,
        code: 2,
        stdout: '',
        stderr: `error: unknown command '${word}'${meant} (see '${group} --help' for the commands there)\n`,
      });
    }
    // Real commands, `help` and options still reach commander.
    expect((await runCli(['aemp', 'parse', '--help'])).code).toBe(0);
    expect((await runCli(['help', 'aemp'])).code).toBe(0);
    expect((await runCli(['assets', 'help', 'import'])).code).toBe(0);
  });
});
