/**
 * The checks of one entry (a threshold rule's above/below, an MQTT source's topic order, ...) are
 * said in the same run as a refused value of that entry: they were said only once every value of
 * the entry passed, so a config was fixed in rounds. A check whose own input is refused stays quiet.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../core/errors/errors.js';
import { compileConfig, loadConfigFile } from './load.js';

const erp = { name: 'erp', type: 'rest', baseUrl: 'http://127.0.0.1:4010', token: 't0k3n' };

function problems(fn: () => unknown): { key: string; message: string }[] {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err.problems.map((p) => ({ key: p.key, message: p.message }));
    throw err;
  }
  throw new Error('expected a ConfigError');
}

/** The problems of a config: `extra` beside one destination. */
const of = (extra: object) => problems(() => compileConfig({ destinations: [erp], ...extra }, {}));
const rules = (r: object) => of({ rules: r });
const thresholds = (...t: object[]) => rules({ maintenance: { thresholds: t } });

const EXACTLY_ONE = 'give exactly one of `above` or `below`';

describe('a threshold rule', () => {
  it('says above and below both given beside a mistyped `for` of the same rule, in one run', () => {
    expect(thresholds({ name: 'hot', sensor: 'engineTemp', above: 95, below: 10, for: '5min' })).toEqual([
      { key: 'rules.maintenance.thresholds.0.for', message: '"5min" is not a duration; write 5m (units: ms, s, m, h, d)' },
      { key: 'rules.maintenance.thresholds.0', message: EXACTLY_ONE },
    ]);
    // Neither given, beside an unknown severity.
    expect(thresholds({ name: 'hot', sensor: 'engineTemp', severity: 'high' })).toEqual([
      { key: 'rules.maintenance.thresholds.0.severity', message: '"high" is not a severity: use info, warning or critical (did you mean critical?); critical gives the rule\'s work orders priority HIGH, info and warning MEDIUM' },
      { key: 'rules.maintenance.thresholds.0', message: EXACTLY_ONE },
    ]);
  });

  it('says a clear condition on the wrong side of the trigger, or for the other direction, beside a refused value', () => {
    expect(thresholds({ name: 'hot', sensor: 'engineTemp', above: 95, clearBelow: 100, cooldown: 'an hour' })).toEqual([
      { key: 'rules.maintenance.thresholds.0.cooldown', message: expect.stringContaining('"an hour" is not a duration') },
      { key: 'rules.maintenance.thresholds.0.clearBelow', message: 'clearBelow (100) must not be above the trigger (95)' },
    ]);
    expect(thresholds({ name: 'cold', sensor: 'engineTemp', below: 5, clearAbove: 2, severity: 'urgent' }).map((p) => p.key)).toEqual(['rules.maintenance.thresholds.0.severity', 'rules.maintenance.thresholds.0.clearAbove']);
    expect(thresholds({ name: 'hot', sensor: 'engineTemp', above: 95, clearAbove: 90, unit: 7 })).toEqual([
      { key: 'rules.maintenance.thresholds.0.unit', message: '7 is a number: use text (put it in quotes)' },
      { key: 'rules.maintenance.thresholds.0.clearAbove', message: 'an `above` rule clears below a value: use `clearBelow`' },
    ]);
    expect(thresholds({ name: 'cold', sensor: 'engineTemp', below: 5, clearBelow: 2, sensorr: 'x', title: 5 }).map((p) => p.key)).toEqual([
      'rules.maintenance.thresholds.0.title',
      'rules.maintenance.thresholds.0.sensorr',
      'rules.maintenance.thresholds.0.clearBelow',
    ]);
  });

  it('says a repeat window no longer than `for` beside a refused value', () => {
    expect(thresholds({ name: 'spikes', sensor: 'p', above: 9, for: '10m', repeat: { count: 3, within: '10m' }, maxGap: 'often' }).map((p) => p.key)).toEqual([
      'rules.maintenance.thresholds.0.maxGap',
      'rules.maintenance.thresholds.0.repeat.within',
    ]);
    // The repeat's count refused: its window is still read.
    expect(thresholds({ name: 'spikes', sensor: 'p', above: 9, for: '10m', repeat: { count: 'three', within: '5m' } }).map((p) => p.key)).toEqual([
      'rules.maintenance.thresholds.0.repeat.count',
      'rules.maintenance.thresholds.0.repeat.within',
    ]);
  });

  it('says a misspelled key once, with the key it likely meant, not what follows only from that key missing', () => {
    expect(thresholds({ name: 'hot', sensor: 'engineTemp', Above: 9 })).toEqual([{ key: 'rules.maintenance.thresholds.0.Above', message: 'unknown key: did you mean above?' }]);
    expect(thresholds({ name: 'hot', sensor: 'engineTemp', abvoe: 9, for: '5min' })).toEqual([
      { key: 'rules.maintenance.thresholds.0.for', message: '"5min" is not a duration; write 5m (units: ms, s, m, h, d)' },
      { key: 'rules.maintenance.thresholds.0.abvoe', message: 'unknown key: did you mean above?' },
    ]);
    // A key that means none of those the check reads leaves it to say what is missing.
    expect(thresholds({ name: 'hot', sensor: 'engineTemp', limit: 9 })).toEqual([
      { key: 'rules.maintenance.thresholds.0.limit', message: expect.stringContaining('unknown key; known here: above,') },
      { key: 'rules.maintenance.thresholds.0', message: EXACTLY_ONE },
    ]);
    expect(thresholds({ name: 'hot', sensor: 'engineTemp', above: 95, clearbelow: 90, clearAbove: 90 }).map((p) => p.key)).toEqual([
      'rules.maintenance.thresholds.0.clearbelow',
      'rules.maintenance.thresholds.0.clearAbove',
    ]);
  });

  it('stays quiet where the values a check reads are refused themselves (said once, by the schema)', () => {
    expect(thresholds({ name: 'hot', sensor: 'engineTemp', above: 'ninety', clearBelow: 100 })).toEqual([{ key: 'rules.maintenance.thresholds.0.above', message: '"ninety" is text: use a number' }]);
    expect(thresholds({ name: 'hot', sensor: 'engineTemp', above: 95, clearBelow: '90%' }).map((p) => p.key)).toEqual(['rules.maintenance.thresholds.0.clearBelow']);
    expect(thresholds({ name: 'spikes', sensor: 'p', above: 9, for: '10 min', repeat: { count: 3, within: '5m' } }).map((p) => p.key)).toEqual(['rules.maintenance.thresholds.0.for']);
    expect(thresholds({ name: 'spikes', sensor: 'p', above: 9, repeat: 'often' }).map((p) => p.key)).toEqual(['rules.maintenance.thresholds.0.repeat']);
  });

  it('is said in one run by startup validation too, each under its key and line in the config file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ab-entry-checks-'));
    const file = join(dir, 'assetbridge.yaml');
    writeFileSync(file, stringify({ destinations: [erp], rules: { maintenance: { thresholds: [{ name: 'hot', sensor: 'engineTemp', above: 95, clearBelow: 100, for: '5min' }] } } }));
    const p = (() => {
      try {
        loadConfigFile(file, {});
      } catch (err) {
        if (err instanceof ConfigError) return [...err.problems];
        throw err;
      }
      throw new Error('expected a ConfigError');
    })();
    expect(p.map((x) => [x.key, x.message])).toEqual([
      ['rules.maintenance.thresholds.0.for', '"5min" is not a duration; write 5m (units: ms, s, m, h, d)'],
      ['rules.maintenance.thresholds.0.clearBelow', 'clearBelow (100) must not be above the trigger (95)'],
    ]);
    expect(p.every((x) => typeof x.line === 'number')).toBe(true);
  });
});

describe('a service or calendar interval', () => {
  it('says a lead not less than the interval, or a missing interval, beside a refused value of the same rule', () => {
    expect(rules({ maintenance: { serviceIntervals: [{ name: 'oil', everyHours: 250, dueSoonHours: 250, severity: 'high' }] } })).toEqual([
      { key: 'rules.maintenance.serviceIntervals.0.severity', message: '"high" is not a severity: use info, warning or critical (did you mean critical?); critical gives the rule\'s work orders priority HIGH, info and warning MEDIUM' },
      { key: 'rules.maintenance.serviceIntervals.0.dueSoonHours', message: '250 must be less than everyHours (250)' },
    ]);
    expect(rules({ maintenance: { serviceIntervals: [{ name: 'oil', dueSoonKm: 500, title: 5 }] } }).map((p) => p.key)).toEqual([
      'rules.maintenance.serviceIntervals.0.title',
      'rules.maintenance.serviceIntervals.0.everyKm',
    ]);
    expect(rules({ maintenance: { serviceIntervals: [{ name: 'oil', everyHours: 250, everyKm: 15000, defaultBaseline: 'last' }] } }).map((p) => p.key)).toEqual([
      'rules.maintenance.serviceIntervals.0.defaultBaseline',
      'rules.maintenance.serviceIntervals.0.everyKm',
    ]);
    // Not of a meter value refused itself.
    expect(rules({ maintenance: { serviceIntervals: [{ name: 'oil', everyHours: '250h' }] } }).map((p) => p.key)).toEqual(['rules.maintenance.serviceIntervals.0.everyHours']);
    expect(rules({ maintenance: { calendarIntervals: [{ name: 'insp', everyDays: 30, dueSoonDays: 45, severity: 'urgent' }] } })).toEqual([
      { key: 'rules.maintenance.calendarIntervals.0.severity', message: '"urgent" is not a severity: use info, warning or critical (did you mean critical?); critical gives the rule\'s work orders priority HIGH, info and warning MEDIUM' },
      { key: 'rules.maintenance.calendarIntervals.0.dueSoonDays', message: '45 must be less than everyDays (30)' },
    ]);
    expect(rules({ maintenance: { calendarIntervals: [{ name: 'insp', everyDays: 365, meterBaselineAttribute: 'lastHours', baselineAttribute: 7 }] } })).toEqual([
      { key: 'rules.maintenance.calendarIntervals.0.baselineAttribute', message: '7 is a number: use text (put it in quotes)' },
      { key: 'rules.maintenance.calendarIntervals.0.meterBaselineAttribute', message: expect.stringMatching(/^meterBaselineAttribute needs everyHours or everyKm: /) },
    ]);
    // everyDays refused: the meter side is still said, without the days.
    expect(rules({ maintenance: { calendarIntervals: [{ name: 'insp', everyDays: '6 months', dueSoonHours: 10 }] } })).toEqual([
      { key: 'rules.maintenance.calendarIntervals.0.everyDays', message: '"6 months" is text: use a whole number above 0' },
      { key: 'rules.maintenance.calendarIntervals.0.dueSoonHours', message: 'dueSoonHours needs everyHours: the meter side of "every N days or N hours, whichever comes first"' },
    ]);
  });
});

describe('the zones section', () => {
  it('says an inline zone with neither polygon nor circle, or too large a circle, beside its refused values', () => {
    expect(rules({ zones: { inline: [{ name: 'yard', locationCode: 'Y', priority: 'high' }] } })).toEqual([
      { key: 'rules.zones.inline.0.priority', message: '"high" is text: use a number' },
      { key: 'rules.zones.inline.0', message: 'give exactly one of `polygon` or `circle`' },
    ]);
    expect(rules({ zones: { inline: [{ name: 7, locationCode: 'Y', circle: { lat: 52.5, lng: 13.4, radiusM: 30_000_000 } }] } })).toEqual([
      { key: 'rules.zones.inline.0.name', message: '7 is a number: use text (put it in quotes)' },
      { key: 'rules.zones.inline.0.circle.radiusM', message: "this zone: the circle's radiusM must be above 0 and at most 20000000 metres (20,000 km, half the Earth's circumference): 30000000 was given" },
    ]);
    // The polygon refused itself: not said again as no shape at all.
    expect(rules({ zones: { inline: [{ name: 'yard', locationCode: 'Y', polygon: 'square' }] } }).map((p) => p.key)).toEqual(['rules.zones.inline.0.polygon']);
  });

  it('reads the zones files beside a refused value of the section: a missing file is said in the same run', () => {
    const missing = join(tmpdir(), 'ab-entry-checks-no-such-dir', 'zones.geojson');
    expect(rules({ zones: { enterDwellMs: '5min', files: [missing] } })).toEqual([
      { key: 'rules.zones.enterDwellMs', message: '"5min" is not a duration; write 5m (units: ms, s, m, h, d)' },
      { key: 'rules.zones.files.0', message: `cannot read the GeoJSON zones file ${missing} (no such file or directory): fix the path (a relative one is taken from the config file's directory), or remove the entry` },
    ]);
    // A zone a file defines again that an inline zone defines, beside an inline zone's refused value.
    const dir = mkdtempSync(join(tmpdir(), 'ab-entry-checks-'));
    const file = join(dir, 'zones.geojson');
    writeFileSync(file, JSON.stringify({ type: 'FeatureCollection', features: [{ type: 'Feature', properties: { name: 'yard', locationCode: 'Y2', radiusM: 50 }, geometry: { type: 'Point', coordinates: [13.4, 52.5] } }] }));
    expect(rules({ zones: { files: [file], inline: [{ name: 'yard', locationCode: 'Y', circle: { lat: 52.5, lng: 13.4, radiusM: 50 }, priority: 'top' }] } })).toEqual([
      { key: 'rules.zones.inline.0.priority', message: '"top" is text: use a number' },
      { key: 'rules.zones.files.0', message: 'zone "yard" is defined more than once (inline or in files), first in rules.zones.inline.0; names must be unique across files and inline: rename one (zones may share a location code)' },
    ]);
    // Not with the property names refused (the file is read by them), nor an entry refused itself.
    expect(rules({ zones: { properties: { name: 5 }, files: [missing] } }).map((p) => p.key)).toEqual(['rules.zones.properties.name']);
    expect(rules({ zones: { enterDwellMs: '5min', files: [7] } }).map((p) => p.key)).toEqual(['rules.zones.files.0', 'rules.zones.enterDwellMs']);
    // Nor an entry with any problem of its own, even one that leaves it read (an empty path is no file to read).
    expect(rules({ zones: { files: [''] } }).map((p) => p.key)).toEqual(['rules.zones.files.0']);
    expect(rules({ zones: { files: [{ path: missing, properties: { name: '' } }] } }).map((p) => p.key)).toEqual(['rules.zones.files.0.properties.name']);
  });
});

describe('other sections of rules', () => {
  it('says a site named * beside a refused value of the windows', () => {
    expect(rules({ maintenance: { windows: { timeZone: 5, sites: { '*': [{ days: ['mon'], from: '06:00', to: '14:00' }] } } } })).toEqual([
      { key: 'rules.maintenance.windows.timeZone', message: '5 is a number: use text (put it in quotes)' },
      { key: 'rules.maintenance.windows.sites.*', message: '"*" is no site name: the windows of every site without its own go in rules.maintenance.windows.default; move these slots there' },
    ]);
  });

  it('says a periodsEnd beside monthly, or a period list without one, beside a refused value of depreciation', () => {
    expect(rules({ depreciation: { periodsEnd: '2027-01-01', postAfter: '2 days' } })).toEqual([
      { key: 'rules.depreciation.postAfter', message: expect.stringContaining('"2 days" is not a duration') },
      { key: 'rules.depreciation.periodsEnd', message: 'is only for a list of periods; with periods: monthly it is not used: remove it, or list the periods [{ id, start: YYYY-MM-DD }] it ends' },
    ]);
    expect(rules({ depreciation: { periods: [{ id: 'P1', start: '2026-01-01' }], keepPeriods: 'all' } }).map((p) => p.key)).toEqual(['rules.depreciation.keepPeriods', 'rules.depreciation.periodsEnd']);
  });

  it("says a work-order field assetbridge writes beside another extra's refused value", () => {
    expect(thresholds({ name: 'hot', sensor: 't', above: 9, workOrder: { priority: 'HIGH', plant: { id: 1 } } })).toEqual([
      { key: 'rules.maintenance.thresholds.0.workOrder.plant', message: 'a mapping was given: use text, a number or true or false' },
      {
        key: 'rules.maintenance.thresholds.0.workOrder.priority',
        message: '"priority" is a field assetbridge writes on every work order, so this value would be replaced: the rule\'s `severity` decides it (critical: HIGH, else MEDIUM); a middleware can map it to the ERP\'s codes',
      },
    ]);
  });
});

describe('an MQTT source', () => {
  const decoder = { assetId: { path: 'id' } };
  const source = (s: object) => of({ sources: { mqtt: [{ name: 'yard', url: 'mqtt://127.0.0.1:1883', ...s }] } });

  it("says a filter never used or overlapping another beside a refused value of another topic's decoder", () => {
    expect(source({ topics: [{ filter: 'fleet/#', decoder }, { filter: 'fleet/+/position', decoder: { assetId: 5 } }] })).toEqual([
      { key: 'sources.mqtt.0.topics.1.decoder.assetId', message: '5 is neither form: give { path: <field> } (where in the payload) or { topicSegment: <n> } (which topic level, 0-based)' },
      {
        key: 'sources.mqtt.0.topics.1.filter',
        message: '"fleet/+/position" is never used: topics.0 ("fleet/#") comes first and matches every topic it does, and a message takes the decoder of the first filter that matches; put the narrower filter first',
      },
    ]);
    expect(source({ maxInflight: 'lots', topics: [{ filter: 'fleet/+/position', decoder }, { filter: 'fleet/t1/+', decoder }] })).toEqual([
      { key: 'sources.mqtt.0.maxInflight', message: '"lots" is text: use a whole number from 1 to 65535' },
      { key: 'sources.mqtt.0.topics.1.filter', message: expect.stringMatching(/^"fleet\/t1\/\+" overlaps topics\.0 \("fleet\/\+\/position"\): a message on a topic both match \(fleet\/t1\/position\)/) },
    ]);
    // A filter refused itself takes no part: the others are still compared, under their own index.
    expect(source({ topics: [{ filter: 7, decoder }, { filter: 'fleet/#', decoder }, { filter: 'fleet/a', decoder }] })).toEqual([
      { key: 'sources.mqtt.0.topics.0.filter', message: '7 is a number: use text (put it in quotes)' },
      {
        key: 'sources.mqtt.0.topics.2.filter',
        message: '"fleet/a" is never used: topics.1 ("fleet/#") comes first and matches every topic it does, and a message takes the decoder of the first filter that matches; put the narrower filter first',
      },
    ]);
  });

  it('says a password without a user name and TLS files on a plain url beside a refused value', () => {
    expect(source({ clientId: 5, password: 'p4ss', caFile: '/etc/ca.pem', topics: [{ filter: 'fleet/#', decoder }] })).toEqual([
      { key: 'sources.mqtt.0.clientId', message: '5 is a number: use text (put it in quotes)' },
      { key: 'sources.mqtt.0.password', message: 'is set without username: MQTT sends a password only together with a user name, so the broker would never be reached; set username as well (or remove password)' },
      { key: 'sources.mqtt.0.caFile', message: 'is set, but the url is not TLS, so it would not be used and the connection (password included) would go in clear text: use mqtts:// (or wss://) in url, or remove caFile' },
    ]);
    // Not of a username given under a misspelled key: that key is said, with the one it likely means.
    expect(source({ userName: 'fleet', password: 'p4ss', topics: [{ filter: 'fleet/#', decoder }] })).toEqual([{ key: 'sources.mqtt.0.userName', message: 'unknown key: did you mean username?' }]);
    // Not of a username or url refused themselves.
    expect(source({ username: 5, password: 'p4ss', topics: [{ filter: 'fleet/#', decoder }] }).map((p) => p.key)).toEqual(['sources.mqtt.0.username']);
    expect(source({ url: 1883, caFile: '/etc/ca.pem', topics: [{ filter: 'fleet/#', decoder }] }).map((p) => p.key)).toEqual(['sources.mqtt.0.url']);
  });

  it("says a decoder's lat without lng beside a refused value of that decoder", () => {
    expect(source({ topics: [{ filter: 'fleet/#', decoder: { ...decoder, lat: 'pos.lat', idType: 'rfid-tag' } }] })).toEqual([
      { key: 'sources.mqtt.0.topics.0.decoder.idType', message: expect.stringContaining('"rfid-tag" is not allowed here') },
      { key: 'sources.mqtt.0.topics.0.decoder.lat', message: 'maps lat without lng: map lng too (a position needs both), or leave both out and map zone alone for a fixed reader that knows only its zone' },
    ]);
    expect(source({ topics: [{ filter: 'fleet/#', decoder: { ...decoder, lat: 'pos.lat', lng: 5 } }] }).map((p) => p.key)).toEqual(['sources.mqtt.0.topics.0.decoder.lng']);
  });
});

describe('a destination', () => {
  it('says token and auth both given beside a mistyped timeoutMs', () => {
    expect(of({ destinations: [{ ...erp, timeoutMs: '5min', auth: { type: 'bearer', token: 'x' } }] })).toEqual([
      { key: 'destinations.0.timeoutMs', message: '"5min" is not a duration; write 5m (units: ms, s, m, h, d)' },
      { key: 'destinations.0.auth', message: 'set either `token` or `auth`, not both (`token: X` is short for `auth: {type: bearer, token: X}`)' },
    ]);
    // Not of an auth refused itself.
    expect(of({ destinations: [{ ...erp, auth: { type: 'basic' } }] }).map((p) => p.key)).toEqual(['destinations.0.auth.type']);
  });

  it("says a webhook's previousSecret or timestampHeader without a secret beside a refused value", () => {
    expect(of({ destinations: [{ ...erp, webhook: { previousSecret: 'an-old-secret-of-20', timestampHeader: 'X-Time', toleranceMs: 'five minutes' } }] })).toEqual([
      { key: 'destinations.0.webhook.toleranceMs', message: expect.stringContaining('"five minutes" is not a duration') },
      { key: 'destinations.0.webhook.previousSecret', message: 'is accepted beside `secret` only: set `secret` to the new secret and `previousSecret` to the one it replaces' },
      { key: 'destinations.0.webhook.timestampHeader', message: 'needs `secret`: the timestamp is signed with the body (without a secret, pushes use the intake bearer token)' },
    ]);
    expect(of({ destinations: [{ ...erp, webhook: { secret: 'a-secret-of-twenty-chars', timestampHeader: 'x-signature-256', toleranceMs: 'soon' } }] }).map((p) => p.key)).toEqual([
      'destinations.0.webhook.toleranceMs',
      'destinations.0.webhook.timestampHeader',
    ]);
    // Not of a secret refused itself (whether there is one cannot be told).
    expect(of({ destinations: [{ ...erp, webhook: { secret: 12345, previousSecret: 'an-old-secret-of-20' } }] }).map((p) => p.key)).toEqual(['destinations.0.webhook.secret']);
  });

  it("says a header name no request can carry beside another header's refused value", () => {
    expect(of({ destinations: [{ ...erp, headers: { 'X Api Key': 'k', 'X-Tenant': 5 } }] })).toEqual([
      { key: 'destinations.0.headers.X-Tenant', message: 'the value given is a number: use text (put it in quotes)' },
      { key: 'destinations.0.headers.X Api Key', message: '"X Api Key" is not an HTTP header name: it holds a space; use letters, digits and - (e.g. X-Api-Key)' },
    ]);
  });
});

describe('a rule time written in digits under a second', () => {
  it('is refused beside the checks of the rest of its rule, which it does not stop', () => {
    expect(thresholds({ name: 'hot', sensor: 'engineTemp', above: 95, clearBelow: 100, for: 5 })).toEqual([
      { key: 'rules.maintenance.thresholds.0.for', message: '5 would be 5 milliseconds (digits alone are milliseconds): write the unit, e.g. 5s or 5m (5ms if milliseconds are meant)' },
      { key: 'rules.maintenance.thresholds.0.clearBelow', message: 'clearBelow (100) must not be above the trigger (95)' },
    ]);
    // Nor is it read as milliseconds by a check of its own value.
    expect(thresholds({ name: 'spikes', sensor: 'p', above: 9, for: '30', repeat: { count: 3, within: '1m' } }).map((p) => p.key)).toEqual(['rules.maintenance.thresholds.0.for']);
  });
});
