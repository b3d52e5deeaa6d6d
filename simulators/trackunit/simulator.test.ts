import { XMLParser } from 'fast-xml-parser';
import { afterEach, describe, expect, it } from 'vitest';
import { machineHeader } from './fleet.js';
import { DEFAULT_SIM_CREDENTIALS, ISO_BASE_PATH, createTrackunitSimulator, startTrackunitSimulator, type RunningTrackunitSimulator, type TrackunitSimulatorOptions } from './simulator.js';

const T0 = Date.UTC(2025, 2, 4, 3, 0, 0);
const ORIGIN = 'http://sim.test';
const running: RunningTrackunitSimulator[] = [];
afterEach(async () => {
  for (const s of running.splice(0)) await s.close();
});

function sim(options: TrackunitSimulatorOptions = {}) {
  const clock = { t: T0 };
  const s = createTrackunitSimulator({ fleetSize: 250, now: () => clock.t, ...options });
  const form = (body: Record<string, string>, headers: Record<string, string> = {}) =>
    s.app.request(`${ORIGIN}/token/v2`, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded', ...headers }, body: new URLSearchParams(body).toString() });
  const token = async (): Promise<string> => {
    const res = await form({ grant_type: 'client_credentials', client_id: DEFAULT_SIM_CREDENTIALS.v2.clientId, client_secret: DEFAULT_SIM_CREDENTIALS.v2.clientSecret });
    return ((await res.json()) as { access_token: string }).access_token;
  };
  const get = async (path: string, accept?: string) =>
    s.app.request(`${ORIGIN}${ISO_BASE_PATH}${path}`, { headers: { Authorization: `Bearer ${await token()}`, ...(accept ? { Accept: accept } : {}) } });
  return { s, clock, form, token, get };
}

describe('Trackunit simulator: auth server', () => {
  it('legacy grant: Basic client auth, refresh token only with offline_access, 3600 s', async () => {
    const { s } = sim();
    const basic = `Basic ${Buffer.from(`${DEFAULT_SIM_CREDENTIALS.legacy.clientId}:${DEFAULT_SIM_CREDENTIALS.legacy.clientSecret}`).toString('base64')}`;
    const post = (body: Record<string, string>, auth = basic) =>
      s.app.request(`${ORIGIN}/token`, { method: 'POST', headers: { Authorization: auth, 'Content-Type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(body).toString() });
    const { username, password } = DEFAULT_SIM_CREDENTIALS.legacy;
    const plain = (await (await post({ grant_type: 'password', username, password, scope: 'api' })).json()) as Record<string, unknown>;
    expect(plain).toMatchObject({ token_type: 'Bearer', expires_in: 3600 });
    expect(plain.refresh_token).toBeUndefined();
    const offline = (await (await post({ grant_type: 'password', username, password, scope: 'api offline_access' })).json()) as Record<string, string>;
    const refreshed = await post({ grant_type: 'refresh_token', refresh_token: offline.refresh_token! });
    expect(refreshed.status).toBe(200);
    expect((await post({ grant_type: 'password', username, password }, 'Basic eDp5')).status).toBe(401);
    expect(await (await post({ grant_type: 'client_credentials' })).json()).toMatchObject({ error: 'unsupported_grant_type' });
  });

  it('v2 tokens: credentials in the body, 1200 s, no refresh token, scopes checked', async () => {
    const { form } = sim();
    const ok = (await (await form({ grant_type: 'client_credentials', client_id: DEFAULT_SIM_CREDENTIALS.v2.clientId, client_secret: DEFAULT_SIM_CREDENTIALS.v2.clientSecret, scope: 'aemp.view' })).json()) as Record<string, unknown>;
    expect(ok).toMatchObject({ token_type: 'Bearer', expires_in: 1200, scope: 'aemp.view' });
    expect(ok.refresh_token).toBeUndefined();
    const bad = await form({ grant_type: 'client_credentials', client_id: DEFAULT_SIM_CREDENTIALS.v2.clientId, client_secret: DEFAULT_SIM_CREDENTIALS.v2.clientSecret, scope: 'admin' });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ error: 'invalid_scope' });
  });

  it('refuses expired tokens with Trackunit error bodies', async () => {
    const { s, clock, token } = sim();
    const t = await token();
    clock.t += 1_200_000;
    const res = await s.app.request(`${ORIGIN}${ISO_BASE_PATH}/Fleet/1`, { headers: { Authorization: `Bearer ${t}` } });
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual({ status: 401, code: 'unauthorized', message: 'The access token has expired' });
  });
});

describe('Trackunit simulator: ISO export', () => {
  it('serves XML by default: Fleet root in the ISO namespace, version 0, no snapshotTime, self/next/last on page 1', async () => {
    const { get } = sim();
    const res = await get('/Fleet/1?addMetadata=true');
    expect(res.headers.get('content-type')).toMatch(/application\/xml/);
    const xml = await res.text();
    expect(xml).toMatch(/^<\?xml version="1.0" encoding="UTF-8"\?><Fleet xmlns="http:\/\/standards.iso.org\/iso\/15143\/-3" version="0">/);
    expect(xml).not.toMatch(/snapshotTime/);
    const doc = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '' }).parse(xml) as { Fleet: { Links: { rel: string }[]; Equipment: unknown[] } };
    expect(doc.Fleet.Links.map((l) => l.rel)).toEqual(['self', 'next', 'last']);
    expect(doc.Fleet.Equipment).toHaveLength(100);
    expect(xml).toMatch(/<CumulativeOperatingHours datetime="[^"]+Z"><Hour>/);
    expect(xml).toMatch(/<Metadata><TelematicSerialNumber>/);
  });

  it('serves JSON on Accept with the dialect key style; Metadata only with addMetadata=true', async () => {
    const { get } = sim();
    const tu = (await (await get('/Fleet/3', 'application/json')).json()) as { links: { rel: string; href: string }[]; equipment: Record<string, unknown>[] };
    expect(tu.links.map((l) => l.rel)).toEqual(['self', 'prev', 'last']);
    expect(tu.equipment).toHaveLength(50);
    expect(tu.equipment[0]!.Metadata).toBeUndefined();
    const standard = sim({ dialect: 'standard' });
    const doc = (await (await standard.get('/Fleet/1?addMetadata=true', 'application/json')).json()) as { Links: unknown[]; Equipment: { Metadata: unknown; EquipmentHeader: { PIN?: string } }[] };
    expect(doc.Links).toHaveLength(3);
    expect(doc.Equipment[0]!.Metadata).toMatchObject({ MachineId: machineHeader(0).machineId });
    // Every 7th machine has no PIN and its device serial as SerialNumber, as Trackunit does.
    expect(doc.Equipment[5]!.EquipmentHeader.PIN).toBeUndefined();
  });

  it('link variants: missing next, relative hrefs, 0-based pages', async () => {
    const noNext = (await (await sim({ links: { omitNext: true } }).get('/Fleet/1', 'application/json')).json()) as { links: { rel: string }[] };
    expect(noNext.links.map((l) => l.rel)).toEqual(['self', 'last']);
    const relative = (await (await sim({ links: { relative: true } }).get('/Fleet/1?addMetadata=true', 'application/json')).json()) as { links: { href: string }[] };
    expect(relative.links.map((l) => l.href)).toEqual(['1?addMetadata=true', '2?addMetadata=true', '3?addMetadata=true']);
    const zero = sim({ firstPage: 0 });
    expect((await zero.get('/Fleet/0', 'application/json')).status).toBe(200);
    expect((await zero.get('/Fleet/3', 'application/json')).status).toBe(404);
  });

  it('enforces one request per URL per 15 minutes, then the reserve of 50, then 429', async () => {
    const { get, s, clock } = sim({ limits: { reserveSize: 2 } });
    expect((await get('/Fleet/1')).status).toBe(200);
    expect((await get('/Fleet/1')).status).toBe(200); // reserve 1
    expect((await get('/Fleet/1')).status).toBe(200); // reserve 2
    const limited = await get('/Fleet/1');
    expect(limited.status).toBe(429);
    expect(await limited.json()).toMatchObject({ status: 429, code: 'too_many_requests' });
    expect((await get('/Fleet/2')).status).toBe(200); // another URL has its own budget
    clock.t += 15 * 60_000;
    expect((await get('/Fleet/1')).status).toBe(200);
    expect(s.stats).toMatchObject({ reserveUsed: 2, http429: 1 });
  });

  it('enforces the per-second caps per class with 429', async () => {
    const { get } = sim({ limits: { perSecond: { fleet: 2 }, perUrlIntervalMs: 0 } });
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await get('/Fleet/1')).status);
    expect(statuses).toEqual([200, 200, 429]);
    expect((await get(`/Fleet/Equipment/ID/${machineHeader(0).pin!}`)).status).toBe(200); // another class
  });

  it('serves single-machine snapshots and paged time series, per equipment and element', async () => {
    const { get } = sim({ timeSeriesPageSize: 10 });
    const pin = machineHeader(1).pin!;
    const one = (await (await get(`/Fleet/Equipment/ID/${pin}`, 'application/json')).json()) as { equipment: { EquipmentHeader: { PIN: string } }[] };
    expect(one.equipment.map((e) => e.EquipmentHeader.PIN)).toEqual([pin]);
    const from = encodeURIComponent('2025-03-03T03:00:00Z');
    const to = encodeURIComponent('2025-03-04T03:00:00Z');
    const page = (await (await get(`/Fleet/Equipment/ID/${pin}/CumulativeOperatingHours/${from}/${to}/1`, 'application/json')).json()) as {
      links: { rel: string; href: string }[];
      cumulativeOperatingHours: { datetime: string; Hour: number }[];
    };
    expect(page.cumulativeOperatingHours).toHaveLength(10);
    expect(page.links.find((l) => l.rel === 'last')?.href).toMatch(/\/3$/);
    const xml = await (await get(`/Fleet/Equipment/ID/${pin}/Locations/${from}/${to}/1`)).text();
    expect(xml).toMatch(/<LocationsMessages xmlns=/);
    expect((await get(`/Fleet/Equipment/ID/NOPE/Locations/${from}/${to}/1`)).status).toBe(404);
    expect((await get(`/Fleet/Equipment/ID/${pin}/Teleportation/${from}/${to}/1`)).status).toBe(404);
  });

  it('listens on a real socket', async () => {
    const s = await startTrackunitSimulator({ fleetSize: 3 });
    running.push(s);
    const res = await fetch(s.tokenV2Url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: DEFAULT_SIM_CREDENTIALS.v2.clientId, client_secret: DEFAULT_SIM_CREDENTIALS.v2.clientSecret }),
    });
    expect(res.status).toBe(200);
    expect(s.isoBaseUrl).toBe(`${s.origin}${ISO_BASE_PATH}`);
  });

  it('rejects on a port that is taken, rather than ending the process with an unhandled error event', async () => {
    const first = await startTrackunitSimulator({ fleetSize: 3 });
    running.push(first);
    await expect(startTrackunitSimulator({ fleetSize: 3, port: Number(new URL(first.origin).port) })).rejects.toMatchObject({ code: 'EADDRINUSE' });
  });
});
