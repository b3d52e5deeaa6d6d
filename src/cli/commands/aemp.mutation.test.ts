/**
 * Mutation-audit tests for the `aemp` commands' exit codes: a backfill stopped by the budget asks
 * to be run later (75), and a stopped pull fails (1).
 */
import { describe, expect, it } from 'vitest';
import { machineHeader } from '../../../simulators/trackunit/fleet.js';
import { createTrackunitSimulator } from '../../../simulators/trackunit/simulator.js';
import { FakeClock, RecordingSink, assetsForMachines, simulatorConfig, simulatorFetch } from '../../../simulators/trackunit/test-support.js';
import { useTempStores } from '../../../test/helpers/temp-stores.js';
import { EXIT_TRY_LATER, aempBackfillCommand, aempPullCommand, type AempCommandDeps } from './aemp.js';

const T0 = Date.UTC(2025, 2, 4, 3, 0, 0);
const newStore = useTempStores();

function setup(signal?: AbortSignal) {
  const clock = new FakeClock(T0);
  const sim = createTrackunitSimulator({ fleetSize: 150, now: clock.now });
  const store = newStore();
  const out: string[] = [];
  const inner = simulatorFetch(sim);
  // Like a real fetch: a request whose signal is already aborted is not sent.
  const fetchImpl = ((input: string | URL | Request, init?: RequestInit) => (init?.signal?.aborted ? Promise.reject(init.signal.reason as Error) : inner(input, init))) as typeof fetch;
  const deps: AempCommandDeps = {
    configs: [simulatorConfig()],
    store,
    sink: new RecordingSink(),
    out: (t) => void out.push(t),
    err: () => undefined,
    isTTY: false,
    fetch: fetchImpl,
    clock,
    sleep: clock.sleep,
    ...(signal ? { signal } : {}),
  };
  return { clock, sim, store, deps, text: () => out.join('') };
}

describe('aemp exit codes (mutation audit)', () => {
  // Kills: a backfill stopped by the request budget exiting 1 instead of 75 (run again later).
  it('exits 75 when a backfill stops because the budget makes it wait', async () => {
    const t = setup();
    await t.store.upsertAssets(assetsForMachines([0]));
    const pin = machineHeader(0).pin!;
    expect(await aempBackfillCommand(t.deps, { from: '2025-03-03', to: '2025-03-04', element: ['Distance'], pin: [pin] })).toBe(0);
    // Another range of the same series within 15 minutes: Trackunit counts it against the same budget.
    const code = await aempBackfillCommand(t.deps, { from: '2025-03-01', to: '2025-03-02', element: ['Distance'], pin: [pin], wait: false });
    expect(code).toBe(EXIT_TRY_LATER);
    expect(t.text()).toMatch(/may not be requested before/);
  });

  // Kills: a stopped (aborted) pull exiting 0.
  it('exits 1 when the pull was stopped before it finished', async () => {
    const stop = new AbortController();
    stop.abort(new Error('SIGINT'));
    const t = setup(stop.signal);
    const code = await aempPullCommand(t.deps, { json: true });
    expect(code).toBe(1);
    expect(JSON.parse(t.text())).toMatchObject([{ stop: 'aborted', complete: false }]);
  });
});
