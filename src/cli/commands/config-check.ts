/**
 * `assetbridge config check [--connect]`: validate the configuration and, with `--connect`, try
 * each destination, MQTT broker and telematics token endpoint the way the service will (a harmless
 * read, a connect and disconnect, one token), naming the config key to fix for each one that fails.
 * @module
 */
import { resolveProvider } from '../../adapters/telematics/vendor-profiles.js';
import type { Command } from 'commander';
import type { Logger } from 'pino';
import { buildConnector, configuredAssets, operationRoutingIssues, operationsOf, redactedFor } from '../../app.js';
import { ConfigError, UsageError } from '../../core/errors/errors.js';
import { createLogger, logLevel } from '../../adapters/log/logger.js';
import { probeMqttSource } from '../../adapters/sources/mqtt/probe.js';
import { probeTelematicsAuth, type TelematicsProbeResult } from '../../adapters/telematics/auth/probe.js';
import type { TelematicsConfig } from '../../config/telematics-schema.js';
import type { Config, DestinationConfig, MqttSourceConfig } from '../../config/schema.js';
import type { ErpConnector, ProbeResult, SendContext } from '../../ports/connector.js';
import { pollsWorkOrders } from '../../engine/tasks/index.js';
import { action, addConfigOption, resolveConfig, storeExists, toJson, withConfigContext } from '../context.js';
import { maintenanceRenameWarnings } from '../../engine/tasks/maintenance-rule-names.js';
import { readFileSync } from 'node:fs';
import { applyAssetUpdates, decodeAssetCsv, readAssetCsv } from '../../adapters/identity/asset-csv.js';
import { assetMatchWarnings, depreciationInputWarnings, ruleInputWarnings, type ListedAsset, type RuleInputWarning } from '../../config/rule-inputs.js';
import { rulesConfigOf } from './rules.js';
import { emptyTokenWarnings, requireSecrets, unresolvedSecretMessage, unresolvedSecrets } from '../../config/secrets.js';
import { sharedGroupWarnings } from '../../config/shared-group.js';
import { mqttCredentialWarnings } from '../../config/mqtt-credentials.js';
import { withConfigLines } from '../../config/load.js';
import { noInputWarnings, webhookWarnings } from '../../config/inputs.js';
import { serverUrl } from '../../api/server.js';
import { captureDirProblem } from '../../adapters/capture/jsonl-capture.js';

export interface ConnectionCheckDeps {
  readonly connector: (d: DestinationConfig, logger: Logger) => ErpConnector;
  readonly mqtt: (m: MqttSourceConfig) => Promise<ProbeResult>;
  /** Entry `index` of `telematics:`: a token minted, the fleet not asked. */
  readonly telematics: (t: TelematicsConfig, index: number) => Promise<TelematicsProbeResult>;
}

/** What one connection tried gave: `detail` is what its line says after the name (with the key to check when it failed). */
export interface ConnectionResult {
  readonly kind: 'destination' | 'mqtt' | 'telematics';
  readonly name: string;
  readonly status: 'ok' | 'failed' | 'not-tried';
  readonly detail: string;
  /** It works, but not as the service needs it (a work-order poll the ERP does not filter): said, not failed. */
  readonly warning?: string;
}

export interface ConnectionCheck {
  readonly ok: boolean;
  /** One line per destination, MQTT source and telematics provider. */
  readonly lines: readonly string[];
  /** The same, one entry each (`config check --connect --json`). */
  readonly results: readonly ConnectionResult[];
}

const STATUS_LABEL: Record<ConnectionResult['status'], string> = { ok: 'ok      ', failed: 'FAILED  ', 'not-tried': '-       ' };
const KIND_LABEL: Record<ConnectionResult['kind'], string> = { destination: 'destination', mqtt: 'mqtt source', telematics: 'telematics' };
const connectionLine = (r: ConnectionResult): string => `  ${STATUS_LABEL[r.status]}${KIND_LABEL[r.kind]} ${r.name}: ${r.detail}${r.warning === undefined ? '' : `; WARNING: ${r.warning}`}`;

/** The REST destination's keys to look at for each kind of failed probe (an answer cut short is no key's fault). */
const HINT: Record<Exclude<NonNullable<ProbeResult['problem']>, 'cut-short'>, string> = {
  unreachable: 'baseUrl',
  slow: 'baseUrl and destinations.<i>.timeoutMs',
  credentials: 'token / auth',
  path: 'paths.workOrders',
  other: 'baseUrl and the ERP side',
};

/** The same in words, for a destination of another type whose probe names no key of its own. */
const PROBLEM_WORDS: Record<Exclude<NonNullable<ProbeResult['problem']>, 'cut-short'>, string> = {
  unreachable: 'its address',
  slow: 'its address and timeout',
  credentials: 'its credentials',
  path: 'the path it read',
  other: 'its settings and the ERP side',
};

/** Where to look after a failed probe: the key it names, REST's key for the problem, or the destination's entry. */
function probeHint(d: DestinationConfig, i: number, r: ProbeResult): string {
  if (r.key !== undefined) return `destinations.${i}.${r.key}`;
  const problem = r.problem ?? 'other';
  if (problem === 'cut-short') return "the ERP's logs and any proxy or load balancer in front of it, whose limit on an answer's time or size may have ended it; then try again";
  return d.type === 'rest' ? `destinations.${i}.${HINT[problem].replaceAll('<i>', String(i))}` : `destinations.${i}, ${PROBLEM_WORDS[problem]}`;
}

/** Why no feed is asked for its fleet, even where its token was tried. */
const BUDGET = "each request spends the provider's request budget; 'assetbridge aemp equipment PIN' tries one machine";

const defaultDeps: ConnectionCheckDeps = { connector: buildConnector, mqtt: (m) => probeMqttSource(m), telematics: (t, i) => probeTelematicsAuth(t, i) };

/** Tries every destination, MQTT source and telematics token endpoint of `config` (in parallel); never throws. */
export async function checkConnections(config: Config, deps: ConnectionCheckDeps = defaultDeps): Promise<ConnectionCheck> {
  const logger = createLogger('silent');
  // What a probe quotes of an answer is scrubbed of every configured credential, as a delivery's
  // error is: the connector's own redaction knows only its credential-named headers, and an ERP
  // may echo any header (`unknown tenant <X-Erp-Tenant>`).
  const redact = redactedFor(config);
  const shown = <R extends { detail: string; warning?: string }>(r: R): R => ({ ...r, detail: redact(r.detail), ...(r.warning === undefined ? {} : { warning: redact(r.warning) }) });
  // The service polls every destination whose connector lists work orders, with the maintenance rules' feedback on.
  const polled = pollsWorkOrders(config.rules);
  const destinations = config.destinations.map(async (d, i): Promise<ConnectionResult> => {
    const connector = deps.connector(d, logger);
    const result = (status: ConnectionResult['status'], detail: string, warning?: string): ConnectionResult => ({ kind: 'destination', name: d.name, status, detail, ...(warning === undefined ? {} : { warning }) });
    /** One probe, within the destination's timeout: its reason is the message, how long it waited, as a delivery's timeout says it. */
    const timed = async (probe: (ctx: SendContext) => Promise<ProbeResult>): Promise<ProbeResult> => {
      const deadline = new AbortController();
      const timer = setTimeout(() => deadline.abort(new DOMException(`no answer within ${d.timeoutMs} ms`, 'TimeoutError')), d.timeoutMs);
      return shown(await probe({ signal: deadline.signal }).finally(() => clearTimeout(timer)));
    };
    try {
      if (!connector.probe) return result('not-tried', 'this connector has no connectivity check');
      const r = await timed(connector.probe.bind(connector));
      if (!r.ok) return result('failed', `${r.detail} (check ${probeHint(d, i, r)})`);
      const probePoll = connector.probeWorkOrderPoll?.bind(connector);
      if (!polled || probePoll === undefined) return result('ok', r.detail);
      // The work-order poll's query (changes since now: a harmless read), as the service asks it every rules.maintenance.feedback.pollEvery.
      const poll = await timed((ctx) => probePoll(Date.now(), ctx));
      if (!poll.ok) return result('failed', `${r.detail}; but ${poll.detail} (check ${probeHint(d, i, poll)})`);
      return result('ok', `${r.detail}; ${poll.detail}`, poll.warning);
    } finally {
      await connector.close?.().catch(() => undefined);
    }
  });
  const sources = config.sources.mqtt.map(async (m, i): Promise<ConnectionResult> => {
    const r = shown(await deps.mqtt(m));
    const result = (status: ConnectionResult['status'], detail: string): ConnectionResult => ({ kind: 'mqtt', name: m.name, status, detail });
    return r.ok ? result('ok', r.detail) : result('failed', `${r.detail} (check ${r.key === undefined ? `sources.mqtt.${i}.url, username, password and TLS files` : `sources.mqtt.${i}.${r.key}`})`);
  });
  const telematics = config.telematics.map(async (t, i): Promise<ConnectionResult> => {
    const r = shown(await deps.telematics(t, i));
    const result = (status: ConnectionResult['status'], detail: string): ConnectionResult => ({ kind: 'telematics', name: t.name, status, detail });
    if (!r.tried) return result('not-tried', `${r.detail}; not tried (${BUDGET})`);
    // The detail names the key to fix (telematics.<i>.auth or its tokenUrl).
    return r.ok ? result('ok', `${r.detail} (the fleet was not asked: ${BUDGET})`) : result('failed', r.detail);
  });
  const results = await Promise.all([...destinations, ...sources, ...telematics]);
  return { ok: results.every((r) => r.status !== 'failed'), lines: results.map(connectionLine), results };
}

/**
 * The asset CSVs (`assets.files`) the service imports at start, read as it reads them: every
 * problem of every file, each under its key (the config schema does not open them).
 */
export function assetFileProblems(config: Config): { key: string; message: string }[] {
  try {
    configuredAssets(config);
    return [];
  } catch (err) {
    if (err instanceof ConfigError) return [...err.problems];
    throw err;
  }
}

/**
 * Invalid depreciation attributes (not a number, negative, salvage above cost, zero expected units)
 * of the assets the config lists, inline (named by key) or in its CSVs (by file and line). Read
 * after {@link assetFileProblems} found none: the files are readable and well formed.
 */
export function configuredAssetInputWarnings(config: Config): RuleInputWarning[] {
  const rules = rulesConfigOf(config);
  if (!rules.depreciation) return [];
  const listed: ListedAsset[] = config.assets.inline.map((a, i) => ({
    asset: { erpAssetId: a.erpAssetId, erpModule: a.erpModule, attributes: a.attributes },
    key: (attribute) => `assets.inline.${i}.attributes.${attribute}`,
  }));
  config.assets.files.forEach((file, i) => {
    const lines = new Map<string, Map<string, number>>();
    for (const { asset } of applyAssetUpdates([], readAssetCsv(decodeAssetCsv(readFileSync(file), file), file, { attributeLines: lines }))) {
      listed.push({ asset, key: () => `assets.files.${i}`, where: (attribute) => `${file} line ${lines.get(asset.erpAssetId)?.get(attribute) ?? '?'}` });
    }
  });
  return depreciationInputWarnings(rules, listed);
}

/**
 * Cells of the asset CSVs that read like dates a spreadsheet made of a code (`Oct-26` for
 * `2026-10`), under the file's key, naming the line and column. Read after
 * {@link assetFileProblems} found none.
 */
export function assetFileWarnings(config: Config): RuleInputWarning[] {
  return config.assets.files.flatMap((file, i) => {
    const warnings: string[] = [];
    readAssetCsv(decodeAssetCsv(readFileSync(file), file), file, { warnings });
    return warnings.map((message) => ({ key: `assets.files.${i}`, message }));
  });
}

/** Telematics feeds whose vendor has no default address and that give none (`baseUrl`). */
export function telematicsProblems(config: Config): { key: string; message: string }[] {
  return config.telematics.flatMap((t, i) => {
    try {
      resolveProvider(t, i);
      return [];
    } catch (err) {
      if (err instanceof ConfigError) return [...err.problems];
      throw err;
    }
  });
}

/** A warning of the check: its key, the config-file line it is on when known, and what is wrong. */
interface CheckWarning {
  readonly key: string;
  readonly line?: number;
  readonly message: string;
}

/** A problem's key with the config-file line it is written on, as a load problem names it: `destinations.0.token (line 12)`. */
const keyAt = (p: { readonly key: string; readonly line?: number }): string => (p.line === undefined ? p.key : `${p.key} (line ${p.line})`);

/** The telematics feeds for the "is valid" line, with whether and when the service pulls each; '' without any. */
export function telematicsSummary(feeds: readonly TelematicsConfig[]): string {
  if (feeds.length === 0) return '';
  const each = feeds.map((t) => `${t.name}: ${t.schedule.enabled ? `pulled on "${t.schedule.cron}" ${t.schedule.timeZone}` : 'no scheduled pulls (schedule.enabled: false)'}`);
  return `, ${feeds.length} telematics feed(s) (${each.join('; ')})`;
}

/**
 * Maintenance rules renamed since the service last started with the config's store (it remembers
 * the names it started with): read only, and nothing when there is no store yet or it cannot be read.
 */
async function storedRenameWarnings(config: Config, configPath: string): Promise<{ key: string; message: string }[]> {
  if (config.store.path === ':memory:' || !storeExists(config)) return [];
  try {
    return await withConfigContext(config, configPath, ({ store }) => maintenanceRenameWarnings(store, rulesConfigOf(config), { record: false }), { readOnly: true });
  } catch {
    return []; // a store this check cannot open (another version's, locked): the service's start says it
  }
}

export function registerConfigCommand(program: Command): void {
  addConfigOption(
    program
      .command('config')
      .description('configuration tools')
      .command('check')
      .description("validate the configuration file and print the result; with --connect, also try each destination, MQTT broker and telematics feed's token endpoint")
      .option('--connect', "try each destination (a harmless read with its credentials), MQTT broker (connect and disconnect) and telematics feed's token endpoint (one token; the fleet is not asked, which spends the request budget)")
      .option('--json', 'print JSON: what is configured, the warnings (key, line, message) and, with --connect, each connection tried (kind, name, status: ok, failed or not-tried, detail)')
      .addHelpText(
        'after',
        '\nExit code 0 when valid (and, with --connect, every connection works), 1 when a connection fails, 2 when the config is invalid or, with --connect, a secret it connects with is not set.' +
          ' With --json an invalid config prints no JSON: the problems go to stderr, naming each key, with exit code 2, as without it; the secrets not set where it runs follow them, apart.' +
          '\n\nExamples:\n  assetbridge config check -c assetbridge.yaml\n  assetbridge config check --connect   # before the first run: each ERP, MQTT broker and token endpoint',
      ),
  ).action(
    action(async (opts: { config: string; connect?: boolean; json?: boolean }) => {
      const { config, configPath } = resolveConfig(opts.config);
      // ASSETBRIDGE_LOG_LEVEL, which overrides log.level: one that is no level makes 'run' (and every
      // command that opens the store) refuse to start, so the check that says "valid" refuses it too.
      logLevel(config.log.level);
      // What the service checks only as it starts: the asset CSVs, each feed's address, and that capture.dir is (or can be) a directory.
      const captureDir = config.capture === undefined ? undefined : captureDirProblem(config.capture.dir);
      const assetProblems = assetFileProblems(config);
      // And, once the asset lists read, that each destination the assets listed in the config are
      // routed to (and the default one) delivers the operations the rules produce for them
      // (assets imported into the store are checked by the service's start).
      const routing = assetProblems.length ? { errors: [], warnings: [] } : operationRoutingIssues(config, configuredAssets(config).map((a) => a.asset), operationsOf, 'listed in the config');
      const startProblems = [...assetProblems, ...routing.errors, ...telematicsProblems(config), ...(captureDir === undefined ? [] : [{ key: 'capture.dir', message: captureDir }])];
      if (startProblems.length) throw new ConfigError(withConfigLines(config, startProblems));
      const { host, port } = config.server;
      const intake = !config.sources.http ? 'off' : port > 0 ? `at ${serverUrl(host, port)}/v1/events` : 'configured, but server.port is 0: no server runs to take events (set server.port)';
      // With --json the lines are kept for the one JSON document printed at the end (an error meanwhile prints none).
      const warnings: CheckWarning[] = [];
      const warn = (list: readonly CheckWarning[], separator = ':'): void => {
        for (const w of list) {
          if (opts.json) warnings.push({ key: w.key, ...(w.line !== undefined ? { line: w.line } : {}), message: w.message });
          else process.stdout.write(`warning: ${keyAt(w)}${separator} ${w.message}\n`);
        }
      };
      if (!opts.json)
        process.stdout.write(
          `${configPath} is valid: ${config.destinations.length} destination(s), ${config.sources.mqtt.length} MQTT source(s), HTTP intake ${intake}` +
            `${telematicsSummary(config.telematics)}` +
            `${config.capture ? `, accepted events captured to ${config.capture.dir}` : ''}\n`,
        );
      // Nothing configured to take events in at all: valid, but the service would take in nothing.
      warn(withConfigLines(config, noInputWarnings(config)));
      // A webhook that can take no push (no secret nor intake token, no server): as the service's start says.
      warn(withConfigLines(config, webhookWarnings(config)));
      // An operation only rules with an appliesTo produce, for none of the listed assets routed to a destination that does not deliver it.
      warn(withConfigLines(config, routing.warnings));
      // Rules nothing configured feeds: said, not refused (a source may come later).
      warn(withConfigLines(config, ruleInputWarnings(config)));
      // A maintenance rule renamed since the service last started with this store: as the start says.
      warn(withConfigLines(config, await storedRenameWarnings(config, configPath)));
      // Settings that select none of the assets the config lists (assets imported into the store are not read here).
      warn(withConfigLines(config, assetMatchWarnings(rulesConfigOf(config), configuredAssets(config).map((a) => a.asset), 'listed in the config')));
      // Asset data depreciation cannot use as it is: said per asset and attribute, not refused.
      warn(withConfigLines(config, configuredAssetInputWarnings(config)));
      // Codes in the asset CSVs a spreadsheet may have turned into dates: said, not refused (they may be real).
      warn(withConfigLines(config, assetFileWarnings(config)));
      // MQTT shared subscriptions with a store that serves one process: as the service's start says.
      warn(withConfigLines(config, sharedGroupWarnings(config)), '');
      // Credentials in an MQTT url and in username/password: the url's are used (mqtt.js), the keys not.
      warn(withConfigLines(config, mqttCredentialWarnings(config)), '');
      // A token variable set to nothing: valid (an ERP without auth), but said.
      warn(withConfigLines(config, emptyTokenWarnings(config)));
      // Said, not refused: this check may run where the service's secrets are not (a deploy
      // pipeline, an operator's shell); the service refuses to start without them.
      // (An invalid config says them after its problems, apart from them: config/load.ts.)
      const warnSecrets = (secrets: ReturnType<typeof unresolvedSecrets>) => warn(secrets.map((s) => ({ ...s, message: unresolvedSecretMessage(s) })));
      const summary = {
        configPath,
        valid: true,
        destinations: config.destinations.map((d) => d.name),
        mqttSources: config.sources.mqtt.map((m) => m.name),
        httpIntake: !config.sources.http ? { state: 'off' } : port > 0 ? { state: 'on', url: `${serverUrl(host, port)}/v1/events` } : { state: 'no-server', problem: 'server.port is 0: no server runs to take events' },
        telematics: config.telematics.map((t) => ({ name: t.name, scheduled: t.schedule.enabled, ...(t.schedule.enabled ? { cron: t.schedule.cron, timeZone: t.schedule.timeZone } : {}) })),
        ...(config.capture ? { captureDir: config.capture.dir } : {}),
        warnings,
      };
      if (!opts.connect) {
        warnSecrets(unresolvedSecrets(config));
        if (opts.json) process.stdout.write(`${toJson(summary)}\n`);
        return;
      }
      // What --connect tries: the destinations, MQTT brokers and telematics feeds (their token endpoints; the service needs all of a feed's secrets).
      // The file is valid (said above): what is missing is where this runs, so not "Invalid configuration".
      try {
        requireSecrets(config, ['destinations', 'sources.mqtt', 'telematics']);
      } catch (err) {
        if (!(err instanceof ConfigError)) throw err;
        throw new UsageError(`connections not tried: secrets they use are not set where this runs (set them, or run config check without --connect):\n${err.problems.map((p) => `  - ${keyAt(p)}: ${p.message}`).join('\n')}`);
      }
      // The secrets --connect does not use but the service does (the HTTP intake's token): said as
      // without --connect, or a check that passed would hide why 'assetbridge run' then refuses to start.
      warnSecrets(unresolvedSecrets(config));
      if (!opts.json) process.stdout.write('connections:\n');
      const check = await checkConnections(config);
      process.stdout.write(opts.json ? `${toJson({ ...summary, connections: check.results })}\n` : `${check.lines.join('\n')}\n`);
      if (!check.ok) process.exitCode = 1;
    }),
  );
}
