import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compileConfig, loadConfigFile } from './load.js';
import { ConfigError } from '../core/errors/errors.js';

const minimal = { destinations: [{ name: 'erp', type: 'rest', baseUrl: 'http://127.0.0.1:4010', token: '${ERP_TOKEN}' }] };

function problems(fn: () => unknown): { key: string; message: string; line?: number }[] {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return [...err.problems];
    throw err;
  }
  throw new Error('expected a ConfigError');
}

/** A refused config's problems, and apart from them the secrets it could not resolve (`unresolvedSecrets`). */
function refused(fn: () => unknown): { problems: ConfigError['problems']; secrets: ConfigError['unresolvedSecrets']; message: string } {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return { problems: err.problems, secrets: err.unresolvedSecrets, message: err.message };
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

  it('freezes zone shapes down to their rings, not each position (a million of them in a large zones file took seconds)', () => {
    const square = [[13.4, 52.5], [13.41, 52.5], [13.41, 52.51], [13.4, 52.51]];
    const c = compileConfig({ ...minimal, rules: { zones: { inline: [{ name: 'yard', locationCode: 'Y', polygon: square }, { name: 'gate', locationCode: 'G', circle: { lat: 52.5, lng: 13.4, radiusM: 5 } }] } } }, { ERP_TOKEN: 't' });
    const [yard, gate] = c.rules.zones?.zones ?? [];
    const ring = yard?.shape.type === 'polygon' ? yard.shape.polygons[0]?.[0] : undefined;
    expect(Object.isFrozen(ring)).toBe(true);
    expect(Object.isFrozen(yard?.shape)).toBe(true);
    expect(Object.isFrozen(gate?.shape)).toBe(true);
    // Read-only by type; deepFreeze no longer walks into them.
    expect(Object.isFrozen(ring?.[0])).toBe(false);
  });

  it('refuses an MQTT password without a username (the connection is dropped before it is made, silently), naming the key', () => {
    const mqtt = { name: 'yard', url: 'mqtt://127.0.0.1:1883', topics: [{ filter: 'fleet/+/t', decoder: { assetId: { path: 'tagId' } } }] };
    expect(problems(() => compileConfig({ ...minimal, sources: { mqtt: [{ ...mqtt, password: '${MQTT_PASSWORD}' }] } }, { ERP_TOKEN: 't', MQTT_PASSWORD: 'secret-pw' }))).toEqual([
      { key: 'sources.mqtt.0.password', message: expect.stringMatching(/^is set without username: .*set username as well/) },
    ]);
    // Also while the secret is not set where the command runs (it is deferred, not dropped), with that said too.
    expect(refused(() => compileConfig({ ...minimal, sources: { mqtt: [{ ...mqtt, password: '${MQTT_PASSWORD}' }] } }, { ERP_TOKEN: 't' }, undefined, { deferSecrets: true }))).toMatchObject({
      problems: [{ key: 'sources.mqtt.0.password', message: expect.stringMatching(/^is set without username: /) }],
      secrets: [{ key: 'sources.mqtt.0.password', message: expect.stringMatching(/^environment variable MQTT_PASSWORD is not set .*; set it where the service runs: /) }],
    });
    expect(compileConfig({ ...minimal, sources: { mqtt: [{ ...mqtt, username: 'ab', password: 'secret-pw' }] } }, { ERP_TOKEN: 't' }).sources.mqtt[0]?.username).toBe('ab');
  });

  it('takes a work-order poll\'s page cap and sort parameter; refuses a sort parameter the connector sets itself, naming the key', () => {
    const d = compileConfig({ destinations: [{ ...minimal.destinations[0], maxWorkOrderPages: 5, workOrderOrder: { param: '$orderby', value: 'ChangedDateTime asc' } }] }, { ERP_TOKEN: 't' }).destinations[0];
    expect(d).toMatchObject({ maxWorkOrderPages: 5, workOrderOrder: { param: '$orderby', value: 'ChangedDateTime asc' } });
    const p = problems(() => compileConfig({ destinations: [{ ...minimal.destinations[0], maxWorkOrderPages: 0, workOrderOrder: { param: 'updatedSince', value: 'asc' } }] }, { ERP_TOKEN: 't' }));
    expect(p.map((x) => x.key)).toEqual(['destinations.0.maxWorkOrderPages', 'destinations.0.workOrderOrder.param']);
    expect(p[1]?.message).toBe('"updatedSince" is a parameter the connector sets itself: name the ERP\'s sort parameter, e.g. $orderby or sort');
  });

  it('refuses a request timeout too short for any answer, as digits alone (milliseconds) meant for seconds give', () => {
    const p = problems(() =>
      compileConfig({ destinations: [{ ...minimal.destinations[0], timeoutMs: 5 }], telematics: [{ name: 'tu', vendor: 'trackunit', auth: { type: 'bearer', token: 'x' }, timeout: 60 }] }, { ERP_TOKEN: 't' }),
    );
    expect(p).toEqual([
      { key: 'destinations.0.timeoutMs', message: '5ms is too short for an answer to arrive: every request would time out; give seconds, e.g. 15s (digits alone are milliseconds: write 5s, not 5)' },
      { key: 'telematics.0.timeout', message: '60ms is too short for an answer to arrive: every request would time out; give seconds, e.g. 60s (digits alone are milliseconds: write 60s, not 60)' },
    ]);
    const c = compileConfig({ destinations: [{ ...minimal.destinations[0], timeoutMs: '5s' }], telematics: [{ name: 'tu', vendor: 'trackunit', auth: { type: 'bearer', token: 'x' }, timeout: 500 }] }, { ERP_TOKEN: 't' });
    expect(c.destinations[0]?.timeoutMs).toBe(5000);
    expect(c.telematics[0]?.timeout).toBe(500);
  });

  it('refuses a timer duration beyond 24.8 days (Node cuts a longer timer to 1 ms: a 30d timeout timed out every request at once), naming each key', () => {
    const mqtt = { name: 'yard', url: 'mqtt://127.0.0.1:1883', topics: [{ filter: 't/#', decoder: { assetId: { path: 'tag' } } }] };
    const auth = { type: 'oauth2-client-credentials', tokenUrl: 'https://auth.example.com/t', clientId: 'c', clientSecret: 's', timeoutMs: '25d' };
    const p = problems(() =>
      compileConfig(
        {
          destinations: [{ ...minimal.destinations[0], timeoutMs: '30d' }, { name: 'b', type: 'rest', baseUrl: 'https://b.example.com', auth }],
          sources: { mqtt: [{ ...mqtt, reconnectDelayMs: '25d' }] },
          telematics: [{ name: 'tu', vendor: 'trackunit', auth: { type: 'bearer', token: 'x' }, timeout: '30d' }],
          ingest: { maxWaitMs: 2 ** 31, checkpointMs: '100d' },
          shutdown: { graceMs: '25d' },
        },
        { ERP_TOKEN: 't' },
      ),
    );
    expect(p.map((x) => x.key).sort()).toEqual(
      [
        'destinations.0.timeoutMs',
        'destinations.1.auth.timeoutMs',
        'sources.mqtt.0.reconnectDelayMs',
        'telematics.0.timeout',
        'ingest.maxWaitMs',
        'ingest.checkpointMs',
        'shutdown.graceMs',
      ].sort(),
    );
    expect(p.find((x) => x.key === 'destinations.0.timeoutMs')?.message).toBe(
      '30d is too long: a timer waits at most 24.8 days (2147483647 ms), and a longer one would end at once (after 1 ms); give at most 24d, e.g. 15s',
    );
    // 24 days is still a wait a timer takes; durations that are no timer (retention, a retry's age) stay unbounded.
    const c = compileConfig(
      { destinations: [{ ...minimal.destinations[0], timeoutMs: '24d', retry: { maxAgeMs: '60d' } }], shutdown: { graceMs: 2 ** 31 - 1 }, store: { retention: { audit: '365d' } } },
      { ERP_TOKEN: 't' },
    );
    expect(c.destinations[0]?.timeoutMs).toBe(24 * 86_400_000);
    expect(c.shutdown.graceMs).toBe(2 ** 31 - 1);
    expect(c.store.retention.audit).toBe(365 * 86_400_000);
  });

  it('says a config file that is empty or only comments is empty, not that a key is missing', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ab-cfg-'));
    for (const [name, text] of [['empty.yaml', ''], ['comments.yaml', '# store:\n#   path: ./data/ab.db\n']] as const) {
      writeFileSync(join(dir, name), text);
      expect(problems(() => loadConfigFile(join(dir, name), {}))).toEqual([
        { key: '(file)', message: `${join(dir, name)} is empty (or holds only comments): a config needs at least destinations; start from examples/assetbridge.yaml (docs/configuration.md is the reference)` },
      ]);
    }
  });

  it('reads secrets from NAME_FILE', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ab-cfg-'));
    writeFileSync(join(dir, 'token'), 'from-file\n');
    const c = compileConfig(minimal, { ERP_TOKEN_FILE: join(dir, 'token') });
    expect(c.destinations[0]?.type === 'rest' && c.destinations[0].token).toBe('from-file');
  });

  it('refuses a bearer token no header can carry (a line break within it; the intake token also with white space at an end), naming the key, never the value', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ab-cfg-'));
    writeFileSync(join(dir, 'two-lines'), 'first-half-SECRET\nsecond-half-SECRET\n');
    writeFileSync(join(dir, 'trailing-space'), 'intake-SECRET-token \n');
    writeFileSync(join(dir, 'blank-line-after'), 'erp-SECRET-token\n\n');
    const env = { TWO_FILE: join(dir, 'two-lines'), SPACE_FILE: join(dir, 'trailing-space'), BLANK_FILE: join(dir, 'blank-line-after') };
    const config = {
      destinations: [
        { ...minimal.destinations[0], token: '${TWO}' },
        { name: 'b', type: 'rest', baseUrl: 'https://b.example.com', auth: { type: 'bearer', token: '${TWO}' } },
      ],
      sources: { http: { token: '${SPACE}' } },
      telematics: [{ name: 'tu', vendor: 'trackunit', auth: { type: 'bearer', token: '${TWO}' } }],
    };
    const p = problems(() => compileConfig(config, env));
    expect(p.map((x) => x.key)).toEqual(['sources.http.token', 'destinations.0.token', 'destinations.1.auth.token', 'telematics.0.auth.token']);
    expect(p[1]?.message).toBe(
      'holds a line break (the value is not shown): a request header is one line, so every request would fail; give the credential on one line (a file named by NAME_FILE holds the credential alone) (the value of TWO_FILE)',
    );
    expect(p[0]?.message).toMatch(/^holds what no Authorization header carries as written \(white space at its start or end, which HTTP drops;.*so every POST and webhook push would be refused 401/);
    expect(JSON.stringify(p)).not.toMatch(/SECRET/);
    // Where secrets are deferred (config check), each loads unresolved, for the commands that connect to refuse.
    expect(compileConfig(config, env, undefined, { deferSecrets: true }).destinations).toHaveLength(2);
    // A blank line after a destination's token is dropped as the header is sent: still taken.
    const c = compileConfig({ destinations: [{ ...minimal.destinations[0], token: '${BLANK}' }], sources: { http: { token: 'intake-token' } } }, env);
    expect(c.destinations[0]?.type === 'rest' && c.destinations[0].token).toBe('erp-SECRET-token\n');
  });

  it('names the key of a missing variable', () => {
    expect(problems(() => compileConfig(minimal, {}))).toEqual([
      { key: 'destinations.0.token', message: 'environment variable ERP_TOKEN is not set (set ERP_TOKEN or ERP_TOKEN_FILE)' },
    ]);
  });

  // Was also `destinations.0.oauth2.clientSecret: environment variable SEC is not set` beside the unknown key: moot there.
  it('says only the unknown key, not the variables written under it', () => {
    const config = { destinations: [{ ...minimal.destinations[0], oauth2: { clientSecret: '${SEC}', tokenUrl: 'x${URL_VAR}' } }] };
    for (const deferSecrets of [false, true])
      expect(problems(() => compileConfig(config, { ERP_TOKEN: 'erp-token' }, undefined, { deferSecrets }))).toEqual([{ key: 'destinations.0.oauth2', message: 'unknown key: did you mean auth?' }]);
    // A variable beside the unknown key, not under it, is still said.
    const beside = { destinations: [{ ...minimal.destinations[0], oauth2: {} }] };
    expect(problems(() => compileConfig(beside, {})).map((p) => p.key)).toEqual(['destinations.0.token', 'destinations.0.oauth2']);
  });

  // Were said only once the schema's problems were fixed: a second `config check` with new problems.
  it('says the checks across entries with the schema problems, on what was given', () => {
    const erp = { name: 'erp', type: 'rest', baseUrl: 'http://127.0.0.1:4010' };
    const source = (name: string) => ({ name, url: 'mqtt://127.0.0.1:1883', topics: [{ filter: `${name}/#`, decoder: { assetId: { path: 'tag' } } }] });
    const config = {
      stor: {},
      destinations: [erp, { ...erp, baseUrl: 'http://127.0.0.1:4011' }, { type: 'rest', baseUrl: 'http://127.0.0.1:4012' }],
      assets: { inline: [{ erpAssetId: 'EQ-1', identifiers: [{ type: 'tag', value: 't1' }], destination: 'sap' }] },
      sources: { mqtt: [source('yard'), source('yard')] },
      telematics: [
        { name: 'tu', vendor: 'trackunit', auth: { type: 'bearer', token: 'feed-token' } },
        { name: 'tu', vendor: 'trackunit', auth: { type: 'bearer', token: 'feed-token' }, schedule: { timeZone: 'Europe/Berln' } },
      ],
    };
    const p = problems(() => compileConfig(config, {}));
    expect(p).toContainEqual({ key: 'stor', message: 'unknown key: did you mean store?' });
    expect(p).toContainEqual({ key: 'destinations.1.name', message: 'duplicate destination name "erp" (destinations.0 has it too): give each destination its own name; the outbox keys its deliveries and dead letters by it, and defaultDestination and an asset\'s destination pick it by it' });
    expect(p).toContainEqual({ key: 'sources.mqtt.1.name', message: 'duplicate source name "yard" (sources.mqtt.0 has it too): give each source its own name; it keys the topic mappings its messages are decoded by, and names them (source "mqtt:yard") in quarantine, status and metrics' });
    // The telematics checks, as on a valid config (one check, said once): the name used twice and the time zone the runtime does not know.
    expect(p.filter((x) => x.key.startsWith('telematics.'))).toEqual([
      { key: 'telematics.1.name', message: 'duplicate telematics provider name "tu" (telematics.0 has it too): give each provider its own name; it keys the provider\'s request budget, pull cursor and review list in the store' },
      { key: 'telematics.1.schedule.timeZone', message: '"Europe/Berln" is not a known IANA time zone; use e.g. UTC, Europe/Berlin, America/New_York (did you mean Europe/Berlin?)' },
    ]);
    // destinations.2 has no name: which destination "sap" was meant to be cannot be told, so that is not said.
    expect(p.map((x) => x.key)).not.toContain('assets.inline.0.destination');
    // With every destination named, an unknown one is said beside the schema's problems.
    const named = { ...config, destinations: config.destinations.slice(0, 2) };
    expect(problems(() => compileConfig(named, {}))).toContainEqual({ key: 'assets.inline.0.destination', message: 'no destination named "sap"; configured: erp' });
    // Not again at a key the schema refuses already.
    const badName = { stor: {}, destinations: [erp, { ...erp, name: 'erp', baseUrl: 'not a url' }, { ...erp, name: 5 }] };
    expect(problems(() => compileConfig(badName, {})).filter((x) => x.key === 'destinations.2.name')).toHaveLength(1);
  });

  // Was said only by the service's start (and config check) once the schema's problems were fixed: a second round of fixes.
  it('says an identifier given to two inline assets with the schema problems, at the identifier', () => {
    const erp = { name: 'erp', type: 'rest', baseUrl: 'http://127.0.0.1:4010' };
    const inline = [
      { erpAssetId: 'EQ-1', identifiers: [{ type: 'tag', value: 'tag-1' }] },
      { erpAssetId: 'EQ-2', identifiers: [{ type: 'serial', value: 'S-2' }, { type: 'tag', value: ' TAG-1 ' }] },
      // Another type of the same value names another identifier: not said.
      { erpAssetId: 'EQ-3', identifiers: [{ type: 'serial', value: 'tag-1' }] },
    ];
    const expected = { key: 'assets.inline.1.identifiers.1', message: 'tag "TAG-1" is given to asset EQ-2 here but to EQ-1 in assets.inline.0.identifiers.0; an identifier can name only one asset: remove it from the one it does not name' };
    const p = problems(() => compileConfig({ destinations: [erp], stor: {}, assets: { inline } }, {}));
    expect(p).toContainEqual({ key: 'stor', message: 'unknown key: did you mean store?' });
    expect(p.filter((x) => x.key.startsWith('assets.'))).toEqual([expected]);
    // And on a config the schema takes, as the one problem.
    expect(problems(() => compileConfig({ destinations: [erp], assets: { inline } }, {}))).toEqual([expected]);
  });

  it('takes rules.meters (meter sync on for every asset when absent) and names its key at a value it refuses', () => {
    expect(compileConfig(minimal, { ERP_TOKEN: 'x' }).rules.meters).toEqual({ enabled: true });
    expect(compileConfig({ ...minimal, rules: { meters: { enabled: false, appliesTo: { attributes: { fleet: 'own' } } } } }, { ERP_TOKEN: 'x' }).rules.meters).toEqual({ enabled: false, appliesTo: { attributes: { fleet: ['own'] } } });
    const bad = (meters: unknown) => problems(() => compileConfig({ ...minimal, rules: { meters } }, { ERP_TOKEN: 'x' })).map((p) => [p.key, p.message]);
    expect(bad({ enabled: 'no' })).toEqual([['rules.meters.enabled', '"no" is text: use true or false']]);
    expect(bad({ enable: false })).toEqual([['rules.meters.enable', 'unknown key: did you mean enabled?']]);
    expect(bad(false)).toEqual([['rules.meters', 'false is a boolean: rules.meters is a mapping; write meters: { enabled: false }']]);
    expect(bad({ appliesTo: { site: 'BER' } })).toEqual([['rules.meters.appliesTo.site', expect.stringContaining('write appliesTo: { attributes: { site: BER } }')]]);
    expect(bad({ appliesTo: { erpModules: [] } })).toEqual([['rules.meters.appliesTo.erpModules', expect.stringContaining('the list is empty')]]);
  });

  // Were said only once every value of the rules section passed: a duplicate rule name after an unrelated typo in another rule was fixed.
  it("says the rules section's checks across entries beside a value the schema refuses in that section, each once", () => {
    const circle = { lat: 52.5, lng: 13.4, radiusM: 50 };
    const rules = {
      allowedLateness: '1h',
      inventory: { freshness: '30m' },
      zones: { inline: [{ name: 'yard', locationCode: 'Y', circle }, { name: ' yard', locationCode: 'Y2', circle }, { name: 'gate', locationCode: 'G', circle, priority: 'high' }] },
      maintenance: {
        thresholds: [
          { name: 'hot', sensor: 'engineTemp', above: 95, unit: '°C' },
          { name: 'cold', sensor: 'engineTemp', below: 'zero' },
          { name: 'hot', sensor: 'engineTemp', above: 120, unit: 'bar' },
        ],
        alerts: [{ name: 'cold' }],
      },
    };
    const expected = [
      { key: 'rules.zones.inline.2.priority', message: '"high" is text: use a number' },
      { key: 'rules.maintenance.thresholds.1.below', message: '"zero" is text: use a number' },
      { key: 'rules.maintenance.thresholds.2.name', message: 'rule name "hot" is used twice (rules.maintenance.thresholds.0 has it too): give each rule its own name; it identifies the rule\'s work orders (in their business keys), so the work orders of two rules of one name would be taken for each other\'s' },
      { key: 'rules.maintenance.alerts.0.name', message: 'rule name "cold" is used twice (rules.maintenance.thresholds.1 has it too): give each rule its own name; it identifies the rule\'s work orders (in their business keys), so the work orders of two rules of one name would be taken for each other\'s' },
      {
        key: 'rules.maintenance.thresholds.2.unit',
        message:
          'sensor engineTemp is compared in "°C" by rule hot (rules.maintenance.thresholds.0.unit) but in "bar" by rule hot here, and both apply to every asset: ' +
          "a reading is converted to one unit per asset, so give these rules the same unit (convert this rule's above/below), or appliesTo that no asset matches both of (rules on one sensor may give different units for different assets)",
      },
      {
        key: 'rules.zones.inline.1.name',
        message: 'zone "yard" is defined more than once (inline or in files), first in rules.zones.inline.0; names must be unique across files and inline: rename one (zones may share a location code)',
      },
      {
        key: 'rules.inventory.freshness',
        message: '30m is not longer than rules.allowedLateness (1h): a sighting is decided only after the lateness, so no item would ever count; give the longest an item may go unseen and still count, e.g. 24h',
      },
    ];
    expect(problems(() => compileConfig({ ...minimal, rules }, { ERP_TOKEN: 't' }))).toEqual(expected);
    // With every value of the section fixed, the section's own checks say the same, once each, on a config that is otherwise valid or not.
    const fixed = {
      ...rules,
      zones: { inline: rules.zones.inline.map((z) => (z.priority === undefined ? z : { ...z, priority: 2 })) },
      maintenance: { ...rules.maintenance, thresholds: rules.maintenance.thresholds.map((t) => (t.below === undefined ? t : { ...t, below: 0 })) },
    };
    const across = expected.slice(2);
    const sorted = (list: readonly { key: string }[]) => [...list].sort((a, b) => a.key.localeCompare(b.key));
    expect(sorted(problems(() => compileConfig({ ...minimal, rules: fixed }, { ERP_TOKEN: 't' })))).toEqual(sorted(across));
    expect(sorted(problems(() => compileConfig({ ...minimal, stor: {}, rules: fixed }, { ERP_TOKEN: 't' })))).toEqual(sorted([{ key: 'stor', message: 'unknown key: did you mean store?' }, ...across]));
    // On what was given, as on the parsed section: rules in different units for assets no one asset is
    // among both of (group EU, group US) are fine, whether appliesTo's value is a list or one text.
    const perGroup = (us: unknown) => ({
      maintenance: {
        thresholds: [
          { name: 'hot-eu', sensor: 'engineTemp', above: 95, unit: '°C', appliesTo: { attributes: { group: ['EU'] } } },
          { name: 'hot-us', sensor: 'engineTemp', above: 203, unit: '°F', appliesTo: us },
          { name: 'cold', sensor: 'engineTemp', below: 'zero' },
        ],
      },
    });
    const unitKeys = (us: unknown) => problems(() => compileConfig({ ...minimal, rules: perGroup(us) }, { ERP_TOKEN: 't' })).map((x) => x.key);
    expect(unitKeys({ attributes: { group: 'US' } })).toEqual(['rules.maintenance.thresholds.2.below']);
    expect(unitKeys({ attributes: { group: ['US', 'EU'] } })).toEqual(['rules.maintenance.thresholds.2.below', 'rules.maintenance.thresholds.1.unit']);
    expect(unitKeys(undefined)).toEqual(['rules.maintenance.thresholds.2.below', 'rules.maintenance.thresholds.1.unit']);
    // A rule or zone whose name is not text is passed over (its name is what the schema says is wrong), not taken for one.
    const unnamed = { maintenance: { thresholds: [{ name: 5, sensor: 's', above: 1 }, { name: 5, sensor: 's', above: 1 }] }, zones: { inline: [{ name: null, locationCode: 'Y', circle }, { name: null, locationCode: 'Y', circle }] } };
    expect(problems(() => compileConfig({ ...minimal, rules: unnamed }, { ERP_TOKEN: 't' })).map((p) => p.key)).toEqual([
      'rules.zones.inline.0.name',
      'rules.zones.inline.1.name',
      'rules.maintenance.thresholds.0.name',
      'rules.maintenance.thresholds.1.name',
    ]);
  });

  it('refuses a credential written as a shell variable ($ERP_TOKEN), which would be sent as written, without echoing it', () => {
    const shell = { destinations: [{ ...minimal.destinations[0], token: '$ERP_TOKEN', headers: { 'X-Key': '$API_KEY' } }] };
    const p = problems(() => compileConfig(shell, { ERP_TOKEN: 't', API_KEY: 'k' }));
    expect(p.map((x) => x.key)).toEqual(['destinations.0.token', 'destinations.0.headers.X-Key']);
    expect(p[0]?.message).toMatch(/^the value given looks like a shell variable \(\$NAME\), but only \$\{NAME\}, with braces, is read from the environment/);
    expect(p.map((x) => x.message).join('\n')).not.toMatch(/ERP_TOKEN|API_KEY/);
    // Also where secrets are deferred (config check without them): refused, not left for the first 401.
    expect(problems(() => compileConfig(shell, {}, undefined, { deferSecrets: true })).map((x) => x.key)).toEqual(['destinations.0.token', 'destinations.0.headers.X-Key']);
    // Only a credential's whole value: an OData parameter is not one.
    const odata = compileConfig({ destinations: [{ ...minimal.destinations[0], workOrderOrder: { param: '$orderby', value: 'ChangedDateTime asc' } }] }, { ERP_TOKEN: 't' });
    expect(odata.destinations[0]).toMatchObject({ workOrderOrder: { param: '$orderby' } });
  });

  it('reports a missing variable together with the other problems, and not again as an empty value', () => {
    const p = problems(() => compileConfig({ ...minimal, ingest: { maxBatch: 0 } }, {}));
    expect(p.map((x) => x.key)).toEqual(['destinations.0.token', 'ingest.maxBatch']);
  });

  // Load defers a secret it cannot resolve (for the commands that do not connect), and a config the schema refused said only the schema's problems: the secret was news a run later.
  it('says a secret that cannot be resolved beside the problems of a config the schema refuses, as config check says it on a valid one, never its value', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ab-secrets-'));
    const config = {
      destinations: [
        { ...minimal.destinations[0], headers: { 'X-Api-Key': '${ERP_KEY}' } },
        { name: 'b', type: 'rest', baseUrl: 'http://127.0.0.1:4011', token: '${B_TOKEN}', auth: { type: 'bearer', token: '${B_TOKEN}' } },
      ],
      sources: { http: { token: '${INTAKE_TOKEN}' } },
      telematics: [{ name: 'tu', vendor: 'trackunit', auth: { type: 'bearer', token: '${TU_TOKEN}' } }],
      ingest: { maxBatch: 0 },
    };
    const env = { ERP_KEY: 'erp-Key-4471', ERP_KEY_FILE: join(dir, 'key'), INTAKE_TOKEN_FILE: join(dir, 'no-such-file'), B_TOKEN: 'b-Token-4471' };
    const r = refused(() => compileConfig(config, env, undefined, { deferSecrets: true }));
    // What makes the config invalid, and apart from it (after it), the secrets also needed before the service starts.
    expect(r.problems).toEqual([
      { key: 'ingest.maxBatch', message: '0 is too small: use a whole number of at least 1' },
      { key: 'destinations.1.auth', message: expect.stringMatching(/^set either `token` or `auth`, not both/) },
    ]);
    expect(r.secrets).toEqual([
      { key: 'destinations.0.token', message: "environment variable ERP_TOKEN is not set (set ERP_TOKEN or ERP_TOKEN_FILE); set it where the service runs: 'assetbridge run' and 'config check --connect' refuse to start without it" },
      {
        key: 'destinations.0.headers.X-Api-Key',
        message: `both ERP_KEY and ERP_KEY_FILE are set: set only one (ERP_KEY to the value itself, or ERP_KEY_FILE to the path of a file holding it); 'assetbridge run' and 'config check --connect' refuse to start until that is fixed`,
      },
      { key: 'sources.http.token', message: expect.stringMatching(/^cannot read \S*no-such-file, the file INTAKE_TOKEN_FILE names \(it does not exist\): .*; 'assetbridge run' \(its HTTP intake\) refuses to start until that is fixed$/) },
      { key: 'telematics.0.auth.token', message: "environment variable TU_TOKEN is not set (set TU_TOKEN or TU_TOKEN_FILE); set it where the service runs: 'assetbridge run', 'config check --connect' and 'aemp pull', 'backfill' and 'equipment' refuse to start without it" },
    ]);
    const lines = r.message.split('\n');
    expect(lines.slice(0, 3)).toEqual(['Invalid configuration:', '  - ingest.maxBatch: 0 is too small: use a whole number of at least 1', expect.stringMatching(/^ {2}- destinations\.1\.auth: set either/)]);
    expect(lines[3]).toBe('also needed before the service starts (not why the configuration is invalid): these secrets are not set or cannot be read where this runs:');
    expect(lines.slice(4).map((l) => l.replace(/:.*/, ''))).toEqual(['  - destinations.0.token', '  - destinations.0.headers.X-Api-Key', '  - sources.http.token', '  - telematics.0.auth.token']);
    expect(JSON.stringify(r)).not.toMatch(/4471/);
    // Without deferring (every secret is needed here), each is refused as it was, once, among the problems.
    expect(problems(() => compileConfig(config, env)).map((x) => x.key)).toEqual(['destinations.0.token', 'destinations.0.headers.X-Api-Key', 'sources.http.token', 'telematics.0.auth.token', 'ingest.maxBatch', 'destinations.1.auth']);
    expect(refused(() => compileConfig(config, env)).secrets).toEqual([]);
    // On a config the schema takes, they load deferred, as before: for the commands that connect to refuse.
    const { ingest: _refused, ...valid } = config;
    const loaded = compileConfig({ ...valid, destinations: [config.destinations[0]] }, env, undefined, { deferSecrets: true });
    expect(() => loaded.destinations[0]?.type === 'rest' && loaded.destinations[0].token).toThrow(/ERP_TOKEN is not set/);
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
    // A boolean from a ${NAME} too: "use true or false" would tell to write what the variable gave.
    expect(problems(() => compileConfig({ ...minimal, store: { commitInWorker: '${IN_WORKER}' }, rules: { location: { enabled: 'true' } } }, { ERP_TOKEN: 'x', IN_WORKER: 'false' }))).toEqual([
      { key: 'store.commitInWorker', message: '"false" is text: a ${NAME} reference always gives text, so true or false must be written in the file' },
      { key: 'rules.location.enabled', message: '"true" is text: use true or false (write it without quotes)' },
    ]);
    expect(problems(() => compileConfig({}, {}))).toEqual([{ key: 'destinations', message: 'missing: this key is required; give a list (one "- " item per line, or [a, b])' }]);
    expect(problems(() => compileConfig({ destinations: [{ name: 'erp', type: 'rest' }] }, {}))).toEqual([{ key: 'destinations.0.baseUrl', message: 'missing: this key is required; give text' }]);
    expect(problems(() => compileConfig({ ...minimal, store: { zzz: 1 } }, { ERP_TOKEN: 'x' }))[0]?.message).toMatch(/^unknown key; known here: .*path/);
    // A key of another type of a union by `type`: whose it is, never "did you mean" the key itself.
    const rest = { name: 'erp', type: 'rest', baseUrl: 'http://127.0.0.1:4010' };
    expect(problems(() => compileConfig({ destinations: [{ ...rest, auth: { type: 'bearer', token: 'abcdefgh', tokenUrl: 'https://a/b' } }] }, {}))).toEqual([
      { key: 'destinations.0.auth.tokenUrl', message: "unknown key: tokenUrl belongs to auth.type oauth2-client-credentials, not bearer; remove it, or set type: oauth2-client-credentials (with that type's keys)" },
    ]);
    expect(problems(() => compileConfig({ destinations: [{ ...rest, auth: { type: 'oauth2-client-credentials', tokenUrl: 'https://a/b', clientId: 'x', clientSecret: 'y', token: 'abc' } }] }, {}))).toEqual([
      { key: 'destinations.0.auth.token', message: "unknown key: token belongs to auth.type bearer, not oauth2-client-credentials; remove it, or set type: bearer (with that type's keys)" },
    ]);
    // One letter off a key of the type given: that key first (trackunit-token-v2 takes `scopes`, a list; `scope` is the other types').
    const tu = { name: 'tu', vendor: 'trackunit', auth: { type: 'trackunit-token-v2', clientId: 'id', clientSecret: 'cs', scope: 'aemp.view' } };
    expect(problems(() => compileConfig({ destinations: [rest], telematics: [tu] }, {}))).toEqual([
      {
        key: 'telematics.0.auth.scope',
        message:
          "unknown key: did you mean scopes? scope belongs to auth.type trackunit-password, oauth2-client-credentials or oauth2-password, not trackunit-token-v2; remove it, or set type to one of those (with that type's keys)",
      },
    ]);
    // A typo within the type's own keys is still a "did you mean", among that type's keys only.
    expect(problems(() => compileConfig({ destinations: [{ ...rest, auth: { type: 'bearer', tokn: 'abcdefgh' } }] }, {}))).toContainEqual({ key: 'destinations.0.auth.tokn', message: 'unknown key: did you mean token?' });
  });

  describe('a value the schema refuses is echoed with what is allowed, never in the library\'s default words', () => {
    const erp = { name: 'erp', type: 'rest', baseUrl: 'http://127.0.0.1:4010' };
    const one = (config: Record<string, unknown>) => problems(() => compileConfig({ destinations: [erp], ...config }, {}));

    it('an option not in the list: the value given, the allowed ones, and the likely meant one', () => {
      expect(one({ store: { synchronous: 'ful' } })).toEqual([{ key: 'store.synchronous', message: '"ful" is not allowed here: use full or normal (did you mean full?)' }]);
      expect(one({ log: { level: 'verbose' } })).toEqual([{ key: 'log.level', message: '"verbose" is not allowed here: use one of fatal, error, warn, info, debug, trace, silent' }]);
    });

    it('a type no schema branch takes: the type given, the types this version supports, and for an ERP what to use instead', () => {
      expect(problems(() => compileConfig({ destinations: [{ ...erp, type: 'sap' }] }, {}))).toEqual([
        {
          key: 'destinations.0.type',
          message:
            '"sap" is not allowed here: use rest. This version has one ERP connector, the generic REST one (type: rest): point baseUrl and paths at the ERP\'s REST API or a middleware in front of it; SAP, Dynamics 365, Oracle and NetSuite connectors are planned (docs/adding-a-connector.md)',
        },
      ]);
      expect(one({ telematics: [{ name: 't', auth: { type: 'apikey', token: 'x' } }] })).toEqual([
        { key: 'telematics.0.auth.type', message: '"apikey" is not allowed here: use one of trackunit-password, trackunit-token-v2, oauth2-client-credentials, oauth2-password, bearer, basic' },
      ]);
      expect(one({ telematics: [{ name: 't', auth: { token: 'x' } }] })).toEqual([
        { key: 'telematics.0.auth.type', message: 'missing: this key is required (one of trackunit-password, trackunit-token-v2, oauth2-client-credentials, oauth2-password, bearer, basic)' },
      ]);
    });

    it('a number out of range: the number given and the whole range allowed', () => {
      expect(one({ server: { port: 70000 } })).toEqual([{ key: 'server.port', message: '70000 is too large: use a whole number from 0 to 65535' }]);
      expect(one({ ingest: { maxBatch: 0 } })).toEqual([{ key: 'ingest.maxBatch', message: '0 is too small: use a whole number of at least 1' }]);
      expect(one({ store: { cacheMiB: -1 } })).toEqual([{ key: 'store.cacheMiB', message: '-1 is too small: use a number above 0 and at most 4096' }]);
      expect(one({ ingest: { maxBatch: 1.5 } })).toEqual([{ key: 'ingest.maxBatch', message: '1.5 is not a whole number: use a whole number of at least 1' }]);
    });

    it('a value of the wrong type: what was given and what to write instead', () => {
      expect(one({ server: { port: 'abc' } })).toEqual([{ key: 'server.port', message: '"abc" is text: use a whole number from 0 to 65535' }]);
      expect(one({ server: { port: '8080' } })).toEqual([{ key: 'server.port', message: '"8080" is text: use a whole number from 0 to 65535 (write it without quotes)' }]);
      expect(one({ store: { commitInWorker: 'yes' } })).toEqual([{ key: 'store.commitInWorker', message: '"yes" is text: use true or false' }]);
      expect(problems(() => compileConfig({ destinations: erp }, {}))).toEqual([{ key: 'destinations', message: 'a mapping was given: use a list (one "- " item per line, or [a, b])' }]);
      expect(one({ ingest: { maxWaitMs: true } })).toEqual([{ key: 'ingest.maxWaitMs', message: 'true is not a duration; write e.g. 30s, 5m, 1h or a number of milliseconds' }]);
    });

    it('a time-series element the parser reads nothing from: its key, the likely meant one and the known ones', () => {
      const elements = (list: string[]) => one({ telematics: [{ name: 't', auth: { type: 'bearer', token: 'x' }, timeSeries: { elements: list } }] });
      const known = 'known: Locations, CumulativeOperatingHours, CumulativeIdleHours, Distance, LocationMetadata, ';
      const typo = elements(['Locations', 'Distance', 'CumulativeOperatingHour']);
      expect(typo).toEqual([{ key: 'telematics.0.timeSeries.elements.2', message: expect.stringContaining('"CumulativeOperatingHour" is not a data element assetbridge reads: did you mean CumulativeOperatingHours? (') }]);
      expect(typo[0]?.message).toContain(known);
      expect(typo[0]?.message).toMatch(/FaultCode\); it would spend a request per machine and store nothing$/);
      expect(elements(['Bogus'])).toEqual([{ key: 'telematics.0.timeSeries.elements.0', message: expect.stringMatching(/^"Bogus" is not a data element assetbridge reads \(known: /) }]);
      // What the parser reads under another spelling loads as before.
      expect(compileConfig({ destinations: [erp], telematics: [{ name: 't', auth: { type: 'bearer', token: 'x' }, timeSeries: { elements: ['FaultCodes', 'FuelUsed', 'Locations'] } }] }, {}).telematics[0]?.timeSeries.elements).toEqual(['FaultCodes', 'FuelUsed', 'Locations']);
    });

    // A name with a space or colon loaded, and every request then failed as it was built.
    it('a header name that is not an HTTP token, or a value with a line break, names the key (without the value)', () => {
      expect(one({ destinations: [{ ...erp, headers: { 'X-Api-Key: s3cr3t': 'v' } }] })).toEqual([
        { key: 'destinations.0.headers.X-Api-Key: …', message: '"X-Api-Key: …" is not an HTTP header name: it holds a colon (write the name as the key and the value after it: `X-Api-Key: value`); use letters, digits and - (e.g. X-Api-Key)' },
      ]);
      expect(one({ destinations: [{ ...erp, headers: { 'X Tenant': 'acme' } }] })).toEqual([
        { key: 'destinations.0.headers.X Tenant', message: '"X Tenant" is not an HTTP header name: it holds a space; use letters, digits and - (e.g. X-Api-Key)' },
      ]);
      expect(one({ destinations: [{ ...erp, headers: { 'X-Api-Key': 's3cr3t\nX-Other: 1' } }] })).toEqual([
        { key: 'destinations.0.headers.X-Api-Key', message: 'holds a line break: a header value is one line (the value is not shown: it may be a secret)' },
      ]);
      expect(one({ destinations: [{ ...erp, idempotencyHeader: 'Idempotency Key' }] })).toEqual([
        { key: 'destinations.0.idempotencyHeader', message: '"Idempotency Key" is not an HTTP header name: it holds a space; use letters, digits and - (e.g. X-Api-Key)' },
      ]);
      expect(compileConfig({ destinations: [{ ...erp, headers: { 'X-Api-Key': 'k', "Ocp-Apim-Subscription-Key_2.v~!#$%&'*+^`|": 'v' } }] }, {}).destinations[0]?.headers).toHaveProperty('X-Api-Key', 'k');
      // A telematics feed's headers alike.
      const feed = (headers: Record<string, string>) => ({ telematics: [{ name: 't', auth: { type: 'bearer', token: 'x' }, headers }] });
      expect(one(feed({ 'X Tenant': 'acme' }))).toEqual([{ key: 'telematics.0.headers.X Tenant', message: '"X Tenant" is not an HTTP header name: it holds a space; use letters, digits and - (e.g. X-Api-Key)' }]);
      expect(one(feed({ 'X-Api-Key': 'a\nb' }))).toEqual([{ key: 'telematics.0.headers.X-Api-Key', message: 'holds a line break: a header value is one line (the value is not shown: it may be a secret)' }]);
      expect(compileConfig({ destinations: [erp], ...feed({ 'X-Api-Key': 'k' }) }, {}).telematics[0]?.headers).toEqual({ 'X-Api-Key': 'k' });
    });

    it('a malformed URL and an empty list say so, and a secret is not echoed', () => {
      expect(problems(() => compileConfig({ destinations: [{ ...erp, baseUrl: 'erp local' }] }, {}))).toEqual([
        { key: 'destinations.0.baseUrl', message: '"erp local" is not an absolute http:// or https:// URL: write it in full, e.g. https://erp.example.com' },
      ]);
      expect(one({ telematics: [{ name: 't', auth: { type: 'bearer', token: 'x' }, timeSeries: { elements: [] } }] })).toEqual([{ key: 'telematics.0.timeSeries.elements', message: 'the list is empty: give at least 1 item' }]);
      const secret = one({ telematics: [{ name: 't', auth: { type: 'basic', username: 'u', password: 123456789 } }] });
      expect(secret).toEqual([{ key: 'telematics.0.auth.password', message: 'the value given is a number: use text (put it in quotes)' }]);
      // Request headers and telematics credentials are secrets whatever their names: a number or list given is not echoed either.
      expect(one({ destinations: [{ ...erp, headers: { 'X-Api-Key': 12345678901234 } }] })).toEqual([{ key: 'destinations.0.headers.X-Api-Key', message: 'the value given is a number: use text (put it in quotes)' }]);
      expect(one({ destinations: [{ ...erp, headers: { Authorization: ['Bearer', 's3cr3t-value'] } }] })).toEqual([{ key: 'destinations.0.headers.Authorization', message: 'a list was given: use text' }]);
      expect(one({ destinations: [{ ...erp, auth: 's3cr3t-tok', headers: 'X-Api-Key: 123' }] })).toEqual([
        { key: 'destinations.0.auth', message: 'the value given is text: use a mapping (key: value)' },
        { key: 'destinations.0.headers', message: 'the value given is text: use a mapping (key: value)' },
      ]);
      // Nor the webhook secret or intake token written in place of their mapping.
      expect(one({ destinations: [{ ...erp, webhook: 'WH-S3CR3T-0123456789' }] })).toEqual([{ key: 'destinations.0.webhook', message: 'the value given is text: use a mapping (key: value)' }]);
      expect(one({ sources: { http: 'INTAKE-S3CR3T-1' } })).toEqual([{ key: 'sources.http', message: 'the value given is text: use a mapping (key: value)' }]);
      expect(one({ telematics: [{ name: 't', auth: { type: 'basic', username: 1234567, password: 'p' }, headers: { 'X-Key': 987654321 } }] }).map((p) => p.message)).toEqual([
        'the value given is a number: use text (put it in quotes)',
        'the value given is a number: use text (put it in quotes)',
      ]);
    });

    it('a URL key takes an absolute URL of the schemes it is used with: the value given, and the form to write', () => {
      const mqtt = (url: string) => ({ sources: { mqtt: [{ name: 'm', url, topics: [{ filter: 't/#', decoder: { assetId: { path: 'id' } } }] }] } });
      const tu = (over: Record<string, unknown>) => ({ telematics: [{ name: 't', vendor: 'trackunit', auth: { type: 'trackunit-token-v2', clientId: 'c', clientSecret: 's' }, ...over }] });
      const http = (value: string, example: string) => `"${value}" is not an absolute http:// or https:// URL: write it in full, e.g. ${example}`;
      // No scheme: the example is the value with one.
      expect(problems(() => compileConfig({ destinations: [{ ...erp, baseUrl: 'erp.local:4010' }] }, {}))).toEqual([{ key: 'destinations.0.baseUrl', message: http('erp.local:4010', 'https://erp.local:4010') }]);
      expect(problems(() => compileConfig({ destinations: [{ ...erp, baseUrl: 'ftp://erp.example.com' }] }, {}))).toEqual([{ key: 'destinations.0.baseUrl', message: http('ftp://erp.example.com', 'https://erp.example.com') }]);
      expect(problems(() => compileConfig({ destinations: [{ ...erp, baseUrl: 'http:/erp.example.com' }] }, {}))).toEqual([{ key: 'destinations.0.baseUrl', message: http('http:/erp.example.com', 'https://erp.example.com') }]);
      expect(problems(() => compileConfig({ destinations: [{ ...erp, auth: { type: 'oauth2-client-credentials', tokenUrl: 'login.example.com/oauth/token', clientId: 'c', clientSecret: 's' } }] }, {}))).toEqual([
        { key: 'destinations.0.auth.tokenUrl', message: http('login.example.com/oauth/token', 'https://login.example.com/oauth/token') },
      ]);
      expect(one(tu({ baseUrl: 'iris.trackunit.com/public/api/aemp/v2/15143/-3' }))).toEqual([
        { key: 'telematics.0.baseUrl', message: http('iris.trackunit.com/public/api/aemp/v2/15143/-3', 'https://iris.trackunit.com/public/api/aemp/v2/15143/-3') },
      ]);
      expect(one(tu({ auth: { type: 'trackunit-token-v2', clientId: 'c', clientSecret: 's', tokenUrl: 'file:///etc/token' } }))).toEqual([
        { key: 'telematics.0.auth.tokenUrl', message: http('file:///etc/token', 'https://auth.example.com/oauth/token') },
      ]);
      expect(one(mqtt('broker.local:1883'))).toEqual([{ key: 'sources.mqtt.0.url', message: '"broker.local:1883" is not an absolute mqtt://, mqtts://, ws:// or wss:// URL: write it in full, e.g. mqtt://broker.local:1883' }]);
      expect(one(mqtt('http://broker.local'))).toEqual([{ key: 'sources.mqtt.0.url', message: '"http://broker.local" is not an absolute mqtt://, mqtts://, ws:// or wss:// URL: write it in full, e.g. mqtt://broker.example:1883' }]);
      // Unparsable or without a host, scheme or not: refused, and the example is not built from the value.
      expect(problems(() => compileConfig({ destinations: [{ ...erp, baseUrl: 'https://erp local' }] }, {}))).toEqual([{ key: 'destinations.0.baseUrl', message: http('https://erp local', 'https://erp.example.com') }]);
      expect(problems(() => compileConfig({ destinations: [{ ...erp, baseUrl: 'erp.local:99999' }] }, {}))).toEqual([{ key: 'destinations.0.baseUrl', message: http('erp.local:99999', 'https://erp.example.com') }]);
      expect(one(mqtt('mqtt:///broker.local'))).toEqual([{ key: 'sources.mqtt.0.url', message: '"mqtt:///broker.local" is not an absolute mqtt://, mqtts://, ws:// or wss:// URL: write it in full, e.g. mqtt://broker.example:1883' }]);
      // A # in a broker URL (a password's, unencoded: the URL parses, with a wrong host) is refused, the password not echoed.
      for (const url of ['mqtt://ops:S3cr@et#x@broker.local:1883', 'mqtt://broker.local:1883/#']) {
        const [found] = one(mqtt(url));
        expect(found?.message).toMatch(/has a # in it, which no broker URL has: a password holding #, @, \? or \/ is written percent-encoded/);
        expect(found?.message).not.toContain('S3cr');
        expect(found?.message).not.toContain('et#x');
      }
      // A : or @ in the password (or an @ in the user name) not percent-encoded: refused, naming the key, saying to percent-encode, the password not echoed.
      for (const url of ['mqtt://ops:pa:ss-S3CR3T@broker.local:1883', 'mqtt://ops:pa@ss-S3CR3T@broker.local:1883', 'mqtt://o@ps:ss-S3CR3T@broker.local:1883', 'mqtts://ops:S3CR3T:@broker.local/x']) {
        const found = one(mqtt(url));
        expect(found, url).toHaveLength(1);
        expect(found[0]?.key).toBe('sources.mqtt.0.url');
        expect(found[0]?.message).toMatch(/^"mqtts?:\/\/\*\*\*@broker\.local(:1883|\/x)" has a (password holding a : or @|user name holding an @) as written: .*percent-encode it \(each : as %3A, each @ as %40\)/);
        expect(found[0]?.message).not.toContain('S3CR3T');
      }
      // A password without a user name (mqtt.js would send an empty one): refused under the url's key, saying to give one, the password not echoed.
      for (const url of ['mqtt://:S3CR3T-pw@broker.local:1883', 'mqtts://:S3CR3T@broker.local/x']) {
        const found = one(mqtt(url));
        expect(found, url).toHaveLength(1);
        expect(found[0]?.key).toBe('sources.mqtt.0.url');
        expect(found[0]?.message).toMatch(/^"mqtts?:\/\/\*\*\*@broker\.local(:1883|\/x)" has a password but no user name \(:password@\): .*write the user name before the : \(mqtt:\/\/user:password@host\), or give the credentials in username and password/);
        expect(found[0]?.message).not.toContain('S3CR3T');
      }
      // Percent-encoded, or a colon only between user name and password: as before.
      for (const url of ['mqtt://ops:pa%3Ass%40x@broker.local:1883', 'mqtt://o%40ps:pw@broker.local:1883', 'mqtt://ops@broker.local:1883']) expect(compileConfig({ destinations: [erp], ...mqtt(url) }, {}).sources.mqtt[0]?.url, url).toBe(url);
      // A password in the URL is not echoed.
      const [withPassword] = one(mqtt('tcp://ops:hunter2-secret@broker.local:1883'));
      expect(withPassword?.message).toMatch(/^"tcp:\/\/\*\*\*@broker.local:1883" is not an absolute/);
      // Nor after a scheme missing a slash, nor one with a slash in it.
      for (const [url, shown] of [
        ['http:/admin:hunter2-secret@erp.example.com', 'http:/***@erp.example.com'],
        ['erp://admin:hunter2/secret@erp.example.com', 'erp://***@erp.example.com'],
        ['admin:hunter2-secret@erp.example.com', '***@erp.example.com'],
        // A `#` or `?` in the password (a generated one, put in through ${NAME}): the URL does not
        // parse, and the message must not take the rest for a fragment or query and show it.
        ['mqtt://ops:hun#ter2-secret@broker.local:1883', 'mqtt://***@broker.local:1883'],
        ['mqtt://ops:hunter2?-secret@broker.local:1883', 'mqtt://***@broker.local:1883'],
      ] as const) {
        const [found] = problems(() => compileConfig({ destinations: [{ ...erp, baseUrl: url }] }, {}));
        expect(found?.message).toMatch(new RegExp(`^"${shown.replace(/[*/.]/g, '\\$&')}" is not an absolute`));
        expect(found?.message).not.toContain('hunter2');
      }
      // Nor a query's value in the form suggested (the value with a scheme): an API key goes there.
      for (const [key, over] of [
        ['destinations.0.auth.tokenUrl', { auth: { type: 'oauth2-client-credentials', tokenUrl: 'login.example.com/token?client_secret=QS-S3CR3T-1', clientId: 'c', clientSecret: 's' } }],
        ['destinations.0.baseUrl', { baseUrl: 'erp.example.com/api?api_key=QS-S3CR3T-2' }],
      ] as const) {
        const [found] = problems(() => compileConfig({ destinations: [{ ...erp, ...over }] }, {}));
        expect(found?.key).toBe(key);
        expect(found?.message).toMatch(/write it in full, e\.g\. https:\/\/[a-z.]+\/(token|api)\?…$/);
        expect(found?.message).not.toContain('S3CR3T');
      }
      // Credentials in an HTTP URL: fetch will not send them, and its error would quote them; refused, not echoed.
      for (const [config, key] of [
        [{ destinations: [{ ...erp, baseUrl: 'https://erpuser:TopSecretPw99@erp.example.com' }] }, 'destinations.0.baseUrl'],
        [{ destinations: [{ ...erp, auth: { type: 'oauth2-client-credentials', tokenUrl: 'https://c:TopSecretPw99@login.example.com/token', clientId: 'c', clientSecret: 's' } }] }, 'destinations.0.auth.tokenUrl'],
        [tu({ baseUrl: 'https://u:TopSecretPw99@iris.trackunit.com/public/api/aemp/v2/15143/-3' }), 'telematics.0.baseUrl'],
      ] as const) {
        const found = one(config);
        expect(found.map((p) => p.key)).toEqual([key]);
        expect(found[0]?.message).toMatch(/^"https:\/\/\*\*\*@[^"]+" carries credentials \(user:password@\).*without them/);
        expect(found[0]?.message).not.toContain('TopSecretPw99');
      }
      // A query or fragment on a destination's baseUrl would swallow every path appended to it (each
      // request went to the base, failing as if paths.* were wrong): refused, the query (an API key?) not echoed.
      for (const [baseUrl, shown, part] of [
        ['https://erp.example.com/api?api_key=TopSecretKey99', 'https://erp.example.com/api?…', 'a query (?…)'],
        ['https://erp.example.com/api?', 'https://erp.example.com/api?…', 'a query (?…)'],
        ['https://erp.example.com/api#v2', 'https://erp.example.com/api#v2', 'a fragment (#…)'],
      ] as const) {
        const found = one({ destinations: [{ ...erp, baseUrl }] });
        expect(found.map((p) => p.key)).toEqual(['destinations.0.baseUrl']);
        expect(found[0]?.message).toBe(
          `"${shown}" has ${part}: request paths (paths.*) are appended to baseUrl, so they would end up in it and every request would go to "https://erp.example.com/api" instead; write baseUrl without it` +
            (part.startsWith('a query') ? ' (an API key goes in token or headers, a parameter every request needs, such as ?sap-client=100, on each of paths.*)' : ''),
        );
      }
      // Nor is a query echoed where the URL is refused for its credentials.
      expect(one({ destinations: [{ ...erp, baseUrl: 'https://u:pw@erp.example.com/?api_key=TopSecretKey99' }] })[0]?.message).not.toContain('TopSecretKey99');
      // A broker URL may carry them: the MQTT client sends them.
      expect(compileConfig({ destinations: [erp], ...mqtt('mqtt://ops:pw@broker.local:1883') }, {}).sources.mqtt[0]?.url).toBe('mqtt://ops:pw@broker.local:1883');
      // What the clients take passes, the scheme in any case.
      for (const url of ['mqtt://b:1883', 'mqtts://b:8883', 'ws://b:8080/mqtt', 'wss://b/mqtt']) expect(compileConfig({ destinations: [erp], ...mqtt(url) }, {}).sources.mqtt[0]?.url).toBe(url);
      expect(compileConfig({ destinations: [{ ...erp, baseUrl: 'HTTPS://erp.example.com/api' }] }, {}).destinations[0]?.baseUrl).toBe('HTTPS://erp.example.com/api');
    });

    it('a REST path naming a placeholder its requests cannot fill is refused at load, not at the first delivery', () => {
      const paths = (p: Record<string, string>) => problems(() => compileConfig({ destinations: [{ ...erp, paths: p }] }, {}));
      expect(paths({ meterReadings: '/api/assets/{assetId}/readings', workOrders: '/api/assets/{erpAssetId}/work-orders', workOrder: '/api/wo/{id}' })).toEqual([
        { key: 'destinations.0.paths.workOrders', message: '"/api/assets/{erpAssetId}/work-orders" uses {erpAssetId}: this path is also read for every asset\'s work orders (GET ?updatedSince=, and by config check --connect), so it takes no placeholder; erpAssetId goes in the body' },
        { key: 'destinations.0.paths.workOrder', message: '"/api/wo/{id}" uses {id}: this path can use {workOrderId}' },
        { key: 'destinations.0.paths.meterReadings', message: '"/api/assets/{assetId}/readings" uses {assetId}: this path can use {erpAssetId}' },
      ]);
      expect(paths({ inventoryCounts: '/inv/{warehouse}' })).toEqual([{ key: 'destinations.0.paths.inventoryCounts', message: '"/inv/{warehouse}" uses {warehouse}: this path can use {location}, {sku}, {erpAssetId}' }]);
      // What the requests fill passes, with a query too (SAP on-premise: ?sap-client=100).
      const ok = compileConfig({ destinations: [{ ...erp, paths: { location: '/a/{erpAssetId}/loc?sap-client=100', inventoryCounts: '/inv/{location}/{sku}' } }] }, {});
      expect(ok.destinations[0]?.paths.location).toBe('/a/{erpAssetId}/loc?sap-client=100');
      // The on-hand read has no default (nothing read), and must name both the location and the SKU.
      expect(ok.destinations[0]?.paths.inventoryOnHand).toBeUndefined();
      expect(paths({ inventoryOnHand: '/on-hand?sku={sku}' })).toEqual([
        { key: 'destinations.0.paths.inventoryOnHand', message: '"/on-hand?sku={sku}" must use {location} and {sku}, e.g. /api/v1/inventory/on-hand?location={location}&sku={sku}: each cell is read on its own' },
      ]);
      expect(paths({ inventoryOnHand: '/on-hand/{site}/{sku}' })).toEqual([{ key: 'destinations.0.paths.inventoryOnHand', message: '"/on-hand/{site}/{sku}" uses {site}: this path can use {location}, {sku}, {erpAssetId}' }]);
      const onHand = compileConfig({ destinations: [{ ...erp, paths: { inventoryOnHand: '/items/{erpAssetId}/on-hand?location={location}' } }] }, {});
      expect(onHand.destinations[0]?.paths.inventoryOnHand).toBe('/items/{erpAssetId}/on-hand?location={location}');
    });

    it('a field\'s own message echoes the value given too (a secret\'s never), and says what to write', () => {
      const topic = (decoder: Record<string, unknown>) => [{ filter: 't/#', decoder: { assetId: { path: 'id' }, ...decoder } }];
      const mqtt = (source: Record<string, unknown>) => ({ sources: { mqtt: [{ name: 'm', url: 'mqtt://b', topics: topic({}), ...source }] } });
      expect(problems(() => compileConfig({ destinations: [{ ...erp, name: 'my erp', batch: { path: 'api/v1/$batch' } }] }, {}))).toEqual([
        { key: 'destinations.0.name', message: '"my erp" is not a name: use letters, digits, _ . - only' },
        { key: 'destinations.0.batch.path', message: '"api/v1/$batch" does not start with /: write the path under baseUrl, e.g. /api/v1/$batch' },
      ]);
      expect(one(mqtt({ protocolVersion: 3, sharedGroup: 'a/b' }))).toEqual([
        { key: 'sources.mqtt.0.protocolVersion', message: '3 is not an MQTT version: use 5 (MQTT 5) or 4 (MQTT 3.1.1)' },
        { key: 'sources.mqtt.0.sharedGroup', message: '"a/b" is not a group name: a shared-subscription group name must not contain /, + or #' },
      ]);
      expect(one(mqtt({ topics: topic({ assetId: { pth: 'id' }, meters: { operatingHours: { path: 'h', unit: 'km' } } }) }))).toEqual([
        { key: 'sources.mqtt.0.topics.0.decoder.assetId', message: '{"pth":"id"} is neither form: give { path: <field> } (where in the payload) or { topicSegment: <n> } (which topic level, 0-based)' },
        { key: 'sources.mqtt.0.topics.0.decoder.meters.operatingHours.unit', message: '"km" is not a duration unit: use h or one such as min, s' },
      ]);
      // A path written as text where the key takes { path } (as lat and lng take it): the message writes the mapping.
      expect(one(mqtt({ topics: topic({ assetId: 'tagId', time: 'ts', sensors: { engineTempC: 'sensors.t' }, alert: 'fault.text' }) }))).toEqual([
        { key: 'sources.mqtt.0.topics.0.decoder.assetId', message: '"tagId" is text: write { path: tagId } (where in the payload), or { topicSegment: <n> } (which topic level, 0-based)' },
        { key: 'sources.mqtt.0.topics.0.decoder.time', message: '"ts" is text: write { path: ts } (with format: epoch-ms or epoch-s for a number; iso, the default, needs a zone)' },
        { key: 'sources.mqtt.0.topics.0.decoder.sensors.engineTempC', message: '"sensors.t" is text: write { path: sensors.t } (and unit: <label> if you like)' },
        { key: 'sources.mqtt.0.topics.0.decoder.alert', message: '"fault.text" is text: write { reason: fault.text } (the path of the alert\'s reason; severity: <path> and code: <path> too if the payload has them)' },
      ]);
      // Half a position could never decode; a reader's mapping of zone alone is whole.
      expect(one(mqtt({ topics: topic({ lat: 'pos.lat', zone: 'zone' }) }))).toEqual([
        { key: 'sources.mqtt.0.topics.0.decoder.lat', message: 'maps lat without lng: map lng too (a position needs both), or leave both out and map zone alone for a fixed reader that knows only its zone' },
      ]);
      expect(one(mqtt({ topics: [{ ...topic({ lat: 'a', lng: 'b' })[0], filter: 'u/#' }, ...topic({ lng: 'pos.lon' })] }))).toEqual([
        { key: 'sources.mqtt.0.topics.1.decoder.lng', message: 'maps lng without lat: map lat too (a position needs both), or leave both out and map zone alone for a fixed reader that knows only its zone' },
      ]);
      expect(compileConfig({ destinations: [erp], ...mqtt({ topics: topic({ zone: 'reader.zone' }) }) }, {}).sources.mqtt[0]?.topics[0]?.decoder.zone).toBe('reader.zone');
      expect(one({ telematics: [{ name: 't v', auth: { type: 'bearer', token: 'x' }, timeSeries: { elements: ['Operating Hours'] } }] })).toEqual([
        { key: 'telematics.0.name', message: '"t v" is not a name: use letters, digits, _ . - only' },
        { key: 'telematics.0.timeSeries.elements.0', message: '"Operating Hours" is not an element URL segment: use letters only, e.g. CumulativeOperatingHours' },
      ]);
      expect(one({ rules: { depreciation: { timeZone: 'Europe/Berln', periods: 'quarterly', periodsEnd: '2026/12/31' }, zones: { inline: [{ name: 'A|B', locationCode: 'L', circle: { lat: 1, lng: 1, radiusM: 5 } }] } } })).toEqual([
        { key: 'rules.zones.inline.0.name', message: '"A|B" must not contain "|"' },
        { key: 'rules.depreciation.timeZone', message: '"Europe/Berln" is not a known IANA time zone; use e.g. UTC, Europe/Berlin, America/New_York (did you mean Europe/Berlin?)' },
        { key: 'rules.depreciation.periods', message: '"quarterly" is neither form: use monthly, or a list of periods [{ id, start: YYYY-MM-DD }] with periodsEnd' },
        { key: 'rules.depreciation.periodsEnd', message: '"2026/12/31" is not a date: use YYYY-MM-DD' },
      ]);
      // A listed calendar: each problem under the failing period's key, saying what to do.
      const periods = (list: unknown[], periodsEnd = '2026-07-01') => one({ rules: { depreciation: { timeZone: 'UTC', periods: list, periodsEnd } } });
      const p = (id: string, start: string) => ({ id, start });
      expect(periods([p('P1', '2026-01-01'), p('P2', '2026-02-30'), p('P3', '2026-03-01'), p('P4', '2026-02-01'), p('P2', '2026-05-01')], '2026-04-31')).toEqual([
        { key: 'rules.depreciation.periods.1.start', message: '"2026-02-30" is not a day of the calendar: write a real date (YYYY-MM-DD)' },
        { key: 'rules.depreciation.periods.3.start', message: '"2026-02-01" is not after the start of the period before it (P3, 2026-03-01): list the periods in order, each starting after the one before' },
        { key: 'rules.depreciation.periods.4.id', message: '"P2" is the id of periods.1 too: give each period its own id' },
        { key: 'rules.depreciation.periodsEnd', message: '"2026-04-31" is not a day of the calendar: write a real date (YYYY-MM-DD)' },
      ]);
      // A name that keys stored state cannot be one of Object.prototype's (the state it keyed would be lost or misread).
      expect(periods([p('constructor', '2026-01-01')])).toEqual([{ key: 'rules.depreciation.periods.0.id', message: '"constructor" cannot name a period: the names of JavaScript\'s object properties (__proto__, constructor, toString, …) are reserved, as state keyed by them would be lost or misread; choose another name' }]);
      expect(one({ rules: { zones: { inline: [{ name: '__proto__', locationCode: 'L', circle: { lat: 1, lng: 1, radiusM: 5 } }] } } })).toEqual([
        { key: 'rules.zones.inline.0.name', message: '"__proto__" cannot name a zone: the names of JavaScript\'s object properties (__proto__, constructor, toString, …) are reserved, as state keyed by them would be lost or misread; choose another name' },
      ]);
      expect(periods([p('P1', '2026-01-01'), p('P2', '2026-06-01')], '2026-05-01')).toEqual([
        { key: 'rules.depreciation.periodsEnd', message: '"2026-05-01" is not after the start of the last period (P2, 2026-06-01): give the day after the last period ends (exclusive)' },
      ]);
      // A malformed item is named, not the whole list called "neither form".
      expect(periods([p('P1', '2026-01-01'), { id: 'P2' }, { id: 'P3', start: '2026-03-01', end: '2026-04-01' }, '2026-05-01'])).toEqual([
        { key: 'rules.depreciation.periods.1.start', message: 'missing: give the first day of the period, YYYY-MM-DD' },
        { key: 'rules.depreciation.periods.2.end', message: 'unknown key: a period has only id and start (it ends where the next starts, the last at periodsEnd)' },
        { key: 'rules.depreciation.periods.3', message: '"2026-05-01" is not a period: write { id, start: YYYY-MM-DD }' },
      ]);
      expect(one({ rules: { maintenance: { windows: { sites: { BER: 'weekends' }, closed: [{ from: 'xmas', to: '2026-12-26' }, { from: '2026-12-24', to: 'ny' }] } } } })).toEqual([
        { key: 'rules.maintenance.windows.closed.0.from', message: '"xmas" is not a day: write the first closed day as YYYY-MM-DD' },
        { key: 'rules.maintenance.windows.closed.1.to', message: '"ny" is not a day: write the last closed day as YYYY-MM-DD' },
        { key: 'rules.maintenance.windows.sites.BER', message: '"weekends" is neither form: give the site a list of slots, or { timeZone, slots, closed }' },
      ]);
      // Secrets: said what is wrong, never what was written.
      const secrets = one({ sources: { http: { token: 'short' } }, destinations: [{ ...erp, webhook: { secret: 'short-secret' } }] });
      expect(secrets.map((p) => p.key)).toEqual(['sources.http.token', 'destinations.0.webhook.secret']);
      for (const p of secrets) expect(p.message).not.toMatch(/short/);
    });

    it('webhook: previousSecret and timestampHeader need a secret, the timestamp its own header, toleranceMs room for a push', () => {
      const hook = (webhook: Record<string, unknown>) => one({ destinations: [{ ...erp, webhook }] });
      const secret = '0123456789abcdef';
      expect(hook({ previousSecret: secret, timestampHeader: 'X-Timestamp' })).toEqual([
        { key: 'destinations.0.webhook.previousSecret', message: 'is accepted beside `secret` only: set `secret` to the new secret and `previousSecret` to the one it replaces' },
        { key: 'destinations.0.webhook.timestampHeader', message: 'needs `secret`: the timestamp is signed with the body (without a secret, pushes use the intake bearer token)' },
      ]);
      expect(hook({ secret, timestampHeader: 'x-signature-256' }).map((p) => p.key)).toEqual(['destinations.0.webhook.timestampHeader']);
      expect(hook({ secret, timestampHeader: 'X-Timestamp', toleranceMs: 300 })).toEqual([
        { key: 'destinations.0.webhook.toleranceMs', message: '300ms leaves no room for the time a push takes; give seconds or minutes, e.g. 5m (digits alone are milliseconds)' },
      ]);
      expect(hook({ secret, previousSecret: 'short' })).toEqual([{ key: 'destinations.0.webhook.previousSecret', message: 'use a secret of at least 16 characters' }]);
      // A header name no push could carry would never match: refused, naming the key and what is wrong.
      expect(hook({ secret, signatureHeader: 'X-Signature-256: sha256', timestampHeader: 'X Timestamp' })).toEqual([
        {
          key: 'destinations.0.webhook.signatureHeader',
          message: '"X-Signature-256: sha256" is no HTTP header name (it has a colon, a space), so no push would ever match it; write the name alone, as the ERP sends it, e.g. X-Signature-256',
        },
        {
          key: 'destinations.0.webhook.timestampHeader',
          message: '"X Timestamp" is no HTTP header name (it has a space), so no push would ever match it; write the name alone, as the ERP sends it, e.g. X-Signature-Timestamp',
        },
      ]);
      expect(hook({ signatureHeader: '' })).toEqual([{ key: 'destinations.0.webhook.signatureHeader', message: 'name the header, e.g. X-Signature-256' }]);
      const ok = compileConfig({ destinations: [{ ...erp, webhook: { secret, previousSecret: `${secret}-old`, timestampHeader: 'X-Timestamp', toleranceMs: '2m' } }] }, {});
      expect(ok.destinations[0]?.webhook).toEqual({ secret, previousSecret: `${secret}-old`, signatureHeader: 'X-Signature-256', timestampHeader: 'X-Timestamp', toleranceMs: 120_000 });
    });

    it('no problem of a wide sweep of bad values is left in the library\'s default words', () => {
      const bad = [
        { store: { synchronous: 1, retention: { audit: [] } } },
        { destinations: [{ ...erp, batch: { maxSize: 5000 }, rateLimit: { requestsPerMinute: 0 }, headers: { a: 1 }, auth: { type: 'oauth2-client-credentials', tokenUrl: 'x', clientId: '', clientSecret: 's' } }] },
        { sources: { mqtt: [{ name: 'm', url: 'mqtt://x', protocolVersion: 3, maxInflight: 0, topics: [{ filter: 'a', decoder: { assetId: { path: 'a' }, idType: 'x', meters: { odometerKm: 5 }, time: { path: 't', format: 'unix' } } }] }], http: { token: 12345678 } } },
        { telematics: [{ name: 't', vendor: 'volvo', auth: { type: 'bearer', token: 'x' }, pageLookahead: 9, reserve: { policy: 'always' } }] },
        { rules: { maintenance: { thresholds: [{ name: 'a', sensor: 's', above: 'high' }] } }, capture: { dir: 'c', keepDays: -1 } },
      ];
      for (const config of bad) {
        for (const p of one(config)) expect(p.message).not.toMatch(/Invalid (input|option|discriminator|URL|string|element|key)|Too (small|big)|expected .*, received|^Expected|Invalid$/);
      }
    });
  });

  it('checks cross-field references', () => {
    const p = problems(() => compileConfig({ ...minimal, defaultDestination: 'nope' }, { ERP_TOKEN: 'x' }));
    expect(p).toEqual([{ key: 'defaultDestination', message: 'no destination named "nope"; configured: erp' }]);
  });

  it('takes YAML merge keys (<<: *anchor), so destinations can share their settings', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ab-cfg-'));
    writeFileSync(
      join(dir, 'merge.yaml'),
      'destinations:\n  - &erp { name: erp, type: rest, baseUrl: "https://erp.example.com", token: "${ERP_TOKEN}", rateLimit: { requestsPerMinute: 60 } }\n  - { <<: *erp, name: erp-eu, baseUrl: "https://eu.erp.example.com" }\n',
    );
    const c = loadConfigFile(join(dir, 'merge.yaml'), { ERP_TOKEN: 's3cret' });
    expect(c.destinations.map((d) => [d.name, d.type === 'rest' && d.baseUrl, d.rateLimit.requestsPerMinute])).toEqual([
      ['erp', 'https://erp.example.com', 60],
      ['erp-eu', 'https://eu.erp.example.com', 60],
    ]);
    // The shared part under a top-level x- key, as Docker Compose has it: not an unknown key.
    writeFileSync(
      join(dir, 'x.yaml'),
      'x-erp: &erp { type: rest, token: "${ERP_TOKEN}", rateLimit: { requestsPerMinute: 60 } }\ndestinations:\n  - { <<: *erp, name: erp, baseUrl: "https://erp.example.com" }\n',
    );
    expect(loadConfigFile(join(dir, 'x.yaml'), { ERP_TOKEN: 's3cret' }).destinations.map((d) => [d.name, d.rateLimit.requestsPerMinute])).toEqual([['erp', 60]]);
  });

  it('keeps a key written as a number as written: windows for plant 0001 are site "0001", not site 1', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ab-cfg-'));
    const file = join(dir, 'plants.yaml');
    writeFileSync(
      file,
      'destinations: [{ name: erp, type: rest, baseUrl: "https://erp.example.com" }]\n' +
        'rules:\n  maintenance:\n    windows:\n      default: [{ days: [sat], from: "06:00", to: "14:00" }]\n      sites:\n' +
        '        0001: [{ days: [sun], from: "01:00", to: "03:00" }]\n        1000: [{ days: [mon], from: "01:00", to: "03:00" }]\n        01.50: [{ days: [tue], from: "01:00", to: "03:00" }]\n',
    );
    const windows = loadConfigFile(file, {}).rules.maintenance?.windows ?? {};
    expect(Object.keys(windows).sort()).toEqual(['*', '0001', '01.50', '1000']);
    expect(windows['0001']?.windows[0]?.days).toEqual([0]);
    expect(windows['1']).toBeUndefined();
  });

  it('says on which line of the file each problem\'s key is written (a missing key: its entry\'s line)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ab-cfg-'));
    const file = join(dir, 'lines.yaml');
    writeFileSync(file, 'store:\n  path: ./ab.db\n  synchronous: ful\ndestinations:\n  - name: erp\n    type: rest\nstor: {}\n');
    let message = '';
    expect(
      problems(() => {
        try {
          return loadConfigFile(file, {});
        } catch (err) {
          message = (err as Error).message;
          throw err;
        }
      }).map((p) => [p.key, p.line]),
    ).toEqual([
      ['store.synchronous', 3],
      ['destinations.0.baseUrl', 5],
      ['stor', 7],
    ]);
    expect(message).toContain('  - store.synchronous (line 3): "ful" is not allowed here');
    expect(message).toContain('  - stor (line 7): unknown key: did you mean store?');
  });

  it('says that a ${NAME} reference written bare in a flow mapping must be quoted, when that is why the YAML does not parse', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ab-cfg-'));
    writeFileSync(join(dir, 'bare.yaml'), 'destinations:\n  - { name: erp, type: rest, baseUrl: "https://erp.example.com", token: ${ERP_TOKEN} }\n');
    const [p] = problems(() => loadConfigFile(join(dir, 'bare.yaml'), { ERP_TOKEN: 't' }));
    expect(p?.key).toBe('(yaml)');
    expect(p?.message).toMatch(/A \$\{NAME\} reference inside \{ … \} or \[ … \] must be quoted: write "\$\{ERP_TOKEN\}"$/);
    // Any other YAML mistake is not blamed on one.
    writeFileSync(join(dir, 'other.yaml'), 'destinations: [\n');
    expect(problems(() => loadConfigFile(join(dir, 'other.yaml')))[0]?.message).not.toContain('must be quoted');
  });

  it('does not quote a credential written in place on a line the YAML parser shows for a syntax mistake', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ab-cfg-'));
    for (const [name, text] of [
      ['quote.yaml', 'destinations:\n  - name: erp\n    type: rest\n    baseUrl: https://erp.example.com\n    timeoutMs: 5s\n    token: "Literal-SECRET-123\n'],
      ['flow.yaml', 'destinations:\n  - name: erp\n    type: rest\n    baseUrl: https://erp.example.com\n    headers: { X-Api-Key: Literal-SECRET-123 ]\n'],
      ['mqtt.yaml', 'sources:\n  mqtt:\n    - { name: m, url: "mqtt://b:1883", username: ab, password: Literal-SECRET-123 ]\n'],
      // A broker URL may carry the password (user:password@), on a line of no credential key.
      ['url.yaml', 'sources:\n  mqtt:\n    - name: m\n      url: mqtt://ab:Literal-SECRET-123@b:1883\n     topics: [\n'],
      ['url-at.yaml', 'sources:\n  mqtt:\n    - name: m\n      url: mqtt://ab:Literal-SECRET@123@b:1883\n     topics: [\n'],
    ] as const) {
      writeFileSync(join(dir, name), text);
      const [p] = problems(() => loadConfigFile(join(dir, name)));
      expect(p?.key, name).toBe('(yaml)');
      expect(p?.message, name).toMatch(/ at line \d+, column \d+/);
      expect(p?.message, name).toContain(name.startsWith('url') ? 'url: mqtt://ab:…@' : '… (not shown: it may hold a secret)');
      expect(p?.message, name).not.toContain('SECRET');
    }
    // A line without a credential is still shown, with its caret.
    writeFileSync(join(dir, 'plain.yaml'), 'destinations:\n  - { name: erp, type: rest, baseUrl: "https://erp.example.com" ]\n');
    expect(problems(() => loadConfigFile(join(dir, 'plain.yaml')))[0]?.message).toMatch(/baseUrl: "https:\/\/erp\.example\.com" \]\n\s+\^/);
  });

  it('says a file of several YAML documents (a --- line) is one config too many, not to call the parser\'s API', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ab-cfg-'));
    writeFileSync(join(dir, 'two.yaml'), 'destinations: []\n---\nstore: {}\n');
    expect(problems(() => loadConfigFile(join(dir, 'two.yaml')))).toEqual([
      { key: '(yaml)', message: `${join(dir, 'two.yaml')} holds more than one YAML document (a --- line at line 2 starts another): a config is one document; remove that line, joining the keys into one mapping` },
    ]);
  });

  it('refuses a YAML tag it does not read (token: !env ERP_TOKEN), rather than take the text after it as the value', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ab-cfg-'));
    writeFileSync(join(dir, 'tag.yaml'), 'destinations:\n  - { name: erp, type: rest, baseUrl: "https://erp.example.com", token: !env ERP_TOKEN }\n');
    const [p] = problems(() => loadConfigFile(join(dir, 'tag.yaml'), { ERP_TOKEN: 't' }));
    expect(p?.key).toBe('(yaml)');
    expect(p?.message).toContain('Unresolved tag: !env at line 2');
    expect(p?.message).toMatch(/assetbridge reads no YAML tags: remove it \(for an environment variable write "\$\{NAME\}"\)$/);
  });

  it('refuses a known YAML tag on the wrong kind of node (!!set on a list), which the parser would drop', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ab-cfg-'));
    writeFileSync(join(dir, 'set.yaml'), 'destinations: !!set\n  - { name: erp, type: rest, baseUrl: "https://erp.example.com" }\n');
    const [p] = problems(() => loadConfigFile(join(dir, 'set.yaml')));
    expect(p?.key).toBe('(yaml)');
    expect(p?.message).toContain('used for seq collection, but expects map');
    expect(p?.message).toContain('assetbridge reads no YAML tags');
  });

  it('loads a valid config the YAML parser only warns about for something other than a tag (a %YAML 1.3 or unknown directive, an anchor ending in :)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ab-cfg-'));
    const body = 'destinations:\n  - { name: erp, type: rest, baseUrl: "https://erp.example.com", token: "${ERP_TOKEN}" }\n';
    for (const [name, text] of [
      ['version.yaml', `%YAML 1.3\n---\n${body}`],
      ['directive.yaml', `%FOO bar\n---\n${body}`],
      ['anchor.yaml', `server: &srv: { port: 8089 }\n${body}`],
    ] as const) {
      writeFileSync(join(dir, name), text);
      const c = loadConfigFile(join(dir, name), { ERP_TOKEN: 't' });
      expect(c.destinations[0]?.name, name).toBe('erp');
    }
    expect(loadConfigFile(join(dir, 'anchor.yaml'), { ERP_TOKEN: 't' }).server.port).toBe(8089);
  });

  it('reports unreadable files and bad YAML with the file name', () => {
    expect(problems(() => loadConfigFile('/nonexistent/ab.yaml'))[0]?.message).toContain('cannot read /nonexistent/ab.yaml');
    const dir = mkdtempSync(join(tmpdir(), 'ab-cfg-'));
    writeFileSync(join(dir, 'bad.yaml'), 'destinations: [\n');
    expect(problems(() => loadConfigFile(join(dir, 'bad.yaml')))[0]?.key).toBe('(yaml)');
  });

  it('takes a duration from ${ENV} given as plain milliseconds, as a number written in the file is', () => {
    const c = compileConfig({ ...minimal, store: { retention: { delivered: '${KEEP}' } }, rules: { depreciation: { checkEvery: '${EVERY}' } } }, { ERP_TOKEN: 'x', KEEP: '604800000', EVERY: ' 3600000 ' });
    expect(c.store.retention.delivered).toBe(604_800_000);
    expect((c as unknown as { rules: { depreciation?: { checkEvery: number } } }).rules.depreciation?.checkEvery).toBe(3_600_000);
    expect(problems(() => compileConfig({ ...minimal, store: { retention: { delivered: '${KEEP}' } } }, { ERP_TOKEN: 'x', KEEP: '7 days' }))).toEqual([
      { key: 'store.retention.delivered', message: '"7 days" is not a duration; write 7d (units: ms, s, m, h, d)' },
    ]);
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
    // A zones file given as {path, properties}: its path is beside the config too.
    writeFileSync(join(dir, 'own.yaml'), yaml.replace('files: [zones/site.geojson]', 'files: [{ path: zones/site.geojson, properties: { name: name } }]'));
    expect(loadConfigFile(join(dir, 'own.yaml'), { DATA: 'state' }).rules.zones?.zones.map((z) => z.name)).toEqual(['yard']);
    // The default store is beside the config too; an absolute path and `:memory:` stay as they are.
    writeFileSync(join(dir, 'default.yaml'), 'destinations: [{ name: erp, type: rest, baseUrl: "http://127.0.0.1:4010" }]');
    expect(loadConfigFile(join(dir, 'default.yaml')).store.path).toBe(join(dir, 'data', 'assetbridge.db'));
    expect(loadConfigFile(join(dir, 'assetbridge.yaml'), { DATA: '/var/lib/ab' }).store.path).toBe('/var/lib/ab/ab.db');
    writeFileSync(join(dir, 'memory.yaml'), 'store: { path: ":memory:" }\ndestinations: [{ name: erp, type: rest, baseUrl: "http://127.0.0.1:4010" }]');
    expect(loadConfigFile(join(dir, 'memory.yaml')).store.path).toBe(':memory:');
  });

  it("says that a key of the scaled mode (a PostgreSQL store, a RabbitMQ source) is not built, rather than only 'unknown key'", () => {
    const found = problems(() =>
      compileConfig({ ...minimal, store: { url: 'postgres://db/ab', type: 'postgres' }, sources: { rabbitmq: { queue: 'events' } } }, { ERP_TOKEN: 'x' }),
    );
    expect(found.map((p) => p.key)).toEqual(['store.url', 'store.type', 'sources.rabbitmq']);
    expect(found[0]?.message).toBe(
      'unknown key: a PostgreSQL store (the scaled mode) is not built in this version; the store is the SQLite file at store.path, one service per store: remove store.url',
    );
    expect(found[2]?.message).toMatch(/^unknown key: RabbitMQ \(AMQP\) is not a source in this version; .*sources\.mqtt.*: remove sources\.rabbitmq$/);
    // Any other unknown key keeps its suggestion.
    expect(problems(() => compileConfig({ ...minimal, store: { pth: 'x.db' } }, { ERP_TOKEN: 'x' }))[0]?.message).toBe('unknown key: did you mean path?');
  });

  it('refuses a database URL as store.path, without quoting its password, rather than making a directory of it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ab-cfg-'));
    writeFileSync(join(dir, 'pg.yaml'), 'store: { path: "${PG_URL}" }\ndestinations: [{ name: erp, type: rest, baseUrl: "http://127.0.0.1:4010" }]');
    const found = problems(() => loadConfigFile(join(dir, 'pg.yaml'), { PG_URL: 'postgres://postgres:S3cretPW@127.0.0.1:5432/ab' }));
    expect(found).toHaveLength(1);
    expect(found[0]?.key).toBe('store.path');
    expect(found[0]?.message).toMatch(/^a postgres:\/\/ URL is not a store path: .*PostgreSQL store \(the scaled mode\) is not built/);
    expect(JSON.stringify(found)).not.toMatch(/S3cretPW|127\.0\.0\.1:5432/);
    expect(problems(() => compileConfig({ ...minimal, store: { path: 'postgresql://db/ab' } }, { ERP_TOKEN: 'x' }))[0]?.key).toBe('store.path');
    // A file name with a colon in it is still a file.
    expect(compileConfig({ ...minimal, store: { path: './data/ab:1.db' } }, { ERP_TOKEN: 'x' }).store.path).toBe('./data/ab:1.db');
  });

  it('refuses an empty server.host (a ${NAME} set to nothing), on which Node would listen on every interface, naming the key', () => {
    for (const host of ['', ' ']) {
      expect(problems(() => compileConfig({ ...minimal, server: { host } }, { ERP_TOKEN: 'x' }))).toEqual([
        {
          key: 'server.host',
          message: 'is empty (a ${NAME} set to nothing?): the server would listen on every network interface; give the address to listen on, e.g. 127.0.0.1 (the default: leave server.host out), or 0.0.0.0 for every interface on purpose',
        },
      ]);
    }
    expect(compileConfig({ ...minimal, server: { host: '${HOST}' } }, { ERP_TOKEN: 'x', HOST: '0.0.0.0' }).server.host).toBe('0.0.0.0');
    expect(compileConfig(minimal, { ERP_TOKEN: 'x' }).server.host).toBe('127.0.0.1');
  });

  it('refuses an empty store.path (a ${NAME} set to nothing), which SQLite would take for a temporary database lost at exit, naming the key', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ab-cfg-'));
    writeFileSync(join(dir, 'empty.yaml'), 'store: { path: "${STORE}" }\ndestinations: [{ name: erp, type: rest, baseUrl: "http://127.0.0.1:4010" }]');
    expect(problems(() => loadConfigFile(join(dir, 'empty.yaml'), { STORE: '' }))).toEqual([
      { key: 'store.path', line: 1, message: 'is empty (a ${NAME} set to nothing?): name the SQLite file, e.g. ./data/assetbridge.db, or leave store.path out for that default' },
    ]);
    expect(problems(() => compileConfig({ ...minimal, store: { path: '' } }, { ERP_TOKEN: 'x' })).map((p) => p.key)).toEqual(['store.path']);
  });
});
