import { describe, expect, it } from 'vitest';
import { createTrackunitSimulator } from '../../../../simulators/trackunit/simulator.js';
import { FakeClock, RecordingSink, assetsForMachines, simulatorConfig, simulatorFetch } from '../../../../simulators/trackunit/test-support.js';
import { useTempStores } from '../../../../test/helpers/temp-stores.js';
import { TaskRetryLater, type TaskContext } from '../../../ports/task.js';
import { bearerCredentials } from '../auth/static-credentials.js';
import { aempTaskName, createAempProvider, createAempPullTasks } from './aemp-provider.js';
import { loadLastPull } from './fleet-pull.js';

const newStore = useTempStores();

describe('scheduled AEMP pulls', () => {
  it('makes one task per enabled provider, on its cron schedule', () => {
    const tasks = createAempPullTasks([
      simulatorConfig({ name: 'a' }),
      simulatorConfig({ name: 'b', schedule: { cron: '*/15 * * * *', timeZone: 'Europe/Copenhagen' } }),
      simulatorConfig({ name: 'c', schedule: { enabled: false } }),
    ]);
    expect(tasks.map((t) => [t.name, t.schedule])).toEqual([
      [aempTaskName('a'), { cron: '0 3 * * *', timeZone: 'UTC' }],
      [aempTaskName('b'), { cron: '*/15 * * * *', timeZone: 'Europe/Copenhagen' }],
    ]);
  });

  it('a run pulls through the task context and never spends the reserve', async () => {
    const clock = new FakeClock(Date.UTC(2025, 2, 4, 3));
    const sim = createTrackunitSimulator({ fleetSize: 150, now: clock.now });
    const store = newStore();
    await store.upsertAssets(assetsForMachines([0, 1]));
    const sink = new RecordingSink();
    const [task] = createAempPullTasks([simulatorConfig({ maxBudgetWait: '1s' })], { fetch: simulatorFetch(sim) });
    const ctx = { store, clock, sink, signal: new AbortController().signal } as unknown as TaskContext;
    await task!.run(ctx);
    expect(await loadLastPull(store, 'trackunit')).toMatchObject({ complete: true, pages: 2, matched: 2 });
    // A second run right away must wait for the per-URL budget; it stops (resumable) instead of using the reserve.
    await expect(task!.run(ctx)).rejects.toThrow(/^trackunit: fleet pull stopped waiting for request budget: /);
    // No failure: a stop the scheduler retries, logged as such.
    await expect(task!.run(ctx)).rejects.toBeInstanceOf(TaskRetryLater);
    expect(await loadLastPull(store, 'trackunit')).toMatchObject({ complete: false, stop: 'budget-wait', reserveUsed: 0 });
    expect(sim.stats.http429).toBe(0);
  });
});

describe('a scheduled pull that stops waiting for request budget', () => {
  it('stops to retry later (no failure), so the scheduler retries it, and the retry resumes where it stopped within resumeWithin', async () => {
    const clock = new FakeClock(Date.UTC(2025, 2, 4, 3));
    const sim = simulatorFetch(createTrackunitSimulator({ fleetSize: 250, now: clock.now }));
    const store = newStore();
    // Page 2 answers 429 once: its URL cools down for longer than maxBudgetWait.
    let refused = false;
    const fetchImpl = ((input: string | URL | Request, init?: RequestInit) => {
      if (!refused && String(input instanceof Request ? input.url : input).includes('/Fleet/2')) {
        refused = true;
        return Promise.resolve(new Response('slow down', { status: 429 }));
      }
      return sim(input, init);
    }) as typeof fetch;
    const [task] = createAempPullTasks([simulatorConfig({ name: 'budgeted', maxBudgetWait: '1m', pageLookahead: 0 })], { fetch: fetchImpl });
    const ctx = { store, clock, sink: new RecordingSink(), signal: new AbortController().signal } as unknown as TaskContext;
    await expect(task!.run(ctx)).rejects.toThrow(
      /^budgeted: fleet pull stopped waiting for request budget: .*\/Fleet\/2\S* may not be requested before .*; kept: 1 page\(s\) of this snapshot, .*; the next pull resumes at \S+\/Fleet\/2\S* if it starts before 2025-03-04T15:00:00\.000Z/,
    );
    expect(await loadLastPull(store, 'budgeted')).toMatchObject({ complete: false, stop: 'budget-wait', pages: 1 });
    // The retry, once the URL has cooled down: the rest of this snapshot, not page 1 again.
    clock.advance(60 * 60_000);
    await task!.run(ctx);
    expect(await loadLastPull(store, 'budgeted')).toMatchObject({ complete: true, stop: 'last-page', pages: 2, resumedFrom: expect.stringContaining('/Fleet/2') as unknown });
  });
});

describe('a scheduled pull that fails at a page', () => {
  it('fails with what it kept, where and until when the retry resumes, and what to fix first (logged by the scheduler)', async () => {
    const clock = new FakeClock(Date.UTC(2025, 2, 4, 3));
    const sim = simulatorFetch(createTrackunitSimulator({ fleetSize: 150, now: clock.now }));
    const store = newStore();
    const fetchImpl = ((input: string | URL | Request, init?: RequestInit) =>
      String(input instanceof Request ? input.url : input).includes('/Fleet/2') ? Promise.resolve(new Response('gone', { status: 410 })) : sim(input, init)) as typeof fetch;
    const [task] = createAempPullTasks([simulatorConfig({ name: 'scheduled-410' })], { fetch: fetchImpl });
    const ctx = { store, clock, sink: new RecordingSink(), signal: new AbortController().signal } as unknown as TaskContext;
    await expect(task!.run(ctx)).rejects.toThrow(
      /^scheduled-410: fleet pull failed: .*\/Fleet\/2\S* was refused \(HTTP 410: gone\); .*; kept: 1 page\(s\) of this snapshot, .*; the next pull resumes at \S+\/Fleet\/2\S* if it starts before 2025-03-04T15:00:00\.000Z .*; fix first: what the error names \(the page was refused\)/,
    );
  });
});

describe('a provider built from config entry N', () => {
  it('names that entry\'s keys in its errors: telematics.N.auth for a refused token, telematics.N.baseUrl and profile.paths for a refused page', async () => {
    const store = newStore();
    const config = simulatorConfig();
    const refuse = (status: number) => (() => Promise.resolve(new Response('{"error":"nope"}', { status, headers: { 'content-type': 'application/json' } }))) as unknown as typeof fetch;
    const noToken = createAempProvider(config, { store, fetch: refuse(401) }, 2);
    await expect(noToken.client.fetchDocument(`${config.baseUrl}/Fleet/1`, 'fleet')).rejects.toThrow(/check the client id, secret, username, password and scopes in telematics\.2\.auth$/);
    const token = bearerCredentials('t');
    // A fixed API key the ISO API refuses: there is nothing to re-mint; the key to check is named.
    const badKey = createAempProvider(config, { store, fetch: refuse(401), credentials: token }, 2);
    await expect(badKey.client.fetchDocument(`${config.baseUrl}/Fleet/7`, 'fleet')).rejects.toThrow(/refused the feed's credentials \(HTTP 401: nope\); check the token, or username and password, in telematics\.2\.auth$/);
    // A token minted fine but refused twice by the ISO API: the credentials' access, in that entry.
    const tokenOnly = ((input: string | URL | Request) =>
      Promise.resolve(
        String(input instanceof Request ? input.url : input).endsWith('/token')
          ? Response.json({ token_type: 'Bearer', access_token: 'tok', expires_in: 3600 })
          : new Response('{"message":"not for this API"}', { status: 401, headers: { 'content-type': 'application/json' } }),
      )) as typeof fetch;
    const notAllowed = createAempProvider(config, { store, fetch: tokenOnly }, 2);
    await expect(notAllowed.client.fetchDocument(`${config.baseUrl}/Fleet/8`, 'fleet')).rejects.toThrow(
      /refused a freshly minted token \(HTTP 401: not for this API\); check that the credentials in telematics\.2\.auth may use the ISO export API$/,
    );
    const noPage = createAempProvider(config, { store, fetch: refuse(404), credentials: token }, 2);
    // `profile.paths.fleet`: the config has no `telematics.N.paths` key to set.
    await expect(noPage.client.fetchDocument(`${config.baseUrl}/Fleet/1`, 'fleet')).rejects.toThrow(/check telematics\.2\.baseUrl and the path templates \(telematics\.2\.profile\.paths\.fleet\)$/);
    // One machine not found: the identifier first, then the keys.
    await expect(noPage.client.fetchDocument(noPage.client.equipmentUrl('NOPE'), 'equipment')).rejects.toThrow(
      /HTTP 404: nope\); the provider knows no machine by this identifier: check the PIN\/VIN .*telematics\.2\.profile\.paths\.equipment\)$/,
    );
  });
});
