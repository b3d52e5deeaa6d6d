/**
 * Config loading, from a mutation audit: where `${NAME}` takes its value, that every problem names
 * its key once and leaves secrets out, the cross-field checks, the "did you mean" hints and the
 * file paths resolved against the config file.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../core/errors/errors.js';
import { compileConfig, loadConfigFile } from './load.js';
import { defaultDestinationOf } from './schema.js';
import { emptyTokenWarnings } from './secrets.js';

const erp = { name: 'erp', type: 'rest', baseUrl: 'http://127.0.0.1:4010' };

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
}
const problems = (fn: () => unknown) => [...configError(fn).problems];

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'ab-cfg-mut-'));
}

describe('${NAME} values', () => {
  it('refuse NAME and NAME_FILE both set and not empty, naming both and neither value', () => {
    // Before: the variable was taken silently, and a rotated secret file never read.
    const dir = tempDir();
    writeFileSync(join(dir, 'token'), 'from-file\n');
    const err = configError(() => compileConfig({ destinations: [{ ...erp, token: '${ERP_TOKEN}' }] }, { ERP_TOKEN: 'from-env', ERP_TOKEN_FILE: join(dir, 'token') }));
    expect([...err.problems]).toEqual([
      { key: 'destinations.0.token', message: 'both ERP_TOKEN and ERP_TOKEN_FILE are set: set only one (ERP_TOKEN to the value itself, or ERP_TOKEN_FILE to the path of a file holding it)' },
    ]);
    expect(err.message).not.toMatch(/from-env|from-file/);
  });

  it('read NAME_FILE when NAME is set but empty (as container platforms and env files leave it), with no empty-token warning', () => {
    // Before: the empty variable won, and the token went out empty with only a warning.
    const dir = tempDir();
    writeFileSync(join(dir, 'token'), 'from-file\n');
    const c = compileConfig({ destinations: [{ ...erp, token: '${ERP_TOKEN}' }] }, { ERP_TOKEN: '', ERP_TOKEN_FILE: join(dir, 'token') });
    expect(c.destinations[0]?.token).toBe('from-file');
    expect(emptyTokenWarnings(c)).toEqual([]);
    // And an empty NAME_FILE beside a variable counts as not set either.
    expect(compileConfig({ destinations: [{ ...erp, token: '${ERP_TOKEN}' }] }, { ERP_TOKEN: 'from-env', ERP_TOKEN_FILE: '' }).destinations[0]?.token).toBe('from-env');
  });

  it('take the variable when only it is set, and say not set when only an empty NAME_FILE is', () => {
    // Mutation: an empty NAME_FILE read as a path.
    expect(compileConfig({ destinations: [{ ...erp, token: '${ERP_TOKEN}' }] }, { ERP_TOKEN: 'from-env' }).destinations[0]?.token).toBe('from-env');
    expect(problems(() => compileConfig({ destinations: [{ ...erp, token: '${ERP_TOKEN}' }] }, { ERP_TOKEN_FILE: '' }))).toEqual([
      { key: 'destinations.0.token', message: 'environment variable ERP_TOKEN is not set (set ERP_TOKEN or ERP_TOKEN_FILE)' },
    ]);
  });

  it('take a variable that is set but empty as it is, not as one that is not set', () => {
    // Mutation: `if (direct)` instead of `direct !== undefined`.
    const c = compileConfig({ destinations: [{ ...erp, headers: { 'X-Tenant': '${TENANT}' } }] }, { TENANT: '' });
    expect(c.destinations[0]?.headers).toEqual({ 'X-Tenant': '' });
  });

  it('report a missing secret once, under its key, not again as the empty value the schema would refuse', () => {
    // Mutation: the schema's problems no longer filtered by the keys already reported unset.
    expect(problems(() => compileConfig({ destinations: [erp], sources: { http: { token: '${INTAKE_TOKEN}' } } }, {}))).toEqual([
      { key: 'sources.http.token', message: 'environment variable INTAKE_TOKEN is not set (set INTAKE_TOKEN or INTAKE_TOKEN_FILE)' },
    ]);
  });

  it('never put a secret in a problem: a refused token or webhook secret is named by its key, without its value', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'hook'), 'hook-Zq81\n');
    const env = { INTAKE_TOKEN: 'tok-Xk9', ERP_HOOK_FILE: join(dir, 'hook'), CLIENT_SECRET: '' };
    const err = configError(() =>
      compileConfig(
        {
          destinations: [{ ...erp, webhook: { secret: '${ERP_HOOK}' }, auth: { type: 'oauth2-client-credentials', tokenUrl: 'http://127.0.0.1:9/token', clientId: 'ab', clientSecret: '${CLIENT_SECRET}' } }],
          sources: { http: { token: '${INTAKE_TOKEN}' } },
        },
        env,
      ),
    );
    expect(err.problems.map((p) => p.key).sort()).toEqual(['destinations.0.auth.clientSecret', 'destinations.0.webhook.secret', 'sources.http.token']);
    for (const secret of ['tok-Xk9', 'hook-Zq81']) expect(err.message).not.toContain(secret);
  });
});

describe('problems name their key', () => {
  it('a config that is not a mapping is named as the root', () => {
    // Mutation: the empty path named '' instead of '(root)'.
    const dir = tempDir();
    writeFileSync(join(dir, 'list.yaml'), '- destinations\n- erp\n');
    const p = problems(() => loadConfigFile(join(dir, 'list.yaml')));
    expect(p).toHaveLength(1);
    expect(p[0]?.key).toBe('(root)');
  });

  it('a key two edits from a known one (letters swapped) is told the known one', () => {
    // Mutation: only one edit counted as a likely typo.
    expect(problems(() => compileConfig({ destinations: [erp], store: { retentoin: { audit: '30d' } } }, {}))).toEqual([{ key: 'store.retentoin', message: 'unknown key: did you mean retention?' }]);
  });

  it('a misspelt key inside a map of named entries (a decoder\'s sensors) is told the known one', () => {
    // Mutation: no known keys under a record's values.
    const source = { name: 'yard', url: 'mqtt://127.0.0.1:1883', topics: [{ filter: 'fleet/+/t', decoder: { assetId: { path: 'tag' }, sensors: { temp: { path: 't', units: 'Cel' } } } }] };
    expect(problems(() => compileConfig({ destinations: [erp], sources: { mqtt: [source] } }, {}))).toEqual([
      { key: 'sources.mqtt.0.topics.0.decoder.sensors.temp.units', message: 'unknown key: did you mean unit?' },
    ]);
  });

  it('a destination given both `token` and `auth` is refused at `auth`', () => {
    // Mutation: the check dropped.
    expect(problems(() => compileConfig({ destinations: [{ ...erp, token: 'a', auth: { type: 'bearer', token: 'b' } }] }, {}))).toEqual([
      { key: 'destinations.0.auth', message: 'set either `token` or `auth`, not both (`token: X` is short for `auth: {type: bearer, token: X}`)' },
    ]);
  });

  it('an MQTT session expiry under a minute (or milliseconds meant as seconds) is refused at sessionExpiryMs', () => {
    const source = (sessionExpiryMs: unknown) => ({ name: 'yard', url: 'mqtt://127.0.0.1:1883', sessionExpiryMs, topics: [{ filter: 't/#', decoder: { assetId: { path: 'tag' } } }] });
    const message = (text: string) =>
      `${text} is too short: the broker ends our session, and drops the messages it queued for us, this long after we disconnect, so a restart or an outage would lose them; give hours or days, e.g. 7d (digits alone are milliseconds)`;
    expect(problems(() => compileConfig({ destinations: [erp], sources: { mqtt: [source(0)] } }, {}))).toEqual([{ key: 'sources.mqtt.0.sessionExpiryMs', message: message('0ms') }]);
    expect(problems(() => compileConfig({ destinations: [erp], sources: { mqtt: [source(3600)] } }, {}))).toEqual([{ key: 'sources.mqtt.0.sessionExpiryMs', message: message('3600ms') }]);
    expect(compileConfig({ destinations: [erp], sources: { mqtt: [source('1m')] } }, {}).sources.mqtt[0]?.sessionExpiryMs).toBe(60_000);
  });

  it('an MQTT reconnect delay under 10 ms (0 would reconnect every millisecond) is refused at reconnectDelayMs', () => {
    const source = (reconnectDelayMs: unknown) => ({ name: 'yard', url: 'mqtt://127.0.0.1:1883', reconnectDelayMs, topics: [{ filter: 't/#', decoder: { assetId: { path: 'tag' } } }] });
    const message = (text: string) =>
      `${text} is too short: the source would reconnect to the broker that often (every millisecond for 0), flooding its log and a broker that refuses it; give seconds, e.g. 5s (digits alone are milliseconds)`;
    expect(problems(() => compileConfig({ destinations: [erp], sources: { mqtt: [source(0)] } }, {}))).toEqual([{ key: 'sources.mqtt.0.reconnectDelayMs', message: message('0ms') }]);
    expect(problems(() => compileConfig({ destinations: [erp], sources: { mqtt: [source(5)] } }, {}))).toEqual([{ key: 'sources.mqtt.0.reconnectDelayMs', message: message('5ms') }]);
    expect(compileConfig({ destinations: [erp], sources: { mqtt: [source('10ms')] } }, {}).sources.mqtt[0]?.reconnectDelayMs).toBe(10);
    expect(compileConfig({ destinations: [erp], sources: { mqtt: [source(undefined)] } }, {}).sources.mqtt[0]?.reconnectDelayMs).toBe(5000);
  });

  it('TLS files with an mqtt:// or ws:// url (ignored there: password in clear text) are refused at each file key', () => {
    const source = (url: string) => ({ name: 'yard', url, caFile: '/etc/ab/ca.pem', certFile: '/etc/ab/c.pem', keyFile: '/etc/ab/c.key', topics: [{ filter: 't/#', decoder: { assetId: { path: 'tag' } } }] });
    const message = (key: string) => `is set, but the url is not TLS, so it would not be used and the connection (password included) would go in clear text: use mqtts:// (or wss://) in url, or remove ${key}`;
    for (const url of ['mqtt://broker.local:8883', 'ws://broker.local/mqtt'])
      expect(problems(() => compileConfig({ destinations: [erp], sources: { mqtt: [source(url)] } }, {}))).toEqual(
        ['caFile', 'certFile', 'keyFile'].map((key) => ({ key: `sources.mqtt.0.${key}`, message: message(key) })),
      );
    for (const url of ['mqtts://broker.local:8883', 'WSS://broker.local/mqtt']) expect(compileConfig({ destinations: [erp], sources: { mqtt: [source(url)] } }, {}).sources.mqtt[0]?.caFile).toBe('/etc/ab/ca.pem');
  });

  it('a topic filter after one that covers it (its decoder would never be used) is refused at its filter', () => {
    const topic = (filter: string) => ({ filter, decoder: { assetId: { path: 'tag' } } });
    const source = (...filters: string[]) => ({ name: 'yard', url: 'mqtt://127.0.0.1:1883', topics: filters.map(topic) });
    expect(problems(() => compileConfig({ destinations: [erp], sources: { mqtt: [source('fleet/#', 'yard/+', 'fleet/+/telemetry', 'yard/+')] } }, {}))).toEqual([
      {
        key: 'sources.mqtt.0.topics.2.filter',
        message: '"fleet/+/telemetry" is never used: topics.0 ("fleet/#") comes first and matches every topic it does, and a message takes the decoder of the first filter that matches; put the narrower filter first',
      },
      {
        key: 'sources.mqtt.0.topics.3.filter',
        message: '"yard/+" is never used: topics.1 ("yard/+") comes first and matches every topic it does, and a message takes the decoder of the first filter that matches; put the narrower filter first',
      },
    ]);
    // Narrower first is how a catch-all is written.
    expect(compileConfig({ destinations: [erp], sources: { mqtt: [source('fleet/+/telemetry', 'fleet/#')] } }, {}).sources.mqtt[0]?.topics).toHaveLength(2);
  });

  it('two subscribed filters of a source that overlap (a message matching both would arrive and be taken twice) are refused, naming both keys', () => {
    const topic = (filter: string) => ({ filter, decoder: { assetId: { path: 'tag' } } });
    const source = (filters: string[], more: object = {}) => ({ name: 'yard', url: 'mqtt://127.0.0.1:1883', topics: filters.map(topic), ...more });
    expect(problems(() => compileConfig({ destinations: [erp], sources: { mqtt: [source(['fleet/+/position', 'yard/+/x/#', 'fleet/t1/+', 'yard/#'])] } }, {}))).toEqual([
      {
        key: 'sources.mqtt.0.topics.2.filter',
        message:
          '"fleet/t1/+" overlaps topics.0 ("fleet/+/position"): a message on a topic both match (fleet/t1/position) would be delivered once per subscription (Mosquitto does so with MQTT 5) and taken twice; make the filters match separate topics, or add after them one filter covering both, such as "fleet/+/+" (only it is then subscribed, and the two narrower ones still choose the decoder; it also takes the other topics it matches)',
      },
    ]);
    // Each pair once, at the later filter; the topics both match, with wildcards where they remain.
    expect(problems(() => compileConfig({ destinations: [erp], sources: { mqtt: [source(['+/a/#', 'b/+/c', 'b/+'])] } }, {})).map((p) => [p.key, p.message.slice(0, p.message.indexOf(') would'))])).toEqual([
      ['sources.mqtt.0.topics.1.filter', '"b/+/c" overlaps topics.0 ("+/a/#"): a message on a topic both match (b/a/c'],
      ['sources.mqtt.0.topics.2.filter', '"b/+" overlaps topics.0 ("+/a/#"): a message on a topic both match (b/a'],
    ]);
    expect(problems(() => compileConfig({ destinations: [erp], sources: { mqtt: [source(['a/+/+/d', 'a/b/#'])] } }, {}))[0]?.message).toContain('both match (any matching a/b/+/d)');
    // A filter covering both, after them, is the one subscribed: accepted.
    expect(compileConfig({ destinations: [erp], sources: { mqtt: [source(['fleet/+/position', 'fleet/t1/+', 'fleet/+/+'])] } }, {}).sources.mqtt[0]?.topics).toHaveLength(3);
    // Filters that share no topic; `$` topics are not matched by a leading wildcard.
    expect(compileConfig({ destinations: [erp], sources: { mqtt: [source(['fleet/+/position', 'fleet/t1/status', '$SYS/broker/+', '+/broker/uptime'])] } }, {}).sources.mqtt[0]?.topics).toHaveLength(4);
    // With a share group the filters are subscribed in it: they overlap all the same.
    expect(problems(() => compileConfig({ destinations: [erp], sources: { mqtt: [source(['fleet/+/position', 'fleet/t1/+'], { sharedGroup: 'g' })] } }, {})).map((p) => p.key)).toEqual(['sources.mqtt.0.topics.1.filter']);
    // In two share groups, each group sends it, even where one filter covers the other.
    expect(problems(() => compileConfig({ destinations: [erp], sources: { mqtt: [source(['$share/h/fleet/+/position', 'fleet/#'], { sharedGroup: 'g' })] } }, {}))).toEqual([
      {
        key: 'sources.mqtt.0.topics.1.filter',
        message:
          '"fleet/#" overlaps topics.0 ("$share/h/fleet/+/position"): a message on a topic both match (any matching fleet/+/position) would be delivered once per subscription (Mosquitto does so with MQTT 5) and taken twice; subscribe them in one share group (a filter then covers the other, or they must match separate topics), or make them match separate topics',
      },
    ]);
  });

  it('pruning more often than once a minute is refused at store.retention.every', () => {
    expect(problems(() => compileConfig({ destinations: [erp], store: { retention: { every: '30s' } } }, {}))).toEqual([{ key: 'store.retention.every', message: '30s is too often: prune at most once a minute (e.g. 1h)' }]);
    expect(compileConfig({ destinations: [erp], store: { retention: { every: '1m' } } }, {}).store.retention.every).toBe(60_000);
  });
});

describe('cross-field checks', () => {
  it('refuse two destinations, two MQTT sources or two telematics providers of one name, at the second', () => {
    const source = (name: string) => ({ name, url: 'mqtt://127.0.0.1:1883', topics: [{ filter: 't/#', decoder: { assetId: { path: 'tag' } } }] });
    const feed = { name: 'tu', vendor: 'trackunit', auth: { type: 'bearer', token: 'feed-token' } };
    expect(problems(() => compileConfig({ destinations: [erp, { ...erp, baseUrl: 'http://127.0.0.1:4011' }], sources: { mqtt: [source('yard'), source('yard')] }, telematics: [feed, feed] }, {}))).toEqual([
      { key: 'destinations.1.name', message: 'duplicate destination name "erp" (destinations.0 has it too): give each destination its own name; the outbox keys its deliveries and dead letters by it, and defaultDestination and an asset\'s destination pick it by it' },
      { key: 'sources.mqtt.1.name', message: 'duplicate source name "yard" (sources.mqtt.0 has it too): give each source its own name; it keys the topic mappings its messages are decoded by, and names them (source "mqtt:yard") in quarantine, status and metrics' },
      { key: 'telematics.1.name', message: 'duplicate telematics provider name "tu" (telematics.0 has it too): give each provider its own name; it keys the provider\'s request budget, pull cursor and review list in the store' },
    ]);
  });

  it('refuse two MQTT sources with one client id on one broker (they would take the session from each other), at the second', () => {
    const source = (name: string, url: string, clientId?: string) => ({ name, url, ...(clientId ? { clientId } : {}), topics: [{ filter: `${name}/#`, decoder: { assetId: { path: 'tag' } } }] });
    expect(problems(() => compileConfig({ destinations: [erp], sources: { mqtt: [source('yard', 'mqtt://Broker.local'), source('gates', 'mqtt://broker.local:1883/')] } }, {}))).toEqual([
      { key: 'sources.mqtt.1.clientId', message: 'client id "assetbridge" (the default) is also used by sources.mqtt.0 on the same broker broker.local:1883: the broker takes the session from one connection for the other, over and over; give each source its own clientId' },
    ]);
    // Own client ids, or the same id on another broker: fine.
    expect(compileConfig({ destinations: [erp], sources: { mqtt: [source('yard', 'mqtt://broker.local', 'ab-yard'), source('gates', 'mqtt://broker.local', 'ab-gates')] } }, {}).sources.mqtt).toHaveLength(2);
    expect(compileConfig({ destinations: [erp], sources: { mqtt: [source('yard', 'mqtt://broker.local'), source('gates', 'mqtts://broker.local')] } }, {}).sources.mqtt).toHaveLength(2);
  });

  it('refuse an inline asset naming a destination that is not configured', () => {
    const asset = { erpAssetId: 'EQ-1', identifiers: [{ type: 'tag', value: 'tag-1' }], destination: 'sap' };
    expect(problems(() => compileConfig({ destinations: [erp], assets: { inline: [asset] } }, {}))).toEqual([{ key: 'assets.inline.0.destination', message: 'no destination named "sap"; configured: erp' }]);
    expect(compileConfig({ destinations: [erp], assets: { inline: [{ ...asset, destination: 'erp' }] } }, {}).assets.inline[0]?.destination).toBe('erp');
  });

  // Two entries of one asset were applied one after the other: the later one's module and attributes replaced the earlier one's, silently.
  it('refuse an asset listed by two inline entries (after trimming), naming both', () => {
    const entry = (erpAssetId: string, tag: string, attributes: Record<string, string>) => ({ erpAssetId, identifiers: [{ type: 'tag', value: tag }], attributes });
    const inline = [entry('EQ-1', 'tag-1', { cost: '100' }), entry('EQ-2', 'tag-2', {}), entry(' EQ-1', 'tag-3', { site: 'north' })];
    expect(problems(() => compileConfig({ destinations: [erp], assets: { inline } }, {}))).toEqual([
      {
        key: 'assets.inline.2.erpAssetId',
        message:
          'asset "EQ-1" is listed by assets.inline.0 too: list each asset once, with all its identifiers and attributes (as two entries, the module, destination and attributes of the later one would replace those of the earlier one)',
      },
    ]);
    expect(compileConfig({ destinations: [erp], assets: { inline: inline.slice(0, 2) } }, {}).assets.inline).toHaveLength(2);
  });

  it('reads an inline asset\'s ids, module and destination without spaces at either end, as an asset CSV\'s cells are', () => {
    const asset = { erpAssetId: ' EQ-1 ', erpModule: 'maintenance ', destination: ' erp', identifiers: [{ type: 'tag', value: 'tag-1\t' }] };
    expect(compileConfig({ destinations: [erp], assets: { inline: [asset] } }, {}).assets.inline[0]).toEqual({
      erpAssetId: 'EQ-1',
      erpModule: 'maintenance',
      destination: 'erp',
      identifiers: [{ type: 'tag', value: 'tag-1' }],
      attributes: {},
    });
    // Only spaces: no id at all, refused under its key.
    expect(problems(() => compileConfig({ destinations: [erp], assets: { inline: [{ ...asset, erpAssetId: '  ' }] } }, {})).map((p) => p.key)).toEqual(['assets.inline.0.erpAssetId']);
  });

  it('an unknown time zone of a telematics schedule is found when the config is compiled', () => {
    const feed = { name: 'tu', vendor: 'trackunit', auth: { type: 'bearer', token: 'feed-token' }, schedule: { timeZone: 'Mars/Olympus' } };
    expect(problems(() => compileConfig({ destinations: [erp], telematics: [feed] }, {}))).toEqual([
      { key: 'telematics.0.schedule.timeZone', message: '"Mars/Olympus" is not a known IANA time zone; use e.g. UTC, Europe/Berlin, America/New_York' },
    ]);
  });
});

describe('the default destination', () => {
  it('is defaultDestination when given, else the first destination', () => {
    const two = [erp, { ...erp, name: 'sap' }];
    expect(defaultDestinationOf(compileConfig({ destinations: two }, {}))).toBe('erp');
    expect(defaultDestinationOf(compileConfig({ destinations: two, defaultDestination: 'sap' }, {}))).toBe('sap');
  });
});

describe('file paths in a config file', () => {
  it('capture.dir and the MQTT sources\' certFile and keyFile are beside the config file, as the reference says', () => {
    // Mutations: capture.dir, certFile and keyFile left relative to the working directory.
    const dir = tempDir();
    const yaml = [
      'destinations: [{ name: erp, type: rest, baseUrl: "http://127.0.0.1:4010" }]',
      'capture: { dir: capture }',
      'sources: { mqtt: [{ name: tags, url: "mqtts://127.0.0.1:8883", topics: [{ filter: "t/#", decoder: { assetId: { path: tagId } } }], certFile: certs/client.pem, keyFile: certs/client.key }] }',
    ].join('\n');
    writeFileSync(join(dir, 'assetbridge.yaml'), yaml);
    const c = loadConfigFile(join(dir, 'assetbridge.yaml'), {});
    expect(c.capture?.dir).toBe(join(dir, 'capture'));
    expect(c.sources.mqtt[0]?.certFile).toBe(join(dir, 'certs', 'client.pem'));
    expect(c.sources.mqtt[0]?.keyFile).toBe(join(dir, 'certs', 'client.key'));
  });
});
