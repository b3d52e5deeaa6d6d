/**
 * Trackunit simulator (test tooling, never product code): the auth server and the ISO 15143-3
 * (AEMP 2.0) export API, speaking the documented protocol of reference/telematics.md §1.2–1.3.
 *
 * - `POST /token`: legacy password grant, client id/secret as HTTP Basic, `offline_access` adds a
 *   refresh token, `grant_type=refresh_token` renews; tokens last 3600 s.
 * - `POST /token/v2`: API Tokens v2, `client_credentials` with the credentials in the form body,
 *   scopes checked against the key's allowed scopes (`invalid_scope`), no refresh token, 1200 s.
 * - `GET /public/api/aemp/v2/15143/-3/Fleet/{page}` (100 per page, first page 1),
 *   `.../Fleet/Equipment/ID/{pin}` and `.../Fleet/Equipment/ID/{pin}/{element}/{from}/{to}/{page}`;
 *   XML by default, JSON with `Accept: application/json`; `addMetadata=true` adds `Metadata`.
 * - Limits: per URL (time series: per equipment and element), the 50-request reserve, per-second
 *   caps per class; 429 over any of them, with Trackunit's `{status, code, message}` error body.
 *
 * Dialect variants (`dialect`, `links`) reproduce what real feeds do: lower-case top-level keys,
 * a Samsara-style `Fleet` wrapper, a missing `next`, relative hrefs, 0-based pages, overlapping
 * pages (a snapshot that is not atomic across pages).
 * @module
 */
import { serve, type ServerType } from '@hono/node-server';
import { XMLBuilder } from 'fast-xml-parser';
import { Hono, type Context } from 'hono';
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { TIME_SERIES_ELEMENTS, equipmentElement, findMachine } from './fleet.js';
import { SimLimiter, TRACKUNIT_LIMITS, type SimLimits, type SimRequestClass } from './limits.js';

export const ISO_BASE_PATH = '/public/api/aemp/v2/15143/-3';
const ISO_NAMESPACE = 'http://standards.iso.org/iso/15143/-3';

export interface SimCredentials {
  /** Legacy API user (password grant). */
  readonly legacy: { readonly clientId: string; readonly clientSecret: string; readonly username: string; readonly password: string };
  /** API Tokens v2 key (client credentials). */
  readonly v2: { readonly clientId: string; readonly clientSecret: string; readonly allowedScopes: readonly string[] };
}

export const DEFAULT_SIM_CREDENTIALS: SimCredentials = {
  legacy: { clientId: 'sim-client', clientSecret: 'sim-client-secret', username: 'api-user@example.com', password: 'sim-password' },
  v2: { clientId: 'sim-v2-key', clientSecret: 'sim-v2-secret', allowedScopes: ['aemp.view', 'asset.view'] },
};

export interface TrackunitSimulatorOptions {
  /** Machines in the fleet. @default 250 */
  readonly fleetSize?: number;
  /** Equipment per fleet page. @default 100 */
  readonly pageSize?: number;
  /** Number of the first fleet page. @default 1 */
  readonly firstPage?: 0 | 1;
  /**
   * JSON key style: `standard` (`Links`/`Equipment`, the samples' shape), `trackunit` (lower-case
   * `links`/`equipment` as seen from Trackunit's JSON), `samsara` (a `Fleet` wrapper). @default trackunit
   */
  readonly dialect?: 'standard' | 'trackunit' | 'samsara';
  readonly links?: {
    /** Leave `next` out (clients must fall back to `last`). @default false */
    readonly omitNext?: boolean;
    /** Hrefs relative to the request (`Fleet/3?...`) instead of absolute. @default false */
    readonly relative?: boolean;
    /** Hrefs without the request's query (`.../Fleet/3`, as telematics.md §1.3 shows them): `addMetadata=true` is not carried on. @default false */
    readonly dropQuery?: boolean;
  };
  /** Each page repeats this many elements of the previous page (a non-atomic snapshot). @default 0 */
  readonly overlap?: number;
  /** How old the latest readings are (data freshness). @default 5 minutes */
  readonly dataAgeMs?: number;
  /** Spacing of time-series entries. @default 1 hour */
  readonly timeSeriesStepMs?: number;
  /** Entries per time-series page. @default 100 */
  readonly timeSeriesPageSize?: number;
  readonly limits?: Partial<Omit<SimLimits, 'perSecond'>> & { readonly perSecond?: Partial<SimLimits['perSecond']> };
  readonly credentials?: SimCredentials;
  /** Token lifetimes in seconds. @default { legacy: 3600, v2: 1200 } */
  readonly tokenTtlSeconds?: { readonly legacy?: number; readonly v2?: number };
  /** The simulator's clock (token expiry, per-URL limits, readings). @default Date.now */
  readonly now?: () => number;
}

export interface SimulatorStats {
  requests: number;
  isoRequests: number;
  tokenRequests: number;
  http429: number;
  http401: number;
  reserveUsed: number;
  /** Admitted ISO requests per path (with query). */
  readonly byUrl: Map<string, number>;
}

export interface TrackunitSimulator {
  /** The Hono app (usable without a socket through `app.request`). */
  readonly app: Hono;
  readonly stats: SimulatorStats;
  /** Every issued access token stops working now (a token expiring mid-pull). */
  expireAllTokens(): void;
  /** The next `count` ISO requests get `status` (e.g. 500, 429) before any other check. */
  failNext(count: number, status: number): void;
  /**
   * The next ISO request whose path (with query) contains `pathPart` is answered 200 with `body` as
   * it is (truncated JSON, a proxy's HTML page, a document of the wrong shape), after the token check.
   */
  breakPage(pathPart: string, body: string | Uint8Array, contentType?: string): void;
  readonly fleetSize: number;
}

export interface RunningTrackunitSimulator extends TrackunitSimulator {
  /** `http://127.0.0.1:<port>`. */
  readonly origin: string;
  /** ISO API base URL for config `baseUrl`. */
  readonly isoBaseUrl: string;
  /** Legacy token URL (`/token`). */
  readonly tokenUrl: string;
  /** API Tokens v2 URL (`/token/v2`). */
  readonly tokenV2Url: string;
  close(): Promise<void>;
}

interface IssuedToken {
  readonly expiresAt: number;
  readonly flavour: 'legacy' | 'v2';
}

const xmlBuilder = new XMLBuilder({ ignoreAttributes: false, attributeNamePrefix: '@_', format: false, suppressEmptyNode: false });

/** A block in XML form: its `datetime` key becomes an attribute. */
function toXmlNode(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(toXmlNode);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) out[k === 'datetime' ? '@_datetime' : k] = toXmlNode(v);
    return out;
  }
  return value;
}

/** A form field as text ('' when absent or a file). */
function field(form: Record<string, unknown>, name: string): string {
  const v = form[name];
  return typeof v === 'string' ? v : '';
}

function trackunitError(c: Context, status: 400 | 401 | 403 | 404 | 429 | 500, code: string, message: string): Response {
  return c.json({ status, code, message }, status);
}

/** Build the simulator (no socket). */
export function createTrackunitSimulator(options: TrackunitSimulatorOptions = {}): TrackunitSimulator {
  const now = options.now ?? Date.now;
  const fleetSize = options.fleetSize ?? 250;
  const pageSize = options.pageSize ?? 100;
  const firstPage = options.firstPage ?? 1;
  const dialect = options.dialect ?? 'trackunit';
  const overlap = Math.max(0, Math.min(options.overlap ?? 0, pageSize - 1));
  const dataAgeMs = options.dataAgeMs ?? 5 * 60_000;
  const tsStep = options.timeSeriesStepMs ?? 3_600_000;
  const tsPageSize = options.timeSeriesPageSize ?? 100;
  const creds = options.credentials ?? DEFAULT_SIM_CREDENTIALS;
  const ttl = { legacy: options.tokenTtlSeconds?.legacy ?? 3600, v2: options.tokenTtlSeconds?.v2 ?? 1200 };
  const limits: SimLimits = {
    ...TRACKUNIT_LIMITS,
    ...options.limits,
    perSecond: { ...TRACKUNIT_LIMITS.perSecond, ...options.limits?.perSecond },
  };
  const limiter = new SimLimiter(limits);
  const tokens = new Map<string, IssuedToken>();
  const refreshTokens = new Set<string>();
  const stats: SimulatorStats = { requests: 0, isoRequests: 0, tokenRequests: 0, http429: 0, http401: 0, reserveUsed: 0, byUrl: new Map() };
  let injected: { count: number; status: number } | undefined;
  let brokenPage: { pathPart: string; body: string | Uint8Array; contentType: string } | undefined;

  const pages = Math.max(1, Math.ceil(fleetSize / pageSize));
  const app = new Hono();

  app.use('*', async (c, next) => {
    stats.requests++;
    await next();
    if (c.res.status === 429) stats.http429++;
    if (c.res.status === 401) stats.http401++;
  });

  const issue = (flavour: 'legacy' | 'v2'): string => {
    const token = `${flavour}.${randomBytes(18).toString('base64url')}`;
    tokens.set(token, { flavour, expiresAt: now() + ttl[flavour] * 1000 });
    return token;
  };

  // --- auth server -------------------------------------------------------------------------
  app.post('/token', async (c) => {
    stats.tokenRequests++;
    const basic = /^Basic\s+(.+)$/i.exec(c.req.header('authorization') ?? '')?.[1];
    const [id, secret] = basic === undefined ? [] : Buffer.from(basic, 'base64').toString('utf8').split(':');
    if (id !== creds.legacy.clientId || secret !== creds.legacy.clientSecret) {
      return c.json({ error: 'invalid_client', error_description: 'Client authentication failed' }, 401);
    }
    const form = await c.req.parseBody();
    const grant = field(form, 'grant_type');
    if (grant === 'password') {
      if (form.username !== creds.legacy.username || form.password !== creds.legacy.password) {
        return c.json({ error: 'invalid_grant', error_description: 'Invalid username or password' }, 400);
      }
      const scopes = (field(form, 'scope') || 'api').split(/\s+/).filter(Boolean);
      const body: Record<string, unknown> = { token_type: 'Bearer', expires_in: ttl.legacy, access_token: issue('legacy'), scope: scopes.join(' ') };
      if (scopes.includes('offline_access')) {
        const refresh = `refresh.${randomBytes(18).toString('base64url')}`;
        refreshTokens.add(refresh);
        body.refresh_token = refresh;
      }
      return c.json(body);
    }
    if (grant === 'refresh_token') {
      const refresh = field(form, 'refresh_token');
      if (!refreshTokens.has(refresh)) return c.json({ error: 'invalid_grant', error_description: 'Invalid refresh token' }, 400);
      return c.json({ token_type: 'Bearer', expires_in: ttl.legacy, access_token: issue('legacy'), scope: 'api offline_access', refresh_token: refresh });
    }
    return c.json({ error: 'unsupported_grant_type', error_description: `grant_type "${grant}" is not supported` }, 400);
  });

  app.post('/token/v2', async (c) => {
    stats.tokenRequests++;
    const form = await c.req.parseBody();
    if (form.grant_type !== 'client_credentials') {
      return c.json({ error: 'unsupported_grant_type', error_description: 'Only client_credentials is supported' }, 400);
    }
    if (form.client_id !== creds.v2.clientId || form.client_secret !== creds.v2.clientSecret) {
      return c.json({ error: 'invalid_client', error_description: 'Invalid client credentials' }, 401);
    }
    const scopes = field(form, 'scope').split(/\s+/).filter(Boolean);
    const bad = scopes.filter((s) => !creds.v2.allowedScopes.includes(s));
    if (bad.length) return c.json({ error: 'invalid_scope', error_description: `Scope not allowed: ${bad.join(' ')}` }, 400);
    return c.json({ token_type: 'Bearer', expires_in: ttl.v2, access_token: issue('v2'), scope: scopes.join(' ') });
  });

  // --- ISO export API ---------------------------------------------------------------------
  const iso = new Hono();

  iso.use('*', async (c, next) => {
    stats.isoRequests++;
    if (injected && injected.count > 0) {
      injected.count--;
      const status = injected.status as 500;
      return c.json({ status, code: 'injected_fault', message: `Injected HTTP ${status}` }, status);
    }
    const bearer = /^Bearer\s+(.+)$/i.exec(c.req.header('authorization') ?? '')?.[1];
    const issued = bearer === undefined ? undefined : tokens.get(bearer);
    if (!issued || issued.expiresAt <= now()) {
      return trackunitError(c, 401, 'unauthorized', issued ? 'The access token has expired' : 'Missing or invalid access token');
    }
    const url = new URL(c.req.url);
    if (brokenPage && (url.pathname + url.search).includes(brokenPage.pathPart)) {
      const { body, contentType } = brokenPage;
      brokenPage = undefined;
      return new Response(body, { status: 200, headers: { 'content-type': contentType } });
    }
    await next();
  });

  const wantsJson = (c: Context): boolean => /json/i.test(c.req.header('accept') ?? '');
  const addMetadata = (c: Context): boolean => c.req.query('addMetadata') === 'true';

  /** Apply the limits; undefined when admitted, else the 429 response. */
  const gate = (c: Context, cls: SimRequestClass, key: string): Response | undefined => {
    const verdict = limiter.admit(cls, key, now());
    if (!verdict.ok) {
      return trackunitError(
        c,
        429,
        'too_many_requests',
        verdict.reason === 'per-url' ? 'Request limit for this URL reached; try again later' : 'Too many requests per second',
      );
    }
    if (verdict.usedReserve) stats.reserveUsed++;
    const url = new URL(c.req.url);
    const path = url.pathname + url.search;
    stats.byUrl.set(path, (stats.byUrl.get(path) ?? 0) + 1);
    return undefined;
  };

  /** Links for page `n` of `count` pages whose URL is `hrefFor(n)`. */
  const pageLinks = (c: Context, n: number, first: number, count: number, hrefFor: (p: number) => string): { rel: string; href: string }[] => {
    const last = first + count - 1;
    const links = [{ rel: 'self', href: hrefFor(n) }];
    if (n > first) links.push({ rel: 'prev', href: hrefFor(n - 1) });
    if (n < last && !options.links?.omitNext) links.push({ rel: 'next', href: hrefFor(n + 1) });
    links.push({ rel: 'last', href: hrefFor(last) });
    void c;
    return links;
  };

  const hrefMaker = (c: Context, pathFor: (p: number) => string): ((p: number) => string) => {
    const url = new URL(c.req.url);
    const query = options.links?.dropQuery ? '' : url.search;
    if (options.links?.relative) return (p) => `${pathFor(p).split('/').pop() ?? ''}${query}`;
    return (p) => `${url.origin}${ISO_BASE_PATH}${pathFor(p)}${query}`;
  };

  const render = (c: Context, root: string, links: { rel: string; href: string }[], body: Record<string, unknown[]>, extra: Record<string, unknown> = {}): Response => {
    if (wantsJson(c)) {
      if (dialect === 'trackunit') {
        const doc: Record<string, unknown> = { ...extra, links };
        for (const [k, v] of Object.entries(body)) doc[k.charAt(0).toLowerCase() + k.slice(1)] = v;
        return c.json(doc);
      }
      const doc = { ...extra, Links: links, ...body };
      return c.json(dialect === 'samsara' ? { [root]: doc } : doc);
    }
    const xml = xmlBuilder.build({
      '?xml': { '@_version': '1.0', '@_encoding': 'UTF-8' },
      [root]: { '@_xmlns': ISO_NAMESPACE, '@_version': '0', Links: links, ...(toXmlNode(body) as Record<string, unknown>) },
    });
    return c.body(xml, 200, { 'Content-Type': 'application/xml; charset=utf-8' });
  };

  iso.get('/Fleet/Equipment/ID/:id/:element/:from/:to/:page', (c) => {
    const { id, element, from, to, page } = c.req.param();
    const entry = TIME_SERIES_ELEMENTS[element];
    if (!entry) return trackunitError(c, 404, 'not_found', `Unknown data element "${element}"`);
    const machine = findMachine(decodeURIComponent(id), fleetSize);
    if (machine < 0) return trackunitError(c, 404, 'not_found', `No equipment with identifier "${id}"`);
    const start = Date.parse(decodeURIComponent(from));
    const end = Date.parse(decodeURIComponent(to));
    const n = Number(page);
    if (!Number.isFinite(start) || !Number.isFinite(end) || end < start) return trackunitError(c, 400, 'bad_request', 'startDate and endDate must be ISO-8601 and ordered');
    if (!Number.isInteger(n) || n < 1) return trackunitError(c, 400, 'bad_request', 'pageNumber starts at 1');
    // Per data point and equipment: a new date window does not buy a fresh budget.
    const limited = gate(c, 'timeSeries', `ts:${machine}:${element}:${n}`);
    if (limited) return limited;
    const firstT = Math.ceil(start / tsStep) * tsStep;
    const lastT = Math.min(end, now() - dataAgeMs);
    const total = lastT < firstT ? 0 : Math.floor((lastT - firstT) / tsStep) + 1;
    const count = Math.max(1, Math.ceil(total / tsPageSize));
    if (n > count) return trackunitError(c, 404, 'not_found', `Page ${n} does not exist; there are ${count}`);
    const items: Record<string, unknown>[] = [];
    for (let k = (n - 1) * tsPageSize; k < Math.min(total, n * tsPageSize); k++) items.push(entry(machine, firstT + k * tsStep));
    const links = pageLinks(c, n, 1, count, hrefMaker(c, (p) => `/Fleet/Equipment/ID/${id}/${element}/${from}/${to}/${p}`));
    return render(c, `${element}Messages`, links, { [element]: items });
  });

  iso.get('/Fleet/Equipment/ID/:id', (c) => {
    const machine = findMachine(decodeURIComponent(c.req.param('id')), fleetSize);
    if (machine < 0) return trackunitError(c, 404, 'not_found', `No equipment with identifier "${c.req.param('id')}"`);
    const limited = gate(c, 'equipment', new URL(c.req.url).pathname + new URL(c.req.url).search);
    if (limited) return limited;
    const t = now();
    return render(c, 'Fleet', [], { Equipment: [equipmentElement(machine, t, { dataAgeMs, addMetadata: addMetadata(c) })] }, wantsJson(c) ? { version: '0', snapshotTime: new Date(t).toISOString() } : {});
  });

  iso.get('/Fleet/:page', (c) => {
    const n = Number(c.req.param('page'));
    const last = firstPage + pages - 1;
    if (!Number.isInteger(n) || n < firstPage || n > last) {
      return trackunitError(c, 404, 'not_found', `Page ${c.req.param('page')} does not exist; pages are ${firstPage}..${last}`);
    }
    const limited = gate(c, 'fleet', new URL(c.req.url).pathname + new URL(c.req.url).search);
    if (limited) return limited;
    const t = now();
    const index = n - firstPage;
    const from = Math.max(0, index * pageSize - (index > 0 ? overlap : 0));
    const to = Math.min(fleetSize, (index + 1) * pageSize);
    const equipment: Record<string, unknown>[] = [];
    const meta = addMetadata(c);
    for (let i = from; i < to; i++) equipment.push(equipmentElement(i, t, { dataAgeMs, addMetadata: meta }));
    const links = pageLinks(c, n, firstPage, pages, hrefMaker(c, (p) => `/Fleet/${p}`));
    return render(c, 'Fleet', links, { Equipment: equipment }, wantsJson(c) ? { version: '0', snapshotTime: new Date(t).toISOString() } : {});
  });

  app.route(ISO_BASE_PATH, iso);

  return {
    app,
    stats,
    fleetSize,
    expireAllTokens: () => {
      for (const [token, issued] of tokens) tokens.set(token, { ...issued, expiresAt: Math.min(issued.expiresAt, now()) });
    },
    failNext: (count, status) => {
      injected = { count, status };
    },
    breakPage: (pathPart, body, contentType = 'application/json') => {
      brokenPage = { pathPart, body, contentType };
    },
  };
}

/** Start the simulator on `127.0.0.1` (port 0 = any free port); rejects when it cannot listen there. */
export async function startTrackunitSimulator(options: TrackunitSimulatorOptions & { port?: number } = {}): Promise<RunningTrackunitSimulator> {
  const sim = createTrackunitSimulator(options);
  // A port that is taken (EADDRINUSE) rejects, rather than ending the process with an unhandled 'error' event.
  const server = await new Promise<ServerType>((resolve, reject) => {
    const s = serve({ fetch: sim.app.fetch, port: options.port ?? 0, hostname: '127.0.0.1' }, () => {
      s.off('error', reject);
      resolve(s);
    });
    s.once('error', reject);
  });
  const { port } = server.address() as AddressInfo;
  const origin = `http://127.0.0.1:${port}`;
  return {
    ...sim,
    origin,
    isoBaseUrl: `${origin}${ISO_BASE_PATH}`,
    tokenUrl: `${origin}/token`,
    tokenV2Url: `${origin}/token/v2`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        if ('closeAllConnections' in server) server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}
