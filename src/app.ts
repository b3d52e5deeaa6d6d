/**
 * The composition root: the only module that knows which adapters exist. It turns a validated
 * config into a running engine (store, identity, decoders, rules, connectors, sources, server,
 * scheduled tasks). Commands that only read the store use {@link openStore} instead.
 * @module
 */
import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import { createCanonicalDecoder } from './core/normalize/canonical-decoder.js';
import { createJsonDecoder } from './core/normalize/json-decoder.js';
import { createAempEquipmentDecoder } from './adapters/telematics/aemp/aemp-parser.js';
import { createMqttSource, type SubscriptionMemory } from './adapters/sources/mqtt/mqtt-source.js';
import { sharedGroupWarnings } from './config/shared-group.js';
import { mqttCredentialWarnings } from './config/mqtt-credentials.js';
import { noInputWarnings, webhookWarnings } from './config/inputs.js';
import { IdentityIndex } from './core/identity/resolver.js';
import { normalizeIdentifier, type AssetRecord, type IdentifierRecord } from './core/model/assets.js';
import { calendarOf, createRules, meterSyncOptionsOf, sensorUnitsOf, zoneNamesOf } from './core/rules/index.js';
import { lastPostingCheck, recordCalendar } from './engine/tasks/usage-posting.js';
import { openedAtOf } from './engine/tasks/work-order-feedback.js';
import type { PushReader } from './engine/work-order-push.js';
import { FEEDBACK_SOURCE } from './core/rules/maintenance/work-order.js';
import type { ValidationPolicy } from './core/normalize/validate.js';
import { createMeterSyncRule } from './core/rules/meter-sync.js';
import type { Rule } from './core/rules/rule.js';
import { createRetentionTask } from './engine/retention.js';
import { createRuleTasks, settleMsOf } from './engine/tasks/index.js';
import { createAempPullTasks, telematicsFeeds } from './adapters/telematics/aemp/aemp-provider.js';
import { defaultDestinationOf, type Config, type DestinationConfig } from './config/schema.js';
import { SqliteStore } from './adapters/store/sqlite/sqlite-store.js';
import { CsvError, applyAssetUpdates, decodeAssetCsv, quantityProblem, readAssetCsv, type AssetUpdate } from './adapters/identity/asset-csv.js';
import { parseQuantity } from './core/rules/inventory/counts.js';
import { createRestConnector, REST_CREATES_RECORD, REST_WAITS_FOR, restPushReader } from './adapters/erp/rest/rest-connector.js';
import { REST_OPERATIONS } from './adapters/erp/rest/rest-mapping.js';
import { destinationOperationIssues, operationProducersOf, type OperationIssue } from './config/destination-operations.js';
import { createLogger, exitWhenLogged, redactString } from './adapters/log/logger.js';
import { scrubSecretValues } from './adapters/http/redact.js';
import { startHttpServer, type RunningServer, type WebhookEndpoint } from './api/server.js';
import { systemClock, type Clock } from './ports/clock.js';
import type { ErpConnector } from './ports/connector.js';
import type { Source } from './ports/source.js';
import type { AssetWithIdentifiers, Store } from './ports/store.js';
import type { ScheduledTask, TaskContext } from './ports/task.js';
import { Dispatcher, type DestinationPolicy } from './engine/dispatcher.js';
import { Engine, CONTROL_NS, IDENTITY_LOADED_KEY, RUNTIME_NS } from './engine/engine.js';
import { StoreLease, refuseUpgradeWhileHeld } from './engine/store-lease.js';
import { DecoderRegistry, Ingestor } from './engine/ingestor.js';
import { JsonlCapture } from './adapters/capture/jsonl-capture.js';
import { ENGINE_SOURCE } from './core/model/events.js';
import { TaskScheduler } from './engine/scheduler.js';
import { processMetrics, renderMetrics, ServiceTimings, startProcessMetrics } from './api/metrics.js';
import { ConfigError } from './core/errors/errors.js';
import { configuredSecretValues, requireSecrets } from './config/secrets.js';
import { withConfigLines } from './config/load.js';
import { unreadableConfigFile } from './config/unreadable-file.js';

export interface AppOptions {
  readonly logger?: Logger;
  readonly clock?: Clock;
  /** Start the HTTP server (intake, health, metrics). @default true when server.port > 0 */
  readonly http?: boolean;
  /** Start sources (MQTT etc.). Commands that only replay or dry-run set false. @default true */
  readonly sources?: boolean;
  /** Extra sources (the demo's in-process feeds, tests). */
  readonly extraSources?: readonly Source[];
  /** Replace connectors (tests). */
  readonly connectors?: ReadonlyMap<string, ErpConnector>;
  /**
   * Build the ERP connectors and the dispatcher that sends to them (which needs the destinations'
   * secrets). A command that runs the pipeline without starting the service sets false: what it
   * produces only waits in the outbox for the service's dispatcher, so it runs where the ERP
   * credentials are not set. Such an app cannot {@link App.start}. @default true
   */
  readonly deliver?: boolean;
  /** What runs the pipeline, as the store lease names it to a process that is refused. @default 'assetbridge run' */
  readonly command?: string;
  /** Aborted (a shutdown signal): waiting for the store lease is given up, with its reason as the error. */
  readonly signal?: AbortSignal;
  /**
   * When another process took the store lease over (or the store's file went away), after the
   * store was told to take no more commits ({@link SqliteStore.refuseCommits}). @default exit with
   * code 1 (as a crash would), once the log line saying why is written out (`exitWhenLogged`, at
   * most 1 s), as `run` exits
   */
  readonly onLeaseLost?: () => void;
}

export interface App {
  readonly config: Config;
  readonly store: Store;
  readonly engine: Engine;
  readonly ingestor: Ingestor;
  readonly dispatcher: Dispatcher;
  readonly connectors: ReadonlyMap<string, ErpConnector>;
  /** How each destination reads its ERP's work-order pushes (its webhook's reading), for `quarantine replay`: by its connector, or without one from the config alone. */
  readonly pushReaders: ReadonlyMap<string, PushReader>;
  readonly logger: Logger;
  server?: RunningServer;
  start(): Promise<void>;
  stop(): Promise<void>;
  /**
   * For a command that used the pipeline without starting the service: lets go of the store lease
   * and closes the store. `failed`: for the service, whose start failed before it ran (a port in
   * use, an error after the app was made): `status` then says its last start failed, not that it
   * was stopped. @default 'stopped'
   */
  close(outcome?: 'stopped' | 'failed'): Promise<void>;
}

/**
 * The store `config` names. Opened to write, a store an older assetbridge wrote is upgraded, unless
 * a process of that version still runs on it (holds its lease): then it is left as it is and the
 * open fails with a StoreUpgradeBusyError naming that process. `command`: what opens it,
 * for that message (`assetbridge run` is told to start again once the other is stopped).
 */
export function openStore(config: Config, opts: { readOnly?: boolean; command?: string } = {}): SqliteStore {
  return new SqliteStore({
    path: config.store.path,
    synchronous: config.store.synchronous,
    commitInWorker: config.store.commitInWorker,
    cacheMiB: config.store.cacheMiB,
    ...(opts.readOnly ? { readOnly: true } : { beforeUpgrade: refuseUpgradeWhileHeld(opts.command !== undefined ? { command: opts.command } : {}) }),
  });
}

/**
 * The assets the config lists, as imports in order (`assets.inline`, then each of `assets.files`):
 * each says what it names, like `assetbridge assets import`. Throws a {@link ConfigError} naming
 * every problem of every file under its key: `config check` reports the same.
 */
function configuredAssetUpdates(config: Config, warnings?: { key: string; message: string }[]): { updates: AssetUpdate[]; key: (index: number) => string }[] {
  // An inline asset names its module and destination (the default when absent) and its attributes.
  const inline: AssetUpdate[] = config.assets.inline.map((a) => ({
    erpAssetId: a.erpAssetId,
    erpModule: a.erpModule,
    destination: a.destination ?? '',
    attributes: a.attributes,
    identifiers: a.identifiers.map((i) => ({ ...i, erpAssetId: a.erpAssetId })),
  }));
  // Read as `assets import` reads them (destinations checked).
  const destinations = config.destinations.map((d) => d.name);
  const problems: { key: string; message: string }[] = [];
  // With inventory, a quantity that is not a whole number would leave the item out of every count.
  const quantityAttribute = config.rules.inventory?.quantityAttribute;
  if (quantityAttribute !== undefined) {
    config.assets.inline.forEach((a, i) => {
      const value = a.attributes[quantityAttribute];
      if (value !== undefined && parseQuantity(value) === undefined)
        problems.push({ key: `assets.inline.${i}.attributes.${quantityAttribute}`, message: `${quantityProblem(a.erpAssetId, quantityAttribute, value)}; fix it in the config` });
    });
  }
  const files = config.assets.files.map((file, i) => {
    const key = `assets.files.${i}`;
    let bytes: Buffer;
    try {
      bytes = readFileSync(file);
    } catch (err) {
      problems.push({ key, message: unreadableConfigFile('asset CSV', file, err) });
      return [];
    }
    // Cells that read like dates a spreadsheet made of an id, as `config check` and `assets import` say.
    const told: string[] = [];
    try {
      const updates = readAssetCsv(decodeAssetCsv(bytes, file), file, { destinations, warnings: told, ...(quantityAttribute !== undefined ? { quantityAttribute } : {}) });
      warnings?.push(...told.map((message) => ({ key, message })));
      return updates;
    } catch (err) {
      if (!(err instanceof CsvError)) throw err;
      problems.push(...err.shown.map((message) => ({ key, message })));
      return [];
    }
  });
  if (problems.length) throw new ConfigError(withConfigLines(config, problems));
  return [{ updates: inline, key: (i) => `assets.inline.${i}` }, ...files.map((updates, i) => ({ updates, key: () => `assets.files.${i}` }))];
}

/**
 * The registry rows the config's assets make over `existing` (the stored registry), one per asset
 * it lists: what no list names (an attribute, or the module and destination of an asset listed
 * only in files without those columns) stays as stored, so a restart keeps what `assets import`
 * added. Later lists update what earlier ones said of the same asset; two lists that give one
 * identifier to two assets are a problem, as two rows of one file are. `warnings`, when given, is
 * filled with what the CSV files hold but looks wrong (a cell that reads like a date a spreadsheet
 * made of an id), under the file's key.
 */
export function configuredAssets(config: Config, existing: readonly AssetWithIdentifiers[] = [], warnings?: { key: string; message: string }[]): AssetWithIdentifiers[] {
  const current = new Map(existing.map((r) => [r.asset.erpAssetId, r]));
  const listed = new Map<string, { asset: AssetRecord; identifiers: Map<string, IdentifierRecord> }>();
  const owner = new Map<string, { erpAssetId: string; where: string }>(); // identifier key → the asset the lists give it to
  const problems: { key: string; message: string }[] = [];
  for (const list of configuredAssetUpdates(config, warnings)) {
    applyAssetUpdates([...current.values()], list.updates).forEach((row, index) => {
      const entry = listed.get(row.asset.erpAssetId) ?? { asset: row.asset, identifiers: new Map<string, IdentifierRecord>() };
      entry.asset = row.asset;
      for (const id of row.identifiers) {
        const key = `${id.type}\u001f${normalizeIdentifier(id.value)}`;
        const before = owner.get(key);
        // As within one file: the last list would win silently, and the other asset's events go astray.
        if (before !== undefined && before.erpAssetId !== row.asset.erpAssetId) {
          problems.push({ key: list.key(index), message: `${id.type} "${id.value}" is given to asset ${row.asset.erpAssetId} here but to ${before.erpAssetId} in ${before.where}; an identifier can name only one asset` });
        }
        owner.set(key, { erpAssetId: row.asset.erpAssetId, where: list.key(index) });
        entry.identifiers.set(key, id);
      }
      listed.set(row.asset.erpAssetId, entry);
      current.set(row.asset.erpAssetId, { asset: row.asset, identifiers: [...entry.identifiers.values()] });
    });
  }
  if (problems.length) throw new ConfigError(withConfigLines(config, problems));
  return [...listed.values()].map((e) => ({ asset: e.asset, identifiers: [...e.identifiers.values()] }));
}

/** How ingest validates events: time bounds, and the zones a reader's zone sighting may name. */
export function validationPolicyOf(config: Config): ValidationPolicy {
  const zoneNames = zoneNamesOf(config.rules);
  const sensorUnits = sensorUnitsOf(config.rules);
  return { maxFutureSkewMs: config.ingest.maxFutureSkewMs, maxAgeMs: config.ingest.maxAgeMs, ...(zoneNames ? { zoneNames } : {}), ...(sensorUnits ? { sensorUnits } : {}) };
}

export function buildRules(config: Config): Rule[] {
  // Meter sync (cumulative hours to the ERP, after meter hygiene) runs whenever meters arrive:
  // `rules.meters` only decides which readings are sent, never whether hygiene judges them.
  return [...createRules(config.rules), createMeterSyncRule(meterSyncOptionsOf(config.rules))];
}

/**
 * How the service makes each destination type's connector, and what it reads of one without making
 * it (no secret read): the one place a connector is registered (docs/adding-a-connector.md, step 3).
 * A type of `destinationSchema` left out of {@link CONNECTORS} is a compile error naming it.
 */
export interface ConnectorRegistration<D extends DestinationConfig = DestinationConfig> {
  /** The connector of destination `d`; `configKey` (`destinations.0`) is where the config has it. */
  build(d: D, logger: Logger, configKey?: string): ErpConnector;
  /** Its connector's `capabilities.createsRecord`, for commands that make none (`dlq replay` holds such a create while its request may land). */
  readonly createsRecord: readonly string[];
  /** Its connector's `capabilities.operations`, for `config check`, which makes none: checked against what the configured rules produce (see {@link operationRoutingIssues}). */
  readonly operations: readonly string[];
  /** Its connector's `capabilities.waitsFor` (`{}` for none), for `status`, which makes none: deliveries held for their create are counted apart, not as aging. */
  readonly waitsFor: Readonly<Record<string, string>>;
  /**
   * How its connector reads its ERP's work-order pushes, from the config alone, for `quarantine
   * replay` by a command that makes no connector; `undefined` when it has no `parseWorkOrderWebhook`.
   */
  readonly pushReader: ((d: D, configKey: string) => PushReader) | undefined;
}

export const CONNECTORS: { readonly [T in DestinationConfig['type']]: ConnectorRegistration<Extract<DestinationConfig, { type: T }>> } = {
  rest: {
    build: (d, logger, configKey) => createRestConnector(d, { logger: logger.child({ component: 'erp', destination: d.name }), ...(configKey === undefined ? {} : { configKey }) }),
    createsRecord: REST_CREATES_RECORD,
    operations: REST_OPERATIONS,
    waitsFor: REST_WAITS_FOR,
    pushReader: (d, configKey) => restPushReader(d, configKey),
  },
};

function registrationOf<D extends DestinationConfig>(d: D): ConnectorRegistration<D> {
  // Indexed by a union of types, the registry gives a union of registrations, none of which takes every `d`.
  const registry: Readonly<Record<string, unknown>> = CONNECTORS;
  return registry[d.type] as ConnectorRegistration<D>;
}

/** The connector of destination `d`; `configKey` (`destinations.0`) is where the config has it, for messages naming keys. */
export function buildConnector(d: DestinationConfig, logger: Logger, configKey?: string): ErpConnector {
  const registration = registrationOf(d);
  const connector = registration.build(d, logger, configKey);
  const problems = registrationProblems(registration, connector);
  if (problems.length) throw new Error(`the connector of destination type "${d.type}" does not agree with its registration (CONNECTORS.${d.type} in src/app.ts): ${problems.join('; ')}`);
  return connector;
}

/**
 * Where a connector and its registration disagree: what the commands that make no connector read
 * would differ from what the service does (a create replayed without its hold, pushes passed over).
 */
export function registrationProblems(
  registration: { readonly createsRecord: readonly string[]; readonly operations: readonly string[]; readonly waitsFor?: Readonly<Record<string, string>>; readonly pushReader: unknown },
  connector: ErpConnector,
): string[] {
  const problems: string[] = [];
  const built = [...(connector.capabilities.createsRecord ?? [])].sort();
  const listed = [...registration.createsRecord].sort();
  if (built.join() !== listed.join())
    problems.push(`its capabilities.createsRecord is [${built.join(', ')}] but the registration's createsRecord is [${listed.join(', ')}] ('dlq replay' reads that one): make them one list`);
  const delivered = [...connector.capabilities.operations].sort();
  const registered = [...registration.operations].sort();
  if (delivered.join() !== registered.join())
    problems.push(`its capabilities.operations is [${delivered.join(', ')}] but the registration's operations is [${registered.join(', ')}] ('config check' reads that one): make them one list`);
  const pairs = (waits: Readonly<Record<string, string>> | undefined): string =>
    Object.entries(waits ?? {})
      .map(([op, waited]) => `${op} → ${waited}`)
      .sort()
      .join(', ');
  if (pairs(connector.capabilities.waitsFor) !== pairs(registration.waitsFor))
    problems.push(`its capabilities.waitsFor is {${pairs(connector.capabilities.waitsFor)}} but the registration's waitsFor is {${pairs(registration.waitsFor)}} ('status' reads that one): make them one map`);
  if (connector.parseWorkOrderWebhook !== undefined && registration.pushReader === undefined)
    problems.push("it reads work-order pushes (parseWorkOrderWebhook) but the registration has no pushReader, so 'quarantine replay' without the service would pass its pushes over");
  if (connector.parseWorkOrderWebhook === undefined && registration.pushReader !== undefined) problems.push('the registration has a pushReader but the connector no parseWorkOrderWebhook (no webhook)');
  return problems;
}

/**
 * The operations of destination `d` whose write creates a record in the ERP (its connector's
 * `capabilities.createsRecord`), without building the connector: no secret is read.
 */
export function createsRecordOf(d: DestinationConfig): readonly string[] {
  return registrationOf(d).createsRecord;
}

/** What destination `d`'s connector holds for its create (its `capabilities.waitsFor`), without building it: no secret is read. */
export function waitsForOf(d: DestinationConfig): Readonly<Record<string, string>> {
  return registrationOf(d).waitsFor;
}

/** The operations destination `d`'s connector delivers (its `capabilities.operations`), without building it: no secret is read. */
export function operationsOf(d: DestinationConfig): readonly string[] {
  return registrationOf(d).operations;
}

/**
 * Each destination assets can be routed to (the default one, and each `assets` names) that does
 * not deliver an operation the configured rules produce for them: `errors` refuse the start (and
 * `config check`), `warnings` are said (see config/destination-operations.ts for which is which).
 * `operations`: what destination `d` (entry `i` of `destinations`) delivers; `where` says which
 * assets `assets` are (`listed in the config`).
 */
export function operationRoutingIssues(
  config: Config,
  assets: readonly AssetRecord[],
  operations: (d: DestinationConfig, i: number) => readonly string[],
  where: string,
): { errors: OperationIssue[]; warnings: OperationIssue[] } {
  return destinationOperationIssues({
    destinations: config.destinations.map((d, i) => ({ name: d.name, key: `destinations.${i}`, operations: operations(d, i) })),
    defaultDestination: defaultDestinationOf(config),
    producers: operationProducersOf(config.rules),
    assets,
    where,
  });
}

function policyOf(d: DestinationConfig, connector: ErpConnector): DestinationPolicy {
  return {
    name: d.name,
    connector,
    requestsPerMinute: d.rateLimit.requestsPerMinute,
    maxConcurrency: d.rateLimit.maxConcurrency,
    maxPauseMs: d.rateLimit.maxPauseMs,
    maxAttempts: d.retry.maxAttempts,
    maxAgeMs: d.retry.maxAgeMs,
    baseDelayMs: d.retry.baseDelayMs,
    maxDelayMs: d.retry.maxDelayMs,
    failureThreshold: d.circuitBreaker.failureThreshold,
    openMs: d.circuitBreaker.openMs,
    timeoutMs: d.timeoutMs,
    unknownOutcomeSettleMs: d.retry.unknownOutcomeSettleMs,
  };
}

export function buildDecoders(config: Config): DecoderRegistry {
  const decoders = new DecoderRegistry();
  const canonical = createCanonicalDecoder();
  decoders.register('http', canonical).register(FEEDBACK_SOURCE, canonical).register('cli', canonical).register(ENGINE_SOURCE, canonical);
  for (const m of config.sources.mqtt) decoders.register(`mqtt:${m.name}`, createJsonDecoder(`mqtt:${m.name}`, m.topics));
  decoders.register('aemp', createAempEquipmentDecoder());
  return decoders;
}

/**
 * The store's record of what each MQTT source subscribed in its broker session (by client id and
 * broker, without credentials), so a filter or share group an earlier config had is dropped.
 */
function subscriptionMemory(store: Pick<Store, 'kvGet' | 'kvSet'>, m: Config['sources']['mqtt'][number]): SubscriptionMemory {
  let broker = m.url;
  try {
    const u = new URL(m.url);
    broker = `${u.protocol}//${u.host}${u.pathname === '/' ? '' : u.pathname}`;
  } catch {
    // The schema took it: kept as given, without what a URL it does not parse would hide.
  }
  const key = `${m.clientId} ${broker}`;
  return {
    load: async () => {
      const text = await store.kvGet(MQTT_SUBSCRIPTIONS, key);
      let parsed: unknown;
      try {
        parsed = text === undefined ? undefined : JSON.parse(text);
      } catch {
        return undefined; // not ours to fail a start on: written again at the connect
      }
      return Array.isArray(parsed) ? parsed.filter((f): f is string => typeof f === 'string') : undefined;
    },
    save: (filters) => store.kvSet(MQTT_SUBSCRIPTIONS, key, JSON.stringify(filters)),
  };
}

const MQTT_SUBSCRIPTIONS = 'mqtt-subscriptions';

export function buildSources(config: Config, logger: Logger, store?: Pick<Store, 'kvGet' | 'kvSet'>): Source[] {
  // Each source names itself (`source`) in every line it logs: a child binding would repeat the key.
  return config.sources.mqtt.map((m, i) =>
    createMqttSource(m, { logger, stopTimeoutMs: config.shutdown.graceMs, configKey: `sources.mqtt.${i}`, ...(store ? { subscriptionMemory: subscriptionMemory(store, m) } : {}) }),
  );
}

/**
 * How each destination reads its ERP's work-order pushes, from the config alone (no connector is
 * built, no secret read), for `quarantine replay` by a command with no connectors: what the
 * destination's connector does ({@link webhookEndpoints}).
 */
export function pushReadersOf(destinations: readonly DestinationConfig[]): Map<string, PushReader> {
  const out = new Map<string, PushReader>();
  destinations.forEach((d, i) => {
    const reader = registrationOf(d).pushReader?.(d, `destinations.${i}`);
    if (reader !== undefined) out.set(d.name, reader);
  });
  return out;
}

/** The work-order webhook of each destination whose connector reads its ERP's pushes. */
export function webhookEndpoints(destinations: readonly DestinationConfig[], connectors: ReadonlyMap<string, ErpConnector>): Map<string, WebhookEndpoint> {
  const out = new Map<string, WebhookEndpoint>();
  destinations.forEach((d, i) => {
    const connector = connectors.get(d.name);
    if (!connector?.parseWorkOrderWebhook) return;
    const parse = connector.parseWorkOrderWebhook.bind(connector);
    const records = connector.workOrderWebhookRecords?.bind(connector);
    const version = connector.workOrderVersion?.bind(connector);
    const hook = d.webhook;
    out.set(d.name, {
      ...(hook?.secret !== undefined ? { secret: hook.secret } : {}),
      ...(hook?.previousSecret !== undefined ? { previousSecret: hook.previousSecret } : {}),
      signatureHeader: hook?.signatureHeader ?? 'X-Signature-256',
      ...(hook?.timestampHeader !== undefined ? { timestampHeader: hook.timestampHeader } : {}),
      ...(hook !== undefined ? { toleranceMs: hook.toleranceMs } : {}),
      configKey: `destinations.${i}.webhook`,
      ...(records !== undefined ? { records } : {}),
      ...(version !== undefined ? { version } : {}),
      parse,
    });
  });
  return out;
}

export function buildTasks(config: Config, logger: Logger): ScheduledTask[] {
  const defaultDestination = defaultDestinationOf(config);
  return [
    ...createRuleTasks(config.rules, { defaultDestination, destinations: config.destinations.map((d) => d.name), settleMs: settleMsOf(config.destinations), logger: logger.child({ component: 'rules' }) }),
    ...createAempPullTasks(config.telematics, { logger: logger.child({ component: 'aemp' }), validation: validationPolicyOf(config) }),
    createRetentionTask(config.store.retention, logger.child({ component: 'retention' })),
  ];
}

export async function createApp(config: Config, options: AppOptions = {}): Promise<App> {
  const wantHttp = options.http ?? config.server.port > 0;
  const deliver = options.deliver ?? true;
  // Before anything opens: the secrets of what this app connects to (the ERPs when it delivers, as
  // their connectors are built here; sources and the intake only when they run).
  requireSecrets(config, [...(deliver ? ['destinations'] : []), ...(options.sources === false ? [] : ['sources.mqtt', 'telematics']), ...(wantHttp ? ['sources.http'] : [])]);
  const logger = options.logger ?? configLogger(config, config.log.level);
  const clock = options.clock ?? systemClock;
  const command = options.command ?? 'assetbridge run';
  // A store an older version wrote is upgraded here, unless a process of that version still runs
  // on it (holds the lease): that is refused before any migration, as the lease below would refuse
  // this process anyway, but only after the upgrade had broken the other one.
  const store = openStore(config, { command });
  // One pipeline per store: refused here, before anything reads the ingest log, while another runs.
  // Losing it (this process stalled for half a minute and another took over) ends this one at once,
  // like a crash: what it committed is durable, and the new holder carries on from the store.
  // Once its log line saying why is written out: at once, on a pipe, that line was lost now and then.
  // Before that wait (at most 1 s), the pipeline stops committing: what it took in after the loss
  // would be acknowledged though another process holds the store now (or its file is gone, with
  // what is committed to it), and it would claim and send deliveries that process sends too.
  // The engine, once made, stops at once too: no tick (its runtime snapshot would overwrite the new
  // holder's; a job the CLI asked of the new holder would be taken here, and fail), no job, no task.
  const lost = options.onLeaseLost ?? (() => exitWhenLogged(logger)(1));
  /** The engine once made: halted when the lease is lost; an app closed without starting withdraws what it announced (see Engine.announce). */
  let made: Engine | undefined;
  const halted = 'the store lease is lost (the log says why): this process stops; the process that holds the store now does the work';
  const onLost = (): void => {
    store.refuseCommits('the store lease is lost (see the error before): this process commits nothing more and stops; nothing of this batch is acknowledged, its sources send it again');
    made?.halt(halted);
    lost();
  };
  const lease = await StoreLease.acquire(store, { command, path: config.store.path, logger, onLost, fileGone: () => store.fileGone(), atOnce: store, ...(options.signal ? { signal: options.signal } : {}) }).catch(async (err: unknown) => {
    await store.close();
    throw err;
  });
  // From here the store writes the pipeline's work only while the lease names this process,
  // checked in each write's transaction: between another process taking over and this one's next
  // renewal noticing, nothing is claimed, settled or committed here.
  store.writeOnlyWhile(lease.writeGuard);
  try {
    // A newer version may have upgraded the store between this one's open and its lease (nothing
    // held it then): this code does not know that schema.
    store.checkSchema();
  } catch (err) {
    await lease.release();
    await store.close();
    throw err;
  }
  if (config.sources.http && options.http === undefined && !wantHttp)
    warnConfig(logger, config, [{ key: 'server.port', message: 'sources.http is configured but server.port is 0: no HTTP server runs, so the intake takes no events (set server.port)' }]);
  // Said where the sources run (the service, the demo); not by a command that only runs the pipeline (`quarantine replay`).
  if (options.sources !== false && store.capabilities.singleWriter) warnConfig(logger, config, sharedGroupWarnings(config), (w) => `${w.key} ${w.message}`);
  if (options.sources !== false) warnConfig(logger, config, mqttCredentialWarnings(config), (w) => `${w.key} ${w.message}`);
  // Said by the service (a caller that sets http itself, a command or the demo, takes no pushes from an ERP).
  if (deliver && options.http === undefined) warnConfig(logger, config, webhookWarnings(config), (w) => `${w.key} ${w.message}`);
  // Nothing configured to take events in, as `config check` says: said by the service, not by a
  // command that runs no source nor by a caller that brings its own (the demo's feeds).
  if (options.sources !== false && options.http === undefined && !options.extraSources?.length)
    warnConfig(logger, config, noInputWarnings(config));
  try {
    // Over the stored registry: a restart must not wipe what `assets import` set on these assets.
    const assetWarnings: { key: string; message: string }[] = [];
    const assets = config.assets.inline.length || config.assets.files.length ? configuredAssets(config, await store.listAssets(), assetWarnings) : [];
    // Said by the service, which loads the files at each start (a command that runs no source loads them too, silently).
    if (options.sources !== false) warnConfig(logger, config, assetWarnings);
    // An ingest log a crash left is replayed (below) under the registry its messages were
    // identified with, before the config's assets change it.
    const replayFirst = assets.length > 0 && (await store.counters()).ingestLog > 0;
    if (assets.length && !replayFirst) {
      await store.upsertAssets(assets);
    }
    // A listed fiscal calendar is remembered, so usage filed under it can be re-filed once the list is edited.
    const dep = config.rules.depreciation;
    if (dep) await recordCalendar(store, calendarOf(dep), dep.periods, dep.periodsEnd);
    const stored = await store.listAssets();
    const identity = { current: new IdentityIndex(stored) };
    const defaultDestination = defaultDestinationOf(config);
    const capture = config.capture
      ? new JsonlCapture({ dir: config.capture.dir, keepDays: config.capture.keepDays, maxFileBytes: Math.round(config.capture.maxFileMiB * 1_048_576), logger: logger.child({ component: 'capture' }) })
      : undefined;
    // Without delivery: no connector (nothing reads a destination's credentials) and a dispatcher
    // with no destination, which never runs (start() refuses).
    const connectors = new Map<string, ErpConnector>(
      deliver ? config.destinations.map((d, i) => [d.name, options.connectors?.get(d.name) ?? buildConnector(d, logger, `destinations.${i}`)]) : [],
    );
    /** What each destination's connector holds for its create: /status and the metrics count those apart, not as aging. */
    const waitsFor = (destination: string) => connectors.get(destination)?.capabilities.waitsFor;
    if (deliver) {
      // A destination assets are routed to whose connector does not deliver an operation the rules
      // produce for them: each such delivery would only fail, as a dead letter. Refused here, before
      // anything runs (config/destination-operations.ts says when it is only a warning). The assets:
      // the registry, with what the config lists (not yet in it when the ingest log is replayed first).
      const known = new Map(stored.map((r) => [r.asset.erpAssetId, r.asset]));
      for (const r of assets) known.set(r.asset.erpAssetId, r.asset);
      const routing = operationRoutingIssues(config, [...known.values()], (d) => (connectors.get(d.name) as ErpConnector).capabilities.operations, 'in the asset registry');
      if (routing.errors.length) throw new ConfigError(withConfigLines(config, routing.errors));
      warnConfig(logger, config, routing.warnings);
      // Deliveries queued for a destination since renamed or removed: no worker claims them, so they
      // would wait for good with nothing said (status and the metrics show them pending, growing old).
      const orphaned = (await store.outboxStats(clock.now())).filter((d) => !connectors.has(d.destination) && d.pending + d.inflight > 0);
      if (orphaned.length)
        logger.warn(
          { destinations: Object.fromEntries(orphaned.map((d) => [d.destination, d.pending + d.inflight])) },
          `deliveries are pending for ${orphaned.map((d) => `"${d.destination}"`).join(', ')}, no longer configured (destinations[].name): nothing sends them. If the destination was renamed, put the old name back; they are sent to the destination of that name only`,
        );
    }
    const timings = new ServiceTimings();
    const dispatcher = new Dispatcher({
      store,
      clock,
      logger,
      destinations: deliver ? config.destinations.map((d) => policyOf(d, connectors.get(d.name) as ErpConnector)) : [],
      onAttempt: timings.attempted,
      // An ERP echoing a credential of the config its connector does not scrub: not stored as echoed.
      redact: redactedFor(config),
    });
    const ingestor = new Ingestor({
      store,
      clock,
      decoders: buildDecoders(config),
      rules: buildRules(config),
      identity: () => identity.current,
      validation: validationPolicyOf(config),
      defaultDestination,
      maxBatch: config.ingest.maxBatch,
      maxWaitMs: config.ingest.maxWaitMs,
      pipelineDepth: config.ingest.pipelineDepth,
      checkpointMs: config.ingest.checkpointMs,
      checkpointMessages: config.ingest.checkpointMessages,
      checkpointMessagesPerAsset: config.ingest.checkpointMessagesPerAsset,
      maxPayloadBytes: config.ingest.maxPayloadBytes,
      logger,
      ...(capture ? { capture } : {}),
      onBatch: timings.batch,
    });
    const wrappedSink = {
      backlog: () => ingestor.backlog(),
      submit: async (m: Parameters<Ingestor['submit']>[0]) => {
        const r = await ingestor.submit(m);
        dispatcher.notify();
        return r;
      },
    };
    const scheduler = new TaskScheduler(
      buildTasks(config, logger),
      (signal): TaskContext => ({
        store,
        clock,
        sink: wrappedSink,
        signal,
        connector: (name) => connectors.get(name),
        withinLimits: (name, call) => dispatcher.withinLimits(name, signal, call),
        commit: async (deliveries) => {
          await store.commitIngest({ deliveries, states: [], quarantine: [], accepted: 0 });
          dispatcher.notify();
        },
        notify: () => dispatcher.notify(),
        checkpoint: () => ingestor.checkpoint(),
        idleHolding: (idleMs) => ingestor.idleHolding(clock.now(), idleMs),
        submitInternal: (messages) => ingestor.submitInternal(messages),
      }),
      clock,
      logger,
      store,
    );
    const sources = [...(options.sources === false ? [] : buildSources(config, logger, store)), ...(options.extraSources ?? [])];
    const closers: (() => Promise<void>)[] = [];
    // Their pulls are scheduled tasks, built whatever the sources (see buildTasks).
    const feeds = telematicsFeeds(config.telematics);
    // The pushes each destination's webhook takes, read by its connector; without connectors, from
    // the config alone (the same reading): `quarantine replay` runs an unread push through it again.
    const webhooks = webhookEndpoints(config.destinations, connectors);
    const pushReaders: ReadonlyMap<string, PushReader> = deliver ? webhooks : pushReadersOf(config.destinations);
    const engine = new Engine({ store, clock, ingestor, dispatcher, scheduler, sources, feeds, storePath: config.store.path, destinations: [...connectors.keys()], identity, logger, graceMs: config.shutdown.graceMs, closers, connectors: [...connectors.values()], lease, pushReaders, redact: redactedFor(config), ...(capture ? { capture } : {}) });
    made = engine;
    // Lost while the app was being made (before there was an engine to halt).
    if (lease.isLost) engine.halt(halted);
    if (replayFirst) {
      // The service (an app that delivers) says it is starting through this replay, as through the
      // one its start runs: `status` would otherwise say "not running", the log "from a run that
      // did not stop cleanly", while the log is being replayed.
      if (deliver) await engine.announce('replaying the ingest log (rule state after a crash), before the assets the config lists update the registry');
      // A signal during this replay stops it between chunks (the log stays for the next start), and
      // the start is given up before the config's assets change the registry the log needs.
      const stopReplay = () => ingestor.stopReplay();
      if (options.signal?.aborted) stopReplay();
      options.signal?.addEventListener('abort', stopReplay, { once: true });
      try {
        await ingestor.flush();
      } finally {
        options.signal?.removeEventListener('abort', stopReplay);
      }
      options.signal?.throwIfAborted();
      if (deliver) await engine.announce('loading the assets the config lists (assets.inline, assets.files)');
      await store.upsertAssets(assets);
      identity.current = new IdentityIndex(await store.listAssets());
    }
    /** {@link App.stop} was called: a start after it opens nothing. */
    let stopAsked = false;
    const app: App = {
      config,
      store,
      engine,
      ingestor,
      dispatcher,
      connectors,
      pushReaders,
      logger,
      async start() {
        if (!deliver) throw new Error('createApp: an app made with deliver: false has no connectors and cannot start the service');
        // Stopped before it started: nothing opens (the stop has closed what there was).
        if (stopAsked) return;
        if (wantHttp) {
          startProcessMetrics();
          const listening = startHttpServer({
            host: config.server.host,
            port: config.server.port,
            sink: wrappedSink,
            now: () => clock.now(),
            ...(config.sources.http ? { intake: config.sources.http } : {}),
            webhooks,
            openedAt: (keys) => openedAtOf(store, keys),
            logger: logger.child({ component: 'http' }),
            secrets: () => configuredSecretValues(config),
            status: {
              ready: () => engine.ready(),
              notReadyBecause: () => engine.notReadyReason(),
              status: async () => ({ ...(await engine.snapshot()), outbox: await store.outboxStats(clock.now(), waitsFor), counters: await store.counters() }),
              metrics: async () =>
                renderMetrics(await engine.snapshot(), await store.outboxStats(clock.now(), waitsFor), await store.counters(), config.rules.depreciation ? { lastCheck: await lastPostingCheck(store) } : undefined) +
                (await timings.metrics()) +
                (await processMetrics()),
            },
          });
          // Closed at the stop once it listens (requests already received are answered within the
          // grace). Pushed before the listen is waited for: a stop meanwhile (a signal) closes it too,
          // where a closer pushed after that stop had passed the closers left the server open.
          closers.push(async () => {
            const server = await listening.catch(() => undefined);
            await server?.close(config.shutdown.graceMs);
          });
          // A port in use (or a host not of this machine) ends the start before the engine runs:
          // let go of the store lease and close the store, or the next command waits out a gone holder.
          app.server = await listening.catch(async (err: unknown) => {
            await app.close('failed').catch(() => undefined);
            throw err;
          });
          logger.info({ url: app.server.url }, 'HTTP server listening');
        }
        await engine.start();
      },
      async stop() {
        stopAsked = true;
        try {
          await engine.stop();
        } finally {
          // After the ingest flush, so the last batches are in the file.
          await capture?.close();
        }
      },
      async close(outcome: 'stopped' | 'failed' = 'stopped') {
        try {
          // Announced as starting (a replay at start), never started: no longer said to be starting,
          // and a service's failed start (announced or not) said to have failed.
          await engine.withdraw(outcome, outcome === 'failed');
          await capture?.close();
          await lease.release();
        } finally {
          await store.close();
        }
      },
    };
    return app;
  } catch (err) {
    // A replay given up for a signal is a stop as asked; anything else, a start that failed.
    await made?.withdraw(options.signal?.aborted ? 'stopped' : 'failed').catch(() => undefined);
    await lease.release();
    await store.close();
    throw err;
  }
}

/**
 * Logs each warning about `config` at start under its key and the config-file line it is written
 * on (`{"key":"rules.maintenance","line":14}`), as `config check` prints the same warning
 * (`warning: rules.maintenance (line 14): …`). `text` is the line's message (the warning's by default).
 */
export function warnConfig<W extends { readonly key: string; readonly message: string; readonly line?: number }>(
  logger: Pick<Logger, 'warn'>,
  config: Config,
  warnings: readonly W[],
  text: (w: W) => string = (w) => w.message,
): void {
  for (const w of withConfigLines(config, warnings)) logger.warn({ key: w.key, ...(w.line === undefined ? {} : { line: w.line }) }, text(w));
}

/**
 * A logger for a process that runs with `config`: besides the patterns every line is redacted with,
 * it scrubs the config's credential values wherever a line quotes them (see `configuredSecretValues`).
 */
export function configLogger(config: Config, level: string): Logger {
  return createLogger(level, undefined, undefined, () => configuredSecretValues(config));
}

/**
 * An error's text as `status` (the CLI's, `/v1/status`) shows it: redacted as a log line of a
 * process with `config` is, its credential values scrubbed, then a URL's password or a token.
 */
export function redactedFor(config: Config): (text: string) => string {
  let secrets: readonly string[] | undefined;
  return (text) => redactString(scrubSecretValues(text, (secrets ??= configuredSecretValues(config))));
}

/** Tell a running service that the identity registry changed; the generation it then reloads. */
export async function bumpIdentityGeneration(store: Store): Promise<string> {
  const gen = String(Date.now());
  await store.kvSet(CONTROL_NS, 'identity-generation', gen);
  return gen;
}

/**
 * After {@link bumpIdentityGeneration}: waits until the running service identifies events with the
 * registry of generation `gen` (or a later one), which it does within about a second (after a
 * checkpoint). Until then events naming a new identifier are quarantined as `unknown-asset`, so a
 * command that changed the registry says which it is. `false` when it has not within `timeoutMs`.
 */
export async function awaitIdentityReload(store: Pick<Store, 'kvGet'>, gen: string, timeoutMs = 30_000, pollMs = 100): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const loaded = Number((await store.kvGet(RUNTIME_NS, IDENTITY_LOADED_KEY)) ?? NaN);
    if (loaded >= Number(gen)) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, pollMs));
  }
}
