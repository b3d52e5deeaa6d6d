/**
 * The engine's lifecycle: start the stages in order, keep a runtime snapshot in the store for
 * `assetbridge status`, pick up control requests from the CLI (identity reloads, quarantine
 * replays), and stop gracefully: intake first, then the ingest queue, scheduled tasks, dispatch
 * (within the grace period) and finally the store. `stop()` is idempotent.
 * @module
 */
import type { Logger } from 'pino';
import { IdentityIndex } from '../core/identity/resolver.js';
import { coerceError } from '../core/errors/errors.js';
import type { Clock } from '../ports/clock.js';
import type { Source } from '../ports/source.js';
import type { Store } from '../ports/store.js';
import type { Dispatcher } from './dispatcher.js';
import type { Ingestor } from './ingestor.js';
import type { TaskScheduler } from './scheduler.js';
import { replayQuarantine, type ReplaySummary } from './replay.js';

export type EngineState = 'idle' | 'starting' | 'running' | 'draining' | 'stopped' | 'failed';

export const CONTROL_NS = 'control';
export const RUNTIME_NS = 'runtime';

export interface EngineParts {
  readonly store: Store;
  readonly clock: Clock;
  readonly ingestor: Ingestor;
  readonly dispatcher: Dispatcher;
  readonly scheduler: TaskScheduler;
  readonly sources: readonly Source[];
  readonly identity: { current: IdentityIndex };
  readonly logger: Logger;
  readonly graceMs: number;
  /** Extra edge components (HTTP server) closed after sources. */
  readonly closers?: (() => Promise<void>)[];
}

export class Engine {
  state: EngineState = 'idle';
  readonly startedAt: number;
  private stopping: Promise<void> | undefined;
  private ticker: NodeJS.Timeout | undefined;
  private identityGeneration = '';
  private ticking = false;

  constructor(readonly parts: EngineParts) {
    this.startedAt = parts.clock.now();
  }

  async start(): Promise<void> {
    const p = this.parts;
    this.state = 'starting';
    try {
      this.identityGeneration = (await p.store.kvGet(CONTROL_NS, 'identity-generation')) ?? '';
      await p.dispatcher.start();
      for (const s of p.sources) await s.start(p.ingestor);
      p.scheduler.start();
      this.ticker = setInterval(() => void this.tick(), 1000);
      this.state = 'running';
      await this.tick();
      p.logger.info({ sources: p.sources.map((s) => s.name), assets: p.identity.current.size }, 'assetbridge running');
    } catch (err) {
      this.state = 'failed';
      await this.stop().catch(() => undefined);
      throw err;
    }
  }

  /** Once a second: runtime snapshot, identity changes, control requests from the CLI. */
  private async tick(): Promise<void> {
    if (this.ticking || this.state !== 'running') return;
    this.ticking = true;
    const p = this.parts;
    try {
      await p.store.kvSet(RUNTIME_NS, 'snapshot', JSON.stringify(await this.snapshot()));
      const gen = (await p.store.kvGet(CONTROL_NS, 'identity-generation')) ?? '';
      if (gen !== this.identityGeneration) {
        this.identityGeneration = gen;
        p.identity.current = new IdentityIndex(await p.store.listAssets());
        p.logger.info({ assets: p.identity.current.size }, 'identity registry reloaded');
      }
      const request = await p.store.kvGet(CONTROL_NS, 'quarantine-replay-request');
      if (request) {
        const { id, filter } = JSON.parse(request) as { id: string; filter: { ids?: number[]; code?: string } };
        const summary = await replayQuarantine(p.store, p.ingestor, filter);
        await p.store.kvSet(CONTROL_NS, 'quarantine-replay-request', '');
        await p.store.kvSet(CONTROL_NS, `quarantine-replay-result:${id}`, JSON.stringify(summary satisfies ReplaySummary));
        p.dispatcher.notify();
      }
    } catch (err) {
      p.logger.error({ err: coerceError(err) }, 'engine housekeeping failed');
    } finally {
      this.ticking = false;
    }
  }

  snapshot(): Promise<Record<string, unknown>> {
    const p = this.parts;
    return Promise.resolve({
      pid: process.pid,
      state: this.state,
      startedAt: this.startedAt,
      at: p.clock.now(),
      ingest: { ...p.ingestor.stats },
      destinations: p.dispatcher.metrics(),
    });
  }

  stop(): Promise<void> {
    this.stopping ??= this.doStop();
    return this.stopping;
  }

  private async doStop(): Promise<void> {
    const p = this.parts;
    if (this.state !== 'failed') this.state = 'draining';
    if (this.ticker) clearInterval(this.ticker);
    const errors: unknown[] = [];
    const step = async (what: string, fn: () => Promise<void>) => {
      try {
        await fn();
      } catch (err) {
        errors.push(err);
        p.logger.error({ err: coerceError(err), step: what }, 'error during shutdown; continuing');
      }
    };
    // Intake first (sources stop taking input; MQTT keeps its subscription), then the ingest queue.
    for (const s of p.sources) await step(`source ${s.name}`, () => s.stop());
    for (const c of p.closers ?? []) await step('server', c);
    await step('ingest flush', () => p.ingestor.flush());
    await step('tasks', () => p.scheduler.stop());
    await step('dispatch', () => p.dispatcher.stop(p.graceMs));
    await step('runtime snapshot', async () => {
      const snap = await this.snapshot();
      await p.store.kvSet(RUNTIME_NS, 'snapshot', JSON.stringify({ ...snap, state: 'stopped' }));
    });
    await step('store', () => p.store.close());
    this.state = errors.length ? 'failed' : 'stopped';
    if (errors.length) throw new AggregateError(errors, 'shutdown finished with errors');
  }
}
