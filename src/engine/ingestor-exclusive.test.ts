/**
 * `Ingestor.exclusively`: an operator command rewriting stored rule state while the service runs
 * (`depreciation refile`). Before it runs, what memory holds is stored and the log is empty; the
 * messages submitted meanwhile wait (not settled) and are processed after it, on the state it
 * stored for the assets it let go of.
 */
import { setImmediate } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { IdentityIndex } from '../core/identity/resolver.js';
import type { CanonicalEvent } from '../core/model/events.js';
import type { RawMessage } from '../core/model/messages.js';
import type { Rule } from '../core/rules/rule.js';
import { rulesIngestor, storeWithAssets, T0 } from '../../test/helpers/rules-stream.js';

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});
const register = (close: () => Promise<void>): void => void cleanup.push(close);

/** Counts each asset's positions: a state that changes with every event. */
const counter: Rule = { name: 'count', kinds: ['position'], apply: (s: unknown, _e: CanonicalEvent) => ({ state: { n: ((s as { n?: number } | undefined)?.n ?? 0) + 1 }, deliveries: [] }) };

let minute = 0;
const position = (asset: number): RawMessage => ({
  source: 'http',
  channel: '/v1/events',
  payload: JSON.stringify({ kind: 'position', assetId: `tag-${asset}`, eventTime: new Date(T0 + ++minute * 60_000).toISOString(), lat: 50, lng: 10 }),
  receivedAt: T0,
});
const counted = async (store: Awaited<ReturnType<typeof storeWithAssets>>, id: string) => ((await store.loadStates([id])).get(id)?.count as { n: number } | undefined)?.n;

describe('Ingestor.exclusively', () => {
  it('stores what memory holds first, holds messages submitted meanwhile until it ends, then processes them', async () => {
    const store = await storeWithAssets(register);
    const ingestor = rulesIngestor(store, new IdentityIndex(await store.listAssets()), { rules: [counter] });
    await ingestor.submit([position(0), position(0), position(1)]);
    expect(await store.readIngestLog()).toHaveLength(3); // held in memory, logged
    let settled = false;
    let later: Promise<unknown> | undefined;
    const value = await ingestor.exclusively(async () => {
      expect(await store.readIngestLog()).toEqual([]);
      expect([await counted(store, 'EQ-0'), await counted(store, 'EQ-1')]).toEqual([2, 1]);
      later = ingestor.submit([position(0)]).then((r) => ((settled = true), r));
      for (let i = 0; i < 20; i++) await setImmediate();
      expect(settled).toBe(false);
      expect(ingestor.stats.accepted).toBe(3);
      return 'done';
    });
    expect(value).toBe('done');
    expect(await later).toEqual({ accepted: 1, quarantined: [] });
    await ingestor.flush();
    expect(await counted(store, 'EQ-0')).toBe(3);
  });

  it('an asset let go of (forget) starts its next event from what was stored; one not let go of keeps its cached state', async () => {
    const store = await storeWithAssets(register);
    const ingestor = rulesIngestor(store, new IdentityIndex(await store.listAssets()), { rules: [counter] });
    await ingestor.submit([position(0), position(1)]);
    await ingestor.exclusively(async (forget) => {
      await store.commitIngest({ states: ['EQ-0', 'EQ-1'].map((erpAssetId) => ({ erpAssetId, doc: { count: { n: 100 } }, changed: ['count'] })), deliveries: [], quarantine: [], accepted: 0 });
      forget('EQ-0');
    });
    await ingestor.submit([position(0), position(1)]);
    await ingestor.flush();
    expect(await counted(store, 'EQ-0')).toBe(101);
    expect(await counted(store, 'EQ-1')).toBe(2); // its cached state (1) went on, over what was stored
  });

  it('runs one at a time; a flush waits for it; a failure in it lets intake go on', async () => {
    const store = await storeWithAssets(register);
    const ingestor = rulesIngestor(store, new IdentityIndex(await store.listAssets()), { rules: [counter] });
    const order: string[] = [];
    let open = (): void => undefined;
    const first = ingestor.exclusively(async () => {
      order.push('first start');
      await new Promise<void>((r) => (open = r));
      order.push('first end');
    });
    const second = ingestor.exclusively(() => Promise.resolve(void order.push('second')));
    const flushed = (async () => {
      await setImmediate();
      await ingestor.submit([position(2)]);
      await ingestor.flush();
      order.push('flushed');
    })();
    for (let i = 0; i < 20; i++) await setImmediate();
    expect(order).toEqual(['first start']);
    open();
    await Promise.all([first, second, flushed]);
    expect(order.slice(0, 2)).toEqual(['first start', 'first end']);
    expect(order).toContain('second');
    await expect(ingestor.exclusively(() => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    await ingestor.submit([position(2)]);
    await ingestor.flush();
    expect(await counted(store, 'EQ-2')).toBe(2);
  });

  it('a checkpoint the store refuses ends it with an error before its work, not retried with intake held', async () => {
    const real = await storeWithAssets(register);
    let refuse = true;
    const store = new Proxy(real, {
      get(target, prop, receiver) {
        if (prop === 'commitIngest') return (c: Parameters<typeof real.commitIngest>[0]) => (refuse && c.checkpoint ? Promise.reject(new Error('disk full')) : target.commitIngest(c));
        const v = Reflect.get(target, prop, receiver) as unknown;
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
    const ingestor = rulesIngestor(store, new IdentityIndex(await real.listAssets()), { rules: [counter] });
    await ingestor.submit([position(3)]);
    let ran = false;
    await expect(ingestor.exclusively(() => Promise.resolve((ran = true)))).rejects.toThrow(/^storing the rule state held in memory failed .*nothing was done/);
    expect(ran).toBe(false);
    refuse = false;
    await ingestor.submit([position(3)]);
    await ingestor.flush();
    expect(await counted(real, 'EQ-3')).toBe(2);
  });
});
