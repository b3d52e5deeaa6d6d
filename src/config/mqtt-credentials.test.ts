import { describe, expect, it } from 'vitest';
import { compileConfig } from './load.js';
import { mqttCredentialWarnings } from './mqtt-credentials.js';

const erp = { name: 'erp', type: 'rest', baseUrl: 'http://127.0.0.1:9' };
const topics = [{ filter: 'fleet/+/t', decoder: { assetId: { topicSegment: 1 }, sensors: { t: { path: 't' } } } }];
const config = (mqtt: Record<string, unknown>, env: Record<string, string> = {}) =>
  compileConfig({ destinations: [erp], sources: { mqtt: [{ name: 'yard', topics, ...mqtt }] } }, env, undefined, { deferSecrets: true });

describe('MQTT credentials given twice', () => {
  it('warns, under the url key, that the url carries credentials while username/password are set too (mqtt.js uses the url\'s)', () => {
    expect(mqttCredentialWarnings(config({ url: 'mqtt://yard:pw@127.0.0.1:1883', username: 'svc', password: 'other' }))).toEqual([
      {
        key: 'sources.mqtt.0.url',
        message: 'carries credentials (user "yard") and sources.mqtt.0.username and password are set too: the url\'s are the ones used, so those keys are not; give the credentials once, in username and password (the url then without them)',
      },
    ]);
    expect(mqttCredentialWarnings(config({ url: 'mqtts://yard%40site:pw@broker:8883', username: 'svc' }))[0]?.message).toMatch(/^carries credentials \(user "yard@site"\) and sources\.mqtt\.0\.username is set too: .* so that key is not;/);
  });

  it('says nothing of credentials given once, in the url or in the keys, and reads no secret it cannot (a password not set here)', () => {
    expect(mqttCredentialWarnings(config({ url: 'mqtt://yard:pw@127.0.0.1:1883' }))).toEqual([]);
    expect(mqttCredentialWarnings(config({ url: 'mqtt://127.0.0.1:1883', username: 'svc', password: 'pw' }))).toEqual([]);
    // A password from a variable not set where config check runs: still said, for the username.
    expect(mqttCredentialWarnings(config({ url: 'mqtt://yard:pw@127.0.0.1:1883', username: 'svc', password: '${MQTT_PW_NOT_SET_HERE}' })).map((w) => w.key)).toEqual(['sources.mqtt.0.url']);
  });
});
