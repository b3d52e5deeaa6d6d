import type { Command } from 'commander';
import { createApp, configLogger, warnConfig, type App } from '../../app.js';
import { maintenanceRenameWarnings } from '../../engine/tasks/maintenance-rule-names.js';
import { exitWhenLogged, logLevel } from '../../adapters/log/logger.js';
import { action, addConfigOption, resolveConfig } from '../context.js';
import { emptyTokenWarnings, unresolvedSecrets } from '../../config/secrets.js';
import { ConfigError, UsageError } from '../../core/errors/errors.js';
import { aempJobs, telematicsConfigs } from './aemp.js';
import { assetMatchWarnings, ruleInputWarnings, storedDepreciationInputWarning } from '../../config/rule-inputs.js';
import { calendarOf } from '../../core/rules/index.js';
import { calendarChangeWarning } from '../../engine/tasks/usage-posting.js';
import { REFILE_JOB, refileJob } from './depreciation-refile.js';
import { rulesConfigOf } from './rules.js';
import { releaseLeasesNow } from '../../engine/store-lease.js';

/**
 * Installs SIGINT/SIGTERM/SIGHUP handlers: the first stops gracefully, a second forces exit.
 * SIGHUP too (a closed terminal, or a `kill -HUP` meant as a reload): by default Node ends at once
 * on it, as a crash, without a word, leaving the store lease for the next start to wait out.
 * The forced exit lets go of the store lease first (`releaseLeases`, at once: no turn of the event
 * loop is left), so the next start need not wait for it to lapse.
 */
export function onShutdownSignals(
  stop: () => Promise<void>,
  logger: { warn(o: object, m: string): void },
  releaseLeases: () => unknown = () => releaseLeasesNow(),
  /** Ends the process with the code, `last` run just before (`exitWhenLogged`: once the log lines are written out). */
  exit: (code: number, last?: () => void) => void = (code, last) => (last?.(), process.exit(code)),
): void {
  let stopping = false;
  const handler = (signal: NodeJS.Signals) => {
    if (stopping) {
      // As a crash: what was committed stays, what was not is redelivered or replayed at the next start.
      logger.warn({ signal }, 'second signal: exiting now, as a crash would (nothing acknowledged is lost; the next start replays what was not checkpointed), letting go of the store lease');
      // The lease last, as the process ends: held until then, no other process can start on the store while this one still writes.
      return exit(130, () => {
        try {
          releaseLeases();
        } catch {
          // Left to lapse, as a crashed holder's: the next start says it waits for it.
        }
      });
    }
    stopping = true;
    // The config is read at start only: a reload is a restart, which a supervisor does once this ends.
    const why = signal === 'SIGHUP' ? ' (SIGHUP: the config is read only at start, so there is no reload; start the service again to apply a changed config)' : '';
    logger.warn({ signal }, `stopping: finishing in-flight work (send the signal again to force)${why}`);
    stop().then(
      () => exit(0),
      () => exit(1),
    );
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  process.on('SIGHUP', handler);
}

/**
 * An error nothing caught (a bug, in a callback or a promise no one awaited) ends the service as a
 * crash would, which loses nothing; but said as a log line at fatal, redacted like every other
 * (Node's own report is a bare stack on stderr, which log collectors reading JSON lines miss and
 * which quotes a URL's password or a token as the error has it). Exit code 1.
 */
export function onUncaughtErrors(logger: { fatal(o: object, m: string): void }, exit: (code: number) => void = (code) => process.exit(code)): void {
  process.on('uncaughtException', (err, origin) => {
    logger.fatal({ err, origin }, 'the service failed on an error nothing caught (a bug: please report it with this line); it stops as a crash would, which loses nothing: start it again');
    exit(1);
  });
}

/**
 * Why the HTTP server could not listen, naming the key to fix (not just the errno); undefined for
 * any other error. A host that is no address of this machine, or no name that resolves, is a
 * config mistake as much as a port in use.
 */
export function listenProblem(err: unknown, server: { readonly host: string; readonly port: number }, configPath: string): string | undefined {
  const e = err as NodeJS.ErrnoException & { hostname?: string };
  switch (e.code) {
    case 'EADDRINUSE': // often a second service
      return `server.port ${server.port} on ${server.host} is in use by another process (another assetbridge run?): stop it, or set server.port in ${configPath} to a free port (0 turns the HTTP server off)`;
    case 'EACCES':
      return `server.port ${server.port} on ${server.host} needs privileges this process lacks (ports below 1024 do): set server.port in ${configPath} to 1024 or above, e.g. 8080 (0 turns the HTTP server off)`;
    case 'EADDRNOTAVAIL':
      return `server.host ${server.host} is no address of this machine, so the HTTP server cannot listen there: set server.host in ${configPath} to one of its addresses, 127.0.0.1 (this machine only) or 0.0.0.0 (every interface)`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      if (e.syscall !== 'getaddrinfo' || (e.hostname !== undefined && e.hostname !== server.host)) return undefined;
      return `server.host ${server.host} does not resolve to an address: set server.host in ${configPath} to an address of this machine, 127.0.0.1 (this machine only) or 0.0.0.0 (every interface)`;
    default:
      return undefined;
  }
}

export function registerRunCommand(program: Command): void {
  addConfigOption(
    program
      .command('run')
      .description('run the service: sources → pipeline → outbox → ERP destinations, until stopped (SIGINT/SIGTERM/SIGHUP stop gracefully)')
      .addHelpText('after', '\nExample:\n  assetbridge run --config assetbridge.yaml'),
  ).action(
    action(async (opts: { config: string }) => {
      const { config, configPath } = resolveConfig(opts.config);
      const logger = configLogger(config, logLevel(config.log.level));
      // Every exit of the service waits for its log lines to be written out (the last one says why it ended).
      const exit = exitWhenLogged(logger);
      onUncaughtErrors(logger, exit);
      // The signal handlers go in before anything opens the store: a signal while the app is made
      // (waiting for the store lease, replaying an ingest log) stops it cleanly too, letting go of
      // the lease, rather than killing the process with the lease left for the next start to wait
      // out. Until the app starts, a signal has the start given up (what was opened is closed);
      // from then on it stops the app, as it always has.
      const cancel = new AbortController();
      const started: { app?: App } = {};
      let gaveUp: () => void = () => undefined;
      const givenUp = new Promise<void>((resolve) => (gaveUp = resolve));
      let stopAsked = false;
      onShutdownSignals(() => {
        stopAsked = true;
        if (started.app) return started.app.stop();
        cancel.abort();
        return givenUp;
      }, logger, undefined, exit);
      const stoppedBeforeStart = () => {
        logger.info('assetbridge stopped');
        gaveUp();
      };
      // Rules nothing configured feeds (as `config check` warns): said at start, not refused.
      // Each under its key and config-file line, as `config check` says it.
      warnConfig(logger, config, ruleInputWarnings(config));
      warnConfig(logger, config, emptyTokenWarnings(config));
      let app: App;
      try {
        // Losing the store lease ends the service as a crash would (exit 1), but once its log line
        // saying why is written out, as every other exit of the service: at once, on a pipe, it was lost now and then.
        app = await createApp(config, { logger, signal: cancel.signal, onLeaseLost: () => exit(1) });
      } catch (err) {
        // A signal while waiting for the store lease: nothing was opened that is not closed again.
        if (cancel.signal.aborted && err === cancel.signal.reason) return stoppedBeforeStart();
        // Secrets not set where this runs: the file is valid ('config check' says so), so not "Invalid configuration".
        const unset = new Set(unresolvedSecrets(config).map((p) => p.key));
        if (!(err instanceof ConfigError) || !err.problems.every((p) => unset.has(p.key))) throw err;
        const each = err.problems.map((p) => `  - ${p.key}${p.line === undefined ? '' : ` (line ${p.line})`}: ${p.message}`);
        throw new UsageError(`not started: secrets the service connects with cannot be read where it runs (the config file itself is valid):\n${each.join('\n')}`);
      }
      try {
        // Settings that select none of the registry's assets (a typo in a site or module name).
        const registry = (await app.store.listAssets()).map((a) => a.asset);
        warnConfig(logger, config, assetMatchWarnings(rulesConfigOf(config), registry, 'in the registry'));
        // Assets whose depreciation inputs are invalid (imported before, or changed in the ERP): their postings are held back.
        const inputs = storedDepreciationInputWarning(rulesConfigOf(config), registry);
        if (inputs) warnConfig(logger, config, [inputs]);
        // Usage filed under another depreciation calendar (the configured one changed): held, and said.
        const dep = rulesConfigOf(config).depreciation;
        const calendarChange = dep && (await calendarChangeWarning(app.store, calendarOf(dep), dep.appliesTo));
        if (calendarChange) warnConfig(logger, config, [calendarChange]);
        // A maintenance rule renamed since the last start is a new rule: said (its work orders open again).
        warnConfig(logger, config, await maintenanceRenameWarnings(app.store, rulesConfigOf(config), { record: true }));
        // `assetbridge depreciation refile` while this service runs: it re-files, under its calendar.
        if (dep) app.engine.registerJob(REFILE_JOB, refileJob(app.store, app.ingestor, dep));
        // `assetbridge aemp pull | backfill | equipment` while this service runs: the service does the work for the CLI.
        for (const [name, job] of aempJobs({ configs: telematicsConfigs(config), store: app.store, sink: app.ingestor, logger: logger.child({ component: 'aemp' }) })) app.engine.registerJob(name, job);
      } catch (err) {
        // Not started: let go of the store lease and close the store, or the next start waits out a
        // gone holder; `status` then says the start failed, not that the service was stopped.
        await app.close('failed').catch(() => undefined);
        throw err;
      }
      if (cancel.signal.aborted) {
        await app.close();
        return stoppedBeforeStart();
      }
      started.app = app;
      try {
        await app.start();
      } catch (err) {
        // A signal while it starts (waiting for an MQTT broker): the stop it asked for cut the start
        // short, and says how it ended (exit 0, or 1 when a step failed), so the start's own
        // "stopped before it connected" is no error of the command.
        if (stopAsked) return;
        const listen = listenProblem(err, config.server, configPath);
        if (listen) throw new UsageError(listen);
        throw err;
      }
    }),
  );
}
