import { describe, expect, it } from 'vitest';
import { telematicsConfigProblems, telematicsSchema } from './telematics-schema.js';

const base = { name: 'tu', vendor: 'trackunit', auth: { type: 'bearer', token: 'abc' } };

describe('telematicsSchema', () => {
  it('fills the defaults: daily schedule at 03:00 UTC, JSON, reserve on request keeping 5', () => {
    const c = telematicsSchema.parse(base);
    expect(c).toMatchObject({ format: 'json', schedule: { enabled: true, cron: '0 3 * * *', timeZone: 'UTC' }, reserve: { policy: 'on-request', keep: 5 }, maxBudgetWait: 20 * 60_000, pageLookahead: 2 });
    expect(c.timeSeries.elements).toEqual(['Locations', 'CumulativeOperatingHours', 'CumulativeIdleHours', 'Distance']);
  });

  it('fills Trackunit token defaults for both flavours', () => {
    const legacy = telematicsSchema.parse({ ...base, auth: { type: 'trackunit-password', username: 'u', password: 'p', clientId: 'c', clientSecret: 's' } });
    expect(legacy.auth).toMatchObject({ tokenUrl: 'https://auth.trackunit.com/token', scope: 'api', offlineAccess: true });
    const v2 = telematicsSchema.parse({ ...base, auth: { type: 'trackunit-token-v2', clientId: 'c', clientSecret: 's' } });
    expect(v2.auth).toMatchObject({ tokenUrl: 'https://auth.trackunit.com/token/v2', scopes: [] });
  });

  it('says what is wrong with a bad cron expression, duration or auth type', () => {
    const cron = telematicsSchema.safeParse({ ...base, schedule: { cron: 'every day' } });
    expect(cron.success).toBe(false);
    expect(cron.error?.issues[0]?.message).toMatch(/"every day" is not a cron expression .* write e\.g\. "0 3 \* \* \*"/);
    const wait = telematicsSchema.safeParse({ ...base, maxBudgetWait: 'soon' });
    expect(wait.error?.issues[0]?.message).toMatch(/"soon" is not a duration/);
    expect(telematicsSchema.safeParse({ ...base, auth: { type: 'magic' } }).success).toBe(false);
    expect(telematicsSchema.parse({ ...base, profile: { perUrlInterval: '15m', reserveRefill: '30d' } }).profile).toEqual({ perUrlInterval: 900_000, reserveRefill: 2_592_000_000 });
  });

  it('finds duplicate names and unknown time zones across entries', () => {
    const a = telematicsSchema.parse(base);
    const b = telematicsSchema.parse({ ...base, schedule: { timeZone: 'Mars/Olympus' } });
    expect(telematicsConfigProblems([a, b])).toEqual([
      { key: 'telematics.1.name', message: 'duplicate telematics provider name "tu" (telematics.0 has it too): give each provider its own name; it keys the provider\'s request budget, pull cursor and review list in the store' },
      { key: 'telematics.1.schedule.timeZone', message: '"Mars/Olympus" is not a known IANA time zone; use e.g. UTC, Europe/Berlin, America/New_York' },
    ]);
    // The same check on what was given, where the schema refused the config: an entry's value of the wrong kind is passed over.
    expect(telematicsConfigProblems([base, { ...base, vendor: 'nope', schedule: { timeZone: 'Mars/Olympus' } }, { name: 7, schedule: 'daily' }, null])).toEqual(telematicsConfigProblems([a, b]));
  });
});
