import { describe, expect, it } from 'vitest';
import { compileConfig } from './load.js';
import type { AssetRecord } from '../core/model/assets.js';
import { assetMatchWarnings, ruleInputWarnings, storedDepreciationInputWarning } from './rule-inputs.js';
import { rulesSchema, windowsTimeZones } from './rules-schema.js';

const mqtt = (decoder: object) => ({ mqtt: [{ name: 'yard', url: 'mqtt://127.0.0.1:1883', topics: [{ filter: 'fleet/+/t', decoder: { assetId: { path: 'tag' }, ...decoder } }] }] });
const config = (sources: object, extra: object = {}) =>
  compileConfig({
    sources,
    destinations: [{ name: 'erp', type: 'rest', baseUrl: 'http://127.0.0.1:9' }],
    rules: {
      maintenance: {
        thresholds: [
          { name: 'hot', sensor: 'engineTempC', above: 95 },
          { name: 'ok', sensor: 'engineTemp', above: 95 },
        ],
        serviceIntervals: [
          { name: 'svc', everyHours: 250 },
          { name: 'oil', everyKm: 15000 },
        ],
      },
    },
    ...extra,
  });

describe('a telematics reserve kept back whole', () => {
  const feed = (extra: object) => ({ name: 'tu', vendor: 'trackunit', auth: { type: 'bearer', token: 'x' }, ...extra });
  const warnings = (telematics: object[]) => ruleInputWarnings(compileConfig({ destinations: [{ name: 'erp', type: 'rest', baseUrl: 'http://127.0.0.1:9' }], telematics }));

  it('names reserve.keep when it keeps back every reserve request of the provider (--use-reserve could never spend one)', () => {
    expect(warnings([feed({}), feed({ name: 'tu2', reserve: { keep: 80 } })])).toEqual([
      {
        key: 'telematics.1.reserve.keep',
        message: "80 keeps back every one of the provider's 50 reserve requests per URL, so 'aemp pull --use-reserve' can never spend one; keep fewer than 50 (the default keeps 5), or set telematics.1.reserve.policy: never to say the reserve is not to be used",
      },
    ]);
    expect(warnings([feed({ reserve: { keep: 50 } })]).map((w) => w.key)).toEqual(['telematics.0.reserve.keep']);
    // A reserve resized in the profile counts as resized.
    expect(warnings([feed({ reserve: { keep: 50 }, profile: { reserveSize: 100 } })])).toEqual([]);
  });

  it('says nothing below the reserve, with policy: never, or for a provider with no reserve', () => {
    expect(warnings([feed({ reserve: { keep: 49 } })])).toEqual([]);
    expect(warnings([feed({ reserve: { keep: 80, policy: 'never' } })])).toEqual([]);
    expect(warnings([feed({ vendor: 'generic', reserve: { keep: 80 } })])).toEqual([]);
  });
});

describe('a decoder\'s sensor unit against its threshold rules\'', () => {
  const withUnit = (unit: string) =>
    ruleInputWarnings(
      compileConfig({
        sources: mqtt({ sensors: { engineTemp: { path: 't', unit }, batteryV: { path: 'v', unit: 'V' } } }),
        destinations: [{ name: 'erp', type: 'rest', baseUrl: 'http://127.0.0.1:9' }],
        rules: { maintenance: { thresholds: [{ name: 'hot', sensor: 'engineTemp', unit: '°C', above: 95 }] } },
      }),
    );

  it('names the decoder\'s unit when it does not convert to the rule\'s: every such message would be quarantined', () => {
    expect(withUnit('V')).toEqual([
      {
        key: 'sources.mqtt.0.topics.0.decoder.sensors.engineTemp.unit',
        message: '"V" does not convert to "°C", the unit threshold rule(s) hot compare engineTemp in, so every message of this topic with engineTemp would be quarantined; give the unit the device sends (°C, °F and K convert to each other, as do kPa, bar, psi, Pa and mbar), or correct the rule\'s unit',
      },
    ]);
  });

  it('says the messages are those of the assets the rules apply to when each rule has an appliesTo', () => {
    const w = ruleInputWarnings(
      compileConfig({
        sources: mqtt({ sensors: { engineTemp: { path: 't', unit: 'V' } } }),
        destinations: [{ name: 'erp', type: 'rest', baseUrl: 'http://127.0.0.1:9' }],
        rules: { maintenance: { thresholds: [{ name: 'hot', sensor: 'engineTemp', unit: '°C', above: 95, appliesTo: { attributes: { fleet: 'cranes' } } }] } },
      }),
    );
    expect(w.map((x) => x.message)).toEqual([expect.stringContaining('so every message of this topic with engineTemp from an asset those rules apply to (their appliesTo) would be quarantined') as unknown]);
  });

  it('says nothing of a unit that is the rule\'s or converts to it', () => {
    expect(withUnit('Cel')).toEqual([]);
    expect(withUnit('degF')).toEqual([]);
  });
});

describe('threshold rules on one sensor in °C for group EU and °F for group US', () => {
  const thresholds = (usFilter: object | null) => [
    { name: 'coolant-hot-eu', sensor: 'coolantTemp', unit: 'degC', above: 95, appliesTo: { attributes: { group: 'EU' } } },
    { name: 'coolant-hot-us', sensor: 'coolantTemp', unit: 'degF', above: 203, ...(usFilter ? { appliesTo: usFilter } : {}) },
  ];
  const compile = (unit: string, usFilter: object | null = { attributes: { group: 'US' } }) =>
    compileConfig({
      sources: mqtt({ sensors: { coolantTemp: { path: 't', unit } } }),
      destinations: [{ name: 'erp', type: 'rest', baseUrl: 'http://127.0.0.1:9' }],
      rules: { maintenance: { thresholds: thresholds(usFilter) } },
    });

  it('is accepted; config check says nothing of a decoder unit that converts to both, and names each unit one does not convert to', () => {
    expect(ruleInputWarnings(compile('°F'))).toEqual([]);
    expect(ruleInputWarnings(compile('K'))).toEqual([]);
    const w = ruleInputWarnings(compile('V'));
    expect(w.map((x) => x.key)).toEqual(['sources.mqtt.0.topics.0.decoder.sensors.coolantTemp.unit', 'sources.mqtt.0.topics.0.decoder.sensors.coolantTemp.unit']);
    expect(w.map((x) => x.message)).toEqual([
      expect.stringMatching(/^"V" does not convert to "degC", the unit threshold rule\(s\) coolant-hot-eu compare coolantTemp in, so every message of this topic with coolantTemp from an asset those rules apply to/) as unknown,
      expect.stringMatching(/^"V" does not convert to "degF", the unit threshold rule\(s\) coolant-hot-us compare coolantTemp in, so every message of this topic with coolantTemp from an asset those rules apply to/) as unknown,
    ]);
  });

  it('is refused under the second rule\'s key when both can apply to one asset', () => {
    let problems: readonly { key: string; message: string }[] = [];
    try {
      compile('°F', null);
    } catch (err) {
      problems = (err as { problems: readonly { key: string; message: string }[] }).problems;
    }
    expect(problems).toEqual([{ key: 'rules.maintenance.thresholds.1.unit', message: expect.stringMatching(/^sensor coolantTemp is compared in "degC" by rule coolant-hot-eu \(rules\.maintenance\.thresholds\.0\.unit\) but in "degF" by rule coolant-hot-us here, and both apply to every asset with group EU:/) as unknown }]);
  });
});

describe('rules nothing configured feeds', () => {
  it('names the threshold on a sensor no MQTT decoder maps, and the interval on a meter none reads', () => {
    const w = ruleInputWarnings(config(mqtt({ sensors: { engineTemp: { path: 't' } }, meters: { operatingHours: 'h' } })));
    expect(w.map((x) => x.key)).toEqual(['rules.maintenance.thresholds.0.sensor', 'rules.maintenance.serviceIntervals.1.everyKm']);
    expect(w[0]?.message).toBe('no MQTT decoder maps a sensor "engineTempC" (their sensors: engineTemp), so rule hot can never fire; map it in sources.mqtt[].topics[].decoder.sensors or fix the name');
  });

  it('says nothing when every input is mapped, when the HTTP intake or a telematics feed may carry anything, or with no source at all', () => {
    expect(ruleInputWarnings(config(mqtt({ sensors: { engineTemp: { path: 't' }, engineTempC: { path: 'c' } }, meters: { operatingHours: 'h', odometerKm: 'km' } })))).toEqual([]);
    expect(ruleInputWarnings(config({ ...mqtt({}), http: { token: 'a-long-token' } }))).toEqual([]);
    expect(ruleInputWarnings(config({}))).toEqual([]);
  });
});

describe('a fiscal calendar in a legacy fixed-offset zone (EST, MST, HST)', () => {
  const inZone = (timeZone: string) => compileConfig({ destinations: [{ name: 'erp', type: 'rest', baseUrl: 'http://127.0.0.1:9' }], rules: { depreciation: { timeZone } } });

  it('is accepted, with a warning naming the key, the fixed offset, and the IANA zone to use', () => {
    expect(ruleInputWarnings(inZone('EST'))).toEqual([
      {
        key: 'rules.depreciation.timeZone',
        message:
          '"EST" is accepted but is a fixed offset, UTC-05:00 all year with no daylight saving time, so in summer periods start at 01:00 local time, not at midnight; for the local time of the US East, use America/New_York (or America/Panama to keep the fixed offset)',
      },
    ]);
    expect(ruleInputWarnings(inZone('MST'))[0]?.message).toMatch(/^"MST" is accepted but is a fixed offset, UTC-07:00 .*use America\/Denver \(or America\/Phoenix to keep the fixed offset\)$/);
    expect(ruleInputWarnings(inZone('HST'))[0]?.message).toBe('"HST" is accepted but is a fixed offset, UTC-10:00 all year with no daylight saving time (as Hawaii keeps none); name it by its IANA zone, Pacific/Honolulu');
  });

  it('says nothing of IANA zones, UTC, or the legacy zones that do follow daylight saving time', () => {
    for (const zone of ['America/New_York', 'UTC', 'Europe/Berlin', 'EST5EDT']) expect(ruleInputWarnings(inZone(zone))).toEqual([]);
  });
});

describe('every other time zone key in a legacy fixed-offset zone', () => {
  const erp = [{ name: 'erp', type: 'rest', baseUrl: 'http://127.0.0.1:9' }];
  const slot = [{ days: ['sat'], from: '06:00', to: '14:00' }];
  const later = (what: string) => `"EST" is accepted but is a fixed offset, UTC-05:00 all year with no daylight saving time, so in summer ${what}; for the local time of the US East, use America/New_York (or America/Panama to keep the fixed offset)`;

  it('names the maintenance windows\' common zone and each site\'s own, by its key, not a site that takes the common one', () => {
    const c = compileConfig({
      destinations: erp,
      rules: { maintenance: { windows: { timeZone: 'EST', default: slot, sites: { HAM: slot, NYC: { timeZone: 'est', slots: slot }, DEN: { timeZone: 'MST', slots: slot }, BER: { timeZone: 'Europe/Berlin', slots: slot } } } } },
    });
    expect(ruleInputWarnings(c)).toEqual([
      { key: 'rules.maintenance.windows.timeZone', message: later('the windows open and close an hour later by the local clock (a 06:00 slot at 07:00)') },
      { key: 'rules.maintenance.windows.sites.NYC.timeZone', message: expect.stringMatching(/^"est" is accepted but is a fixed offset, UTC-05:00 /) },
      { key: 'rules.maintenance.windows.sites.DEN.timeZone', message: expect.stringMatching(/^"MST" is accepted .*use America\/Denver \(or America\/Phoenix to keep the fixed offset\)$/) },
    ]);
  });

  it('names the common windows zone even where no calendar runs in it (no default slots, every site its own zone)', () => {
    const c = compileConfig({ destinations: erp, rules: { maintenance: { windows: { timeZone: 'HST', sites: { HNL: { timeZone: 'Pacific/Honolulu', slots: slot } } } } } });
    expect(ruleInputWarnings(c)).toEqual([{ key: 'rules.maintenance.windows.timeZone', message: '"HST" is accepted but is a fixed offset, UTC-10:00 all year with no daylight saving time (as Hawaii keeps none); name it by its IANA zone, Pacific/Honolulu' }]);
  });

  it('names the inventory snapshot\'s zone and a telematics feed\'s schedule zone', () => {
    const c = compileConfig({
      destinations: erp,
      telematics: [
        { name: 'tu', auth: { type: 'bearer', token: 'x' }, schedule: { cron: '0 3 * * *', timeZone: 'UTC' } },
        { name: 'cat', auth: { type: 'bearer', token: 'x' }, schedule: { cron: '0 3 * * *', timeZone: 'EST' } },
      ],
      rules: { inventory: { timeZone: 'EST' } },
    });
    expect(ruleInputWarnings(c)).toEqual([
      { key: 'rules.inventory.timeZone', message: later('the full snapshot runs an hour later by the local clock than fullSnapshotCron says') },
      { key: 'telematics.1.schedule.timeZone', message: later('the scheduled pulls run an hour later by the local clock than the cron says') },
    ]);
  });

  it('of calendars not compiled from a config (built by hand): the common zone, and each site\'s that differs from it', () => {
    const cal = (timeZone: string) => ({ timeZone, windows: [] });
    expect(windowsTimeZones({ '*': cal('EST'), HAM: cal('EST'), DEN: cal('MST') })).toEqual([
      { key: 'timeZone', timeZone: 'EST' },
      { key: 'sites.DEN.timeZone', timeZone: 'MST' },
    ]);
    expect(windowsTimeZones({ NYC: cal('EST') })).toEqual([{ key: 'sites.NYC.timeZone', timeZone: 'EST' }]);
  });

  it('says nothing of IANA zones, UTC, or the legacy zones that follow daylight saving time', () => {
    for (const zone of ['America/New_York', 'UTC', 'EST5EDT']) {
      const c = compileConfig({
        destinations: erp,
        telematics: [{ name: 'tu', auth: { type: 'bearer', token: 'x' }, schedule: { cron: '0 3 * * *', timeZone: zone } }],
        rules: { inventory: { timeZone: zone }, maintenance: { windows: { timeZone: zone, default: slot, sites: { NYC: { timeZone: zone, slots: slot } } } } },
      });
      expect(ruleInputWarnings(c)).toEqual([]);
    }
  });
});

describe('a listed fiscal calendar that ends', () => {
  const withCalendar = () =>
    compileConfig({
      destinations: [{ name: 'erp', type: 'rest', baseUrl: 'http://127.0.0.1:9' }],
      rules: { depreciation: { periods: [{ id: 'FY26-P01', start: '2026-01-01' }, { id: 'FY26-P02', start: '2026-07-01' }], periodsEnd: '2027-01-01' } },
    });
  const at = (day: string) => Date.parse(`${day}T12:00:00Z`);

  it('is said within 45 days of its end, and once it has ended, naming periodsEnd', () => {
    expect(ruleInputWarnings(withCalendar(), at('2026-11-01'))).toEqual([]);
    expect(ruleInputWarnings(withCalendar(), at('2026-12-01'))).toEqual([
      { key: 'rules.depreciation.periodsEnd', message: expect.stringMatching(/^the fiscal calendar ends on 2027-01-01, in 31 day\(s\): usage after it falls in no period/) as unknown },
    ]);
    expect(ruleInputWarnings(withCalendar(), at('2027-02-01'))[0]?.message).toMatch(/^the fiscal calendar ended on 2027-01-01: .*rules\.depreciation\.periods/);
  });

  it('a monthly calendar never ends', () => {
    const monthly = compileConfig({ destinations: [{ name: 'erp', type: 'rest', baseUrl: 'http://127.0.0.1:9' }], rules: { depreciation: { periods: 'monthly' } } });
    expect(ruleInputWarnings(monthly, at('2040-01-01'))).toEqual([]);
  });
});

describe('an asset id from a topic level', () => {
  const withSegment = (filter: string, topicSegment: number) =>
    compileConfig({ sources: { mqtt: [{ name: 'yard', url: 'mqtt://127.0.0.1:1883', topics: [{ filter, decoder: { assetId: { topicSegment } } }] }] }, destinations: [{ name: 'erp', type: 'rest', baseUrl: 'http://127.0.0.1:9' }] });
  const key = 'sources.mqtt.0.topics.0.decoder.assetId.topicSegment';

  it('is said when the level is a fixed word of the filter, or beyond it', () => {
    expect(ruleInputWarnings(withSegment('fleet/+/telemetry', 0))).toEqual([{ key, message: 'level 0 of "fleet/+/telemetry" is the fixed word "fleet": every message would be asset "fleet"; the + level is 1' }]);
    expect(ruleInputWarnings(withSegment('fleet/+/telemetry', 3))[0]?.message).toMatch(/has 3 level\(s\).*level 3 never holds an asset id/);
  });

  it('is quiet for a + level, or under a #', () => {
    expect(ruleInputWarnings(withSegment('fleet/+/telemetry', 1))).toEqual([]);
    expect(ruleInputWarnings(withSegment('$share/g/fleet/+/t', 1))).toEqual([]);
    expect(ruleInputWarnings(withSegment('fleet/#', 2))).toEqual([]);
  });
});

describe('a fixed reader\'s decoder (zone alone) with no zones configured', () => {
  const gate = (rules: object) =>
    compileConfig({
      sources: { mqtt: [{ name: 'yard', url: 'mqtt://127.0.0.1:1883', topics: [{ filter: 'fleet/+/gps', decoder: { assetId: { path: 'tag' }, lat: 'lat', lng: 'lng', zone: 'geofence' } }, { filter: 'gates/+/reads', decoder: { assetId: { path: 'epc' }, zone: 'reader.zone' } }] }] },
      destinations: [{ name: 'erp', type: 'rest', baseUrl: 'http://127.0.0.1:9' }],
      rules,
    });

  it('is said, naming the decoder key and the filter: every sighting would be quarantined', () => {
    const w = ruleInputWarnings(gate({}));
    expect(w).toEqual([{ key: 'sources.mqtt.0.topics.1.decoder.zone', message: expect.stringContaining('each message on "gates/+/reads" is a zone sighting') as string }]);
    expect(w[0]?.message).toMatch(/no zones are configured: every one would be quarantined; add the readers' zones to rules\.zones/);
    expect(ruleInputWarnings(gate({ zones: { maxAccuracyM: 50 } })).map((x) => x.key)).toEqual(['sources.mqtt.0.topics.1.decoder.zone']);
  });

  it('is quiet once a zone is configured, and for a GPS decoder that maps the source\'s zone beside lat and lng', () => {
    expect(ruleInputWarnings(gate({ zones: { inline: [{ name: 'GATE-1', locationCode: 'L1', circle: { lat: 51.9, lng: 4, radiusM: 20 } }] } }))).toEqual([]);
  });
});

describe('rules.inventory.freshness not longer than rules.idleAfter', () => {
  // A tag read once is held until its asset is idle for idleAfter: by then older than a shorter freshness.
  it('says a tag read once would never count, naming the freshness key; nothing when freshness is longer, or idleAfter is off', () => {
    const w = ruleInputWarnings(config({}, { rules: { allowedLateness: '10s', idleAfter: '2m', inventory: { freshness: '2m' } } }));
    expect(w).toEqual([
      {
        key: 'rules.inventory.freshness',
        message:
          '2 min is not longer than rules.idleAfter (2 min): a tag read once has its sighting held until its asset has been silent for 2 min, by when it is older than the freshness, so it is never counted (only items read again and again are); set freshness well above idleAfter (the longest an item may go unseen and still count, e.g. 24h), or lower rules.idleAfter',
      },
    ]);
    expect(ruleInputWarnings(config({}, { rules: { allowedLateness: '10s', idleAfter: '2m', inventory: { freshness: '20s' } } })).map((x) => x.key)).toEqual(['rules.inventory.freshness']);
    expect(ruleInputWarnings(config({}, { rules: { allowedLateness: '10s', idleAfter: '2m', inventory: { freshness: '121s' } } }))).toEqual([]);
    // idleAfter 0: not about the freshness (below), nothing without inventory.
    expect(ruleInputWarnings(config({}, { rules: { allowedLateness: '10s', idleAfter: 0, inventory: { freshness: '20s' } } })).map((x) => x.key)).toEqual(['rules.idleAfter']);
    expect(ruleInputWarnings(config({}, { rules: { inventory: {} } }))).toEqual([]);
  });
});

describe('rules.idleAfter 0 with rules.inventory', () => {
  // Was: warned of for zones only; a tag read once waits the lateness, and only its next read decides it.
  it('says a tag read once may never be counted, naming the key and what to do; nothing with a lateness of 0 or idle watermarks on', () => {
    expect(ruleInputWarnings(config({}, { rules: { allowedLateness: '30s', idleAfter: 0, inventory: {} } }))).toEqual([
      {
        key: 'rules.idleAfter',
        message:
          "0 sends no idle watermarks: with rules.inventory, a tag's sighting waits rules.allowedLateness (30 s) for reads after it and is decided only at the tag's next read, so a tag read once (a pallet scanned at the gate) may never be counted; set idleAfter (the default is 2m, and keep it below rules.inventory.freshness) to have it decided after that much silence, or keep 0 only if every tag is read again and again",
      },
    ]);
    // With zones too: both said, each of its own rule.
    const zones = { inline: [{ name: 'yard', locationCode: 'L1', circle: { lat: 51.9, lng: 4, radiusM: 200 } }] };
    expect(ruleInputWarnings(config({}, { rules: { idleAfter: 0, zones, inventory: {} } })).map((x) => x.message.slice(0, 50))).toEqual(['0 sends no idle watermarks: with rules.zones, an a', '0 sends no idle watermarks: with rules.inventory, ']);
    // A lateness of 0 releases every sighting as it comes: nothing waits.
    expect(ruleInputWarnings(config({}, { rules: { allowedLateness: 0, idleAfter: 0, inventory: {} } }))).toEqual([]);
    expect(ruleInputWarnings(config({}, { rules: { allowedLateness: '30s', inventory: {} } }))).toEqual([]);
  });
});

describe('rules.idleAfter below rules.allowedLateness', () => {
  it('says the service waits the lateness instead, and nothing when idleAfter is at least it or off', () => {
    const w = ruleInputWarnings(config({}, { rules: { allowedLateness: '30s', idleAfter: '10s' } }));
    expect(w).toEqual([{ key: 'rules.idleAfter', message: '10 s is below rules.allowedLateness (30 s): a silent asset has what its rules hold decided after 30 s; set idleAfter to at least the lateness, or lower the lateness' }]);
    expect(ruleInputWarnings(config({}, { rules: { allowedLateness: '30s', idleAfter: '30s' } }))).toEqual([]);
    expect(ruleInputWarnings(config({}, { rules: { allowedLateness: '30s', idleAfter: 0 } }))).toEqual([]);
  });

  it('says, for 0 with zones configured, that a silent asset\'s zone dwell and a changed zone code wait for its next fix', () => {
    const zones = { inline: [{ name: 'yard', locationCode: 'L1', circle: { lat: 51.9, lng: 4, radiusM: 200 } }] };
    const w = ruleInputWarnings(config({}, { rules: { idleAfter: 0, zones } }));
    expect(w).toEqual([{ key: 'rules.idleAfter', message: expect.stringContaining('0 sends no idle watermarks: with rules.zones') as unknown }]);
    expect(w[0]?.message).toContain("a zone's changed locationCode or ranking, decided only at its next fix; set idleAfter (the default is 2m)");
    // Not with idle watermarks on (the default), and not for 0 without zones (above).
    expect(ruleInputWarnings(config({}, { rules: { zones } }))).toEqual([]);
  });
});

describe('rules.location.heartbeatMs 0', () => {
  // Was taken silently: read as "no heartbeat", it sends every fix (rules list: "or every 0 s").
  it('says every fix would be sent, not that the heartbeat is off; nothing for a heartbeat above 0 or location sync off', () => {
    expect(ruleInputWarnings(config({}, { rules: { location: { heartbeatMs: 0 } } }))).toEqual([
      { key: 'rules.location.heartbeatMs', message: expect.stringContaining('0 does not turn the heartbeat off: every fix is then due one, so each fix of each asset is sent as a location.update whatever minDistanceM') as unknown },
    ]);
    expect(ruleInputWarnings(config({}, { rules: { location: { heartbeatMs: '1s' } } }))).toEqual([]);
    expect(ruleInputWarnings(config({}, { rules: { location: { heartbeatMs: 0, enabled: false } } }))).toEqual([]);
  });
});

describe('settings that select none of the assets known', () => {
  const rules = (r: object) => rulesSchema.parse(r);
  const asset = (erpAssetId: string, erpModule: string, attributes: Record<string, string>): AssetRecord => ({ erpAssetId, erpModule, attributes });
  const fleet = [asset('EX-1', 'maintenance', { site: 'ROT' }), asset('EX-2', 'maintenance', { site: 'HAM' })];
  const slot = [{ days: ['sat'], from: '06:00', to: '14:00' }];

  it('names a windows site no asset is at, a site attribute none has, and appliesTo filters that select nothing', () => {
    const r = rules({
      location: { appliesTo: { erpModules: ['fleet'] } },
      maintenance: {
        thresholds: [{ name: 'hot', sensor: 't', above: 95, appliesTo: { erpModules: ['maintenence'] } }, { name: 'ok', sensor: 't', above: 99 }],
        serviceIntervals: [{ name: 'svc', everyHours: 250, appliesTo: { attributes: { site: 'ROT' } } }],
        windows: { timeZone: 'UTC', sites: { ROTT: slot, ROT: slot } },
      },
    });
    expect(assetMatchWarnings(r, fleet, 'listed in the config')).toEqual([
      { key: 'rules.maintenance.windows.sites.ROTT', message: 'none of the 2 asset(s) listed in the config is at site "ROTT" (attribute site; sites: ROT, HAM), so these windows plan nothing; check the name' },
      {
        key: 'rules.maintenance.windows.default',
        message: '1 of the 2 asset(s) listed in the config are at sites with no maintenance windows (HAM) and there is no default, so their work orders get no planned dates (plannedStart: null); add rules.maintenance.windows.default, or slots under rules.maintenance.windows.sites.<site>',
      },
      { key: 'rules.maintenance.thresholds.0.appliesTo', message: 'none of the 2 asset(s) listed in the config matches it, so rule hot applies to no asset; check the values (erpModules known: maintenance)' },
      { key: 'rules.location.appliesTo', message: 'none of the 2 asset(s) listed in the config matches it, so location sync applies to no asset; check the values (erpModules known: maintenance)' },
    ]);
    // Meter sync's appliesTo too, unless meter sync is off (it then sends no asset's readings anyway).
    expect(assetMatchWarnings(rules({ meters: { appliesTo: { attributes: { fleet: 'own' } } } }), fleet, 'listed in the config')).toEqual([
      { key: 'rules.meters.appliesTo', message: expect.stringMatching(/^none of the 2 asset\(s\) listed in the config matches it, so meter sync applies to no asset; no asset has attribute "fleet"/) },
    ]);
    expect(assetMatchWarnings(rules({ meters: { enabled: false, appliesTo: { attributes: { fleet: 'own' } } } }), fleet, 'listed in the config')).toEqual([]);
    // Location sync's alike: off, it applies to no asset whatever its appliesTo says.
    expect(assetMatchWarnings(rules({ location: { enabled: false, appliesTo: { erpModules: ['fleet'] } } }), fleet, 'listed in the config')).toEqual([]);
    const plant = rules({ maintenance: { siteAttribute: 'plant', thresholds: [{ name: 'ok', sensor: 't', above: 99 }], windows: { timeZone: 'UTC', sites: { ROT: slot } } } });
    expect(assetMatchWarnings(plant, fleet, 'in the registry').map((w) => w.key)).toEqual(['rules.maintenance.siteAttribute']);
  });

  it('names the condition of an appliesTo that selects nothing: an attribute no asset has, a value none has, or the combination', () => {
    const r = rules({
      maintenance: {
        thresholds: [
          { name: 'by-group', sensor: 't', above: 95, appliesTo: { attributes: { group: ['EU'] } } },
          { name: 'by-site', sensor: 't', above: 95, appliesTo: { erpModules: ['maintenance'], attributes: { site: ['rot', 'AMS'] } } },
          { name: 'both', sensor: 't', above: 95, appliesTo: { attributes: { site: 'ROT', plant: 'P2' } } },
        ],
      },
    });
    const assetsOf = [asset('EX-1', 'maintenance', { site: 'ROT', plant: 'P1' }), asset('EX-2', 'maintenance', { site: 'HAM', plant: 'P2' })];
    expect(assetMatchWarnings(r, assetsOf, 'listed in the config')).toEqual([
      {
        key: 'rules.maintenance.thresholds.0.appliesTo',
        message: 'none of the 2 asset(s) listed in the config matches it, so rule by-group applies to no asset; no asset has attribute "group" (attributes the assets have: plant, site)',
      },
      {
        key: 'rules.maintenance.thresholds.1.appliesTo',
        message: 'none of the 2 asset(s) listed in the config matches it, so rule by-site applies to no asset; no asset has attribute site "rot" or "AMS" (values it has: HAM, ROT; values compare exactly, case included)',
      },
      {
        key: 'rules.maintenance.thresholds.2.appliesTo',
        message: 'none of the 2 asset(s) listed in the config matches it, so rule both applies to no asset; each of its conditions selects some asset, but none selects the same one: check the combination',
      },
    ]);
  });

  it('says nothing with no assets to judge by, or when every setting selects some asset', () => {
    const r = rules({ maintenance: { thresholds: [{ name: 'hot', sensor: 't', above: 95, appliesTo: { erpModules: ['x'] } }] } });
    expect(assetMatchWarnings(r, [], 'listed in the config')).toEqual([]);
    const fine = rules({ maintenance: { thresholds: [{ name: 'hot', sensor: 't', above: 95, appliesTo: { attributes: { site: 'HAM' } } }], windows: { timeZone: 'UTC', default: slot, sites: { ROT: slot } } } });
    expect(assetMatchWarnings(fine, fleet, 'listed in the config')).toEqual([]);
  });

  // With no rules.depreciation.appliesTo, depreciation applied to inventory pallets and trucks off
  // the asset register: the preview listed each with "attribute cost missing", and config check said nothing.
  it('warns, naming rules.depreciation.appliesTo, when depreciation applies to assets that have none of its attributes', () => {
    const mixed = [asset('EX-1', 'maintenance', { cost: '1000', expectedUnits: '100' }), asset('PAL-7', 'inventory', { sku: 'S-1' }), asset('TR-5', 'fleet', {})];
    expect(assetMatchWarnings(rules({ depreciation: { timeZone: 'UTC' } }), mixed, 'listed in the config')).toEqual([
      {
        key: 'rules.depreciation.appliesTo',
        message:
          'depreciation applies to 2 of the 3 asset(s) listed in the config that have none of its attributes (cost, salvage, expectedUnits, usefulLifeMonths, unitsAtAcquisition, inServiceDate): PAL-7 (inventory), TR-5 (fleet); ' +
          `'depreciation preview' lists them with "attribute … missing" and their usage is posted all the same. Limit depreciation to the assets it is for with rules.depreciation.appliesTo (erpModules or attributes)`,
      },
    ]);
    // Limited to the register's assets, or every asset with some attribute of it: nothing to say.
    expect(assetMatchWarnings(rules({ depreciation: { timeZone: 'UTC', appliesTo: { erpModules: ['maintenance'] } } }), mixed, 'in the registry')).toEqual([]);
    expect(assetMatchWarnings(rules({ depreciation: { timeZone: 'UTC' } }), mixed.slice(0, 1), 'in the registry')).toEqual([]);
  });
});

describe('a service interval without appliesTo, with inventory items among the assets', () => {
  const rules = (r: object) => rulesSchema.parse(r);
  const asset = (erpAssetId: string, erpModule: string, attributes: Record<string, string>): AssetRecord => ({ erpAssetId, erpModule, attributes });
  const fleet = [asset('EX-1', 'maintenance', {}), asset('TR-5', 'fleet', {}), asset('PAL-7', 'inventory', { sku: 'S-1' }), asset('PAL-8', 'inventory', { sku: 'S-2', quantity: '40' })];
  const intervals = [{ name: 'svc-250h', everyHours: 250 }, { name: 'oil', everyKm: 15000 }, { name: 'ex-only', everyHours: 500, appliesTo: { erpModules: ['maintenance'] } }];

  // Every service interval applied to the tagged pallets too: 'maintenance status' listed each with
  // "no readings" for every interval, and config check said nothing.
  it('warns under the interval\'s appliesTo key, naming the items and a filter that leaves them out', () => {
    expect(assetMatchWarnings(rules({ maintenance: { serviceIntervals: intervals }, inventory: {} }), fleet, 'listed in the config')).toEqual([
      {
        key: 'rules.maintenance.serviceIntervals.0.appliesTo',
        message:
          'service interval svc-250h has no appliesTo, so it applies to every asset, 2 of the 4 asset(s) listed in the config being inventory items (attribute sku, counted by rules.inventory): PAL-7, PAL-8; ' +
          `tagged items send sightings, not operating hours, so it never comes due for them and 'maintenance status' lists each with "no readings". Limit it to the machines it is for with appliesTo, e.g. appliesTo: { erpModules: [fleet, maintenance] }`,
      },
      {
        key: 'rules.maintenance.serviceIntervals.1.appliesTo',
        message:
          'service interval oil has no appliesTo, so it applies to every asset, 2 of the 4 asset(s) listed in the config being inventory items (attribute sku, counted by rules.inventory): PAL-7, PAL-8; ' +
          `tagged items send sightings, not an odometer, so it never comes due for them and 'maintenance status' lists each with "no readings". Limit it to the machines it is for with appliesTo, e.g. appliesTo: { erpModules: [fleet, maintenance] }`,
      },
    ]);
  });

  it('tells the items by the configured skuAttribute, and names no erpModules filter where the items share a module with the machines', () => {
    const shared = [asset('EX-1', 'assets', { site: 'ROT' }), asset('PAL-7', 'assets', { article: 'S-1' }), asset('PAL-9', 'assets', { article: ' ' })];
    const warned = assetMatchWarnings(rules({ maintenance: { serviceIntervals: intervals.slice(0, 1) }, inventory: { skuAttribute: 'article' } }), shared, 'in the registry');
    expect(warned.map((w) => w.key)).toEqual(['rules.maintenance.serviceIntervals.0.appliesTo']);
    // A blank SKU is no inventory item (as inventory counts it).
    expect(warned[0]?.message).toContain('1 of the 3 asset(s) in the registry being inventory items (attribute article, counted by rules.inventory): PAL-7;');
    expect(warned[0]?.message).toMatch(/with appliesTo \(erpModules or attributes the inventory items do not have\)$/);
  });

  it('says nothing without rules.inventory (no asset is an item then), without items, or for intervals with an appliesTo', () => {
    expect(assetMatchWarnings(rules({ maintenance: { serviceIntervals: intervals } }), fleet, 'listed in the config')).toEqual([]);
    expect(assetMatchWarnings(rules({ maintenance: { serviceIntervals: intervals }, inventory: {} }), fleet.slice(0, 2), 'listed in the config')).toEqual([]);
    expect(assetMatchWarnings(rules({ maintenance: { serviceIntervals: intervals.slice(2) }, inventory: {} }), fleet, 'listed in the config')).toEqual([]);
  });
});

describe('a calendar interval without appliesTo, with inventory items among the assets', () => {
  const rules = (r: object) => rulesSchema.parse(r);
  const asset = (erpAssetId: string, erpModule: string, attributes: Record<string, string>): AssetRecord => ({ erpAssetId, erpModule, attributes });
  const fleet = [asset('EX-1', 'maintenance', {}), asset('TR-5', 'fleet', {}), asset('PAL-7', 'inventory', { sku: 'S-1' }), asset('PAL-8', 'inventory', { sku: 'S-2', lastServiceDate: '2026-11-01' })];
  const calendar = [{ name: 'inspect-90d', everyDays: 90 }, { name: 'pm-250h-6m', everyDays: 182, everyHours: 250 }, { name: 'lift-cert', everyDays: 365, appliesTo: { erpModules: ['maintenance'] } }];
  const items = '2 of the 4 asset(s) listed in the config being inventory items (attribute sku, counted by rules.inventory): PAL-7, PAL-8; ';
  const limit = 'Limit it to the machines it is for with appliesTo, e.g. appliesTo: { erpModules: [fleet, maintenance] }; if the items are to be inspected too (tagged cylinders or cages), an appliesTo that selects them says so';

  // Its date side counted for the tagged pallets too, from the first check: a real work order for every
  // pallet every 90 days (the calendar task), and config check said nothing.
  it('warns under the interval\'s appliesTo key that it will open a work order for each item every N days, whichever-first ones too', () => {
    expect(assetMatchWarnings(rules({ maintenance: { calendarIntervals: calendar }, inventory: {} }), fleet, 'listed in the config')).toEqual([
      {
        key: 'rules.maintenance.calendarIntervals.0.appliesTo',
        message:
          `calendar interval inspect-90d has no appliesTo, so it applies to every asset, ${items}it counts days whether an asset reports or not, so it will open a work order for each of them every 90 days, ` +
          `counted from their lastServiceDate or, without one, from the day the service first checks them. ${limit}`,
      },
      {
        key: 'rules.maintenance.calendarIntervals.1.appliesTo',
        message:
          `calendar interval pm-250h-6m has no appliesTo, so it applies to every asset, ${items}it counts days whether an asset reports or not, so it will open a work order for each of them every 182 days, ` +
          `counted from their lastServiceDate or, without one, from the day the service first checks them; its hours side never comes due for them (tagged items send sightings, not operating hours), its date side does. ${limit}`,
      },
    ]);
  });

  it('names the baseline attribute and the meter configured, and comes after the service intervals\' warnings', () => {
    const both = rules({ maintenance: { serviceIntervals: [{ name: 'svc-250h', everyHours: 250 }], calendarIntervals: [{ name: 'pm-km', everyDays: 30, everyKm: 5000, baselineAttribute: 'inspectedOn' }] }, inventory: {} });
    const warned = assetMatchWarnings(both, fleet, 'in the registry');
    expect(warned.map((w) => w.key)).toEqual(['rules.maintenance.serviceIntervals.0.appliesTo', 'rules.maintenance.calendarIntervals.0.appliesTo']);
    expect(warned[1]?.message).toContain('every 30 days, counted from their inspectedOn or, without one, from the day the service first checks them; its km side never comes due for them (tagged items send sightings, not an odometer), its date side does.');
  });

  it('says nothing without rules.inventory, without items, or for intervals with an appliesTo (one selecting the items too means them)', () => {
    expect(assetMatchWarnings(rules({ maintenance: { calendarIntervals: calendar } }), fleet, 'listed in the config')).toEqual([]);
    expect(assetMatchWarnings(rules({ maintenance: { calendarIntervals: calendar }, inventory: {} }), fleet.slice(0, 2), 'listed in the config')).toEqual([]);
    const cylinders = [{ name: 'cylinder-test', everyDays: 365, appliesTo: { erpModules: ['inventory'] } }, ...calendar.slice(2)];
    expect(assetMatchWarnings(rules({ maintenance: { calendarIntervals: cylinders }, inventory: {} }), fleet, 'listed in the config')).toEqual([]);
  });

  it('says nothing of thresholds and alerts without appliesTo: sightings carry no sensor values or faults', () => {
    const r = rules({ maintenance: { thresholds: [{ name: 'hot', sensor: 'temp', above: 95 }], alerts: [{ name: 'faults' }] }, inventory: {} });
    expect(assetMatchWarnings(r, fleet, 'listed in the config')).toEqual([]);
  });
});

describe('maintenance windows that plan nothing', () => {
  const slot = [{ days: ['sat'], from: '06:00', to: '14:00' }];
  const withWindows = (windows: object) => config({}, { rules: { maintenance: { thresholds: [{ name: 'hot', sensor: 't', above: 95 }], windows } } });
  const now = Date.UTC(2026, 9, 1);

  it('names a site listed with no slots, and closed days that leave no window in the lookahead', () => {
    const w = ruleInputWarnings(withWindows({ timeZone: 'UTC', default: slot, closed: [{ from: '2026-01-01', to: '2026-12-31' }], sites: { BER: [], HAM: { slots: slot, closed: [{ from: '2027-01-01', to: '2030-01-01' }] } } }), now);
    expect(w.filter((x) => x.key.startsWith('rules.maintenance.windows'))).toEqual([
      { key: 'rules.maintenance.windows.sites.BER', message: 'site "BER" has no slots, so work orders of assets at site "BER" get no planned dates (plannedStart: null), not the default windows; give it slots, or remove it to use rules.maintenance.windows.default' },
      {
        key: 'rules.maintenance.windows.sites.HAM.closed',
        message: 'the closed days leave no window of rules.maintenance.windows.sites.HAM in the next 400 days, so work orders of assets at site "HAM" get no planned dates (plannedStart: null); check rules.maintenance.windows.closed and sites.HAM.closed',
      },
    ]);
    // The default's closed days end in 2026: it has windows after them.
    expect(ruleInputWarnings(withWindows({ timeZone: 'UTC', default: slot, sites: { HAM: slot } }), now).filter((x) => x.key.startsWith('rules.maintenance.windows'))).toEqual([]);
  });

  it('names the assets at sites without windows when there is no default, and nothing with a default or no windows at all', () => {
    const asset = (erpAssetId: string, attributes: Record<string, string>): AssetRecord => ({ erpAssetId, erpModule: 'maintenance', attributes });
    const fleet = [asset('EX-1', { site: 'ROT' }), asset('EX-2', { site: 'HAM' }), asset('EX-3', {})];
    const only = rulesSchema.parse({ maintenance: { windows: { timeZone: 'UTC', sites: { ROT: slot } } } });
    expect(assetMatchWarnings(only, fleet, 'in the registry')).toEqual([
      {
        key: 'rules.maintenance.windows.default',
        message: '2 of the 3 asset(s) in the registry are at sites with no maintenance windows (HAM, (no site attribute)) and there is no default, so their work orders get no planned dates (plannedStart: null); add rules.maintenance.windows.default, or slots under rules.maintenance.windows.sites.<site>',
      },
    ]);
    expect(assetMatchWarnings(rulesSchema.parse({ maintenance: { windows: { timeZone: 'UTC', default: slot, sites: { ROT: slot } } } }), fleet, 'in the registry')).toEqual([]);
    expect(assetMatchWarnings(rulesSchema.parse({ maintenance: {} }), fleet, 'in the registry')).toEqual([]);
  });
});

describe("the registry's assets with invalid depreciation inputs, at the service's start", () => {
  const asset = (erpAssetId: string, attributes: Record<string, string>, erpModule = 'fixed-assets'): AssetRecord => ({ erpAssetId, erpModule, attributes });
  const rules = (depreciation: Record<string, unknown> = {}) => rulesSchema.parse({ depreciation });

  it('one warning, counting them and naming the first few with what is wrong', () => {
    const assets = [asset('EQ-1', { cost: '100000', expectedUnits: '10000' }), asset('EQ-2', { expectedUnits: '0' }), ...Array.from({ length: 6 }, (_, i) => asset(`EQ-${i + 10}`, { cost: '1,200' }))];
    const w = storedDepreciationInputWarning(rules(), assets);
    expect(w?.key).toBe('rules.depreciation.attributes');
    expect(w?.message).toMatch(/^7 asset\(s\) in the registry have invalid depreciation inputs: EQ-2: attribute "expectedUnits" \(0\) must be more than 0[^;]* \(its usage postings are held back\); EQ-10: attribute "cost" \("1,200"\) is not a number/);
    expect(w?.message).not.toMatch(/EQ-10: [^;]*held back/); // cost is not posted: nothing held back for it
    expect(w?.message).toContain('EQ-13: attribute "cost"');
    expect(w?.message).not.toContain('EQ-14');
    expect(w?.message).toContain("; and 2 more; fix the attributes (assets import, or the config's assets); 'assetbridge depreciation preview' lists every one");
  });

  it('says postings are sent as they are with holdBack off; none for valid inputs, assets the rule does not apply to, or no depreciation', () => {
    const bad = [asset('EQ-2', { expectedUnits: '-5' })];
    const sent = storedDepreciationInputWarning(rules({ holdBack: false }), bad)?.message;
    expect(sent).toContain('; rules.depreciation.holdBack is false, so usage postings carrying them are sent as they are');
    expect(sent).not.toContain('held back');
    expect(storedDepreciationInputWarning(rules(), [asset('EQ-1', { cost: '100000', expectedUnits: '10000' })])).toBeUndefined();
    expect(storedDepreciationInputWarning(rules({ appliesTo: { erpModules: ['fleet'] } }), bad)).toBeUndefined();
    expect(storedDepreciationInputWarning(rulesSchema.parse({}), bad)).toBeUndefined();
  });
});
