/**
 * Configuration of telematics providers pulled through the ISO 15143-3 (AEMP 2.0) export API:
 * one entry per provider account (`telematics: [...]` in the root config). Each entry names its
 * vendor, whose profile (request budget, paths, token quirks) supplies every default; `profile`
 * overrides single values of it. Durations accept `30s`, `15m`, `1h`, `30d` or milliseconds.
 * @module
 */
import { CronExpressionParser } from 'cron-parser';
import { z } from 'zod';
import { durationField, timerDuration } from './duration.js';
import { isValidTimeZone } from '../core/rules/time-zone.js';
import { closest, echoed, timeZoneProblem } from './issue-messages.js';
import { BLOCK_SPECS, blockSpecFor } from '../adapters/telematics/aemp/aemp-dialect-blocks.js';
import { httpUrl } from './url.js';
import { headerCredential, httpHeaders } from './http-headers.js';

/** Vendors with a built-in profile (see `src/adapters/telematics/vendor-profiles.ts`). */
export const TELEMATICS_VENDORS = ['trackunit', 'cat', 'deere', 'samsara', 'develon', 'proemion', 'generic'] as const;
export type TelematicsVendor = (typeof TELEMATICS_VENDORS)[number];

/** Time-series data elements (URL segments) that backfill asks for by default. */
export const DEFAULT_TIME_SERIES_ELEMENTS = ['Locations', 'CumulativeOperatingHours', 'CumulativeIdleHours', 'Distance'] as const;

/** Most machines a backfill fetches at once: the cap of `timeSeries.concurrency` and of `aemp backfill --concurrency`. */
export const MAX_TIME_SERIES_CONCURRENCY = 64;

/** The data elements the AEMP parser reads something from: the defaults first, then the rest in its order. */
export const KNOWN_TIME_SERIES_ELEMENTS: readonly string[] = [
  ...DEFAULT_TIME_SERIES_ELEMENTS,
  ...BLOCK_SPECS.filter((s) => !DEFAULT_TIME_SERIES_ELEMENTS.some((d) => blockSpecFor(d) === s)).map((s) => s.name),
];

/**
 * Why a time-series element is refused, or undefined when the parser reads it: asking for one it
 * reads nothing from spends a request (a Trackunit URL's slot for 15 minutes) per machine and
 * stores nothing. Shared by `timeSeries.elements` and `aemp backfill --element`.
 */
export function unknownElementProblem(element: string): string | undefined {
  if (blockSpecFor(element) !== undefined) return undefined;
  const like = closest(element, KNOWN_TIME_SERIES_ELEMENTS);
  return `"${element}" is not a data element assetbridge reads${like ? `: did you mean ${like}?` : ''} (known: ${KNOWN_TIME_SERIES_ELEMENTS.join(', ')}); it would spend a request per machine and store nothing`;
}

const letters = /^[A-Za-z]+$/;
const timeSeriesElement = z
  .string()
  .regex(letters, { error: echoed('is not an element URL segment: use letters only, e.g. CumulativeOperatingHours') })
  .superRefine((element, ctx) => {
    // Not a URL segment at all: said once, by the regex.
    const problem = letters.test(element) ? unknownElementProblem(element) : undefined;
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });


const name = z.string().regex(/^[A-Za-z0-9_.-]+$/, { error: echoed('is not a name: use letters, digits, _ . - only') });
const secret = z.string().min(1, 'must not be empty (use ${ENV} to keep it out of the file)');
const tokenUrl = httpUrl('https://auth.example.com/oauth/token');

/**
 * Trackunit's legacy "API user" token: OAuth2 password grant with the client id and secret as
 * HTTP Basic auth; `offlineAccess` asks for a refresh token. Tokens last 3600 s.
 */
export const trackunitPasswordAuthSchema = z.strictObject({
  type: z.literal('trackunit-password'),
  username: secret,
  password: secret,
  clientId: secret,
  clientSecret: secret,
  /** Ask for `offline_access` so the token can be refreshed without the password. @default true */
  offlineAccess: z.boolean().default(true),
  /** @default https://auth.trackunit.com/token */
  tokenUrl: tokenUrl.default('https://auth.trackunit.com/token'),
  /** @default api */
  scope: z.string().default('api'),
});

/** Trackunit API Tokens v2: `client_credentials`, credentials in the form body, no refresh token, 1200 s. */
export const trackunitTokenV2AuthSchema = z.strictObject({
  type: z.literal('trackunit-token-v2'),
  clientId: secret,
  clientSecret: secret,
  /** Scopes to ask for; a subset of the key's allowed scopes. Empty: no `scope` parameter. @default [] */
  scopes: z.array(z.string().min(1)).default([]),
  /** @default https://auth.trackunit.com/token/v2 */
  tokenUrl: tokenUrl.default('https://auth.trackunit.com/token/v2'),
});

/** Any OAuth2 client-credentials token endpoint (Cat, Takeuchi, Samsara-style gateways). */
export const oauth2ClientCredentialsAuthSchema = z.strictObject({
  type: z.literal('oauth2-client-credentials'),
  tokenUrl,
  clientId: secret,
  clientSecret: secret,
  scope: z.string().optional(),
  /** Where the client credentials go: HTTP Basic or the form body. @default body */
  clientAuth: z.enum(['basic', 'body']).default('body'),
});

/** Any OAuth2 password-grant token endpoint (Proemion, Develon). */
export const oauth2PasswordAuthSchema = z.strictObject({
  type: z.literal('oauth2-password'),
  tokenUrl,
  username: secret,
  password: secret,
  clientId: z.string().optional(),
  clientSecret: z.string().optional(),
  scope: z.string().optional(),
  /** Where the client credentials go when given. @default basic */
  clientAuth: z.enum(['basic', 'body']).default('basic'),
  /** Use a returned refresh token instead of the password to renew. @default true */
  useRefreshToken: z.boolean().default(true),
});

/** A fixed API key sent as `Authorization: Bearer <token>` (Samsara, Hapn). */
export const bearerAuthSchema = z.strictObject({ type: z.literal('bearer'), token: headerCredential(secret) });

/** HTTP Basic on every request (some Volvo CE and Liebherr integrations). */
export const basicAuthSchema = z.strictObject({ type: z.literal('basic'), username: secret, password: secret });

export const telematicsAuthSchema = z.discriminatedUnion('type', [
  trackunitPasswordAuthSchema,
  trackunitTokenV2AuthSchema,
  oauth2ClientCredentialsAuthSchema,
  oauth2PasswordAuthSchema,
  bearerAuthSchema,
  basicAuthSchema,
]);
export type TelematicsAuthConfig = z.infer<typeof telematicsAuthSchema>;

const rps = z.number().positive();

/**
 * Overrides of single vendor-profile values. Anything left out keeps the vendor's value; see the
 * profile table in `vendor-profiles.ts` for what each vendor defaults to.
 */
export const vendorProfileOverrideSchema = z.strictObject({
  /** Minimum time between two ordinary requests to the same URL (Trackunit 15m, Deere 1h). */
  perUrlInterval: durationField().optional(),
  /** Size of the per-URL pool of extra requests (Trackunit 50; 0 = none). */
  reserveSize: z.number().int().min(0).optional(),
  /** How long after use a reserve request becomes available again (Trackunit 30d). */
  reserveRefill: durationField().optional(),
  /** Requests per second, per class, for all pulls of this provider together. */
  perSecond: z.strictObject({ fleet: rps.optional(), equipment: rps.optional(), timeSeries: rps.optional() }).optional(),
  /** How long a URL rests after a 429 without `Retry-After` (Trackunit 15m). */
  rateLimitCooldown: durationField().optional(),
  /** Requests per UTC day for the whole provider (Cat 50000); 0 = no cap. */
  dailyRequestCap: z.number().int().min(0).optional(),
  /** Number of the first fleet page (Trackunit 1; some feeds 0). */
  firstPage: z.number().int().min(0).optional(),
  /** Hop cap: most pages one walk follows before it stops. */
  maxPages: z.number().int().min(1).optional(),
  /** Longest time-series window one request asks for; 0 = the whole range in one request. */
  timeSeriesWindow: durationField().optional(),
  /** Path templates under `baseUrl`: `{page}`, `{id}`, `{element}`, `{from}`, `{to}`. */
  paths: z
    .strictObject({ fleet: z.string().optional(), equipment: z.string().optional(), timeSeries: z.string().optional() })
    .optional(),
});
export type VendorProfileOverride = z.infer<typeof vendorProfileOverrideSchema>;

const cronExpression = z.string().superRefine((expr, ctx) => {
  try {
    CronExpressionParser.parse(expr, { tz: 'UTC' });
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: `"${expr}" is not a cron expression (${(err as Error).message}); write e.g. "0 3 * * *" for 03:00 daily` });
    return;
  }
  // cron-parser also takes a leading seconds field: "0 0 3 * * *" would then run at a time nobody meant.
  if (expr.trim().split(/\s+/).length !== 5) ctx.addIssue({ code: 'custom', message: `"${expr}" is not a 5-field cron expression (minute hour day month weekday); write e.g. "0 3 * * *" for 03:00 daily` });
});

/** One telematics provider account pulled through the ISO 15143-3 export API. */
export const telematicsSchema = z
  .strictObject({
    /** Unique name; events carry the source `aemp:<name>`. */
    name,
    /** Vendor profile that supplies defaults. @default generic */
    vendor: z.enum(TELEMATICS_VENDORS).default('generic'),
    /** ISO API base, e.g. `https://iris.trackunit.com/public/api/aemp/v2/15143/-3`. @default the vendor's, when it has one */
    baseUrl: httpUrl('https://iris.trackunit.com/public/api/aemp/v2/15143/-3').optional(),
    auth: telematicsAuthSchema,
    /** Response format to ask for (`Accept`). XML is the ISO default; JSON is smaller. @default json */
    format: z.enum(['json', 'xml']).default('json'),
    /** Add Trackunit's `addMetadata=true` (MachineId, device serial, external reference). @default true for Trackunit */
    addMetadata: z.boolean().optional(),
    /** Extra request headers (values may use `${ENV}`). @default {} */
    headers: httpHeaders.default({}),
    /** Per-request timeout. @default 60s */
    timeout: durationField()
      .default(60_000)
      .pipe(z.number().min(100, { error: (iss) => `${Number(iss.input)}ms is too short for an answer to arrive: every request would time out; give seconds, e.g. 60s (digits alone are milliseconds: write 60s, not 60)` }))
      .pipe(timerDuration('60s')),
    schedule: z
      .strictObject({
        /** Scheduled fleet pulls. @default true */
        enabled: z.boolean().default(true),
        /** Cron expression (5 fields); Trackunit recommends one pull a day for ERP integrations. @default "0 3 * * *" */
        cron: cronExpression.default('0 3 * * *'),
        /** IANA time zone the cron expression is read in. @default UTC */
        timeZone: z.string().default('UTC'),
      })
      .default({ enabled: true, cron: '0 3 * * *', timeZone: 'UTC' }),
    reserve: z
      .strictObject({
        /**
         * `on-request`: spend the per-URL reserve only when a user asks (`aemp pull --use-reserve`);
         * `never`: refuse even then. Scheduled pulls never spend it. @default on-request
         */
        policy: z.enum(['on-request', 'never']).default('on-request'),
        /** Reserve requests per URL that are never spent, kept for emergencies. @default 5 */
        keep: z.number().int().min(0).default(5),
      })
      .default({ policy: 'on-request', keep: 5 }),
    /** Longest a pull waits for a URL's budget before it stops with a resumable cursor. @default 20m */
    maxBudgetWait: durationField().default(20 * 60_000),
    /**
     * Fleet pages requested ahead of the confirmed next one, guessed from the page numbers in the
     * `next` and `last` links and checked against each page's links, so a pull keeps pace with the
     * per-second cap instead of waiting for every page to be parsed. 0 turns guessing off. @default 2
     */
    pageLookahead: z.number().int().min(0).max(8).default(2),
    /** An interrupted pull resumes at its saved page when restarted within this time. @default 12h */
    resumeWithin: durationField().default(12 * 3_600_000),
    timeSeries: z
      .strictObject({
        /** Data elements backfill asks for. @default Locations, CumulativeOperatingHours, CumulativeIdleHours, Distance */
        elements: z.array(timeSeriesElement).min(1).default([...DEFAULT_TIME_SERIES_ELEMENTS]),
        /** Machines backfilled at once, each one's series a request at a time (the per-second cap still applies). @default 4 */
        concurrency: z.number().int().min(1).max(MAX_TIME_SERIES_CONCURRENCY).default(4),
      })
      .default({ elements: [...DEFAULT_TIME_SERIES_ELEMENTS], concurrency: 4 }),
    profile: vendorProfileOverrideSchema.default({}),
  });
export type TelematicsConfig = z.infer<typeof telematicsSchema>;
export type TelematicsConfigInput = z.input<typeof telematicsSchema>;

/**
 * Cross-entry checks for `telematics:` (call from config compilation): names must be unique, since
 * they key the request budget, cursor and review list in the store; a schedule's time zone must be
 * one the runtime knows. On the parsed entries, or, when the schema refused the config, on what was
 * given (so they are said with the schema's problems): a value of the wrong kind is passed over.
 */
export function telematicsConfigProblems(entries: readonly unknown[]): { key: string; message: string }[] {
  const problems: { key: string; message: string }[] = [];
  /** name → the first entry that has it. */
  const seen = new Map<string, number>();
  const field = (value: unknown, key: string): unknown => (value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>)[key] : undefined);
  entries.forEach((entry, i) => {
    const name = field(entry, 'name');
    if (typeof name === 'string') {
      const first = seen.get(name);
      if (first === undefined) seen.set(name, i);
      else
        problems.push({
          key: `telematics.${i}.name`,
          message: `duplicate telematics provider name "${name}" (telematics.${first} has it too): give each provider its own name; it keys the provider's request budget, pull cursor and review list in the store`,
        });
    }
    const timeZone = field(field(entry, 'schedule'), 'timeZone');
    if (typeof timeZone === 'string' && !isValidTimeZone(timeZone)) problems.push({ key: `telematics.${i}.schedule.timeZone`, message: timeZoneProblem(timeZone) });
  });
  return problems;
}
