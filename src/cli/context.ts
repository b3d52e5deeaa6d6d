/**
 * Shared plumbing for commands: the `--config` option, loading and validating config, opening the
 * store, and turning errors into clear messages and exit codes (2 = bad config or usage, 1 = failure).
 * @module
 */
import { isCalendarDay } from '../core/normalize/iso-time.js';
import { existsSync, realpathSync, statSync } from 'node:fs';
import { HardLinkedFileError, replaceFile } from './replace-file.js';
import { join, resolve } from 'node:path';
import { Option, type Command } from 'commander';
import type { Logger } from 'pino';
import { ConfigError, NotFoundError, UsageError } from '../core/errors/errors.js';
import { parseDuration } from '../config/duration.js';
import { loadConfigFile } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { openStore, configLogger, redactedFor } from '../app.js';
import { logLevel, redactString } from '../adapters/log/logger.js';
import type { Store } from '../ports/store.js';
import { CsvError } from '../adapters/identity/asset-csv.js';
import { StoreBusyError, StoreUpgradeBusyError } from '../engine/store-lease.js';
import { storeErrorAdvice } from '../core/errors/store-errors.js';

export const DEFAULT_CONFIG = 'assetbridge.yaml';

export interface CliContext {
  readonly config: Config;
  readonly configPath: string;
  readonly store: Store;
  readonly logger: Logger;
}

/**
 * The config file when no `--config` is given: `$ASSETBRIDGE_CONFIG`, else ./assetbridge.yaml. An
 * empty variable counts as not set (an env file or a container platform leaves `NAME=` behind).
 */
export function defaultConfigPath(env: Readonly<Record<string, string | undefined>> = process.env): string {
  const fromEnv = env.ASSETBRIDGE_CONFIG;
  return fromEnv === undefined || fromEnv.trim() === '' ? DEFAULT_CONFIG : fromEnv;
}

/** Adds `-c, --config <file>` (default $ASSETBRIDGE_CONFIG or ./assetbridge.yaml). */
export function addConfigOption(cmd: Command): Command {
  return cmd.addOption(new Option('-c, --config <file>', 'configuration file (YAML)').default(defaultConfigPath(), `$ASSETBRIDGE_CONFIG, else ${DEFAULT_CONFIG}`));
}

/**
 * Load and validate the config. Secrets that are not set load unresolved (see
 * config/secrets.ts): commands that read the store work without them, and the ones that connect
 * refuse to start, naming the key.
 */
export function resolveConfig(configPath: string | undefined): { config: Config; configPath: string } {
  const path = configPath ?? defaultConfigPath();
  if (!existsSync(path)) {
    // The path $ASSETBRIDGE_CONFIG named (the default of --config): "set ASSETBRIDGE_CONFIG" would read as if it were not set.
    const fromEnv = process.env.ASSETBRIDGE_CONFIG;
    if (fromEnv !== undefined && fromEnv.trim() !== '' && fromEnv === path)
      throw new UsageError(`config file ${path} not found: it is what ASSETBRIDGE_CONFIG names; fix or unset that variable, or pass --config <file>`);
    throw new UsageError(
      `config file ${path} not found. Pass --config <file>, set ASSETBRIDGE_CONFIG, or start from examples/assetbridge.yaml (try 'assetbridge demo' for a run that needs no config).`,
    );
  }
  if (statSync(path).isDirectory()) {
    const inside = join(path, DEFAULT_CONFIG);
    throw new UsageError(`${path} is a directory, not a config file: pass the file itself${existsSync(inside) ? ` (--config ${inside})` : ' (--config <dir>/assetbridge.yaml)'}`);
  }
  const config = loadConfigFile(path, process.env, { deferSecrets: true });
  noteStorePath(config.store.path);
  redactError = redactedFor(config);
  return { config, configPath: path };
}

/**
 * How a command opens the store. `existingStore`: a store that does not exist yet is an error
 * rather than created empty: commands that only look at what ran (status, audit, dead letters, …)
 * would otherwise report an empty store for a wrong `--config`. `readOnly` (implies
 * `existingStore`): the command only reads, so it writes nothing and does not migrate a store an
 * older assetbridge wrote (it says so, and what would upgrade it) — an operator looking with a new
 * version before upgrading must not find the store upgraded under the old service.
 */
export interface StoreAccess {
  readonly existingStore?: boolean;
  readonly readOnly?: boolean;
}

/** Load config, open the store (as `opts` says), run `fn`, always close the store. */
export async function withContext<T>(configPath: string | undefined, fn: (ctx: CliContext) => Promise<T>, opts: StoreAccess = {}): Promise<T> {
  const { config, configPath: path } = resolveConfig(configPath);
  return withConfigContext(config, path, fn, opts);
}

/** Whether the store `config` names exists already (an in-memory store always does; an empty file is none yet). */
export function storeExists(config: Config): boolean {
  const path = config.store.path;
  if (path === ':memory:') return true;
  try {
    return statSync(path).size > 0 || existsSync(`${path}-wal`);
  } catch {
    return false;
  }
}

/** {@link withContext} for a config already loaded (by {@link resolveConfig}). */
export async function withConfigContext<T>(config: Config, path: string, fn: (ctx: CliContext) => Promise<T>, opts: StoreAccess = {}): Promise<T> {
  if ((opts.existingStore || opts.readOnly) && !storeExists(config)) {
    throw new UsageError(`there is no store at ${config.store.path} (store.path in ${path}): nothing has run with this config yet. Check --config, or start the service with 'assetbridge run' (registering assets first with 'assetbridge assets import FILE' also creates it)`);
  }
  const logger = configLogger(config, logLevel('warn'));
  const store = openStore(config, opts.readOnly ? { readOnly: true } : {});
  try {
    return await fn({ config, configPath: path, store, logger });
  } finally {
    await store.close();
  }
}

/** Wrap a command action: prints errors for people and sets the exit code. */
export function action<A extends unknown[]>(fn: (...args: A) => Promise<void>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await fn(...args);
    } catch (err) {
      process.exitCode = reportError(err);
    }
  };
}

/**
 * How {@link reportError} redacts an error's text: as a log line is, and once a config is loaded,
 * with that config's own secret values scrubbed too (a password that is no `password=…` pair, such
 * as a broker's or a proxy's answer quoting it in an MQTT source's start error).
 */
let redactError: (text: string) => string = redactString;

/** The store this command opened (or the service runs on), so an error SQLite gives later can name it. */
let storePathInUse: string | undefined;

/** Notes the store this process works on: {@link reportError} names it in a store error. */
export function noteStorePath(path: string): void {
  storePathInUse = path;
}

/** Whether `ASSETBRIDGE_DEBUG` asks for stack traces: set, and not `0`, `false`, `no` or `off` (which read as off, not on). */
export function debugOn(env: Readonly<Record<string, string | undefined>> = process.env): boolean {
  const value = env.ASSETBRIDGE_DEBUG?.trim().toLowerCase();
  return value !== undefined && !['', '0', 'false', 'no', 'off'].includes(value);
}

/**
 * A delivery or quarantine entry id that names nothing, said while the command goes on: a failure
 * (exit 1), as a {@link NotFoundError} is; the commands that act on several ids act on the rest and
 * exit 1.
 */
export function noneFound(message: string): void {
  process.stderr.write(`error: ${message}\n`);
  process.exitCode = 1;
}

export function reportError(err: unknown): number {
  // A name or id that names nothing: a failure (1), said as plainly as a usage error.
  if (err instanceof NotFoundError) {
    process.stderr.write(`error: ${err.message}\n`);
    return 1;
  }
  if (err instanceof ConfigError || err instanceof UsageError || err instanceof CsvError || err instanceof StoreBusyError || err instanceof StoreUpgradeBusyError) {
    process.stderr.write(`error: ${err.message}\n`);
    return 2;
  }
  const e = err instanceof Error ? err : new Error(String(err));
  // SQLite's own words ("database is locked") name neither the file nor what to do.
  const code = (err as { code?: unknown } | undefined)?.code;
  const advice = typeof code === 'string' && code.startsWith('SQLITE_') ? storeErrorAdvice(code) : undefined;
  // An error we did not expect may quote what it was given (a header, a URL): redacted as a log line's.
  const message = redactError(e.message);
  const store = storePathInUse === undefined ? 'the store (store.path)' : `the store ${storePathInUse} (store.path)`;
  process.stderr.write(advice === undefined ? `error: ${message}\n` : `error: ${store}: ${message}; ${advice}\n`);
  if (debugOn()) process.stderr.write(`${redactError(e.stack ?? '')}\n`);
  return 1;
}

/** `1h`, `30m`, `2d` (a duration back from now) or an ISO date → epoch ms. */
export function parseSince(input: string, now = Date.now()): number {
  // A bare number would be a duration in ms to the config, but here it is more likely a year.
  const ms = /[a-z]\s*$/i.test(input) ? parseDuration(input) : undefined;
  if (ms !== undefined) return now - ms;
  // An ISO date (time optional): Date.parse alone guesses at anything (`10` is 2001-10-01) and
  // rolls a day past the month's end over into the next month.
  const day = /^\s*(\d{4})-(\d{2})-(\d{2})(?:[T ]|\s*$)/.exec(input);
  const t = day ? Date.parse(input) : NaN;
  const real = day !== null && isCalendarDay(`${day[1]}-${day[2]}-${day[3]}`);
  if (Number.isNaN(t) || !real) throw new UsageError(`--since "${input}" is neither a duration like 1h/30m/2d nor an ISO date like 2026-11-30 or 2026-11-30T08:00:00Z`);
  return t;
}

/**
 * What `--out` says of the file it writes, in each command's option help: it is replaced whole by
 * another file (see {@link replaceFile}), which a file's other hard links and its ACL cannot follow.
 */
export const OUT_FILE_HELP = 'replaced whole, so a file with other hard links is refused, and its POSIX ACL and extended attributes are not kept';

/**
 * `text` written to the `--out` file; a file that cannot be written is a usage error (exit 2) naming
 * --out and why. With `storePath` (the config's `store.path`), the store itself (or its WAL) is
 * refused: the report would replace every record in it. The file is replaced whole
 * ({@link replaceFile}: written beside it, flushed, renamed), so a run cut short leaves the previous
 * report as it was, not a truncated one. A file with other hard links is refused (a usage error
 * saying what to do); a file's ACL and extended attributes are not kept ({@link OUT_FILE_HELP}).
 */
export function writeOut(file: string, text: string, storePath?: string): void {
  if (storePath !== undefined) refuseStoreAsOut(file, storePath);
  try {
    replaceFile(file, text);
  } catch (err) {
    if (err instanceof HardLinkedFileError) throw new UsageError(`--out ${err.message}`);
    const code = (err as { code?: unknown }).code;
    const why = code === 'ENOENT' ? 'its directory does not exist' : code === 'EACCES' || code === 'EPERM' ? 'permission denied' : code === 'EISDIR' ? 'it is a directory' : (err as Error).message;
    // Written beside it and renamed: a file that was there is left as it was.
    const kept = code !== 'EISDIR' && existsSync(file) ? '; the file there is left as it was' : '';
    const full = code === 'ENOSPC' || code === 'EFBIG' || code === 'EDQUOT';
    throw new UsageError(`--out ${file}: cannot write the file (${why})${kept}; ${full ? 'free space on its disk (or raise the file size limit), or give a path on another disk' : 'give a path in an existing directory you can write to'}`);
  }
}

/**
 * An `--out` that is the store itself (`storePath`, the config's `store.path`) or its WAL is refused
 * (a usage error): {@link writeOut} says so, and a command checks it with its other arguments first,
 * before it says or reads anything.
 */
export function refuseStoreAsOut(file: string, storePath: string): void {
  if (!existsSync(file)) return;
  const store = resolve(storePath);
  if ([store, `${store}-wal`, `${store}-shm`].some((f) => existsSync(f) && realpathSync(f) === realpathSync(file)))
    throw new UsageError(`--out ${file} is the store itself (store.path): give another path`);
}

export { whyUnreadable } from '../config/unreadable-file.js';

/** A `--destination` the config does not name: refused (exit 1, {@link NotFoundError}) with the names it does. */
export function checkDestination(config: Config, name: string): void {
  const names = config.destinations.map((d) => d.name);
  if (!names.includes(name)) throw new NotFoundError(`no destination "${name}" in the config (destinations: ${names.join(', ')})`);
}

/**
 * Output options that ask for two things at once are refused (exit 2), not one picked silently:
 * `--json` with the file format's own option (`--csv`, `--geojson`) or with `--out`, which writes
 * that format, not JSON. `format` names the file format (`CSV`, `GeoJSON`) and its option.
 */
export function checkOutputOptions(opts: { readonly json?: boolean; readonly out?: string; readonly [format: string]: unknown }, format: { readonly name: string; readonly option: string }): void {
  if (opts.json !== true) return;
  const flag = format.option.replace(/^--/, '');
  if (opts[flag] === true) throw new UsageError(`--json and ${format.option} ask for different output: give one of them (${format.option} prints ${format.name}, --json prints JSON)`);
  if (opts.out !== undefined)
    throw new UsageError(`--out writes ${format.name}, not JSON: give --out ${opts.out} without --json for a ${format.name} file, or --json alone (redirect it for a JSON file: --json > ${opts.out})`);
}

/** The CSV a command prints with `--csv` or writes with `--out` (see {@link checkOutputOptions}). */
export const CSV_OUTPUT = { name: 'CSV', option: '--csv' } as const;

/**
 * A positive whole number from an argument; past 2^53 - 1 (where a JavaScript number stops being
 * exact, and SQLite would refuse it as a "datatype mismatch") it is refused as too large.
 */
function positiveWhole(value: string, label: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new UsageError(`${label} "${value}" is not a positive whole number`);
  if (!Number.isSafeInteger(n)) throw new UsageError(`${label} "${value}" is too large (at most ${Number.MAX_SAFE_INTEGER})`);
  return n;
}

/** Parse a list of numeric ids from arguments. */
export function parseIds(args: readonly string[], what: string): number[] {
  return args.map((a) => positiveWhole(a, `${what} id`));
}

/** A `--limit <n>` option's value. */
export function parseLimit(value: string): number {
  return positiveWhole(value, '--limit');
}

/** Text for a table cell: on one line, cut at `max` characters with an ellipsis (so a cut never reads as the whole). */
export function clip(text: string, max = 100): string {
  const t = text.replace(/\s+/g, ' ');
  return t.length > max ? `${t.slice(0, max - 1)}…` : t;
}

/** A plain aligned table for terminals. */
export function table(rows: readonly (readonly (string | number)[])[]): string {
  if (rows.length === 0) return '';
  const widths = (rows[0] as readonly (string | number)[]).map((_, i) => Math.max(...rows.map((r) => String(r[i] ?? '').length)));
  return `${rows.map((r) => r.map((c, i) => String(c).padEnd(widths[i] ?? 0)).join('  ').trimEnd()).join('\n')}\n`;
}

export { toJson } from '../core/iso-json.js';
/**
 * The one way a command prints a time for people (tables, messages, notes): ISO 8601 in UTC with
 * milliseconds always, `2026-10-01T12:00:00.000Z`, as `--json` writes times. A command with a
 * formatter of its own printed some times without the milliseconds (or the seconds), so two
 * commands (or two times of one line) showed one instant in two forms.
 */
export { isoTime } from '../core/rules/iso-format.js';
