import { describe, expect, it } from 'vitest';
import { machineHeader } from '../../../../simulators/trackunit/fleet.js';
import { createTrackunitSimulator, type TrackunitSimulatorOptions } from '../../../../simulators/trackunit/simulator.js';
import { FakeClock, RecordingSink, SIM_ORIGIN, assetsForMachines, simulatorConfig, simulatorFetch } from '../../../../simulators/trackunit/test-support.js';
import { tempStorePath } from '../../../../test/helpers/temp-store.js';
import { useTempStores } from '../../../../test/helpers/temp-stores.js';
import type { SqliteStore } from '../../store/sqlite/sqlite-store.js';
import type { TelematicsConfigInput } from '../../../config/telematics-schema.js';
import { createAempProvider } from './aemp-provider.js';
import { CURSOR_NAMESPACE, earlierPage, loadCursor, runFleetPull, splitByValidity, splitElement, type PullProgress } from './fleet-pull.js';
import { ProviderRateLimiter } from './request-budget.js';
import type { CanonicalEvent } from '../../../core/model/events.js';
import type { RawMessage } from '../../../core/model/messages.js';
import { DEFAULT_VALIDATION, validateEvent } from '../../../core/normalize/validate.js';
import { createAempEquipmentDecoder, parseAempDocument } from './aemp-parser.js';
import { confirmReview, listReview, loadEquipmentIndex } from './review-list.js';
import { formatReplaySummary, replayQuarantine } from '../../../engine/replay.js';
import { DecoderRegistry, Ingestor } from '../../../engine/ingestor.js';
import { IdentityIndex } from '../../../core/identity/resolver.js';

const T0 = Date.UTC(2025, 2, 4, 3, 0, 0);
const MIN = 60_000;
const newStore = useTempStores();

function openStore(path = tempStorePath()): { store: SqliteStore; path: string } {
  return { store: newStore({ path }), path };
}

function setup(simOptions: TrackunitSimulatorOptions = {}, configOverrides: Partial<TelematicsConfigInput> = {}, path?: string) {
  const clock = new FakeClock(T0);
  const sim = createTrackunitSimulator({ fleetSize: 250, now: clock.now, ...simOptions });
  const { store, path: storePath } = openStore(path);
  const sink = new RecordingSink();
  const config = simulatorConfig(configOverrides);
  const make = (s: SqliteStore = store) =>
    createAempProvider(config, { store: s, fetch: simulatorFetch(sim), clock, sleep: clock.sleep, limiter: new ProviderRateLimiter({ fleet: 49, equipment: 490, timeSeries: 490 }) });
  const built = make();
  const pull = (opts: Parameters<typeof runFleetPull>[1] = {}, progress?: PullProgress, s: SqliteStore = store, b = built) =>
    runFleetPull({ client: b.client, store: s, sink, clock, ...(progress ? { progress } : {}) }, opts);
  return { clock, sim, store, storePath, sink, config, built, make, pull };
}

const range = (n: number, from = 0) => Array.from({ length: n }, (_, i) => from + i);

/** The real ingestor over `t`'s store, for the machines `ids` (registered by machine id), with the aemp decoder or `decode`. */
function aempIngestor(
  t: { readonly store: SqliteStore; readonly clock: FakeClock },
  ids: readonly number[],
  validation: ConstructorParameters<typeof Ingestor>[0]['validation'],
  decode: ReturnType<typeof createAempEquipmentDecoder> = createAempEquipmentDecoder(),
): Ingestor {
  return new Ingestor({
    store: t.store,
    clock: t.clock,
    decoders: new DecoderRegistry().register('aemp', decode),
    rules: [],
    identity: () => new IdentityIndex(assetsForMachines([...ids], 'machine-id')),
    validation,
    defaultDestination: 'erp',
  });
}

describe('fleet pull against the Trackunit simulator', () => {
  it('pulls every page, submits matched machines per page and puts the rest on the review list', async () => {
    const t = setup();
    await t.store.upsertAssets(assetsForMachines(range(200)));
    const summary = await t.pull();
    expect(summary).toMatchObject({ complete: true, stop: 'last-page', pages: 3, equipment: 250, duplicates: 0, http429: 0, requests: 3 });
    // Machines 0..199 with a PIN match; 200..249 and the PIN-less ones among 0..199 do not.
    const pinless = range(200).filter((i) => machineHeader(i).pin === undefined).length;
    expect(summary.matched).toBe(200 - pinless);
    expect(summary.unmatched).toBe(50 + pinless);
    expect(t.sink.batches).toHaveLength(2); // page 3 (machines 200..249) matched nothing
    expect(t.sink.messages).toHaveLength(summary.matched);
    expect(t.sink.messages[0]).toMatchObject({ source: 'aemp:trackunit', channel: expect.stringMatching(/^trackunit fleet machine-id:\S+$/) as unknown });
    expect(t.sink.refused).toEqual([]);
    // Every matched machine's hour meter came through with its own block time.
    expect(t.sink.events.filter((e) => e.kind === 'meter')).toHaveLength(summary.matched);
    const review = await listReview(t.store);
    expect(review).toHaveLength(summary.unmatched);
    expect(review.every((e) => e.status === 'unmatched' && e.message.payload.includes('EquipmentHeader'))).toBe(true);
    expect(await loadCursor(t.store, 'trackunit')).toMatchObject({ complete: true, pages: 3, equipment: 250 });
    expect((await loadEquipmentIndex(t.store, 'trackunit')).length).toBe(250);
  });

  it('runs one pull of a provider at a time on a store: a pull asked for while one runs (aemp pull during the scheduled one) gets its summary, not a second pull', async () => {
    const t = setup();
    await t.store.upsertAssets(assetsForMachines(range(250), 'machine-id'));
    const [first, second] = await Promise.all([t.pull(), t.pull({ restart: true })]);
    expect(first).toMatchObject({ complete: true, pages: 3, equipment: 250, requests: 3 });
    expect(second).toMatchObject({ complete: true, pages: 3, equipment: 250, requests: 3 });
    expect(second.notes.at(-1)).toContain('a pull of trackunit was already running');
    expect(t.sink.messages).toHaveLength(250);
    // Done, the next pull is a pull of its own.
    expect((await t.pull()).notes.join()).not.toContain('already running');
    expect(t.sink.messages).toHaveLength(500);
  });

  it('reads the XML format the same way', async () => {
    const t = setup({ dialect: 'standard' }, { format: 'xml' });
    await t.store.upsertAssets(assetsForMachines(range(250), 'machine-id'));
    const summary = await t.pull();
    expect(summary).toMatchObject({ complete: true, pages: 3, equipment: 250, matched: 250, unmatched: 0 });
    expect(t.sink.refused).toEqual([]);
    expect(t.sink.events.filter((e) => e.kind === 'position')).toHaveLength(250);
  });

  it('counts equipment that a shifting snapshot shows on two pages once', async () => {
    const t = setup({ overlap: 3 });
    await t.store.upsertAssets(assetsForMachines(range(250), 'machine-id'));
    const summary = await t.pull();
    expect(summary).toMatchObject({ equipment: 250, duplicates: 6, matched: 250 });
    expect(new Set(t.sink.messages.map((m) => m.payload)).size).toBe(250);
  });

  it('counts a machine a resumed pull meets again (it moved to a later page between runs) once, in the summary and the cursor', async () => {
    const t = setup({ overlap: 3 }, { profile: { maxPages: 1 } });
    await t.store.upsertAssets(assetsForMachines(range(250), 'machine-id'));
    expect(await t.pull()).toMatchObject({ pages: 1, equipment: 100, duplicates: 0, complete: false });
    // Page 2 repeats 3 machines of page 1, read by the first run; page 3 repeats 3 of page 2.
    let rest = await t.pull();
    expect(rest).toMatchObject({ pages: 1, equipment: 100, duplicates: 3, complete: false });
    rest = await t.pull();
    expect(rest).toMatchObject({ pages: 1, equipment: 50, duplicates: 3, complete: true });
    expect(await loadCursor(t.store, 'trackunit')).toMatchObject({ complete: true, pages: 3, equipment: 250 });
    expect((await loadEquipmentIndex(t.store, 'trackunit')).length).toBe(250);
  });

  it.each([
    ['missing next links (derived from last)', { links: { omitNext: true } }, {}],
    ['relative hrefs', { links: { relative: true } }, {}],
    ['0-based pages', { firstPage: 0 as const }, { profile: { firstPage: 0 } }],
    ['Samsara-style Fleet wrapper with PascalCase keys', { dialect: 'samsara' as const }, {}],
  ])('walks every page with %s', async (_name, simOptions: TrackunitSimulatorOptions, configOverrides: Partial<TelematicsConfigInput>) => {
    const t = setup(simOptions, configOverrides);
    const summary = await t.pull();
    expect(summary).toMatchObject({ complete: true, pages: 3, equipment: 250, http429: 0 });
    expect(summary.stop).toBe('last-page');
  });

  it.each([
    ['absolute', {}],
    ['relative', { relative: true }],
  ])('asks every page for its Metadata when the feed\'s %s links drop addMetadata=true (telematics.md §1.3: hrefs like .../Fleet/3)', async (_name, links) => {
    const t = setup({ links: { dropQuery: true, ...links } });
    // Matched by MachineId, which only Metadata carries.
    await t.store.upsertAssets(assetsForMachines(range(250), 'machine-id'));
    const summary = await t.pull();
    expect(summary).toMatchObject({ complete: true, stop: 'last-page', pages: 3, equipment: 250, matched: 250, unmatched: 0, requests: 3 });
    expect([...t.sim.stats.byUrl.keys()]).toEqual([1, 2, 3].map((n) => `/public/api/aemp/v2/15143/-3/Fleet/${n}?addMetadata=true`));
    expect(await loadCursor(t.store, 'trackunit')).toMatchObject({ complete: true, pages: 3 });
  });

  it('stops when a next link without the query points back to the first page (addMetadata=true added to it too)', async () => {
    const t = setup({ links: { dropQuery: true } });
    const base = `${t.config.baseUrl}/Fleet`;
    const fetchImpl = simulatorFetch(t.sim);
    const looping = ((input: string | URL | Request, init?: RequestInit) =>
      fetchImpl(input, init).then(async (r) => {
        const url = String(input instanceof Request ? input.url : input);
        if (!url.includes('/Fleet/2')) return r;
        const doc = (await r.json()) as { links: { rel: string; href: string }[] };
        doc.links = doc.links.map((l) => (l.rel === 'next' ? { rel: 'next', href: `${base}/1` } : l));
        return new Response(JSON.stringify(doc), { status: 200, headers: { 'content-type': 'application/json' } });
      })) as typeof fetch;
    const built = createAempProvider(t.config, { store: t.store, fetch: looping, clock: t.clock, sleep: t.clock.sleep, limiter: new ProviderRateLimiter({ fleet: 49, equipment: 490, timeSeries: 490 }) });
    const summary = await t.pull({}, undefined, t.store, built);
    expect(summary).toMatchObject({ pages: 2, stop: 'repeated-href' });
    // Page 1 was asked for once, not again under its query-less href (a request spent, its machines submitted twice).
    expect([...t.sim.stats.byUrl.keys()].filter((k) => k.includes('/Fleet/1'))).toEqual(['/public/api/aemp/v2/15143/-3/Fleet/1?addMetadata=true']);
    expect(t.sim.stats.byUrl.get('/public/api/aemp/v2/15143/-3/Fleet/1?addMetadata=true')).toBe(1);
  });

  it('says (note and warning, naming telematics.N.profile.firstPage) when the page it starts at links back to earlier pages it never reads', async () => {
    // Set right for a 0-based feed, nothing is missed and nothing said.
    const right = setup({ firstPage: 0 }, { profile: { firstPage: 0 } });
    const full = await right.pull();
    expect(full).toMatchObject({ pages: 3, equipment: 250 });
    expect(full.notes.join()).not.toContain('earlier page');
    // The same feed pulled with the Trackunit profile's first page 1: page 0's 100 machines are not read.
    const t = setup({ firstPage: 0 }, {}, right.storePath);
    t.clock.advance(16 * MIN);
    const warned: { obj: object; msg?: string }[] = [];
    const logger = { info: () => undefined, debug: () => undefined, error: () => undefined, warn: (obj: object, msg?: string) => void warned.push({ obj, ...(msg !== undefined ? { msg } : {}) }) };
    const summary = await runFleetPull({ client: t.built.client, store: t.store, sink: t.sink, clock: t.clock, logger });
    expect(summary).toMatchObject({ pages: 2, equipment: 150 });
    const note = summary.notes.find((n) => n.includes('earlier page'));
    expect(note).toMatch(/\/Fleet\/1\?addMetadata=true links to an earlier page \(prev: \S+\/Fleet\/0\?addMetadata=true\).*not read.*; set telematics\.0\.profile\.firstPage to 0$/);
    expect(warned.map((w) => w.msg)).toContain(note);
    // It did not see the whole snapshot: the earlier pull's record of page 0 (its machines) is kept.
    expect(summary.notes.join()).not.toContain('forgot');
    expect(await loadEquipmentIndex(t.store, 'trackunit')).toHaveLength(250);
    // A resumed pull starts in the middle on purpose: nothing said.
    const resumed = setup();
    await resumed.store.upsertAssets(assetsForMachines(range(250), 'machine-id'));
    resumed.sink.failOnBatch = 2;
    expect(await resumed.pull()).toMatchObject({ pages: 1, stop: 'error' });
    resumed.clock.advance(16 * MIN);
    const rest = await resumed.pull();
    expect(rest).toMatchObject({ pages: 2, complete: true, resumedFrom: expect.stringContaining('/Fleet/2') as unknown });
    expect(rest.notes.join()).not.toContain('earlier page');
  });

  it.each([
    ['another host', 'https://collector.example.net'],
    ['another port (an internal address a proxy put in)', 'http://trackunit.sim:8080'],
  ])("never sends the feed's token to a link on %s: the pull stops there, naming telematics.N.baseUrl", async (_name, origin) => {
    const t = setup();
    const sim = simulatorFetch(t.sim);
    const asked: string[] = [];
    const fetchImpl = ((input: string | URL | Request, init?: RequestInit) => {
      const url = String(input instanceof Request ? input.url : input);
      asked.push(url);
      return sim(input, init).then(async (r) => {
        if (!url.includes('/Fleet/1')) return r;
        const doc = (await r.json()) as { links: { rel: string; href: string }[] };
        doc.links = doc.links.map((l) => (l.rel === 'self' ? l : { rel: l.rel, href: l.href.replace(SIM_ORIGIN, origin) }));
        return new Response(JSON.stringify(doc), { status: 200, headers: { 'content-type': 'application/json' } });
      });
    }) as typeof fetch;
    const built = createAempProvider(t.config, { store: t.store, fetch: fetchImpl, clock: t.clock, sleep: t.clock.sleep, limiter: new ProviderRateLimiter({ fleet: 49, equipment: 490, timeSeries: 490 }) });
    const pull = () => runFleetPull({ client: built.client, store: t.store, sink: t.sink, clock: t.clock });
    const summary = await pull();
    expect(asked.filter((u) => !u.startsWith(SIM_ORIGIN + '/'))).toEqual([]);
    expect(summary).toMatchObject({ complete: false, stop: 'error', pages: 1 });
    expect(summary.error).toMatch(/^trackunit: the feed's link \S+\/Fleet\/2\?addMetadata=true leads to .+, not to the origin of telematics\.0\.baseUrl \(http:\/\/trackunit\.sim\): the feed's credentials are not sent there/);
    expect(summary.rerun?.at(-1)).toMatch(/^fix first: telematics\.0\.baseUrl/);
    // The rerun stops there again, without a request.
    t.clock.advance(16 * MIN);
    const before = asked.length;
    expect(await pull()).toMatchObject({ stop: 'error', pages: 0, requests: 0 });
    expect(asked.length).toBe(before);
  });

  it('when the page an interrupted pull was to resume at is gone (404: the fleet shrank since), says so and starts the next pull over instead of resuming there for resumeWithin', async () => {
    const t = setup();
    await t.store.upsertAssets(assetsForMachines(range(250), 'machine-id'));
    let live = simulatorFetch(t.sim);
    const fetchImpl = ((input: string | URL | Request, init?: RequestInit) => live(input, init)) as typeof fetch;
    const built = createAempProvider(t.config, { store: t.store, fetch: fetchImpl, clock: t.clock, sleep: t.clock.sleep, limiter: new ProviderRateLimiter({ fleet: 49, equipment: 490, timeSeries: 490 }) });
    const pull = () => runFleetPull({ client: built.client, store: t.store, sink: t.sink, clock: t.clock });
    t.sink.failOnBatch = 3;
    expect(await pull()).toMatchObject({ pages: 2, stop: 'error', nextUrl: expect.stringContaining('/Fleet/3') as unknown });
    // Meanwhile 50 machines left the fleet: two pages now, page 3 answers 404.
    live = simulatorFetch(createTrackunitSimulator({ fleetSize: 200, now: t.clock.now }));
    t.clock.advance(60 * MIN);
    const gone = await pull();
    expect(gone).toMatchObject({ complete: false, stop: 'error', pages: 0, resumedFrom: expect.stringContaining('/Fleet/3') as unknown });
    expect(gone.error).toMatch(/\/Fleet\/3\?addMetadata=true, where the interrupted pull was to resume, no longer exists \(HTTP 404: Page 3 does not exist; pages are 1\.\.2\): the fleet has fewer pages than when it stopped$/);
    expect(gone.rerun).toEqual([
      'kept: 2 page(s) of this snapshot, stored with their machines submitted by the run(s) before',
      "the next pull starts at the first page: run 'assetbridge aemp pull --provider trackunit' again, or leave it to the service's next scheduled pull (or its retry)",
    ]);
    const next = await pull();
    expect(next).toMatchObject({ complete: true, stop: 'last-page', pages: 2, equipment: 200 });
    expect(next.resumedFrom).toBeUndefined();
  });

  it('stops at the hop cap and says so', async () => {
    const t = setup({}, { profile: { maxPages: 2 } });
    const summary = await t.pull();
    // Pages are left after the cap: not complete, and the cursor keeps the first one unread.
    expect(summary).toMatchObject({ pages: 2, equipment: 200, stop: 'hop-cap', complete: false, nextUrl: expect.stringContaining('/Fleet/3') as unknown });
    expect(summary.notes.join(' ')).toMatch(/hop cap of 2 pages; raise telematics\.0\.profile\.maxPages if the fleet is really this large/);
    expect(summary.rerun?.join('\n')).toMatch(/the next pull resumes at \S+\/Fleet\/3\S* if it starts before .*\nfix first: raise telematics\.0\.profile\.maxPages \(2\)/);
    expect(await loadCursor(t.store, 'trackunit')).toMatchObject({ complete: false, pages: 2, nextUrl: expect.stringContaining('/Fleet/3') as unknown });
    // A rerun reads the pages beyond the cap, not page 1 again.
    const rest = await t.pull();
    expect(rest).toMatchObject({ pages: 1, equipment: 50, stop: 'last-page', complete: true, resumedFrom: expect.stringContaining('/Fleet/3') as unknown });
    expect(await loadCursor(t.store, 'trackunit')).toMatchObject({ complete: true, pages: 3, equipment: 250 });
  });

  it('keeps the per-URL budget across a restart: no second request within 15 minutes unless the reserve is asked for', async () => {
    const t = setup();
    expect((await t.pull()).complete).toBe(true);
    await t.store.close();

    // A new process: fresh store handle, fresh client, same database file.
    const { store } = openStore(t.storePath);
    const again = t.make(store);
    t.clock.advance(5 * MIN);
    const blocked = await t.pull({ maxWaitMs: MIN }, undefined, store, again);
    expect(blocked).toMatchObject({ complete: false, stop: 'budget-wait', pages: 0, requests: 0 });
    expect(blocked.error).toMatch(/may not be requested before 2025-03-04T03:15:00\.000Z.*--use-reserve/);
    expect(t.sim.stats.http429).toBe(0);

    const reserve = await t.pull({ useReserve: true, maxWaitMs: MIN }, undefined, store, again);
    expect(reserve).toMatchObject({ complete: true, pages: 3, reserveUsed: 3, http429: 0 });
    expect(t.sim.stats.reserveUsed).toBe(3);
    const status = await again.budget.status();
    expect(status.map((r) => r.reserveLeft)).toEqual([44, 44, 44]); // 50 - 1 used - 5 kept

    t.clock.advance(15 * MIN);
    const ordinary = await t.pull({ maxWaitMs: MIN }, undefined, store, again);
    expect(ordinary).toMatchObject({ complete: true, pages: 3, reserveUsed: 0, http429: 0 });
  });

  it('waits for the budget instead of getting a 429 when the wait is acceptable', async () => {
    const t = setup();
    await t.pull();
    const waits: number[] = [];
    const summary = await t.pull({}, { wait: (w) => waits.push(w.until) });
    expect(summary).toMatchObject({ complete: true, http429: 0 });
    expect(waits[0]).toBe(T0 + 15 * MIN);
    expect(t.sim.stats.http429).toBe(0);
  });

  it('survives a token expiring mid-pull with one re-mint', async () => {
    const t = setup({ fleetSize: 1000 });
    const summary = await t.pull({}, { page: ({ pages }) => (pages === 1 ? t.sim.expireAllTokens() : undefined) });
    expect(summary).toMatchObject({ complete: true, pages: 10, http429: 0 });
    // Requests under way with the old token are each re-sent once; one new token serves them all.
    expect(t.built.client.stats.reminted).toBeGreaterThanOrEqual(1);
    expect(t.sim.stats.http401).toBe(t.built.client.stats.reminted);
    expect(t.sim.stats.tokenRequests).toBe(2);
    // The re-sent request did not count as a second request to that URL.
    expect(t.sim.stats.reserveUsed).toBe(0);
  });

  it.each([
    ['first minted for the pull', 0],
    ['due for renewal (a minute before it expires)', 59.5],
    ['expired at the server while requests were under way (a 401, then a re-mint)', 60],
  ])('gets a token %s through a token endpoint that fails once (HTTP 503): the pull goes on', async (_name, minutes) => {
    const t = setup({ fleetSize: 1000 });
    const sim = simulatorFetch(t.sim);
    let failTokens = minutes === 0 ? 1 : 0;
    const fetchImpl = ((input: string | URL | Request, init?: RequestInit) => {
      const url = String(input instanceof Request ? input.url : input);
      if (url.endsWith('/token') && failTokens > 0) {
        failTokens--;
        return Promise.resolve(Response.json({ error: 'temporarily_unavailable' }, { status: 503 }));
      }
      return sim(input, init);
    }) as typeof fetch;
    const built = createAempProvider(t.config, { store: t.store, fetch: fetchImpl, clock: t.clock, sleep: t.clock.sleep, limiter: new ProviderRateLimiter({ fleet: 49, equipment: 490, timeSeries: 490 }) });
    const progress: PullProgress = {
      page: ({ pages }) => {
        if (pages !== 1 || minutes === 0) return;
        // The 3600 s token is due, and the endpoint answers the next token request 503.
        t.clock.advance(minutes * MIN);
        failTokens = 1;
      },
    };
    const summary = await runFleetPull({ client: built.client, store: t.store, sink: t.sink, clock: t.clock, progress });
    expect(summary).toMatchObject({ complete: true, stop: 'last-page', pages: 10 });
    expect(failTokens).toBe(0);
  });

  it('on a 429 cools the URL down, stops with a resumable cursor, and resumes there later', async () => {
    const t = setup({ fleetSize: 1000 });
    let failed = false;
    const summary = await t.pull({ maxWaitMs: MIN }, { page: ({ pages }) => (pages === 1 && !failed ? ((failed = true), t.sim.failNext(1, 429)) : undefined) });
    expect(summary).toMatchObject({ complete: false, stop: 'budget-wait', http429: 1 });
    // Pages requested ahead of the one that got the 429 were fetched, but only pages before it are stored.
    expect(summary.nextUrl).toContain(`/Fleet/${summary.pages + 1}?`);
    expect(summary.error).toMatch(/cooling down/);
    expect(t.sim.stats.http429).toBe(1);
    for (const count of t.sim.stats.byUrl.values()) expect(count).toBe(1); // no retry storm

    t.clock.advance(16 * MIN);
    const resumed = await t.pull();
    expect(resumed).toMatchObject({ complete: true, pages: 10 - summary.pages, resumedFrom: summary.nextUrl, http429: 0 });
    expect(await loadCursor(t.store, 'trackunit')).toMatchObject({ complete: true, pages: 10, equipment: 1000 });
  });

  it('does not hammer a provider that allows fewer requests per second than configured', async () => {
    const t = setup({ limits: { perSecond: { fleet: 1 } } });
    t.built = createAempProvider(t.config, { store: t.store, fetch: simulatorFetch(t.sim), clock: t.clock, sleep: t.clock.sleep, limiter: new ProviderRateLimiter({ fleet: 1000, equipment: 1000, timeSeries: 1000 }) });
    const summary = await t.pull({ maxWaitMs: 20 * MIN });
    expect(summary.http429).toBeGreaterThan(0);
    // Each URL: at most its request and one retry after the cooldown.
    for (const count of t.sim.stats.byUrl.values()) expect(count).toBeLessThanOrEqual(1);
    expect(t.sim.stats.isoRequests).toBeLessThanOrEqual(3 * 2);
    expect(summary.complete || /429/.test(summary.error ?? '')).toBe(true);
  });

  it('never logs or shows a secret a resume link carries in its query (a provider\'s signed next link)', async () => {
    const t = setup({ fleetSize: 1000 });
    await t.store.upsertAssets(assetsForMachines(range(1000)));
    let failed = false;
    const first = await t.pull({ maxWaitMs: MIN }, { page: ({ pages }) => (pages === 1 && !failed ? ((failed = true), t.sim.failNext(1, 429)) : undefined) });
    const cursor = await loadCursor(t.store, 'trackunit');
    await t.store.kvSet(CURSOR_NAMESPACE, 'trackunit', JSON.stringify({ ...cursor, nextUrl: `${first.nextUrl ?? ''}&token=s3cret-Link-Token-77` }));
    t.clock.advance(16 * MIN);
    const logged: unknown[] = [];
    const shown: string[] = [];
    const logger = { info: (o: unknown) => void logged.push(o), warn: (o: unknown) => void logged.push(o), error: (o: unknown) => void logged.push(o) } as unknown as Parameters<typeof runFleetPull>[0]['logger'];
    const summary = await runFleetPull(
      { client: t.built.client, store: t.store, sink: t.sink, clock: t.clock, logger, progress: { start: ({ startUrl }) => void shown.push(startUrl) } },
      {},
    );
    expect(summary.resumedFrom).toContain('token=');
    // Nor do the messages submitted from that page: their channel (kept with quarantined input) names the machine, not the page.
    const channels = t.sink.messages.map((m) => m.channel);
    expect(channels.length).toBeGreaterThan(0);
    for (const text of [JSON.stringify(logged), ...shown, JSON.stringify(summary), ...channels]) expect(text).not.toContain('s3cret-Link-Token-77');
  });

  it('records a page only after its submit resolved: a failed submit resumes at that page', async () => {
    const t = setup();
    await t.store.upsertAssets(assetsForMachines(range(250), 'machine-id'));
    t.sink.failOnBatch = 2;
    const failed = await t.pull();
    expect(failed).toMatchObject({ complete: false, stop: 'error', pages: 1 });
    expect(failed.error).toMatch(/store unavailable/);
    expect(await loadCursor(t.store, 'trackunit')).toMatchObject({ complete: false, pages: 1, nextUrl: expect.stringContaining('/Fleet/2') as unknown });
    t.clock.advance(15 * MIN);
    const resumed = await t.pull();
    expect(resumed).toMatchObject({ complete: true, pages: 2, equipment: 150 });
    expect(t.sink.messages).toHaveLength(250);
  });

  it('resuming at a page the run before stored (it stopped before moving the cursor on) sends its machines again only as a redelivery', async () => {
    // Bug: those machines' readings came again as new, so the rules counted them as late events and
    // flagged a reading older than one taken since as out of order.
    const t = setup();
    await t.store.upsertAssets(assetsForMachines(range(250), 'machine-id'));
    t.sink.failOnBatch = 2;
    expect(await t.pull()).toMatchObject({ pages: 1, stop: 'error' });
    // The next run stores page 2 (submitted, its record kept) and fails to move the cursor on.
    let failCursor = true;
    const flaky = new Proxy(t.store, {
      get(target, prop, receiver) {
        if (prop === 'kvSet')
          return (namespace: string, key: string, value: string) => {
            if (namespace === CURSOR_NAMESPACE && failCursor) {
              failCursor = false;
              return Promise.reject(new Error('disk I/O error (simulated)'));
            }
            return target.kvSet(namespace, key, value);
          };
        const v: unknown = Reflect.get(target, prop, receiver);
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
    t.clock.advance(16 * MIN);
    expect(await t.pull({}, undefined, flaky)).toMatchObject({ pages: 1, stop: 'error', resumedFrom: expect.stringContaining('/Fleet/2') as unknown });
    const before = t.sink.messages.length;
    expect(before).toBe(200);
    t.clock.advance(16 * MIN);
    const rest = await t.pull();
    expect(rest).toMatchObject({ complete: true, resumedFrom: expect.stringContaining('/Fleet/2') as unknown });
    const resent = t.sink.messages.slice(before);
    // Page 2's 100 machines again, as a redelivery; page 3's 50 as new.
    expect(resent.map((m) => m.redelivered ?? false)).toEqual([...range(100).map(() => true), ...range(50).map(() => false)]);
    expect(new Set(resent.map((m) => m.channel)).size).toBe(150);
  });

  it('a pull stopped at a page says what it kept (with the runs it resumed) and until when a rerun resumes there; a server error needs no fix first', async () => {
    const t = setup();
    await t.store.upsertAssets(assetsForMachines(range(250), 'machine-id'));
    const sim = simulatorFetch(t.sim);
    let failAt: string | undefined = '/Fleet/2';
    const flaky = ((input: string | URL | Request, init?: RequestInit) =>
      failAt !== undefined && String(input instanceof Request ? input.url : input).includes(failAt) ? Promise.resolve(new Response('busy', { status: 503 })) : sim(input, init)) as typeof fetch;
    const built = createAempProvider(t.config, { store: t.store, fetch: flaky, clock: t.clock, sleep: t.clock.sleep, limiter: new ProviderRateLimiter({ fleet: 49, equipment: 490, timeSeries: 490 }) });
    const pull = () => runFleetPull({ client: built.client, store: t.store, sink: t.sink, clock: t.clock });

    const first = await pull();
    expect(first).toMatchObject({ complete: false, stop: 'error', pages: 1 });
    expect(first.rerun).toEqual([
      'kept: 1 page(s) of this snapshot, stored with their machines submitted, and the cursor at the first page not stored',
      expect.stringMatching(
        /^the next pull resumes at \S+\/Fleet\/2\?\S* if it starts before 2025-03-04T15:00:00\.000Z \(resumeWithin: 12 h from this snapshot's first page; later it starts over at the first page\): run 'assetbridge aemp pull --provider trackunit' again, or leave it to the service's next scheduled pull \(or its retry\)$/,
      ),
    ]);

    failAt = '/Fleet/3';
    t.clock.advance(15 * MIN);
    const second = await pull();
    expect(second).toMatchObject({ complete: false, stop: 'error', pages: 1, resumedFrom: first.nextUrl });
    expect(second.rerun?.[0]).toBe('kept: 2 page(s) of this snapshot, stored with their machines submitted (1 by this run, 1 by the run(s) before it), and the cursor at the first page not stored');
    // The deadline is the snapshot's first run's, not this run's.
    expect(second.rerun?.[1]).toMatch(/resumes at \S+\/Fleet\/3\?\S* if it starts before 2025-03-04T15:00:00\.000Z/);

    // Too late to resume: a fresh pull that fails on its first page has kept nothing, and says the next starts over.
    failAt = '/Fleet/1';
    t.clock.advance(13 * 60 * MIN);
    const third = await pull();
    expect(third).toMatchObject({ complete: false, stop: 'error', pages: 0 });
    expect(third.resumedFrom).toBeUndefined();
    expect(third.rerun).toEqual(['kept: no page of this snapshot yet', "the next pull starts at the first page: run 'assetbridge aemp pull --provider trackunit' again, or leave it to the service's next scheduled pull (or its retry)"]);
  });

  it.each([
    ['is down (HTTP 503)', 503, '{"error":"temporarily_unavailable"}', undefined],
    ['refuses the credentials (HTTP 400)', 400, '{"error":"invalid_grant","error_description":"Invalid username or password"}', /^fix first: the feed's credentials \(the error says what was refused; 'assetbridge config check --connect' tries them\): every rerun stops here until then$/],
  ])('a token that expires mid-pull while the token endpoint %s: fix the credentials first only when they were refused', async (_name, status, body, fixFirst) => {
    const t = setup();
    const sim = simulatorFetch(t.sim);
    let tokenDown = false;
    const fetchImpl = ((input: string | URL | Request, init?: RequestInit) => {
      const url = String(input instanceof Request ? input.url : input);
      if (tokenDown && url.endsWith('/token')) return Promise.resolve(new Response(body, { status, headers: { 'content-type': 'application/json' } }));
      return sim(input, init).then((r) => {
        if (url.includes('/Fleet/1')) {
          tokenDown = true;
          t.sim.expireAllTokens();
        }
        return r;
      });
    }) as typeof fetch;
    const built = createAempProvider(t.config, { store: t.store, fetch: fetchImpl, clock: t.clock, sleep: t.clock.sleep, limiter: new ProviderRateLimiter({ fleet: 49, equipment: 490, timeSeries: 490 }) });
    const summary = await runFleetPull({ client: built.client, store: t.store, sink: t.sink, clock: t.clock }, {});
    expect(summary).toMatchObject({ complete: false, stop: 'error', pages: 1 });
    expect(summary.error).toMatch(new RegExp(`token request refused \\(HTTP ${status}`));
    if (fixFirst) expect(summary.rerun?.at(-1)).toMatch(fixFirst);
    else expect(summary.rerun?.join('\n')).not.toContain('fix first');
  });

  it.each([
    ['truncated JSON', Buffer.concat([Buffer.from('{"Links": [{"rel": "self", "href": "Fleet/2"}], "Equipment": [{"EquipmentHeader": {"Model": "caf'), Buffer.from([0xc3, 0xa9, 0xff])]), 'application/json', /cannot be read/],
    ['a proxy\'s HTML page', Buffer.from('<html><body><h1>502 Bad Gateway</h1></body></html>'), 'text/html; charset=utf-8', /cannot be read/],
    ['a document of the wrong shape', Buffer.from('{"data": {"items": []}}'), 'application/json', /cannot be read/],
  ])('keeps a page it cannot read (%s) in the quarantine as received, with its URL, status and why, and names the entry', async (_name, body, contentType, why) => {
    const t = setup();
    await t.store.upsertAssets(assetsForMachines(range(250), 'machine-id'));
    t.sim.breakPage('/Fleet/2', body, contentType);
    const summary = await t.pull();
    expect(summary).toMatchObject({ complete: false, stop: 'error', pages: 1 });
    expect(summary.unreadablePage).toEqual(expect.any(Number));
    const id = summary.unreadablePage as number;
    const [entry] = await t.store.listQuarantine({ ids: [id], limit: 1 });
    expect(entry).toMatchObject({ code: 'unreadable-page', source: 'aemp:trackunit', status: 'open', channel: expect.stringContaining('/Fleet/2') as unknown });
    expect(Buffer.from(entry!.payload)).toEqual(body);
    expect(entry!.reason).toMatch(new RegExp(`trackunit: fleet page \\S+/Fleet/2\\S* \\(HTTP 200, ${contentType.replace(/[;=]/g, '.')}, ${body.byteLength} bytes\\) `));
    expect(entry!.reason).toMatch(why);
    expect(summary.rerun?.at(-1)).toBe(
      `fix first: the page itself, at the provider: it answered with a document that cannot be read, kept as received as quarantine entry ${id} ('assetbridge quarantine show ${id} --payload > page' writes it out without a request; 'assetbridge aemp parse page' says why); have the provider fix it: every rerun asks for this page again and stops here until then`,
    );
    // A replay passes it over (it is a page, not a message) and says so.
    const replay = await replayQuarantine(t.store, t.sink, {});
    expect(replay).toMatchObject({ replayed: 0, pages: [id] });
    expect(formatReplaySummary(replay)).toContain(`not replayed (pages a telematics pull could not read, not messages: 'assetbridge quarantine show ID --payload' writes one out`);
  });

  it('keeps no secret of the feed\'s credentials an unreadable page echoes', async () => {
    const t = setup();
    const token = await t.built.credentials.authorization();
    const bearer = token.replace(/^Bearer\s+/i, '');
    t.sim.breakPage('/Fleet/1', `<html>debug: Authorization: Bearer ${bearer} was accepted, then the proxy broke</html>`, 'text/html');
    const summary = await t.pull();
    const [entry] = await t.store.listQuarantine({ ids: [summary.unreadablePage as number], limit: 1 });
    const kept = Buffer.from(entry!.payload).toString();
    expect(kept).not.toContain(bearer);
    expect(kept).toBe('<html>debug: Authorization: Bearer [REDACTED] was accepted, then the proxy broke</html>');
    expect(entry!.reason).toContain("1 secret value(s) of the feed's credentials it echoed replaced by [REDACTED]");
  });

  it('keeps review entries across pulls (first seen, times seen) and drops them once the machine matches', async () => {
    const t = setup({ fleetSize: 10 });
    await t.pull();
    t.clock.advance(15 * MIN);
    await t.pull();
    const [entry] = (await listReview(t.store)).filter((e) => e.ids.some((i) => i.value === machineHeader(2).pin));
    expect(entry).toMatchObject({ firstSeenAt: T0, lastSeenAt: T0 + 15 * MIN, seenCount: 2, status: 'unmatched' });

    await t.store.upsertAssets(assetsForMachines([2]));
    t.clock.advance(15 * MIN);
    const third = await t.pull();
    expect(third).toMatchObject({ matched: 1, unmatched: 9, resolvedFromReview: 1 });
    expect((await listReview(t.store)).some((e) => e.key === entry!.key)).toBe(false);
    expect(await listReview(t.store)).toHaveLength(9);
  });

  it('puts equipment whose identifiers point at two assets on the review list; a confirmed match links it from then on', async () => {
    const t = setup({ fleetSize: 20 });
    const h = machineHeader(1);
    await t.store.upsertAssets([
      { asset: { erpAssetId: 'EQ-A', erpModule: 'fixed-assets', attributes: {} }, identifiers: [{ type: 'pin', value: h.pin!, erpAssetId: 'EQ-A' }] },
      { asset: { erpAssetId: 'EQ-B', erpModule: 'fixed-assets', attributes: {} }, identifiers: [{ type: 'external-ref', value: h.externalReferenceNumber!, erpAssetId: 'EQ-B' }] },
    ]);
    const first = await t.pull();
    expect(first).toMatchObject({ ambiguous: 1, matched: 0, unmatched: 19 });
    const [entry] = (await listReview(t.store)).filter((e) => e.status === 'ambiguous');
    expect(entry?.candidates.map((c) => c.erpAssetId).sort()).toEqual(['EQ-A', 'EQ-B']);

    const confirmed = await confirmReview({ store: t.store, sink: t.sink, now: t.clock.now() }, h.pin!, 'EQ-A');
    expect(confirmed.conflicting.map((c) => c.type)).toEqual(['external-ref']);
    expect(confirmed.addedIdentifiers.map((c) => c.type).sort()).toEqual(['device-serial', 'machine-id', 'unit-id']);
    // The re-submitted copy no longer names EQ-B's external reference.
    const resubmitted = t.sink.messages.at(-1)!;
    expect(String(resubmitted.payload)).not.toContain(h.externalReferenceNumber!);
    expect(confirmed.submitted?.accepted).toBe(1);
    expect((await listReview(t.store)).some((e) => e.key === entry!.key)).toBe(false);

    t.clock.advance(15 * MIN);
    const second = await t.pull();
    expect(second).toMatchObject({ ambiguous: 0, matched: 1 });
  });
});

describe('earlierPage', () => {
  it('sees a first or prev link to another page, not one to this page that only leaves out the query we sent', () => {
    const page = 'https://feed.example/aemp/Fleet/1?addMetadata=true';
    expect(earlierPage([{ rel: 'first', href: 'https://feed.example/aemp/Fleet/1' }, { rel: 'next', href: '2' }], page)).toBeUndefined();
    expect(earlierPage([{ rel: 'self', href: '1' }, { rel: 'first', href: '1' }], page)).toBeUndefined();
    expect(earlierPage([{ rel: 'prev', href: '0' }], page)).toEqual({ rel: 'prev', url: 'https://feed.example/aemp/Fleet/0' });
    expect(earlierPage([{ rel: 'first', href: 'https://feed.example/aemp/Fleet/0?addMetadata=true' }, { rel: 'prev', href: '0' }], page)).toEqual({ rel: 'first', url: 'https://feed.example/aemp/Fleet/0?addMetadata=true' });
  });
});

describe('fleet pull: pages that are no longer in the snapshot', () => {
  it('forgets the review entries and equipment of pages a complete pull no longer reaches', async () => {
    const t = setup({ fleetSize: 250 });
    await t.pull();
    expect((await listReview(t.store)).some((e) => e.ids.some((i) => i.value === machineHeader(220).machineId))).toBe(true);

    // A day later the feed pages differently (machines removed before it): machine 220 is now on page 2
    // of 2, and it has been mapped to an ERP asset in the meantime. Page 3 is no longer served.
    t.clock.advance(24 * 60 * MIN);
    const sim2 = createTrackunitSimulator({ fleetSize: 250, pageSize: 125, now: t.clock.now });
    const built2 = createAempProvider(t.config, { store: t.store, fetch: simulatorFetch(sim2), clock: t.clock, sleep: t.clock.sleep, limiter: new ProviderRateLimiter({ fleet: 49, equipment: 490, timeSeries: 490 }) });
    await t.store.upsertAssets(assetsForMachines([220], 'machine-id'));
    const second = await t.pull({}, undefined, t.store, built2);
    expect(second).toMatchObject({ complete: true, pages: 2, matched: 1, unmatched: 249 });

    const open = await listReview(t.store);
    // The matched machine left the list; nothing from the page that no longer exists stays behind.
    expect(open.some((e) => e.ids.some((i) => i.value === machineHeader(220).machineId))).toBe(false);
    expect(open).toHaveLength(249);
    const index = await loadEquipmentIndex(t.store, 'trackunit');
    expect(index).toHaveLength(250);
    expect(index.find((e) => e.ids.some((i) => i.value === machineHeader(220).machineId))?.erpAssetId).toBe('EQ-220');
  });

  it('keeps the records of pages beyond the hop cap (the pull did not see the end)', async () => {
    const t = setup({ fleetSize: 250 });
    await t.pull();
    t.clock.advance(24 * 60 * MIN);
    const config = simulatorConfig({ profile: { maxPages: 2 } });
    const built = createAempProvider(config, { store: t.store, fetch: simulatorFetch(t.sim), clock: t.clock, sleep: t.clock.sleep, limiter: new ProviderRateLimiter({ fleet: 49, equipment: 490, timeSeries: 490 }) });
    const summary = await t.pull({}, undefined, t.store, built);
    expect(summary).toMatchObject({ stop: 'hop-cap', pages: 2 });
    expect(await loadEquipmentIndex(t.store, 'trackunit')).toHaveLength(250);
  });

  it('a stale block goes to quarantine on its own; the machine\'s fresh location and hours still get in', async () => {
    const t = setup({ fleetSize: 5 });
    await t.store.upsertAssets(assetsForMachines(range(5), 'machine-id'));
    // The ISO answer with machine 0's engine status from 40 days ago (a parked machine's last report).
    const fetchStale = fleetPagesRewritten(simulatorFetch(t.sim), (equipment) => {
      const first = equipment[0] as Machine;
      first.EngineStatus = { ...first.EngineStatus, datetime: new Date(T0 - 40 * 24 * 60 * MIN).toISOString() };
    });
    const built = createAempProvider(t.config, { store: t.store, fetch: fetchStale, clock: t.clock, sleep: t.clock.sleep, limiter: new ProviderRateLimiter({ fleet: 49, equipment: 490, timeSeries: 490 }) });
    // As the engine does: a message with any event that fails validation is quarantined whole.
    const validation = { maxFutureSkewMs: 5 * MIN, maxAgeMs: 7 * 24 * 60 * MIN };
    const decode = createAempEquipmentDecoder();
    const accepted: CanonicalEvent[] = [];
    const quarantined: string[] = [];
    const sink = {
      submit(messages: readonly RawMessage[]) {
        const refused: { index: number; reason: string }[] = [];
        messages.forEach((m, index) => {
          const r = decode(m);
          const bad = r.ok ? r.events.map((e) => validateEvent(e, t.clock.now(), validation)).find((v) => !v.ok) : { reason: r.reason };
          if (r.ok && bad === undefined) accepted.push(...r.events);
          else refused.push({ index, reason: bad && 'reason' in bad ? bad.reason : 'invalid' });
        });
        quarantined.push(...refused.map((q) => q.reason));
        return Promise.resolve({ accepted: messages.length - refused.length, quarantined: refused });
      },
    };
    const summary = await runFleetPull({ client: built.client, store: t.store, sink, clock: t.clock, validation });
    expect(summary).toMatchObject({ matched: 5, accepted: 5, quarantined: 1 });
    expect(quarantined).toEqual([expect.stringMatching(/freshness limit \(ingest.maxAgeMs\)/)]);
    const machine0 = machineHeader(0).machineId;
    const mine = accepted.filter((e) => e.ids.some((i) => i.type === 'machine-id' && i.value === machine0));
    expect(mine.map((e) => e.kind).sort()).toEqual(['meter', 'position']);
    expect(accepted.filter((e) => e.kind === 'position')).toHaveLength(5);
  });

  it('keeps a stale block of a parked machine once in quarantine: the same block in the next pulls counts as a repeat, not another entry', async () => {
    // Bug: every pull (each quarter hour, each day) opened another quarantine entry for the same
    // stale block, as the feed repeats a parked machine's last report until it reports again.
    const t = setup({ fleetSize: 5 });
    await t.store.upsertAssets(assetsForMachines(range(5), 'machine-id'));
    const stale = new Date(T0 - 40 * 24 * 60 * MIN).toISOString();
    const fetchStale = fleetPagesRewritten(simulatorFetch(t.sim), (equipment) => {
      const first = equipment[0] as Machine;
      first.EngineStatus = { ...first.EngineStatus, datetime: stale };
    });
    const built = createAempProvider(t.config, { store: t.store, fetch: fetchStale, clock: t.clock, sleep: t.clock.sleep, limiter: new ProviderRateLimiter({ fleet: 49, equipment: 490, timeSeries: 490 }) });
    const validation = { maxFutureSkewMs: 5 * MIN, maxAgeMs: 7 * 24 * 60 * MIN };
    const ingestor = aempIngestor(t, range(5), validation);
    for (let pull = 0; pull < 3; pull++) {
      expect(await runFleetPull({ client: built.client, store: t.store, sink: ingestor, clock: t.clock, validation })).toMatchObject({ complete: true, quarantined: 1 });
      t.clock.advance(16 * MIN);
    }
    const entries = await t.store.listQuarantine({});
    expect(entries.map((q) => [q.code, q.repeats])).toEqual([['stale', 2]]);
    expect(entries[0]?.reason).toMatch(/freshness limit \(ingest.maxAgeMs\)/);
  });

  it('counts a set-aside block of a machine that moved to another page between pulls (the fleet shrank) as a repeat on its entry, not a new entry', async () => {
    // Bug: the messages' channel was the page URL, part of what matches a copy to its entry, so a
    // machine on page 2 at the next pull opened a second entry for the same stale and unusable blocks.
    const t = setup({ fleetSize: 4, pageSize: 2 });
    await t.store.upsertAssets(assetsForMachines(range(4), 'machine-id'));
    const stale = new Date(T0 - 40 * 24 * 60 * MIN).toISOString();
    let moved: Machine | undefined;
    let shrunk = false;
    const fetchMoving = fleetPagesRewritten(simulatorFetch(t.sim), (equipment, url) => {
      if (url.includes('/Fleet/1')) {
        const second = equipment[1] as Machine;
        second.EngineStatus = { ...second.EngineStatus, datetime: stale };
        second.Location = { datetime: '2025-03-04T02:00:00Z', Latitude: 'abc', Longitude: 7.25 };
        // The feed repeats its last report as it was: the copy of the first pull.
        moved ??= structuredClone(second);
        // At the second pull machine 1 is on page 2 (the feed's order changed as the fleet did).
        if (shrunk) equipment.splice(1, 1);
      } else if (shrunk && moved) equipment.push(moved);
    });
    const built = createAempProvider(t.config, { store: t.store, fetch: fetchMoving, clock: t.clock, sleep: t.clock.sleep, limiter: new ProviderRateLimiter({ fleet: 49, equipment: 490, timeSeries: 490 }) });
    const validation = { maxFutureSkewMs: 5 * MIN, maxAgeMs: 7 * 24 * 60 * MIN };
    const ingestor = aempIngestor(t, range(4), validation);
    expect(await runFleetPull({ client: built.client, store: t.store, sink: ingestor, clock: t.clock, validation })).toMatchObject({ complete: true, pages: 2, quarantined: 2 });
    t.clock.advance(16 * MIN);
    shrunk = true;
    expect(await runFleetPull({ client: built.client, store: t.store, sink: ingestor, clock: t.clock, validation })).toMatchObject({ complete: true, pages: 2, quarantined: 2 });
    const entries = await t.store.listQuarantine({});
    expect(entries.map((q) => [q.code, q.repeats]).sort()).toEqual([
      ['stale', 1],
      ['undecodable', 1],
    ]);
    // The channel names the provider and the machine (no page, no link's query).
    for (const q of entries) expect(q.channel).toMatch(/^trackunit fleet [a-z-]+:\S+$/);
  });

  it('sets a block it cannot use aside in quarantine (once, however often the feed repeats it), takes the rest, and a replay after the fix takes that block once', async () => {
    // Bug: a latitude "abc", a unit not known, a block without its datetime were left out of the
    // machine's events and only noted in the summary and log: nothing kept them to replay after a fix.
    const t = setup({ fleetSize: 5 });
    await t.store.upsertAssets(assetsForMachines(range(5), 'machine-id'));
    const fetchOdd = fleetPagesRewritten(simulatorFetch(t.sim), (equipment) => {
      const [first, second, third] = equipment as [Machine, Machine, Machine];
      // The feed repeats each the same at every pull (the machine has not reported since).
      first.Location = { datetime: '2025-03-04T02:00:00Z', Latitude: 'abc', Longitude: 7.25 };
      second.Distance = { datetime: '2025-03-04T02:00:00Z', OdometerUnits: 'furlong', Odometer: 100 };
      third.CumulativeOperatingHours = { Hour: 1234 };
    });
    const built = createAempProvider(t.config, { store: t.store, fetch: fetchOdd, clock: t.clock, sleep: t.clock.sleep, limiter: new ProviderRateLimiter({ fleet: 49, equipment: 490, timeSeries: 490 }) });
    const decoded: CanonicalEvent[] = [];
    /** The parser, or (after "the fix") the parser with the feed's odd values read as it would then read them. */
    let fixed = false;
    const aemp = createAempEquipmentDecoder();
    const decoder = (m: RawMessage) => {
      const r = aemp(fixed ? { ...m, payload: (m.payload as string).replace('"abc"', '51.5').replace('"furlong"', '"km"').replace('"Hour"', '"datetime":"2025-03-04T01:00:00Z","Hour"') } : m);
      if (r.ok) decoded.push(...r.events);
      return r;
    };
    const ingestor = aempIngestor(t, range(5), DEFAULT_VALIDATION, decoder);
    const pins = [0, 1, 2].map((i) => machineHeader(i).pin ?? '');
    for (let pull = 0; pull < 3; pull++) {
      expect(await runFleetPull({ client: built.client, store: t.store, sink: ingestor, clock: t.clock })).toMatchObject({ complete: true, matched: 5, accepted: 5, quarantined: 3 });
      t.clock.advance(16 * MIN);
    }
    // The machines' other readings were taken: machine 0's hours, machine 1's position.
    const of = (i: number) => decoded.filter((e) => e.ids.some((id) => id.type === 'machine-id' && id.value === assetsForMachines([i], 'machine-id')[0]?.identifiers[0]?.value));
    expect(of(0).map((e) => e.kind)).toContain('meter');
    expect(of(0).map((e) => e.kind)).not.toContain('position');
    expect(of(1).map((e) => e.kind)).toContain('position');
    // One entry per block, counted as repeated by the later pulls; the reason names the block, field, value and what to do.
    const entries = await t.store.listQuarantine({ status: 'open' });
    expect(entries.map((q) => [q.code, q.repeats])).toEqual([
      ['undecodable', 2],
      ['undecodable', 2],
      ['undecodable', 2],
    ]);
    const reasons = entries.map((q) => q.reason).join('\n');
    expect(reasons).toContain(`trackunit: machine ${pins[0]}: Location block: Location: latitude "abc" is not a number; position skipped`);
    expect(reasons).toContain(`trackunit: machine ${pins[1]}: Distance block: Distance.Odometer: unknown distance unit "furlong"`);
    expect(reasons).toContain(`trackunit: machine ${pins[2]}: CumulativeOperatingHours block: CumulativeOperatingHours: no datetime`);
    expect(reasons).toContain("'assetbridge quarantine replay ID'");
    // Each kept with its machine's header and that block alone.
    for (const q of entries) {
      const element = JSON.parse(q.payload as string) as Record<string, unknown>;
      expect(Object.keys(element).filter((k) => !/header|metadata/i.test(k))).toHaveLength(1);
    }

    // A replay before the fix keeps them (quarantined again), not closes them with nothing taken.
    decoded.length = 0;
    expect(await replayQuarantine(t.store, ingestor, {})).toMatchObject({ replayed: 3, accepted: 0, stillQuarantined: 3 });
    // After the fix: each block is taken once, and nothing of what the pulls took comes again.
    fixed = true;
    expect(await replayQuarantine(t.store, ingestor, {})).toMatchObject({ replayed: 3, accepted: 3, stillQuarantined: 0 });
    expect(decoded.map((e) => e.kind).sort()).toEqual(['meter', 'meter', 'position']);
    expect(of(0)).toEqual([expect.objectContaining({ kind: 'position', lat: 51.5 })]);
    expect(of(1)).toEqual([expect.objectContaining({ kind: 'meter', odometerKm: 100 })]);
    expect(of(2)).toEqual([expect.objectContaining({ kind: 'meter', operatingHours: 1234 })]);
    expect(await t.store.countQuarantine({ status: 'open' })).toBe(0);
    expect(await replayQuarantine(t.store, ingestor, {})).toMatchObject({ replayed: 0 });
  });

  it('sends a sensor block in a unit a threshold rule cannot convert as a message of its own, so the machine\'s position does not go with it (the ingestor judges it for the asset)', () => {
    const location = { datetime: '2025-03-04T01:00:00Z', Latitude: 50, Longitude: 7 };
    const temp = { datetime: '2025-03-04T01:00:00Z', EngineTemp: 5, Unit: 'mA' };
    const element = { EquipmentHeader: { PIN: 'PIN-1' }, Location: location, EngineTemp: temp };
    const ids = [{ type: 'pin' as const, value: 'PIN-1' }];
    const events: CanonicalEvent[] = [
      { kind: 'position', source: 'aemp:t', ids, eventTime: T0 - MIN, receivedAt: T0, lat: 50, lng: 7, raw: { Location: location } },
      { kind: 'sensor', source: 'aemp:t', ids, eventTime: T0 - MIN, receivedAt: T0, values: { engineTemp: { value: 5, unit: 'mA' } }, raw: { EngineTemp: temp } },
    ];
    const message: RawMessage = { source: 'aemp:t', channel: 'Fleet/1', payload: JSON.stringify(element), receivedAt: T0 };
    const sensorUnits = new Map([['engineTemp', [{ unit: '°C', rules: [{ name: 'hot', appliesTo: { attributes: { fleet: ['cranes'] } } }] }]]]);
    expect(splitByValidity(message, element, events, { ...DEFAULT_VALIDATION, sensorUnits }).map((m) => JSON.parse(m.payload as string) as unknown)).toEqual([
      { EquipmentHeader: { PIN: 'PIN-1' }, Location: location },
      { EquipmentHeader: { PIN: 'PIN-1' }, EngineTemp: temp },
    ]);
    expect(splitByValidity(message, element, events, DEFAULT_VALIDATION)).toEqual([message]);
  });

  it('sets aside one unusable block of a wrapped list on its own: the other fixes stay with the machine, and no emptied wrapper is left to read as a block', () => {
    const element = {
      EquipmentHeader: { PIN: 'PIN-1' },
      Locations: { Location: [{ datetime: '2025-03-04T01:00:00Z', Latitude: 50, Longitude: 7 }, { datetime: '2025-03-04T02:00:00Z', Latitude: 'abc', Longitude: 7 }] },
      Distance: { datetime: '2025-03-04T02:00:00Z', OdometerUnits: 'furlong', Odometer: 100 },
    };
    const parsed = parseAempDocument(JSON.stringify(element), { source: 'aemp:t', receivedAt: T0, expect: 'fleet' });
    if (!parsed.ok || parsed.document.kind !== 'fleet' || !parsed.document.equipment[0]) throw new Error('not parsed');
    const eq = parsed.document.equipment[0];
    const parts = splitElement({ source: 'aemp:t', channel: 'Fleet/1', payload: JSON.stringify(element), receivedAt: T0 }, eq, DEFAULT_VALIDATION, 't: machine PIN-1');
    expect(parts.map((p) => [JSON.parse(p.payload as string) as unknown, p.setAside?.code])).toEqual([
      [{ EquipmentHeader: { PIN: 'PIN-1' }, Locations: { Location: [element.Locations.Location[0]] } }, undefined],
      [{ EquipmentHeader: { PIN: 'PIN-1' }, Locations: { Location: [element.Locations.Location[1]] } }, 'undecodable'],
      [{ EquipmentHeader: { PIN: 'PIN-1' }, Distance: element.Distance }, 'undecodable'],
    ]);
    // Its one fix set aside: the Locations wrapper, emptied, goes (not left to read as a block without a datetime).
    const onlyFixBad = { EquipmentHeader: { PIN: 'PIN-1' }, Locations: { Location: [{ datetime: '2025-03-04T02:00:00Z', Latitude: 'abc', Longitude: 7 }] }, CumulativeOperatingHours: { datetime: '2025-03-04T02:00:00Z', Hour: 5 } };
    const again = parseAempDocument(JSON.stringify(onlyFixBad), { source: 'aemp:t', receivedAt: T0, expect: 'fleet' });
    if (!again.ok || again.document.kind !== 'fleet' || !again.document.equipment[0]) throw new Error('not parsed');
    const [kept] = splitElement({ source: 'aemp:t', channel: 'Fleet/1', payload: JSON.stringify(onlyFixBad), receivedAt: T0 }, again.document.equipment[0], DEFAULT_VALIDATION, 't: machine PIN-1');
    expect(JSON.parse(kept?.payload as string)).toEqual({ EquipmentHeader: { PIN: 'PIN-1' }, CumulativeOperatingHours: onlyFixBad.CumulativeOperatingHours });
    expect(createAempEquipmentDecoder()(kept as RawMessage)).toMatchObject({ ok: true, events: [{ kind: 'meter', operatingHours: 5 }] });
  });

  it('says how many machines had readings the parser left out (unknown unit, no datetime), with examples, instead of only counting them accepted', async () => {
    const t = setup({ fleetSize: 5 });
    await t.store.upsertAssets(assetsForMachines(range(5), 'machine-id'));
    const fetchOdd = fleetPagesRewritten(simulatorFetch(t.sim), (equipment) => {
      const [first, second] = equipment as [Machine, Machine];
      const { datetime: _dropped, ...hours } = first.CumulativeOperatingHours as Record<string, unknown>;
      first.CumulativeOperatingHours = hours;
      second.Distance = { datetime: '2025-03-04T02:00:00Z', OdometerUnits: 'furlong', Odometer: 100 };
    });
    const built = createAempProvider(t.config, { store: t.store, fetch: fetchOdd, clock: t.clock, sleep: t.clock.sleep, limiter: new ProviderRateLimiter({ fleet: 49, equipment: 490, timeSeries: 490 }) });
    const warned: { obj: object; msg?: string }[] = [];
    const logger = { info: () => undefined, debug: () => undefined, error: () => undefined, warn: (obj: object, msg?: string) => void warned.push({ obj, ...(msg !== undefined ? { msg } : {}) }) };
    const summary = await runFleetPull({ client: built.client, store: t.store, sink: t.sink, clock: t.clock, logger });
    expect(summary).toMatchObject({ complete: true, matched: 5, accepted: 5 });
    const note = summary.notes.find((n) => n.includes('left out'));
    expect(note).toMatch(/^2 machine\(s\) came with readings that could not be used and were left out \(/);
    expect(note).toContain(`${machineHeader(0).pin}: CumulativeOperatingHours: no datetime; reading skipped`);
    expect(note).toContain('unknown distance unit "furlong"');
    expect(warned).toEqual([expect.objectContaining({ obj: expect.objectContaining({ provider: 'trackunit', machines: 2 }) as unknown })]);
  });

  it.each([
    ['as the parser words them', (w: string) => w],
    ['reworded', (w: string) => `NOTE ${w.toUpperCase().replace(/SKIPPED|DROPPED/g, 'PASSED OVER')}`],
  ])('counts a machine as having readings left out by the warning kind, not its text (warnings %s)', async (_name, reword) => {
    const t = setup({ fleetSize: 5 });
    await t.store.upsertAssets(assetsForMachines(range(5), 'machine-id'));
    const fetchOdd = fleetPagesRewritten(simulatorFetch(t.sim), (equipment) => {
      const [first, second, third] = equipment as [Machine, Machine, Machine];
      // A reading left out: a fix at 0,0.
      first.Location = { ...first.Location, Latitude: 0, Longitude: 0 };
      // Not one, though the text the feed put in it reads like one: an install time in words.
      (second.EquipmentHeader ?? second.equipmentHeader ?? {}).UnitInstallDateTime = 'is not a number; reading skipped';
      // Nor a tank capacity of 0 (unknown): noted as absent, nothing usable lost.
      third.FuelRemaining = { datetime: '2025-03-04T02:00:00Z', Percent: 50, FuelTankCapacity: 0 };
    });
    const built = createAempProvider(t.config, { store: t.store, fetch: fetchOdd, clock: t.clock, sleep: t.clock.sleep, limiter: new ProviderRateLimiter({ fleet: 49, equipment: 490, timeSeries: 490 }) });
    const walk = built.client.walkFleet.bind(built.client);
    built.client.walkFleet = async function* (...args: Parameters<typeof walk>) {
      for await (const page of walk(...args)) yield { ...page, fresh: page.fresh.map((f) => ({ ...f, equipment: { ...f.equipment, warnings: f.equipment.warnings.map(reword) } })) };
    };
    const summary = await runFleetPull({ client: built.client, store: t.store, sink: t.sink, clock: t.clock });
    expect(summary).toMatchObject({ complete: true, matched: 5 });
    const notes = summary.notes.filter((n) => /left out/.test(n));
    expect(notes).toEqual([expect.stringMatching(/^1 machine\(s\) came with readings that could not be used and were left out \(/)]);
    expect(notes[0]).toContain(`${machineHeader(0).pin}: ${reword('Location: position 0,0 means no fix; position skipped')}`);
    expect(notes[0]).not.toMatch(/UnitInstallDateTime|tank capacity/i);
  });
});

/** A machine of a fleet page (JSON), block by block. */
type Machine = Record<string, Record<string, unknown>>;

/** The simulator's answers with each fleet page's machines changed by `edit` (other requests as they are). */
function fleetPagesRewritten(simFetch: typeof fetch, edit: (equipment: Machine[], url: string) => void): typeof fetch {
  return (async (input: string | URL | Request, init?: RequestInit) => {
    const r = await simFetch(input, init);
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    if (!url.includes('/Fleet/')) return r;
    const doc = (await r.json()) as { equipment: Machine[] };
    edit(doc.equipment, url);
    return new Response(JSON.stringify(doc), { status: r.status, headers: r.headers });
  });
}
