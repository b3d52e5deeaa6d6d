import { describe, expect, it } from 'vitest';
import { mqttSourceSchema } from '../../../config/schema.js';
import { coveredSubscriptions, mqttClientOptions, mqttTracing, redactedUrl, staleSubscriptions, subscriptions } from './client-options.js';

const base = {
  name: 'fleet',
  url: 'mqtts://broker.example:8883',
  topics: [{ filter: 'fleet/+/telemetry', decoder: { assetId: { path: 'tagId' }, meters: { operatingHours: 'h' } } }],
};
const parse = (extra: Record<string, unknown> = {}) => mqttSourceSchema.parse({ ...base, ...extra });

describe('mqttClientOptions', () => {
  it("silences mqtt.js's per-packet tracing unless DEBUG asks for it", () => {
    expect(mqttTracing(undefined)).toBe(false);
    expect(mqttTracing('assetbridge:*')).toBe(false);
    expect(mqttTracing('mqttjs*')).toBe(true);
    expect(mqttTracing('*')).toBe(true);
    expect(mqttTracing('express,*')).toBe(true);
    expect(mqttTracing('mqttjs:client')).toBe(true);
    expect(mqttTracing('*,-mqttjs*')).toBe(false); // excluded
    expect(mqttTracing('-mqttjs*')).toBe(false);
    expect(mqttTracing('mqttjs-other')).toBe(false);
    const o = mqttClientOptions(parse());
    expect(typeof o.log).toBe('function'); // tracing or not: with tracing, one that hides the password (client-options.tracing.test.ts)
  });

  it('asks for a persistent MQTT 5 session with a long expiry and maxInflight as receive maximum', () => {
    const o = mqttClientOptions(parse({ maxInflight: 2000 }));
    expect(o).toMatchObject({ clientId: 'assetbridge', clean: false, protocolVersion: 5, resubscribe: false, manualConnect: true, reconnectPeriod: 5000, reconnectOnConnackError: true });
    expect(o.properties).toEqual({ sessionExpiryInterval: 7 * 24 * 3600, receiveMaximum: 2000 });
  });

  it('caps the session expiry at the protocol maximum and sends no v5 properties for 3.1.1', () => {
    expect(mqttClientOptions(parse({ sessionExpiryMs: 1e15 })).properties?.sessionExpiryInterval).toBe(0xffffffff);
    const v4 = mqttClientOptions(parse({ protocolVersion: 4 }));
    expect(v4.protocolVersion).toBe(4);
    expect(v4.properties).toBeUndefined();
    expect(v4.clean).toBe(false);
  });

  it("hands mqtt.js the password as bytes, a url's too (which wins, as in mqtt.js), so its encoder never traces it as a string", () => {
    const keys = mqttClientOptions(parse({ url: 'mqtt://broker.example:1883', username: 'u', password: 'p@ss' }));
    expect(Buffer.isBuffer(keys.password)).toBe(true);
    const inUrl = mqttClientOptions(parse({ url: 'mqtt://ingest%40yard:p%40ss@broker.example:1883', username: 'other', password: 'other-pw' }));
    expect(inUrl).toMatchObject({ username: 'ingest@yard', password: Buffer.from('p@ss') });
    // mqtt.js reads the url's user-info into username and password (strings) unless its auth is left out.
    expect('auth' in inUrl && inUrl.auth === undefined).toBe(true);
    expect(mqttClientOptions(parse({ url: 'mqtt://ingest@broker.example:1883' }))).not.toHaveProperty('auth');
  });

  it("reads a url's user name to its first colon and the password from there, each decoded apart, as the URL standard does (not at the last colon, as mqtt.js would)", () => {
    // The password `pa:ss` percent-encoded: mqtt.js, decoding the whole user-info first, would connect as user "ingest:pa" with password "ss".
    const o = mqttClientOptions(parse({ url: 'mqtt://ingest:pa%3Ass@broker.example:1883' }));
    expect(o).toMatchObject({ username: 'ingest', password: Buffer.from('pa:ss') });
    expect('auth' in o && o.auth === undefined).toBe(true);
    // A colon in the user name, percent-encoded, stays the user name's.
    expect(mqttClientOptions(parse({ url: 'mqtt://in%3Agest:p%40ss%3A@broker.example:1883' }))).toMatchObject({ username: 'in:gest', password: Buffer.from('p@ss:') });
    // What URL standard and we agree on, whatever mqtt.js would split.
    const url = new URL('mqtt://ingest:pa%3Ass%40x@broker.example:1883');
    expect(o.username).toBe(decodeURIComponent(url.username));
    expect(mqttClientOptions(parse({ url: url.toString() })).password).toEqual(Buffer.from(decodeURIComponent(url.password)));
  });

  it('reads the TLS files and passes credentials', () => {
    const read = (p: string) => Buffer.from(`PEM:${p}`);
    const o = mqttClientOptions(parse({ caFile: '/ca.pem', certFile: '/c.pem', keyFile: '/k.pem', username: 'u', password: 'p', rejectUnauthorized: false }), read);
    expect(o).toMatchObject({ username: 'u', password: Buffer.from('p'), rejectUnauthorized: false });
    expect(String(o.ca)).toBe('PEM:/ca.pem');
    expect(String(o.cert)).toBe('PEM:/c.pem');
    expect(String(o.key)).toBe('PEM:/k.pem');
  });

  it('says which file it cannot read, and that cert and key go together', () => {
    const failing = () => {
      throw new Error('EACCES: permission denied');
    };
    expect(() => mqttClientOptions(parse({ keyFile: '/k.pem', certFile: '/c.pem' }), failing)).toThrow(
      'MQTT source "fleet": cannot read certFile /c.pem: EACCES: permission denied; check the path and file permissions',
    );
    expect(() => mqttClientOptions(parse({ certFile: '/c.pem' }), () => Buffer.from(''))).toThrow(/certFile and keyFile go together/);
  });
});

describe('subscriptions', () => {
  it('subscribes at QoS 1, retained only for new subscriptions on MQTT 5, with the shared group when set', () => {
    expect(subscriptions(parse())).toEqual({ 'fleet/+/telemetry': { qos: 1, rh: 1 } });
    expect(subscriptions(parse({ protocolVersion: 4, sharedGroup: 'ingest' }))).toEqual({ '$share/ingest/fleet/+/telemetry': { qos: 1 } });
    const explicit = parse({ sharedGroup: 'ingest', topics: [{ ...base.topics[0], filter: '$share/other/a/#' }] });
    expect(Object.keys(subscriptions(explicit))).toEqual(['$share/other/a/#']);
  });

  it('leaves out a filter another one covers (a broker sends a copy per matching subscription), in the same share group only', () => {
    const topic = (filter: string) => ({ ...base.topics[0], filter });
    const overlapping = parse({ topics: [topic('fleet/a1/telemetry'), topic('fleet/+/telemetry'), topic('fleet/#'), topic('yard/+/gate')] });
    expect(Object.keys(subscriptions(overlapping))).toEqual(['fleet/#', 'yard/+/gate']);
    expect(coveredSubscriptions(overlapping)).toEqual(['fleet/a1/telemetry', 'fleet/+/telemetry']);
    // (The schema refuses filters of two groups that overlap, each group sending a message both match; covering is within a group all the same.)
    const parsedTopic = (filter: string) => ({ ...parse().topics[0]!, filter });
    const shared = { ...parse({ sharedGroup: 'g' }), topics: [parsedTopic('fleet/+/telemetry'), parsedTopic('$share/other/fleet/+/x'), parsedTopic('fleet/#')] };
    expect(Object.keys(subscriptions(shared))).toEqual(['$share/other/fleet/+/x', '$share/g/fleet/#']);
    expect(coveredSubscriptions(shared)).toEqual(['$share/g/fleet/+/telemetry']);
    // Overlapping without one covering the other: both are needed (the schema refuses such a config).
    expect(Object.keys(subscriptions({ ...parse(), topics: [parsedTopic('a/+/c'), parsedTopic('a/b/+')] }))).toEqual(['a/+/c', 'a/b/+']);
    expect(coveredSubscriptions(parse())).toEqual([]);
  });

  it('drops on connect what an earlier config may have left: covered filters, and with a share group the filters without it', () => {
    const topic = (filter: string) => ({ ...base.topics[0], filter });
    expect(staleSubscriptions(parse())).toEqual([]);
    expect(staleSubscriptions(parse({ topics: [topic('fleet/+/telemetry'), topic('fleet/#')] }))).toEqual(['fleet/+/telemetry']);
    expect(staleSubscriptions(parse({ sharedGroup: 'g', topics: [topic('fleet/+/telemetry'), topic('$share/other/yard/#'), topic('fleet/#')] }))).toEqual([
      '$share/g/fleet/+/telemetry',
      'fleet/+/telemetry',
      'fleet/#',
    ]);
  });
});

describe('mqttSourceSchema', () => {
  it('rejects invalid topic filters and group names with the reason', () => {
    const bad = mqttSourceSchema.safeParse({ ...base, topics: [{ ...base.topics[0], filter: 'fleet/#/x' }] });
    expect(bad.success).toBe(false);
    expect(bad.error?.issues[0]?.message).toMatch(/"#" must be a whole level and the last one/);
    const group = mqttSourceSchema.safeParse({ ...base, sharedGroup: 'a/b' });
    expect(group.error?.issues[0]?.message).toMatch(/must not contain \/, \+ or #/);
  });
});

describe('redactedUrl', () => {
  it('hides a password in the URL', () => {
    expect(redactedUrl('mqtt://user:s3cret@host:1883')).toBe('mqtt://user:***@host:1883');
    expect(redactedUrl('mqtts://host:8883')).toBe('mqtts://host:8883');
    expect(redactedUrl('mqtt://user:s3cret@[bad')).not.toContain('s3cret');
    // Unparsable with an @ (or # ? /) in the password: none of it is left.
    for (const bad of ['mqtt://user:s3c@ret-pw@[bad', 'mqtt://user:s3c#ret-pw@[bad', 'mqtt://user:s3c/ret-pw@[bad']) expect(redactedUrl(bad)).not.toMatch(/ret-pw/);
  });
});
