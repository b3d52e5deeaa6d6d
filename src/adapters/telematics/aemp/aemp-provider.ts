/**
 * Composition of one telematics provider from its config entry: vendor profile, credentials,
 * request budget and client; plus the scheduled task that pulls its fleet on the configured cron
 * (the engine's task scheduler runs it; the CLI runs the same pull on demand).
 * @module
 */
import type { TelematicsConfig } from '../../../config/telematics-schema.js';
import type { Clock } from '../../../ports/clock.js';
import type { ValidationPolicy } from '../../../core/normalize/validate.js';
import type { Store } from '../../../ports/store.js';
import { TaskRetryLater, type ScheduledTask } from '../../../ports/task.js';
import { providerCredentials } from '../auth/create-credentials.js';
import type { TelematicsCredentials } from '../auth/credentials.js';
import { resolveProvider, type ResolvedProvider } from '../vendor-profiles.js';
import { AempClient } from './aemp-client.js';
import { runFleetPull, type PullSummary, type TelematicsLogger } from './fleet-pull.js';
import { RequestBudget, type ProviderRateLimiter } from './request-budget.js';

export interface AempProviderDeps {
  readonly store: Pick<Store, 'kvGet' | 'kvSet' | 'kvList'>;
  readonly fetch?: typeof fetch;
  readonly clock?: Clock;
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Per-second limiter; default the process-wide one of the provider. */
  readonly limiter?: ProviderRateLimiter;
  readonly credentials?: TelematicsCredentials;
}

export interface AempProvider {
  readonly provider: ResolvedProvider;
  readonly credentials: TelematicsCredentials;
  readonly budget: RequestBudget;
  readonly client: AempClient;
}

/**
 * Build a provider from config entry `index` of `telematics:`. Throws `ConfigError` when the
 * vendor needs a `baseUrl` the entry does not give.
 */
export function createAempProvider(config: TelematicsConfig, deps: AempProviderDeps, index = 0): AempProvider {
  const provider = resolveProvider(config, index);
  const credentials = deps.credentials ?? providerCredentials(provider, index, { ...(deps.fetch ? { fetch: deps.fetch } : {}), ...(deps.clock ? { clock: deps.clock } : {}) });
  const budget = new RequestBudget({
    store: deps.store,
    provider: provider.name,
    profile: provider.profile,
    reserveKeep: config.reserve.keep,
    ...(deps.limiter ? { limiter: deps.limiter } : {}),
    ...(deps.clock ? { clock: deps.clock } : {}),
    ...(deps.sleep ? { sleep: deps.sleep } : {}),
  });
  const client = new AempClient({
    provider,
    configKey: `telematics.${index}`,
    credentials,
    budget,
    ...(deps.fetch ? { fetch: deps.fetch } : {}),
    ...(deps.clock ? { clock: deps.clock } : {}),
    ...(deps.sleep ? { sleep: deps.sleep } : {}),
  });
  return { provider, credentials, budget, client };
}

/** Name of a provider's scheduled pull task: `aemp-pull:<name>`. */
export const aempTaskName = (providerName: string): string => `aemp-pull:${providerName}`;

/**
 * Scheduled fleet pulls for every configured provider whose schedule is enabled. Scheduled pulls
 * never spend the reserve; one that cannot get budget in time stops with a resumable cursor and
 * throws {@link TaskRetryLater}, so the scheduler's retry continues it within resumeWithin (as it
 * retries one stopped by an error, which fails).
 */
/** The feeds as the service's start line names them: each one's name and when it is pulled (`off`: only by `aemp pull`). */
export function telematicsFeeds(configs: readonly TelematicsConfig[]): { name: string; schedule: string }[] {
  return configs.map((c) => ({ name: c.name, schedule: c.schedule.enabled ? `${c.schedule.cron} ${c.schedule.timeZone}` : 'off (aemp pull only)' }));
}

export function createAempPullTasks(configs: readonly TelematicsConfig[], deps: { logger?: TelematicsLogger; fetch?: typeof fetch; validation?: ValidationPolicy } = {}): ScheduledTask[] {
  return configs.flatMap((config, index) => {
    if (!config.schedule.enabled) return [];
    // Resolve now so a bad entry fails at startup, not at 03:00.
    resolveProvider(config, index);
    let built: AempProvider | undefined;
    const task: ScheduledTask = {
      name: aempTaskName(config.name),
      schedule: { cron: config.schedule.cron, timeZone: config.schedule.timeZone },
      async run(ctx): Promise<void> {
        built ??= createAempProvider(config, { store: ctx.store, clock: ctx.clock, ...(deps.fetch ? { fetch: deps.fetch } : {}) }, index);
        const summary: PullSummary = await runFleetPull(
          { client: built.client, store: ctx.store, sink: ctx.sink, clock: ctx.clock, ...(deps.logger ? { logger: deps.logger } : {}), ...(deps.validation ? { validation: deps.validation } : {}) },
          { signal: ctx.signal },
        );
        if (summary.stop === 'error') throw new Error(`${config.name}: fleet pull failed: ${[summary.error ?? 'unknown error', ...(summary.rerun ?? [])].join('; ')}`);
        // Not done either: left to the next scheduled time (a day later, past resumeWithin) the rest of
        // this snapshot would never be read. The scheduler retries it, resuming at the cursor, as it
        // retries a failure, but logs it at info as a stop that will retry (it is no failure); a retry
        // the budget still refuses stops again before it sends a request.
        if (summary.stop === 'budget-wait')
          throw new TaskRetryLater(`${config.name}: fleet pull stopped waiting for request budget: ${[summary.error ?? 'the budget allows no request now', ...(summary.rerun ?? [])].join('; ')}`);
      },
    };
    return [task];
  });
}
