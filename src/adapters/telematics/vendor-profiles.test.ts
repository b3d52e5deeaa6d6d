import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../core/errors/errors.js';
import { telematicsSchema } from '../../config/telematics-schema.js';
import { VENDOR_PROFILES, resolveProvider, resolveVendorProfile } from './vendor-profiles.js';

describe('vendor profiles', () => {
  it('carry the documented budgets', () => {
    expect(VENDOR_PROFILES.trackunit).toMatchObject({
      perUrlIntervalMs: 15 * 60_000,
      reserve: { size: 50, refillMs: 30 * 24 * 3_600_000 },
      perSecond: { fleet: 50, equipment: 500, timeSeries: 500 },
      timeSeriesBudgetKey: 'equipment-element',
      supportsAddMetadata: true,
    });
    expect(VENDOR_PROFILES.deere.perUrlIntervalMs).toBe(3_600_000);
    expect(VENDOR_PROFILES.samsara.perSecond.fleet).toBe(5);
    expect(VENDOR_PROFILES.cat.dailyRequestCap).toBe(50_000);
    expect(VENDOR_PROFILES.develon.token.body).toBe('text');
    expect(VENDOR_PROFILES.proemion.token).toMatchObject({ errors: 'xml', minLoginIntervalMs: 1000 });
  });

  it('applies config overrides value by value', () => {
    const p = resolveVendorProfile('trackunit', { perSecond: { fleet: 10 }, reserveSize: 0, paths: { fleet: '/fleet/{page}' } });
    expect(p.perSecond).toEqual({ fleet: 10, equipment: 500, timeSeries: 500 });
    expect(p.reserve).toEqual({ size: 0, refillMs: 30 * 24 * 3_600_000 });
    expect(p.paths).toMatchObject({ fleet: '/fleet/{page}', equipment: '/Fleet/Equipment/ID/{id}' });
  });

  it('uses the vendor base URL, and asks for one where the vendor has none', () => {
    const auth = { type: 'bearer', token: 'abc' };
    const tu = resolveProvider(telematicsSchema.parse({ name: 'tu', vendor: 'trackunit', auth }));
    expect(tu).toMatchObject({ source: 'aemp:tu', baseUrl: 'https://iris.trackunit.com/public/api/aemp/v2/15143/-3', addMetadata: true });
    const deere = telematicsSchema.parse({ name: 'jd', vendor: 'deere', auth });
    const err = (() => {
      try {
        resolveProvider(deere, 3);
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).problems).toEqual([{ key: 'telematics.3.baseUrl', message: 'vendor "deere" has no default ISO API address; set baseUrl to the feed\'s ISO 15143-3 base URL' }]);
    expect(resolveProvider(telematicsSchema.parse({ name: 'g', baseUrl: 'https://x.example/aemp/', auth })).baseUrl).toBe('https://x.example/aemp');
  });
});
