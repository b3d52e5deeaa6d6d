/**
 * Vendor profiles: everything that differs between ISO 15143-3 feeds, as data rather than special
 * cases in the client: request budgets (Trackunit's per-URL limit and reserve, Deere's one-hour
 * cache, Samsara's 5 requests/s, Cat's daily quota), path templates, page numbering and token
 * endpoint quirks (a plain-text token body, XML error bodies, a login rate). A config entry picks a
 * profile by `vendor` and may override single values (`profile:` in config).
 *
 * Facts and their confidence are in docs `reference/telematics.md` §1.3, §2.2, §2.5, §3.1.
 * @module
 */
import { ConfigError } from '../../core/errors/errors.js';
import type { TelematicsConfig, TelematicsVendor, VendorProfileOverride } from '../../config/telematics-schema.js';

/** Request classes, each with its own per-second cap. */
export type RequestClass = 'fleet' | 'equipment' | 'timeSeries';

/** How a vendor's token endpoint answers. */
export interface TokenEndpointDialect {
  /** `json`: an OAuth2 JSON body; `text`: the bare token as plain text (MyDevelon). */
  readonly body: 'json' | 'text';
  /** `xml`: error bodies are XML even though tokens are JSON (Proemion); else JSON or text. */
  readonly errors: 'json' | 'xml';
  /** Token lifetime assumed when the endpoint does not say (`expires_in` absent). */
  readonly assumedTtlMs: number;
  /** Least time between two token requests (Proemion allows one login per second); 0 = none. */
  readonly minLoginIntervalMs: number;
}

export interface VendorProfile {
  readonly vendor: TelematicsVendor;
  readonly displayName: string;
  /** Default ISO API base; undefined when each customer has its own (config must give `baseUrl`). */
  readonly baseUrl?: string;
  /** Path templates appended to the base: `{page}`, `{id}`, `{element}`, `{from}`, `{to}`. */
  readonly paths: { readonly fleet: string; readonly equipment: string; readonly timeSeries: string };
  /** Number of the first fleet page. */
  readonly firstPage: number;
  /** Elements per fleet page (for progress estimates only; links drive paging). */
  readonly pageSize: number;
  /** Hop cap for one walk over linked pages. */
  readonly maxPages: number;
  /** Least time between two ordinary requests to one URL (budget key); 0 = no per-URL limit. */
  readonly perUrlIntervalMs: number;
  /** Per-URL pool of extra requests, each available again `refillMs` after use; size 0 = none. */
  readonly reserve: { readonly size: number; readonly refillMs: number };
  /** Requests per second per class, for all pulls of one provider account together. */
  readonly perSecond: Readonly<Record<RequestClass, number>>;
  /** Rest for a URL after a 429 that carries no `Retry-After`. */
  readonly rateLimitCooldownMs: number;
  /** Requests per UTC day for the whole account; 0 = no cap. */
  readonly dailyRequestCap: number;
  /**
   * What a time-series request's per-URL budget is keyed by: the full URL, or equipment + element
   * + page (Trackunit: "for time series the limit is per data point and equipment", so a new date
   * window does not buy a fresh budget).
   */
  readonly timeSeriesBudgetKey: 'url' | 'equipment-element';
  /** Longest window one time-series request may cover; 0 = the whole range at once. */
  readonly timeSeriesWindowMs: number;
  /** The feed understands Trackunit's `addMetadata=true` extension. */
  readonly supportsAddMetadata: boolean;
  readonly token: TokenEndpointDialect;
  /** Schedule the vendor recommends (cron, UTC). */
  readonly recommendedCron: string;
}

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

const STANDARD_PATHS = {
  fleet: '/Fleet/{page}',
  equipment: '/Fleet/Equipment/ID/{id}',
  timeSeries: '/Fleet/Equipment/ID/{id}/{element}/{from}/{to}/{page}',
} as const;

const JSON_TOKENS: TokenEndpointDialect = { body: 'json', errors: 'json', assumedTtlMs: HOUR, minLoginIntervalMs: 0 };

const GENERIC: VendorProfile = {
  vendor: 'generic',
  displayName: 'Generic ISO 15143-3 feed',
  paths: STANDARD_PATHS,
  firstPage: 1,
  pageSize: 100,
  maxPages: 5000,
  perUrlIntervalMs: 0,
  reserve: { size: 0, refillMs: 0 },
  perSecond: { fleet: 5, equipment: 5, timeSeries: 5 },
  rateLimitCooldownMs: 5 * MINUTE,
  dailyRequestCap: 0,
  timeSeriesBudgetKey: 'url',
  timeSeriesWindowMs: 14 * DAY,
  supportsAddMetadata: false,
  token: JSON_TOKENS,
  recommendedCron: '0 3 * * *',
};

/** Built-in profiles by vendor id. */
export const VENDOR_PROFILES: Readonly<Record<TelematicsVendor, VendorProfile>> = {
  trackunit: {
    ...GENERIC,
    vendor: 'trackunit',
    displayName: 'Trackunit Iris ISO export',
    baseUrl: 'https://iris.trackunit.com/public/api/aemp/v2/15143/-3',
    perUrlIntervalMs: 15 * MINUTE,
    reserve: { size: 50, refillMs: 30 * DAY },
    perSecond: { fleet: 50, equipment: 500, timeSeries: 500 },
    // "Never retry a 429 sooner than about 15 min for the same URL."
    rateLimitCooldownMs: 15 * MINUTE,
    timeSeriesBudgetKey: 'equipment-element',
    // Trackunit documents no window cap; one request per (equipment, element) spends the least budget.
    timeSeriesWindowMs: 0,
    supportsAddMetadata: true,
  },
  cat: {
    ...GENERIC,
    vendor: 'cat',
    displayName: 'Caterpillar VisionLink ISO 15143-3',
    baseUrl: 'https://services.cat.com/telematics/iso15143',
    paths: { ...STANDARD_PATHS, fleet: '/fleet/{page}', equipment: '/fleet/equipment/ID/{id}' },
    // 100 rps for snapshots, 10 rps general (Cat advises staying at 7–8) [secondary source].
    perSecond: { fleet: 100, equipment: 100, timeSeries: 8 },
    rateLimitCooldownMs: MINUTE,
    dailyRequestCap: 50_000,
    token: { ...JSON_TOKENS, assumedTtlMs: HOUR },
  },
  deere: {
    ...GENERIC,
    vendor: 'deere',
    displayName: 'John Deere AEMP',
    // Responses are cached for one hour: polling faster only adds load.
    perUrlIntervalMs: HOUR,
    perSecond: { fleet: 5, equipment: 5, timeSeries: 5 },
    recommendedCron: '0 * * * *',
  },
  samsara: {
    ...GENERIC,
    vendor: 'samsara',
    displayName: 'Samsara AEMP',
    baseUrl: 'https://api.samsara.com/beta/aemp',
    perSecond: { fleet: 5, equipment: 5, timeSeries: 5 },
    rateLimitCooldownMs: MINUTE,
  },
  develon: {
    ...GENERIC,
    vendor: 'develon',
    displayName: 'Develon (Doosan) MyDevelon AEMP',
    baseUrl: 'https://extapi.mydevelon.com/api/rest/aemp/2.0',
    token: { ...JSON_TOKENS, body: 'text' },
  },
  proemion: {
    ...GENERIC,
    vendor: 'proemion',
    displayName: 'Proemion AEMP',
    token: { ...JSON_TOKENS, errors: 'xml', minLoginIntervalMs: 1000 },
  },
  generic: GENERIC,
};

/** The vendor's profile with the config's overrides applied. */
export function resolveVendorProfile(vendor: TelematicsVendor, override: VendorProfileOverride = {}): VendorProfile {
  const base = VENDOR_PROFILES[vendor];
  return {
    ...base,
    paths: {
      fleet: override.paths?.fleet ?? base.paths.fleet,
      equipment: override.paths?.equipment ?? base.paths.equipment,
      timeSeries: override.paths?.timeSeries ?? base.paths.timeSeries,
    },
    firstPage: override.firstPage ?? base.firstPage,
    maxPages: override.maxPages ?? base.maxPages,
    perUrlIntervalMs: override.perUrlInterval ?? base.perUrlIntervalMs,
    reserve: { size: override.reserveSize ?? base.reserve.size, refillMs: override.reserveRefill ?? base.reserve.refillMs },
    perSecond: {
      fleet: override.perSecond?.fleet ?? base.perSecond.fleet,
      equipment: override.perSecond?.equipment ?? base.perSecond.equipment,
      timeSeries: override.perSecond?.timeSeries ?? base.perSecond.timeSeries,
    },
    rateLimitCooldownMs: override.rateLimitCooldown ?? base.rateLimitCooldownMs,
    dailyRequestCap: override.dailyRequestCap ?? base.dailyRequestCap,
    timeSeriesWindowMs: override.timeSeriesWindow ?? base.timeSeriesWindowMs,
  };
}

/** A config entry resolved against its vendor profile: what the client and puller run with. */
export interface ResolvedProvider {
  readonly name: string;
  /** Source name carried by raw messages and events: `aemp:<name>`. */
  readonly source: string;
  readonly baseUrl: string;
  readonly profile: VendorProfile;
  readonly addMetadata: boolean;
  readonly config: TelematicsConfig;
}

/**
 * Resolve a config entry. Throws {@link ConfigError} naming the key when the vendor has no default
 * base URL and the entry gives none.
 * @param index position of the entry in `telematics:`, for error keys
 */
export function resolveProvider(config: TelematicsConfig, index = 0): ResolvedProvider {
  const profile = resolveVendorProfile(config.vendor, config.profile);
  const baseUrl = config.baseUrl ?? profile.baseUrl;
  if (baseUrl === undefined) {
    throw new ConfigError([
      { key: `telematics.${index}.baseUrl`, message: `vendor "${config.vendor}" has no default ISO API address; set baseUrl to the feed's ISO 15143-3 base URL` },
    ]);
  }
  return {
    name: config.name,
    source: `aemp:${config.name}`,
    baseUrl: baseUrl.replace(/\/+$/, ''),
    profile,
    addMetadata: config.addMetadata ?? profile.supportsAddMetadata,
    config,
  };
}
