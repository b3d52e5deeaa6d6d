/**
 * Secrets resolve where they are used: a config loads without them (so commands that only read
 * the store work where the secrets live in the service's environment alone), and the parts that
 * connect refuse to start without theirs, naming the key.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../core/errors/errors.js';
import { compileConfig, loadConfigFile } from './load.js';
import { configuredSecretValues, emptyTokenWarnings, isNotSet, requireSecrets, unresolvedSecrets } from './secrets.js';

const input = {
  sources: {
    http: { token: '${AB_T_INTAKE}' },
    mqtt: [{ name: 'yard', url: 'mqtt://127.0.0.1:1883', username: 'ab', password: '${AB_T_MQTT}', topics: [{ filter: 'fleet/+/t', decoder: { assetId: { topicSegment: 1 } } }] }],
  },
  destinations: [{ name: 'erp', type: 'rest', baseUrl: 'http://127.0.0.1:4010', token: '${AB_T_ERP}', headers: { 'X-Api-Key': 'key ${AB_T_KEY}' } }],
  telematics: [{ name: 'tu', vendor: 'trackunit', auth: { type: 'trackunit-token-v2', clientId: 'ab', clientSecret: '${AB_T_TU}' }, headers: { 'X-Feed-Key': '${AB_T_TU}' } }],
};
const problems = (fn: () => unknown): { key: string; message: string }[] => {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return [...err.problems];
    throw err;
  }
  return [];
};
const unset = (name: string) => `environment variable ${name} is not set (set ${name} or ${name}_FILE)`;

describe('secrets resolved where they are used', () => {
  it('without deferring, a missing secret is refused at load as before, naming the key', () => {
    expect(problems(() => compileConfig(input, { AB_T_MQTT: 'p', AB_T_ERP: 'e', AB_T_KEY: 'k', AB_T_TU: 't' }))).toEqual([{ key: 'sources.http.token', message: unset('AB_T_INTAKE') }]);
  });

  it('deferred, a config loads without its secrets and lists each one that is not set', () => {
    const config = compileConfig(input, {}, undefined, { deferSecrets: true });
    expect(config.destinations[0]?.baseUrl).toBe('http://127.0.0.1:4010');
    expect(unresolvedSecrets(config)).toEqual([
      { key: 'sources.mqtt.0.password', message: unset('AB_T_MQTT') },
      { key: 'sources.http.token', message: unset('AB_T_INTAKE') },
      { key: 'destinations.0.token', message: unset('AB_T_ERP') },
      { key: 'destinations.0.headers.X-Api-Key', message: unset('AB_T_KEY') },
      { key: 'telematics.0.auth.clientSecret', message: unset('AB_T_TU') },
      { key: 'telematics.0.headers.X-Feed-Key', message: unset('AB_T_TU') },
    ]);
  });

  it('configuredSecretValues lists the credentials that are set (and an MQTT URL\'s password), passing over those that are not', () => {
    const withUrl = { ...input, sources: { ...input.sources, mqtt: [{ ...input.sources.mqtt[0], url: 'mqtt://ab:url%40pw-S3CR3T@127.0.0.1:1883' }] } };
    const config = compileConfig(withUrl, { AB_T_ERP: 'erp-S3CR3T-1', AB_T_KEY: 'k-S3CR3T-2', AB_T_TU: 'tu-S3CR3T-3' }, undefined, { deferSecrets: true });
    const values = configuredSecretValues(config);
    expect(values).toEqual(expect.arrayContaining(['erp-S3CR3T-1', 'key k-S3CR3T-2', 'tu-S3CR3T-3', 'url%40pw-S3CR3T', 'url@pw-S3CR3T']));
    expect(values).not.toContain('http://127.0.0.1:4010');
    expect(values).not.toContain('yard');
  });

  it('configuredSecretValues lists every configured header value whatever its name, but for a harmless name (Accept, User-Agent …)', () => {
    const headers = { 'X-Tenant': 'tenant-acme-8842', 'X-Acme-Id': 'acme-id-5521', Accept: 'application/json', 'user-agent': 'fleet-sync/2.1', 'OData-Version': '4.0' };
    const config = compileConfig({
      destinations: [{ name: 'erp', type: 'rest', baseUrl: 'http://127.0.0.1:4010', headers }],
      telematics: [{ name: 'tu', vendor: 'trackunit', auth: { type: 'trackunit-token-v2', clientId: 'ab', clientSecret: 'tu-secret-1' }, headers: { 'X-Org': 'org-7731', 'Accept-Language': 'de-DE' } }],
    });
    const values = configuredSecretValues(config);
    expect(values).toEqual(expect.arrayContaining(['tenant-acme-8842', 'acme-id-5521', 'org-7731']));
    for (const harmless of ['application/json', 'fleet-sync/2.1', '4.0', 'de-DE']) expect(values).not.toContain(harmless);
  });

  it('a header name holding any RFC 9110 token character (a `.`, `~`, `!` …) is a secret key like any other: deferred, scrubbed, not echoed', () => {
    const headers = { 'X.Tenant': 'tenant-dot-8842', 'X~Org!Id': 'org-tilde-5521', "X#$%&'*+^_`|Key": 'odd-chars-7731', 'Foo.Accept': 'dotted-accept-1234', Accept: 'application/json' };
    const config = compileConfig({ destinations: [{ name: 'erp', type: 'rest', baseUrl: 'http://127.0.0.1:4010', headers }] });
    const values = configuredSecretValues(config);
    expect(values).toEqual(expect.arrayContaining(['tenant-dot-8842', 'org-tilde-5521', 'odd-chars-7731', 'dotted-accept-1234']));
    expect(values).not.toContain('application/json');
    // Deferred where its variable is not set, as every other header's, rather than refused at load.
    const deferred = compileConfig({ destinations: [{ name: 'erp', type: 'rest', baseUrl: 'http://127.0.0.1:4010', headers: { 'X.Api-Key': '${AB_T_DOT}' } }] }, {}, undefined, { deferSecrets: true });
    expect(unresolvedSecrets(deferred)).toEqual([{ key: 'destinations.0.headers.X.Api-Key', message: unset('AB_T_DOT') }]);
    // A value of the wrong type is not echoed in the problem.
    const wrong = problems(() => compileConfig({ destinations: [{ name: 'erp', type: 'rest', baseUrl: 'http://127.0.0.1:4010', headers: { 'X.Tenant': 98765432101 } }] }));
    expect(wrong).toEqual([{ key: 'destinations.0.headers.X.Tenant', message: 'the value given is a number: use text (put it in quotes)' }]);
  });

  it('a secret that is not set is never read as a value: reading it throws, naming the key', () => {
    const config = compileConfig(input, {}, undefined, { deferSecrets: true });
    expect(problems(() => config.destinations[0]?.token)).toEqual([{ key: 'destinations.0.token', message: unset('AB_T_ERP') }]);
    expect(problems(() => ({ ...config.sources.http }))).toEqual([{ key: 'sources.http.token', message: unset('AB_T_INTAKE') }]);
  });

  it('requireSecrets refuses only the parts asked for, with every missing key of them at once', () => {
    const config = compileConfig(input, { AB_T_INTAKE: 'intake-token-1' }, undefined, { deferSecrets: true });
    expect(problems(() => requireSecrets(config, ['sources.http']))).toEqual([]);
    expect(problems(() => requireSecrets(config, ['destinations', 'sources.mqtt']))).toEqual([
      { key: 'sources.mqtt.0.password', message: unset('AB_T_MQTT') },
      { key: 'destinations.0.token', message: unset('AB_T_ERP') },
      { key: 'destinations.0.headers.X-Api-Key', message: unset('AB_T_KEY') },
    ]);
    expect(problems(() => requireSecrets(config))).toHaveLength(5);
  });

  it('secrets that are set are resolved at load as before; a missing variable at a key that is not a secret still fails at load', () => {
    const env = { AB_T_INTAKE: 'intake-token-1', AB_T_MQTT: 'p', AB_T_ERP: 'e', AB_T_KEY: 'k', AB_T_TU: 't' };
    const config = compileConfig(input, env, undefined, { deferSecrets: true });
    expect(unresolvedSecrets(config)).toEqual([]);
    expect([config.sources.http?.token, config.destinations[0]?.headers['X-Api-Key']]).toEqual(['intake-token-1', 'key k']);
    const withUrl = { ...input, destinations: [{ ...input.destinations[0], baseUrl: '${AB_T_URL}' }] };
    expect(problems(() => compileConfig(withUrl, env, undefined, { deferSecrets: true }))).toEqual([{ key: 'destinations.0.baseUrl', message: unset('AB_T_URL') }]);
  });

  it('a secret file that cannot be read (readable by the service user only) is deferred too', () => {
    const config = compileConfig(input, { AB_T_INTAKE_FILE: '/nonexistent/intake', AB_T_MQTT: 'p', AB_T_ERP: 'e', AB_T_KEY: 'k', AB_T_TU: 't' }, undefined, { deferSecrets: true });
    expect(unresolvedSecrets(config).map((p) => p.key)).toEqual(['sources.http.token']);
    expect(unresolvedSecrets(config)[0]?.message).toBe(
      'cannot read /nonexistent/intake, the file AB_T_INTAKE_FILE names (it does not exist): set AB_T_INTAKE_FILE to the path of the file holding the secret (a relative one is taken from the working directory), or set AB_T_INTAKE to the secret itself instead',
    );
  });

  // Was Node's own `ENOENT: no such file or directory, open '…'` / `EISDIR: …`: why in words, and what to do.
  it('a secret file that cannot be read says which variable names it, why, and what to do', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ab-secret-dir-'));
    const env = { AB_T_INTAKE: 'intake-token-1', AB_T_MQTT: 'p', AB_T_KEY: 'k', AB_T_TU: 't' };
    expect(problems(() => compileConfig(input, { ...env, AB_T_ERP_FILE: join(dir, 'missing') }))).toEqual([
      {
        key: 'destinations.0.token',
        message: `cannot read ${join(dir, 'missing')}, the file AB_T_ERP_FILE names (it does not exist): set AB_T_ERP_FILE to the path of the file holding the secret (a relative one is taken from the working directory), or set AB_T_ERP to the secret itself instead`,
      },
    ]);
    expect(problems(() => compileConfig(input, { ...env, AB_T_ERP_FILE: dir }))).toEqual([
      { key: 'destinations.0.token', message: `cannot read ${dir}, the file AB_T_ERP_FILE names (it is a directory): set AB_T_ERP_FILE to the file holding the secret, not its directory` },
    ]);
  });
});

describe('a secret not set, in a config file', () => {
  it('is refused where it is used naming the key and the line it is written on, as a load problem is', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ab-secret-line-'));
    const file = join(dir, 'assetbridge.yaml');
    writeFileSync(
      file,
      [
        'sources:',
        '  http: { token: "${AB_T_INTAKE}" }',
        'destinations:',
        '  - name: erp',
        '    type: rest',
        '    baseUrl: http://127.0.0.1:4010',
        '    token: "${AB_T_ERP}"',
        '',
      ].join('\n'),
    );
    const config = loadConfigFile(file, {}, { deferSecrets: true });
    const refused = problems(() => requireSecrets(config));
    expect(refused).toEqual([
      { key: 'sources.http.token', line: 2, message: unset('AB_T_INTAKE') },
      { key: 'destinations.0.token', line: 7, message: unset('AB_T_ERP') },
    ]);
    expect(() => requireSecrets(config, ['destinations'])).toThrow('  - destinations.0.token (line 7): environment variable AB_T_ERP is not set');
    // Still a secret that is not set (config check says to set it where the service runs).
    expect(unresolvedSecrets(config).map(isNotSet)).toEqual([true, true]);
  });
});

describe('a secret whose variable holds a value its key refuses', () => {
  const all = { AB_T_INTAKE: 'intake-token', AB_T_MQTT: 'p', AB_T_ERP: 'e', AB_T_KEY: 'k', AB_T_TU: 't' };
  const tooShort = 'use a token of at least 8 characters';

  it('is refused at load naming the key and the variable it came from', () => {
    expect(problems(() => compileConfig(input, { ...all, AB_T_INTAKE: 'abc' }))).toEqual([{ key: 'sources.http.token', message: `${tooShort} (the value of AB_T_INTAKE)` }]);
  });

  it('deferred, loads like one that is not set: read-only commands work, and the parts that connect refuse with the same message', () => {
    const config = compileConfig(input, { ...all, AB_T_INTAKE: 'abc' }, undefined, { deferSecrets: true });
    expect(config.destinations[0]?.token).toBe('e');
    expect(unresolvedSecrets(config)).toEqual([{ key: 'sources.http.token', message: `${tooShort} (the value of AB_T_INTAKE)` }]);
    expect(problems(() => requireSecrets(config, ['sources.http']))).toEqual([{ key: 'sources.http.token', message: `${tooShort} (the value of AB_T_INTAKE)` }]);
    expect(problems(() => requireSecrets(config, ['destinations']))).toEqual([]);
  });

  // Kills: the variable's name not recorded when the value came from NAME_FILE.
  it('read from NAME_FILE, names that variable', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ab-secret-'));
    writeFileSync(join(dir, 'intake'), 'abc\n');
    const { AB_T_INTAKE: _unused, ...rest } = all;
    expect(problems(() => compileConfig(input, { ...rest, AB_T_INTAKE_FILE: join(dir, 'intake') }))).toEqual([{ key: 'sources.http.token', message: `${tooShort} (the value of AB_T_INTAKE_FILE)` }]);
  });

  // HTTP drops white space at a header value's ends and reads its bytes as Latin-1: such a token
  // loaded, and then every POST (and push with the token) was refused 401 as a "wrong bearer token".
  it('an intake token no Authorization header can carry as written (white space at an end, a line break, past ASCII) is refused, naming the variable, never the value', () => {
    const unsendable = 'holds what no Authorization header carries as written';
    const dir = mkdtempSync(join(tmpdir(), 'ab-secret-'));
    writeFileSync(join(dir, 'intake'), 'intake-token-0815\n\n'); // a blank line after the token
    const { AB_T_INTAKE: _unused, ...rest } = all;
    const fromFile = problems(() => compileConfig(input, { ...rest, AB_T_INTAKE_FILE: join(dir, 'intake') }));
    expect(fromFile).toHaveLength(1);
    expect(fromFile[0]).toMatchObject({ key: 'sources.http.token' });
    expect(fromFile[0]?.message).toContain(unsendable);
    expect(fromFile[0]?.message).toContain('(the value of AB_T_INTAKE_FILE)');
    for (const token of ['intake-token-0815 ', ' intake-token-0815', 'intake-\ttoken-0815', 'Pässwort-0815']) {
      const found = problems(() => compileConfig(input, { ...all, AB_T_INTAKE: token }));
      expect(found.map((p) => p.key), JSON.stringify(token)).toEqual(['sources.http.token']);
      expect(found[0]?.message).toContain(unsendable);
      expect(found[0]?.message).not.toContain(token.trim());
    }
    // Any printable ASCII is sent as it is, spaces inside too.
    for (const token of ['Zx9!k#Qm$2@pL', 'two words-0815', '~"quoted"\\back'])
      expect(compileConfig(input, { ...all, AB_T_INTAKE: token }).sources.http?.token).toBe(token);
  });

  // Kills: deferring keys in lists not recorded, and each deferred key given every key's problems.
  it('two refused at once, one in a list, deferred: each key refuses with its own message', () => {
    const withHook = { ...input, destinations: [{ ...input.destinations[0], webhook: { secret: '${AB_T_HOOK}' } }] };
    const config = compileConfig(withHook, { ...all, AB_T_INTAKE: 'abc', AB_T_HOOK: 'short' }, undefined, { deferSecrets: true });
    const erp = { key: 'destinations.0.webhook.secret', message: 'use a secret of at least 16 characters (the value of AB_T_HOOK)' };
    const intake = { key: 'sources.http.token', message: `${tooShort} (the value of AB_T_INTAKE)` };
    expect([...unresolvedSecrets(config)].sort((a, b) => a.key.localeCompare(b.key))).toEqual([erp, intake]);
    expect(problems(() => requireSecrets(config, ['destinations']))).toEqual([erp]);
    expect(problems(() => requireSecrets(config, ['sources.http']))).toEqual([intake]);
  });

  it('a webhook\'s previousSecret (a secret being replaced) is a secret too: loads unresolved, refused where it is used', () => {
    const withHook = { ...input, destinations: [{ ...input.destinations[0], webhook: { secret: '${AB_T_HOOK}', previousSecret: '${AB_T_HOOK_OLD}' } }] };
    const config = compileConfig(withHook, { ...all, AB_T_HOOK: '0123456789abcdef' }, undefined, { deferSecrets: true });
    expect(unresolvedSecrets(config)).toEqual([{ key: 'destinations.0.webhook.previousSecret', message: unset('AB_T_HOOK_OLD') }]);
    expect(problems(() => requireSecrets(config, ['destinations'])).map((p) => p.key)).toEqual(['destinations.0.webhook.previousSecret']);
  });

  // Kills: deferring when only some of the refused values are secrets from variables.
  it('deferred, beside another refused value it is refused at load with it', () => {
    const withUrl = { ...input, destinations: [{ ...input.destinations[0], baseUrl: 'erp local' }] };
    const found = problems(() => compileConfig(withUrl, { ...all, AB_T_INTAKE: 'abc' }, undefined, { deferSecrets: true }));
    expect(found.map((p) => p.key).sort()).toEqual(['destinations.0.baseUrl', 'sources.http.token']);
  });

  // Kills: any key's variables recorded, not only a secret's (a bad URL would load as an unresolved secret).
  it('a value from a variable at a key that is no secret is refused at load even when deferring, without naming the variable', () => {
    const withUrl = { ...input, destinations: [{ ...input.destinations[0], baseUrl: '${AB_T_URL}' }] };
    expect(problems(() => compileConfig(withUrl, { ...all, AB_T_URL: 'erp local' }, undefined, { deferSecrets: true }))).toEqual([
      { key: 'destinations.0.baseUrl', message: '"erp local" is not an absolute http:// or https:// URL: write it in full, e.g. https://erp.example.com' },
    ]);
  });

  it('a value written in the file itself is still refused at load, deferred or not (it is no variable of the service\'s environment)', () => {
    const literal = { ...input, sources: { ...input.sources, http: { token: 'abc' } } };
    expect(problems(() => compileConfig(literal, all, undefined, { deferSecrets: true }))).toEqual([{ key: 'sources.http.token', message: tooShort }]);
  });
});

// An env file's `ERP_TOKEN=` (or an empty secret file) loads as a token of no characters, which the
// connector takes as "no auth": valid (an ERP that takes none), but said, not left to the 401s.
describe('a destination token whose variable is empty', () => {
  const all = { AB_T_INTAKE: 'intake-token', AB_T_MQTT: 'p', AB_T_ERP: 'e', AB_T_KEY: 'k', AB_T_TU: 't' };

  it('is warned of, naming the key and that requests go without credentials; a token that is set or not set is not', () => {
    const empty = compileConfig(input, { ...all, AB_T_ERP: '' }, undefined, { deferSecrets: true });
    expect(emptyTokenWarnings(empty)).toEqual([
      { key: 'destinations.0.token', message: 'is empty, so every request to erp goes without credentials: AB_T_ERP is set to nothing: set it to the token, or leave token out for an ERP that takes none' },
    ]);
    // An empty secret file: the file and the variable naming it, not "its variable".
    const dir = mkdtempSync(join(tmpdir(), 'ab-secret-empty-'));
    writeFileSync(join(dir, 'erp-token'), '\n');
    const { AB_T_ERP: _erp, ...rest } = all;
    expect(emptyTokenWarnings(compileConfig(input, { ...rest, AB_T_ERP_FILE: join(dir, 'erp-token') }, undefined, { deferSecrets: true }))).toEqual([
      {
        key: 'destinations.0.token',
        message: `is empty, so every request to erp goes without credentials: the file ${join(dir, 'erp-token')} that AB_T_ERP_FILE names is empty: write the token into it, or leave token out for an ERP that takes none`,
      },
    ]);
    // Two variables in one value: which one is empty is not told apart.
    const two = { ...input, destinations: [{ ...input.destinations[0], token: '${AB_T_ERP}${AB_T_ERP2}' }] };
    expect(emptyTokenWarnings(compileConfig(two, { ...all, AB_T_ERP: '', AB_T_ERP2: '' }, undefined, { deferSecrets: true }))[0]?.message).toContain(': set its variable to the token, or');
    expect(emptyTokenWarnings(compileConfig(input, all, undefined, { deferSecrets: true }))).toEqual([]);
    expect(emptyTokenWarnings(compileConfig(input, {}, undefined, { deferSecrets: true }))).toEqual([]); // not set: a secret warning of its own, and never read
  });
});
