import { describe, expect, it } from 'vitest';
import { Command } from 'commander';
import { machineHeader } from '../../../simulators/trackunit/fleet.js';
import { createTrackunitSimulator } from '../../../simulators/trackunit/simulator.js';
import { FakeClock, RecordingSink, assetsForMachines, simulatorConfig, simulatorFetch } from '../../../simulators/trackunit/test-support.js';
import { tempStorePath } from '../../../test/helpers/temp-store.js';
import { useTempStores } from '../../../test/helpers/temp-stores.js';
import { UsageError } from '../../core/errors/errors.js';
import { createApp } from '../../app.js';
import { compileConfig } from '../../config/load.js';
import { startTrackunitSimulator } from '../../../simulators/trackunit/simulator.js';
import { createAempProvider } from '../../adapters/telematics/aemp/aemp-provider.js';
import { CURSOR_NAMESPACE } from '../../adapters/telematics/aemp/fleet-pull.js';
import { AEMP_PULL_JOB, EXIT_TRY_LATER, aempBackfillCommand, aempJobs, aempBudgetCommand, aempEquipmentCommand, aempPullCommand, pullProgress, registerAempCommands, type AempCommandDeps } from './aemp.js';
import { confirmCommand, registerAssetReviewCommands, unmatchedCommand } from './assets-review.js';

const T0 = Date.UTC(2025, 2, 4, 3, 0, 0);
const newStore = useTempStores();

function setup(configs = [simulatorConfig()]) {
  const clock = new FakeClock(T0);
  const sim = createTrackunitSimulator({ fleetSize: 150, now: clock.now });
  const store = newStore();
  const out: string[] = [];
  const err: string[] = [];
  const sink = new RecordingSink();
  const deps: AempCommandDeps = {
    configs,
    store,
    sink,
    out: (t) => void out.push(t),
    err: (t) => void err.push(t),
    isTTY: false,
    fetch: simulatorFetch(sim),
    clock,
    sleep: clock.sleep,
  };
  return { clock, sim, store, sink, deps, out, err, text: () => out.join(''), errors: () => err.join('') };
}

describe('aemp pull', () => {
  it('pulls, prints a summary, and exits 75 with a hint when the budget says wait', async () => {
    const t = setup();
    await t.store.upsertAssets(assetsForMachines([0, 1, 2]));
    expect(await aempPullCommand(t.deps, {})).toBe(0);
    expect(t.text()).toMatch(/trackunit: 2 page\(s\), 150 machine\(s\)/);
    expect(t.text()).toMatch(/matched 3, unmatched 147, ambiguous 0/);
    expect(t.text()).toMatch(/assetbridge assets unmatched/);
    expect(t.text()).toMatch(/complete/);

    t.out.length = 0;
    expect(await aempPullCommand(t.deps, { wait: false })).toBe(EXIT_TRY_LATER);
    expect(t.text()).toMatch(/stopped \(budget-wait\): .*--use-reserve/);

    t.out.length = 0;
    expect(await aempPullCommand(t.deps, { useReserve: true, json: true })).toBe(0);
    const [summary] = JSON.parse(t.text()) as { reserveUsed: number; complete: boolean }[];
    expect(summary).toMatchObject({ reserveUsed: 2, complete: true });
    expect(t.sim.stats.http429).toBe(0);
  });

  // A pull stopped by the hop cap printed "complete", exit 0, and the next pull began at page 1 again.
  it('a pull stopped at the hop cap says so and what to raise, exits 1, and aemp budget shows where the next pull resumes', async () => {
    const t = setup([simulatorConfig({ name: 'capped', profile: { maxPages: 1 } })]);
    expect(await aempPullCommand(t.deps, {})).toBe(1);
    expect(t.text()).not.toMatch(/^\s*complete$/m);
    expect(t.text()).toMatch(/stopped \(hop-cap\)/);
    expect(t.text()).toMatch(/the next pull resumes at \S+\/Fleet\/2\S* if it starts before/);
    expect(t.text()).toMatch(/fix first: raise telematics\.0\.profile\.maxPages \(1\)/);
    t.out.length = 0;
    expect(await aempBudgetCommand(t.deps, {})).toBe(0);
    expect(t.text()).toMatch(/capped: last pull .*, stopped \(hop-cap\); the next pull resumes at \S+\/Fleet\/2/);
  });

  it('a pull that will not wait (--no-wait) and cannot send a request now mints no token (providers limit logins)', async () => {
    // A provider of its own: the per-second limiter is process-wide per provider, and this test moves the clock on.
    const t = setup([simulatorConfig({ name: 'no-wait-token' })]);
    await t.store.upsertAssets(assetsForMachines([0, 1, 2]));
    expect(await aempPullCommand(t.deps, {})).toBe(0);
    const tokens = t.sim.stats.tokenRequests;
    const iso = t.sim.stats.isoRequests;
    expect(tokens).toBeGreaterThan(0);
    t.out.length = 0;
    expect(await aempPullCommand(t.deps, { wait: false })).toBe(EXIT_TRY_LATER);
    expect(t.text()).toMatch(/stopped \(budget-wait\)/);
    expect(t.sim.stats.tokenRequests).toBe(tokens);
    expect(t.sim.stats.isoRequests).toBe(iso);
    // Once a request may go, the pull mints and sends as before.
    t.clock.advance(16 * 60_000);
    expect(await aempPullCommand(t.deps, { wait: false })).toBe(0);
    expect(t.sim.stats.tokenRequests).toBe(tokens + 1);
  });

  it.each([
    [
      'answered with a page that cannot be read',
      () => new Response('{"Links": [', { status: 200, headers: { 'content-type': 'application/json' } }),
      /^ {2}fix first: the page itself, at the provider: it answered with a document that cannot be read, kept as received as quarantine entry \d+ \('assetbridge quarantine show \d+ --payload > page' writes it out without a request/m,
    ],
    ['refused (HTTP 404)', () => new Response('no such page', { status: 404 }), /^ {2}fix first: what the error names \(the page was refused\): every rerun stops at this page until then$/m],
  ])('a pull that stops at a page %s says what it kept, that and until when a rerun resumes there, and what to fix first', async (_name, answer, fix) => {
    // A provider of its own: the per-second limiter is process-wide per provider, and this test moves the clock on.
    const t = setup([simulatorConfig({ name: `broken-page-${answer().status}` })]);
    await t.store.upsertAssets(assetsForMachines([0, 1, 2]));
    const sim = t.deps.fetch!;
    let broken = true;
    t.deps = { ...t.deps, fetch: ((input: string | URL | Request, init?: RequestInit) => (broken && String(input instanceof Request ? input.url : input).includes('/Fleet/2') ? Promise.resolve(answer()) : sim(input, init))) };
    expect(await aempPullCommand(t.deps, {})).toBe(1);
    const text = t.text();
    expect(text).toMatch(/stopped \(error\): broken-page-\d+: \S+\/Fleet\/2\S* /);
    expect(text).toContain('  kept: 1 page(s) of this snapshot, stored with their machines submitted, and the cursor at the first page not stored\n');
    expect(text).toMatch(
      /^ {2}the next pull resumes at \S+\/Fleet\/2\S* if it starts before 2025-03-04T15:00:00\.000Z \(resumeWithin: 12 h from this snapshot's first page; later it starts over at the first page\): run 'assetbridge aemp pull --provider broken-page-\d+' again/m,
    );
    expect(text).toMatch(fix);

    // Fixed, the rerun resumes at that page; the pages kept are not asked for again.
    broken = false;
    t.clock.advance(16 * 60_000);
    t.out.length = 0;
    expect(await aempPullCommand(t.deps, {})).toBe(0);
    expect(t.text()).toMatch(/broken-page-\d+: 1 page\(s\), 50 machine\(s\) .*\(resumed at \S+\/Fleet\/2/);
  });

  it('refuses --use-reserve when the config forbids the reserve, and unknown providers', async () => {
    const t = setup([simulatorConfig({ reserve: { policy: 'never' } })]);
    await expect(aempPullCommand(t.deps, { useReserve: true })).rejects.toThrow('trackunit: the config forbids spending reserve requests (telematics.0.reserve.policy: never); change it to on-request to use --use-reserve');
    await expect(aempPullCommand(t.deps, { provider: 'nope' })).rejects.toThrow(/no telematics provider named "nope"; configured: trackunit/);
    await expect(aempPullCommand({ ...t.deps, configs: [] }, {})).rejects.toThrow(UsageError);
  });

  it('run by the service for the CLI, keeps messages apart from the output, so --json stays JSON and errors go to stderr', async () => {
    const t = setup();
    const jobs = new Map(aempJobs({ configs: t.deps.configs, store: t.store, sink: t.sink, fetch: t.deps.fetch!, clock: t.clock, sleep: t.clock.sleep }));
    const pull = jobs.get(AEMP_PULL_JOB)!;
    const bad = (await pull({ provider: 'nope' }, new AbortController().signal)) as { exitCode: number; output: string; errors?: string };
    expect(bad).toEqual({ exitCode: 1, output: '', errors: 'error: no telematics provider named "nope"; configured: trackunit\n' });
    // A pull that stops for the budget says so on stderr; stdout holds only the JSON summary.
    expect((await pull({}, new AbortController().signal)).exitCode).toBe(0);
    const stopped = (await pull({ wait: false, restart: true, json: true }, new AbortController().signal)) as { exitCode: number; output: string; errors?: string };
    expect(stopped.exitCode).toBe(EXIT_TRY_LATER);
    expect(JSON.parse(stopped.output)).toMatchObject([{ stop: 'budget-wait' }]);
  });

  it('reports progress as log lines when stderr is not a terminal', () => {
    const lines: string[] = [];
    const progress = pullProgress({ err: (t) => void lines.push(t), isTTY: false }, 'tu', 0);
    progress.start?.({ provider: 'tu', startUrl: 'http://x/Fleet/3', resumed: true });
    progress.page?.({ pages: 1, equipment: 100, estimatedPages: 10 });
    progress.wait?.({ key: 'http://x/Fleet/2', until: T0, reason: 'interval', reserveLeft: 45 });
    progress.stop();
    expect(lines.join('')).toBe(
      'tu: resuming an interrupted pull at http://x/Fleet/3\n' +
        'tu: 1/10 pages, 100 machines\n' +
        'tu: waiting until 2025-03-04T03:00:00.000Z for the per-URL budget of http://x/Fleet/2 (or stop and rerun with --use-reserve; 45 reserve requests left)\n',
    );
  });
});

describe('aemp backfill, equipment and budget', () => {
  it('backfills a range for the matched machines of the last pull', async () => {
    const t = setup();
    await t.store.upsertAssets(assetsForMachines([0, 1]));
    await aempPullCommand(t.deps, {});
    t.out.length = 0;
    const code = await aempBackfillCommand(t.deps, { from: '2025-03-03', to: '2025-03-04T00:00:00Z', element: ['CumulativeOperatingHours'] });
    expect(code).toBe(0);
    expect(t.text()).toMatch(/backfill 2025-03-03T00:00:00\.000Z → 2025-03-04T00:00:00\.000Z of CumulativeOperatingHours for 2 machine\(s\)/);
    expect(t.text()).toMatch(/series 2\/2 done/);
    expect(t.text()).toMatch(/50 reading\(s\): 50 accepted, 0 quarantined/);
  });

  it('continues an unfinished backfill without --to over the same range: series it finished are not fetched again', async () => {
    const t = setup();
    await t.store.upsertAssets(assetsForMachines([0, 1]));
    await aempPullCommand(t.deps, {});
    t.out.length = 0;
    // The third time-series request (machine 1's first series) gets a 429: the run stops there.
    let series = 0;
    const base = simulatorFetch(t.sim);
    const deps: AempCommandDeps = {
      ...t.deps,
      fetch: (input: string | URL | Request, init?: RequestInit) =>
        /CumulativeOperatingHours|Distance/.test(input instanceof Request ? input.url : input.toString()) && ++series === 3 ? Promise.resolve(new Response('{}', { status: 429 })) : base(input, init),
    };
    const args = { from: '2025-03-03', element: ['CumulativeOperatingHours', 'Distance'], concurrency: '1', maxWait: '1m', json: true };
    expect(await aempBackfillCommand(deps, args)).toBe(EXIT_TRY_LATER);
    const first = JSON.parse(t.text()) as { to: string; seriesDone: number };
    expect(first.seriesDone).toBe(2);
    t.out.length = 0;
    t.clock.advance(16 * 60_000);
    const requestsBefore = series;
    expect(await aempBackfillCommand(deps, args)).toBe(0);
    expect(JSON.parse(t.text())).toMatchObject({ to: first.to, seriesSkipped: 2, seriesDone: 2, complete: true });
    expect(series - requestsBefore).toBe(2); // machine 1's two series only
    expect(t.errors()).toMatch(/continuing the unfinished backfill from 2025-03-03T00:00:00\.000Z to .*give --to \(or --restart\)/);
    // Finished: the next run without --to ends now again.
    t.out.length = 0;
    t.clock.advance(16 * 60_000);
    await aempBackfillCommand(deps, args);
    expect((JSON.parse(t.text()) as { to: string }).to).not.toBe(first.to);
  });

  it('continues a backfill without --to that was killed (no summary) over the same range: series it finished are not fetched again', async () => {
    const t = setup();
    await t.store.upsertAssets(assetsForMachines([0, 1]));
    await aempPullCommand(t.deps, {});
    const base = simulatorFetch(t.sim);
    // The run is killed (kill -9) while machine 1's first series is asked for: its request never ends, nothing after it runs.
    let killed!: () => void;
    const atKill = new Promise<void>((resolve) => (killed = resolve));
    const dying: AempCommandDeps = {
      ...t.deps,
      fetch: (input: string | URL | Request, init?: RequestInit) => {
        if (!(input instanceof Request ? input.url : input.toString()).includes(`/${machineHeader(1).pin!}/`)) return base(input, init);
        killed();
        return new Promise<Response>(() => undefined);
      },
    };
    const args = { from: '2025-03-03', element: ['CumulativeOperatingHours'], concurrency: '1', json: true };
    void aempBackfillCommand(dying, args);
    await atKill;
    t.clock.advance(16 * 60_000);
    t.out.length = 0;
    let requests = 0;
    const rerun: AempCommandDeps = {
      ...t.deps,
      fetch: (input: string | URL | Request, init?: RequestInit) => ((input instanceof Request ? input.url : input.toString()).includes('/CumulativeOperatingHours/') && requests++, base(input, init)),
    };
    expect(await aempBackfillCommand(rerun, args)).toBe(0);
    expect(JSON.parse(t.text())).toMatchObject({ to: expect.stringMatching(/^2025-03-04T03:00:00\./) as unknown, seriesSkipped: 1, seriesDone: 1, complete: true });
    expect(requests).toBe(1); // machine 1's series only
    expect(t.errors()).toMatch(/continuing the unfinished backfill from 2025-03-03T00:00:00\.000Z to 2025-03-04T03:00:00\.\d{3}Z;/);
  });

  it('a backfill stopped mid-series says how many readings it fetched but had not submitted', async () => {
    const t = setup();
    await t.store.upsertAssets(assetsForMachines([0]));
    await aempPullCommand(t.deps, {});
    t.out.length = 0;
    const base = simulatorFetch(t.sim);
    // Five days of hourly readings: two pages; the second fails on the server every time.
    const deps: AempCommandDeps = {
      ...t.deps,
      fetch: (input: string | URL | Request, init?: RequestInit) => (/\/CumulativeOperatingHours\/.*\/2$/.test(input instanceof Request ? input.url : input.toString()) ? Promise.resolve(new Response('{}', { status: 500 })) : base(input, init)),
    };
    expect(await aempBackfillCommand(deps, { from: '2025-02-27', to: '2025-03-04T00:00:00Z', element: ['CumulativeOperatingHours'] })).toBe(EXIT_TRY_LATER);
    expect(t.text()).toContain('  1 page(s), 100 reading(s): 0 accepted, 0 quarantined, 100 not submitted (fetched before the run stopped; the rerun fetches them again)\n');
    expect(t.text()).toMatch(/stopped: .*HTTP 500/);
  });

  it('shows progress while one machine\'s series are fetched, not only after each machine', async () => {
    const t = setup();
    await t.store.upsertAssets(assetsForMachines([0]));
    await aempPullCommand(t.deps, {});
    // Five days of hourly readings: two pages of one series; a log line (stderr is no terminal) at the first page.
    expect(await aempBackfillCommand(t.deps, { from: '2025-02-27', to: '2025-03-04T00:00:00Z', element: ['CumulativeOperatingHours'] })).toBe(0);
    expect(t.errors()).toMatch(/^trackunit: 0\/1 series, 1 page\(s\)$/m);
  });

  it('says why there is nothing to backfill: machines named with --pin or pulled that were all skipped are not "run aemp pull first"', async () => {
    const t = setup();
    const args = { from: '2025-03-03', to: '2025-03-04T00:00:00Z', element: ['CumulativeOperatingHours'] };
    // Nothing backfilled is no success (exit 1), and the summary does not say complete.
    expect(await aempBackfillCommand(t.deps, args)).toBe(1);
    expect(t.errors()).toBe("trackunit: nothing to backfill; run 'assetbridge aemp pull' first or name machines with --pin\n");
    expect(t.text()).toMatch(/^ {2}nothing backfilled: no machine to ask for; run 'assetbridge aemp pull' first or name machines with --pin$/m);
    t.err.length = 0;
    t.out.length = 0;
    expect(await aempBackfillCommand(t.deps, { ...args, pin: [machineHeader(3).pin!] })).toBe(1);
    expect(t.errors()).toBe('trackunit: nothing to backfill: the 1 machine(s) named with --pin were all skipped (the summary says why)\n');
    expect(t.text()).toMatch(/: it matches no ERP asset; map it first$/m);
    expect(t.text()).toMatch(/^ {2}nothing backfilled: every machine was skipped \(the reasons above\)/m);
    expect(t.text()).not.toMatch(/complete/);
    t.out.length = 0;
    expect(await aempBackfillCommand(t.deps, { ...args, pin: [machineHeader(3).pin!], json: true })).toBe(1);
    expect(JSON.parse(t.text())).toMatchObject({ complete: false, equipment: 0 });
    await aempPullCommand(t.deps, {});
    t.err.length = 0;
    expect(await aempBackfillCommand(t.deps, args)).toBe(1);
    expect(t.errors()).toMatch(/^trackunit: nothing to backfill: the 150 machine\(s\) of the last pulls were all skipped \(the summary says why\)$/m);
  });

  it('says what a backfill waits for and the way out, as a pull does', async () => {
    const t = setup();
    await t.store.upsertAssets(assetsForMachines([0]));
    await aempPullCommand(t.deps, {});
    const args = { from: '2025-03-03', to: '2025-03-04T00:00:00Z', element: ['CumulativeOperatingHours'], restart: true, maxWait: '20m' };
    expect(await aempBackfillCommand(t.deps, args)).toBe(0);
    t.err.length = 0;
    expect(await aempBackfillCommand(t.deps, args)).toBe(0);
    expect(t.errors()).toMatch(
      new RegExp(`^trackunit: waiting until \\S+ for the per-URL budget of timeseries:${machineHeader(0).pin!}/CumulativeOperatingHours/page-1 \\(or stop and rerun with --use-reserve; \\d+ reserve requests left\\)$`, 'm'),
    );
  });

  it('explains bad dates', async () => {
    const t = setup();
    await expect(aempBackfillCommand(t.deps, { from: 'yesterday' })).rejects.toThrow(/--from "yesterday" is not a date/);
    await expect(aempBackfillCommand(t.deps, {})).rejects.toThrow(/--from is required/);
    // The same cap as the config's timeSeries.concurrency, not as many machines at once as asked.
    await expect(aempBackfillCommand(t.deps, { from: '2025-03-01', concurrency: '500' })).rejects.toThrow(/--concurrency "500" must be a whole number from 1 to 64 \(the most the config's timeSeries.concurrency allows\)/);
    await expect(aempBackfillCommand(t.deps, { from: '2025-03-01', concurrency: '0' })).rejects.toThrow(UsageError);
    await expect(aempBackfillCommand(t.deps, { from: '2025-03-05', to: '2025-03-04' })).rejects.toThrow(/must be after --from/);
    // Date.parse rolls 30 February over to 2 March, and reads a time without a zone as local time.
    await expect(aempBackfillCommand(t.deps, { from: '2025-02-30' })).rejects.toThrow(/--from "2025-02-30" is not a date/);
    // A date and time without a zone is said to lack one (with the fix to make), not to be no date.
    await expect(aempBackfillCommand(t.deps, { from: '2025-02-01T06:00' })).rejects.toThrow(/--from "2025-02-01T06:00" has no time zone \(it could be any of 24 hours\); add Z for UTC or an offset: 2025-02-01T06:00Z, or 2025-02-01T06:00\+01:00/);
    await expect(aempBackfillCommand(t.deps, { from: '2025-02-30T06:00' })).rejects.toThrow(/--from "2025-02-30T06:00" is not a date/);
    await expect(aempBackfillCommand(t.deps, { from: '2025-02-01', to: '2025-02-31' })).rejects.toThrow(/--to "2025-02-31" is not a date/);
    // A range ending later than now would be remembered as finished without the readings still to come.
    await expect(aempBackfillCommand(t.deps, { from: '2025-03-01', to: '2025-03-05' })).rejects.toThrow(
      /^--to \(2025-03-05T00:00:00\.000Z\) is in the future: the provider has no readings after now, and the series would be remembered as finished for this range; leave --to out to end now$/,
    );
  });

  it('refuses an --element the parser reads nothing from before any request, naming the likely one', async () => {
    const t = setup();
    await t.store.upsertAssets(assetsForMachines([0, 1]));
    await aempPullCommand(t.deps, {});
    let requests = 0;
    const base = simulatorFetch(t.sim);
    const deps: AempCommandDeps = { ...t.deps, fetch: (input: string | URL | Request, init?: RequestInit) => (requests++, base(input, init)) };
    await expect(aempBackfillCommand(deps, { from: '2025-03-03', element: ['Locations', 'CumulativeOperatingHour'] })).rejects.toThrow(
      /--element "CumulativeOperatingHour" is not a data element assetbridge reads: did you mean CumulativeOperatingHours\? \(known: Locations, CumulativeOperatingHours, .*\); it would spend a request per machine and store nothing/,
    );
    await expect(aempBackfillCommand(deps, { from: '2025-03-03', element: ['Bogus'] })).rejects.toThrow(/--element "Bogus" is not a data element assetbridge reads \(known: /);
    expect(requests).toBe(0);
    // The parser's other names and their aliases are data elements too.
    expect(await aempBackfillCommand(deps, { from: '2025-03-03', to: '2025-03-04T00:00:00Z', element: ['FuelUsed', 'FaultCodes'] })).toBe(0);
  });

  it('an interrupted backfill says once how to continue', async () => {
    const t = setup();
    await t.store.upsertAssets(assetsForMachines([0, 1]));
    await aempPullCommand(t.deps, {});
    t.out.length = 0;
    const abort = new AbortController();
    const base = simulatorFetch(t.sim);
    const deps: AempCommandDeps = {
      ...t.deps,
      signal: abort.signal,
      // Ctrl-C while the first series is being fetched.
      fetch: (input: string | URL | Request, init?: RequestInit) => {
        if (!/CumulativeOperatingHours/.test(input instanceof Request ? input.url : input.toString())) return base(input, init);
        abort.abort(new Error('interrupted'));
        return Promise.reject(abort.signal.reason as Error); // as fetch does when its signal is aborted
      },
    };
    expect(await aempBackfillCommand(deps, { from: '2025-03-03', to: '2025-03-04T00:00:00Z', element: ['CumulativeOperatingHours'], concurrency: '1' })).toBe(1);
    expect(t.text()).toMatch(/stopped: .*run it again to continue/);
    expect(t.text().match(/again to continue/g)).toHaveLength(1);
  });

  it('a backfill that meets a page it cannot read names the quarantine entry keeping it, goes on, and ends incomplete (exit 1)', async () => {
    const t = setup();
    await t.store.upsertAssets(assetsForMachines([0, 1]));
    await aempPullCommand(t.deps, {});
    t.out.length = 0;
    t.sim.breakPage(`/Fleet/Equipment/ID/${machineHeader(0).pin!}/CumulativeOperatingHours/`, '{"Links": [');
    expect(await aempBackfillCommand(t.deps, { from: '2025-03-03', to: '2025-03-04T00:00:00Z', element: ['CumulativeOperatingHours'] })).toBe(1);
    const [entry] = await t.store.listQuarantine({ code: 'unreadable-page', limit: 1 });
    const id = entry!.id;
    expect(t.text()).toMatch(/series 1\/2 done/);
    expect(t.text()).toContain(
      `  1 series left unfinished at a page the provider answered that cannot be read, kept as received as quarantine entry ${id} ('assetbridge quarantine show ${id} --payload > page' writes it out without a request; 'assetbridge aemp parse page' says why); have the provider fix it: a rerun asks for these series again\n  incomplete; run the same command again to continue (finished series are skipped)\n`,
    );
  });

  it('aemp equipment names the quarantine entry keeping a page it cannot read (exit 1)', async () => {
    const t = setup();
    const pin = machineHeader(4).pin!;
    t.sim.breakPage(`/Fleet/Equipment/ID/${pin}?`, '<html>Bad Gateway</html>', 'text/html');
    expect(await aempEquipmentCommand(t.deps, pin, { json: true })).toBe(1);
    const [entry] = await t.store.listQuarantine({ code: 'unreadable-page', limit: 1 });
    expect(JSON.parse(t.text())).toMatchObject({ unreadablePage: entry!.id, error: expect.stringMatching(/cannot be read/) as unknown });
    expect(t.errors()).toMatch(new RegExp(`^trackunit: \\S+/Fleet/Equipment/ID/${pin}\\S* answered with a document that cannot be read: .*; kept as received as quarantine entry ${entry!.id} \\('assetbridge quarantine show ${entry!.id} --payload > page'.*; have the provider fix it\n$`));
  });

  it('writes the backfill range as ISO 8601 times with --json', async () => {
    const t = setup();
    await t.store.upsertAssets(assetsForMachines([0]));
    await aempPullCommand(t.deps, {});
    t.out.length = 0;
    await aempBackfillCommand(t.deps, { from: '2025-03-03', to: '2025-03-04T00:00:00Z', element: ['CumulativeOperatingHours'], json: true });
    expect(JSON.parse(t.text())).toMatchObject({ from: '2025-03-03T00:00:00.000Z', to: '2025-03-04T00:00:00.000Z' });
  });

  it('shows one machine and how it matches', async () => {
    const t = setup();
    await t.store.upsertAssets(assetsForMachines([4]));
    expect(await aempEquipmentCommand(t.deps, machineHeader(4).pin!, { submit: true })).toBe(0);
    expect(t.text()).toMatch(/matches: ERP asset EQ-4/);
    expect(t.text()).toMatch(/meter operatingHours=/);
    expect(t.text()).toMatch(/submitted: 1 accepted/);
  });

  it('aemp equipment exits 75, as pull and backfill do, when the machine\'s URL was requested within the per-URL interval', async () => {
    const t = setup();
    const pin = machineHeader(0).pin!;
    expect(await aempEquipmentCommand(t.deps, pin, {})).toBe(0);
    expect(await aempEquipmentCommand(t.deps, pin, {})).toBe(EXIT_TRY_LATER);
    expect(t.errors()).toMatch(/^trackunit: \S+ may not be requested before .*--use-reserve\n$/m);
  });

  it('lists the per-URL budget after a pull', async () => {
    const t = setup();
    await aempPullCommand(t.deps, {});
    t.out.length = 0;
    expect(await aempBudgetCommand(t.deps, {})).toBe(0);
    expect(t.text()).toMatch(/trackunit: last pull 2025-03-04T03:00:00\.000Z, complete/);
    expect(t.text()).toMatch(/Fleet\/1\?addMetadata=true\s+2025-03-04T03:00:00\.000Z\s+2025-03-04T03:15:00\.000Z\s+45/);
    // A pull that spends the reserve requests again: the last request is that one, marked; the ordinary slot is unchanged.
    t.clock.advance(60_000);
    await aempPullCommand(t.deps, { useReserve: true });
    t.out.length = 0;
    expect(await aempBudgetCommand(t.deps, {})).toBe(0);
    expect(t.text()).toMatch(/Fleet\/1\?addMetadata=true\s+2025-03-04T03:01:00\.\d{3}Z \(reserve\)\s+2025-03-04T03:15:00\.000Z\s+44/);
  });

  it('says so when a pull after the last summary was stopped mid-pull (no summary of its own), and when its cursor is too old to resume', async () => {
    const t = setup();
    await aempPullCommand(t.deps, {});
    // What a pull killed (kill -9) after its first page leaves: the cursor moved, no summary written.
    t.clock.advance(60 * 60_000);
    const startedAt = t.clock.now();
    await t.store.kvSet(CURSOR_NAMESPACE, 'trackunit', JSON.stringify({ startedAt, nextUrl: 'http://x/Fleet/2?addMetadata=true', pages: 1, equipment: 100, complete: false, updatedAt: startedAt + 1000 }));
    t.out.length = 0;
    expect(await aempBudgetCommand(t.deps, {})).toBe(0);
    const iso = (ms: number): string => new Date(ms).toISOString();
    expect(t.text().split('\n')[0]).toMatch(/^trackunit: last pull \S+, complete; /);
    expect(t.text().split('\n')[0]).toMatch(
      `; a pull started ${iso(startedAt)} stored 1 page(s) and has not finished (it was stopped mid-pull, or it runs now); the next pull resumes at http://x/Fleet/2?addMetadata=true if it starts before ${iso(startedAt + 12 * 60 * 60_000)}`,
    );
    t.clock.advance(13 * 60 * 60_000);
    t.out.length = 0;
    expect(await aempBudgetCommand(t.deps, {})).toBe(0);
    expect(t.text()).toMatch(/; the next pull starts over at the first page \(the unfinished one started more than resumeWithin, 12 h, ago\)$/m);
    expect(t.text()).not.toMatch(/resumes at/);
  });

  it('writes a 429 cooldown as an ISO 8601 time with --json', async () => {
    const t = setup();
    const { budget } = createAempProvider(simulatorConfig(), { store: t.store, fetch: t.deps.fetch!, clock: t.clock, sleep: t.clock.sleep }, 0);
    await budget.rateLimited('http://x/Fleet/1', 'fleet', 600_000);
    expect(await aempBudgetCommand(t.deps, { json: true })).toBe(0);
    const [report] = JSON.parse(t.text()) as { urls: { key: string; cooldownUntil?: unknown }[] }[];
    expect(report?.urls.find((u) => u.key === 'http://x/Fleet/1')?.cooldownUntil).toBe('2025-03-04T03:10:00.000Z');
  });
});

describe('assets unmatched / confirm', () => {
  it('lists equipment waiting for review and confirms a match by PIN', async () => {
    const t = setup();
    await t.store.upsertAssets([{ asset: { erpAssetId: '10004711', erpModule: 'fixed-assets', attributes: {} }, identifiers: [{ type: 'tag', value: 'yard-7', erpAssetId: '10004711' }] }]);
    await aempPullCommand(t.deps, {});
    t.out.length = 0;
    await unmatchedCommand({ store: t.store, out: t.deps.out }, {});
    const pin = machineHeader(8).pin!;
    expect(t.text()).toMatch(new RegExp(`trackunit\\|machine-id:\\S+\\s+unmatched\\s+.*pin=${pin}`));
    // LAST SEEN as every command prints a time: ISO 8601 UTC with milliseconds (it dropped them).
    expect(t.text()).toMatch(new RegExp(`pin=${pin}.*\\s\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z\\s+\\d+\\n`));
    t.out.length = 0;
    const result = await confirmCommand({ store: t.store, sink: t.sink, out: t.deps.out, now: T0 }, pin, '10004711');
    expect(result.addedIdentifiers.map((i) => i.type)).toContain('pin');
    expect(t.text()).toMatch(/is now ERP asset 10004711/);
    expect(t.text()).toMatch(/1 accepted, 0 quarantined/);
    await expect(confirmCommand({ store: t.store, out: t.deps.out, now: T0 }, machineHeader(9).pin!, 'NOPE')).rejects.toThrow(/no ERP asset "NOPE"/);
  });

  it('refuses to confirm a machine as an asset another pulled machine already matched or was confirmed as, unless --force', async () => {
    const t = setup();
    await t.store.upsertAssets([...assetsForMachines([0]), { asset: { erpAssetId: '10004711', erpModule: 'fixed-assets', attributes: {} }, identifiers: [] }]);
    await aempPullCommand(t.deps, {});
    // Machine 0 matched EQ-0 by its PIN: a second machine there would mix two hour meters on one asset.
    await expect(confirmCommand({ store: t.store, sink: t.sink, out: t.deps.out, now: T0 }, machineHeader(8).pin!, 'EQ-0')).rejects.toThrow(
      /ERP asset EQ-0 already gets the data of another machine of trackunit \(trackunit\|machine-id:\S+\).*--force/,
    );
    // A confirmed match counts as well.
    await confirmCommand({ store: t.store, sink: t.sink, out: t.deps.out, now: T0 }, machineHeader(8).pin!, '10004711');
    await expect(confirmCommand({ store: t.store, out: t.deps.out, now: T0 }, machineHeader(9).pin!, '10004711')).rejects.toThrow(/ERP asset 10004711 already gets the data/);
    expect((await unmatchedCommand({ store: t.store, out: () => undefined }, {})) === 0 && (await t.store.listAssets()).find((a) => a.asset.erpAssetId === 'EQ-0')?.identifiers).toHaveLength(1);
    const forced = await confirmCommand({ store: t.store, out: t.deps.out, now: T0 }, machineHeader(9).pin!, 'EQ-0', { force: true });
    expect(forced.entry.resolution?.erpAssetId).toBe('EQ-0');
  });

  it('says which listed machines an import has matched since their pull, instead of leaving them "unmatched" until the next one', async () => {
    const t = setup();
    await aempPullCommand(t.deps, {});
    const pin = machineHeader(8).pin!;
    await t.store.upsertAssets([{ asset: { erpAssetId: '10004711', erpModule: 'fixed-assets', attributes: {} }, identifiers: [{ type: 'pin', value: pin, erpAssetId: '10004711' }] }]);
    t.out.length = 0;
    await unmatchedCommand({ store: t.store, out: t.deps.out }, {});
    expect(t.text()).toMatch(new RegExp(`unmatched, matches 10004711 now\\s+.*pin=${pin}`));
    expect(t.text()).toContain("1 of them match an ERP asset since the pull that listed them: the next pull brings their data and takes them off this list; 'assets confirm' brings it now");
    t.out.length = 0;
    await unmatchedCommand({ store: t.store, out: t.deps.out }, { json: true });
    const listed = JSON.parse(t.text()) as { matchesNow?: string; ids: { type: string; value: string }[] }[];
    expect(listed.filter((e) => e.matchesNow !== undefined).map((e) => [e.matchesNow, e.ids.find((i) => i.type === 'pin')?.value])).toEqual([['10004711', pin]]);
  });

  it('says that nothing is pulled when no telematics provider is configured, not that every machine matched', async () => {
    const t = setup();
    const out: string[] = [];
    expect(await unmatchedCommand({ store: t.store, out: (x) => void out.push(x), providers: [] }, {})).toBe(0);
    expect(out.join('')).toBe('no equipment waits for review: no telematics provider is configured (add one under "telematics:" to pull machines)\n');
    out.length = 0;
    await unmatchedCommand({ store: t.store, out: (x) => void out.push(x), providers: ['trackunit'] }, {});
    expect(out.join('')).toBe('no equipment waits for review: every pulled machine matched one ERP asset\n');
  });

  it('registers under existing command groups without duplicating them', () => {
    const program = new Command();
    program.command('assets').command('import');
    program.command('aemp').command('parse');
    registerAssetReviewCommands(program);
    registerAempCommands(program);
    expect(program.commands.map((c) => c.name())).toEqual(['assets', 'aemp']);
    expect(program.commands[0]!.commands.map((c) => c.name())).toEqual(['import', 'unmatched', 'confirm']);
    expect(program.commands[1]!.commands.map((c) => c.name())).toEqual(['parse', 'pull', 'backfill', 'equipment', 'budget']);
    // --concurrency is machines at once (as timeSeries.concurrency is), not series: 4 is not 4 series of one machine.
    const concurrency = program.commands[1]!.commands.find((c) => c.name() === 'backfill')!.options.find((o) => o.long === '--concurrency');
    expect(concurrency?.description).toBe("machines backfilled at once, each one's series a page at a time (default: the config's timeSeries.concurrency; the per-second cap still applies)");
  });
});

describe('through the real pipeline', () => {
  it('pulled machines are decoded, resolved to their ERP assets and produce deliveries; nothing is quarantined', async () => {
    const sim = await startTrackunitSimulator({ fleetSize: 120 });
    const dir = tempStorePath();
    const h = (i: number) => machineHeader(i);
    const config = compileConfig({
      store: { path: dir },
      destinations: [{ name: 'erp', type: 'rest', baseUrl: 'http://127.0.0.1:9/erp' }],
      assets: {
        inline: [
          { erpAssetId: 'EQ-0', identifiers: [{ type: 'pin', value: h(0).pin }] },
          { erpAssetId: 'EQ-1', identifiers: [{ type: 'machine-id', value: h(1).machineId }] },
          { erpAssetId: 'EQ-2', identifiers: [{ type: 'external-ref', value: h(2).externalReferenceNumber }] },
          { erpAssetId: 'EQ-5', identifiers: [{ type: 'device-serial', value: h(5).telematicSerialNumber }] },
          // An ERP asset whose id equals a machine's ExternalReferenceNumber, without that identifier
          // registered, is not linked: the machine waits for review instead of being quarantined.
          { erpAssetId: h(4).externalReferenceNumber, identifiers: [{ type: 'tag', value: 'yard-4' }] },
        ],
      },
      telematics: [simulatorConfig({}, sim.origin)],
    });
    const app = await createApp(config, { sources: false, http: false });
    try {
      const out: string[] = [];
      const code = await aempPullCommand({ configs: config.telematics, store: app.store, sink: app.ingestor, out: (t) => void out.push(t), err: () => undefined, isTTY: false }, {});
      await app.ingestor.flush();
      expect(code).toBe(0);
      expect(out.join('')).toMatch(/matched 4, unmatched 116, ambiguous 0/);
      expect(await app.store.listQuarantine({ status: 'open' })).toEqual([]);
      const counters = await app.store.counters();
      expect(counters.eventsAccepted).toBeGreaterThanOrEqual(4);
      const pending = await app.store.listDeliveries({ status: 'pending' });
      expect(new Set(pending.map((d) => d.erpAssetId))).toEqual(new Set(['EQ-0', 'EQ-1', 'EQ-2', 'EQ-5']));

      // Confirming machine 4 registers its identifiers; a pipeline opened afterwards resolves its data.
      let later: Awaited<ReturnType<typeof createApp>> | undefined;
      const lazySink = {
        submit: async (m: Parameters<typeof app.ingestor.submit>[0]) => {
          later ??= await createApp(config, { sources: false, http: false });
          const r = await later.ingestor.submit(m);
          await later.ingestor.flush();
          return r;
        },
      };
      const confirmed = await confirmCommand({ store: app.store, sink: lazySink, out: () => undefined, now: Date.now() }, h(4).pin!, h(4).externalReferenceNumber!);
      expect(confirmed.submitted).toEqual({ accepted: 1, quarantined: [] });
      await later?.close();
      expect(await app.store.listQuarantine({ status: 'open' })).toEqual([]);
      expect((await app.store.listDeliveries({ status: 'pending' })).some((d) => d.erpAssetId === h(4).externalReferenceNumber)).toBe(true);
    } finally {
      await app.close();
      await sim.close();
    }
  });

  it('the same snapshot pulled again in a later run enqueues no delivery again (exactly once at the ERP)', async () => {
    // The feed serves an unchanged snapshot (its clock stands still); the pulls are 20 min apart, past Trackunit's per-URL interval.
    const standing = Date.now() - 60_000;
    const sim = createTrackunitSimulator({ fleetSize: 120, now: () => standing });
    const clock = new FakeClock(Date.now());
    const config = compileConfig({
      store: { path: tempStorePath() },
      destinations: [{ name: 'erp', type: 'rest', baseUrl: 'http://127.0.0.1:9/erp' }],
      assets: { inline: [0, 1, 2].map((i) => ({ erpAssetId: `EQ-${i}`, identifiers: [{ type: 'machine-id', value: machineHeader(i).machineId }] })) },
      telematics: [simulatorConfig()],
    });
    const app = await createApp(config, { sources: false, http: false });
    try {
      const deps: AempCommandDeps = { configs: config.telematics, store: app.store, sink: app.ingestor, out: () => undefined, err: () => undefined, isTTY: false, fetch: simulatorFetch(sim), clock, sleep: clock.sleep };
      expect(await aempPullCommand(deps, {})).toBe(0);
      await app.ingestor.flush();
      const first = await app.store.listDeliveries({});
      expect(new Set(first.map((d) => d.erpAssetId))).toEqual(new Set(['EQ-0', 'EQ-1', 'EQ-2']));
      // The ERP took them all.
      const claimed = await app.store.claimDue('erp', Date.now() + 86_400_000, 100, new Set());
      expect(claimed).toHaveLength(first.length);
      await app.store.completeAttempts(claimed.map((d) => ({ id: d.id, result: 'delivered' as const })), [], Date.now());
      clock.advance(20 * 60_000);
      expect(await aempPullCommand(deps, {})).toBe(0);
      await app.ingestor.flush();
      expect(await app.store.listDeliveries({ status: 'pending' })).toEqual([]);
      expect(await app.store.listDeliveries({})).toHaveLength(first.length);
    } finally {
      await app.close();
    }
  });
});
