/**
 * Secrets resolve where they are used. A config loads without the secrets whose variable (or
 * file) it cannot read, so commands that only look at the store or the config work where the
 * secrets live in the service's environment alone (a systemd unit, a Kubernetes secret). Such a
 * secret stays in the config as a property that throws when read, naming its key; the parts that
 * connect call {@link requireSecrets} first, so they refuse to start rather than fail half-way.
 * @module
 */
import { ConfigError } from '../core/errors/errors.js';
import { isHarmlessHeader } from '../core/harmless-headers.js';

export interface SecretProblem {
  readonly key: string;
  readonly message: string;
  /** The config-file line the key is written on, when the config was loaded from a file. */
  readonly line?: number;
}

const NOT_SET = new WeakSet<SecretProblem>();

/** A problem saying a secret's variable (and its `_FILE`) is not set at all, as where a config is checked apart from the service. */
export function notSetProblem(key: string, message: string): SecretProblem {
  const p = { key, message };
  NOT_SET.add(p);
  return p;
}

/** Whether `p` says only that the variable is not set (rather than set twice, or to a file that cannot be read). */
export const isNotSet = (p: SecretProblem): boolean => NOT_SET.has(p);

/** `p` with the config-file line its key is written on (a problem that has one, or no line known, as it is); still {@link isNotSet} when `p` is. */
export function withLine(p: SecretProblem, line: number | undefined): SecretProblem {
  if (line === undefined || p.line !== undefined) return p;
  const out = { ...p, line };
  if (NOT_SET.has(p)) NOT_SET.add(out);
  return out;
}

/** The commands that refuse to start (with the verb) without the secret at `key`: those that connect with it (`config check --connect` does not take the HTTP intake's). */
export function needingSecret(key: string): string {
  if (key.startsWith('sources.http.')) return "'assetbridge run' (its HTTP intake) refuses";
  if (key.startsWith('telematics.')) return "'assetbridge run', 'config check --connect' and 'aemp pull', 'backfill' and 'equipment' refuse";
  return "'assetbridge run' and 'config check --connect' refuse";
}

/**
 * A secret's problem as said where the config is read apart from the service (`config check`, a
 * deploy pipeline, an operator's shell): what to do, and which commands refuse to start until then.
 * Names the variable or file, never a value.
 */
export function unresolvedSecretMessage(p: SecretProblem): string {
  return isNotSet(p) ? `${p.message}; set it where the service runs: ${needingSecret(p.key)} to start without it` : `${p.message}; ${needingSecret(p.key)} to start until that is fixed`;
}

/** The keys that hold credentials: only these may load unresolved. */
const SECRET_KEYS: readonly RegExp[] = [
  /^sources\.http\.token$/,
  /^sources\.mqtt\.\d+\.password$/,
  /^destinations\.\d+\.(token|auth\.token|auth\.clientSecret|webhook\.secret|webhook\.previousSecret)$/,
  /^telematics\.\d+\.auth\.(username|password|clientId|clientSecret|token)$/,
];

/**
 * A configured request header's key (`destinations.0.headers.X-Tenant`); the name is the rest of
 * the key whatever it holds: a header name may hold a `.` (and any RFC 9110 token character), so
 * `headers.X.Tenant` is the header `X.Tenant`, not a key below one.
 */
const HEADER_KEY = /^(?:destinations|telematics)\.\d+\.headers\.([\s\S]+)$/;

/** The header name of a configured request header's key, else undefined. */
function headerNameOf(key: string): string | undefined {
  return HEADER_KEY.exec(key)?.[1];
}

export function isSecretKey(key: string): boolean {
  return headerNameOf(key) !== undefined || SECRET_KEYS.some((re) => re.test(key));
}

/**
 * The values of the config's credential keys ({@link isSecretKey}) that are set (but a header's of
 * a harmless name, `Accept`: see core/harmless-headers.ts), and the password
 * of an MQTT source's `url` (`mqtt://user:password@…`): what the logs scrub wherever a message
 * quotes them. A secret not resolved (its variable unset) is passed over, never read.
 */
export function configuredSecretValues(config: unknown): string[] {
  const out: string[] = [];
  const walk = (value: unknown, path: string): void => {
    if (typeof value === 'string') {
      // A header of a name that says how to talk (Accept: application/json) is no secret to scrub.
      const header = headerNameOf(path);
      if (isSecretKey(path) && !(header !== undefined && isHarmlessHeader(header))) out.push(value);
      else if (/^sources\.mqtt\.\d+\.url$/.test(path) && URL.canParse(value)) {
        const password = new URL(value).password;
        if (password !== '') out.push(password, decodeURIComponentSafe(password));
      }
      return;
    }
    if (value === null || typeof value !== 'object') return;
    for (const key of Object.keys(value)) {
      let child: unknown;
      try {
        child = (value as Record<string, unknown>)[key];
      } catch {
        continue; // an unresolved secret
      }
      walk(child, path === '' ? key : `${path}.${key}`);
    }
  };
  walk(config, '');
  return [...new Set(out)];
}

function decodeURIComponentSafe(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/**
 * Stands in for an unresolved secret while the schema checks the config; long enough for every
 * length rule of a secret key. Replaced by {@link deferSecret} before the config is handed out.
 */
export const UNRESOLVED_PLACEHOLDER = '<secret not resolved at load>';

const UNRESOLVED = Symbol('unresolved secret');
type Marked = (() => never) & { [UNRESOLVED]: readonly SecretProblem[] };

/** Makes `obj[prop]` a secret that is not set: reading it throws a ConfigError with `problems`. */
export function deferSecret(obj: object, prop: string, problems: readonly SecretProblem[]): void {
  const get = (): never => {
    throw new ConfigError(problems);
  };
  // Enumerable, so a copy (`{...d}`) reads it and fails too, rather than silently dropping it.
  Object.defineProperty(obj, prop, { get: Object.assign(get, { [UNRESOLVED]: problems }), enumerable: true, configurable: false });
}

/** The problems of a deferred secret's accessor, else undefined. */
function deferredProblems(d: PropertyDescriptor): readonly SecretProblem[] | undefined {
  const get = (d as { get?: unknown }).get;
  return typeof get === 'function' && UNRESOLVED in get ? (get as Marked)[UNRESOLVED] : undefined;
}

/** Every secret in `value` (a config or any part of one) that is not set, in config order. */
export function unresolvedSecrets(value: unknown): SecretProblem[] {
  if (value === null || typeof value !== 'object') return [];
  return Object.values(Object.getOwnPropertyDescriptors(value)).flatMap((d) => [...(deferredProblems(d) ?? ('value' in d ? unresolvedSecrets(d.value) : []))]);
}

/**
 * Refuses (ConfigError, every missing key at once) when a secret of `value` under one of `parts`
 * (key prefixes such as `destinations`, `sources.mqtt`; all when absent) is not set. Call it
 * before connecting, not before reading the store.
 */
export function requireSecrets(value: unknown, parts?: readonly string[]): void {
  const missing = unresolvedSecrets(value).filter((p) => parts === undefined || parts.some((part) => p.key === part || p.key.startsWith(`${part}.`)));
  if (missing.length) throw new ConfigError(missing);
}

/** A variable a secret key's value was read from: `NAME`, or `NAME_FILE` with the file it names. */
export interface SecretSource {
  readonly variable: string;
  readonly file?: string;
}

/** A loaded config → its secret keys' variables, for messages about their values. */
const SOURCES = new WeakMap<object, ReadonlyMap<string, readonly SecretSource[]>>();

/** Records, for {@link emptyTokenWarnings}, the variables (and files) the secret keys of `config` were read from. */
export function recordSecretSources(config: object, sources: ReadonlyMap<string, readonly SecretSource[]>): void {
  SOURCES.set(config, sources);
}

/** What to set so that a key read from `sources` holds the token: the file to write it into, else the variable. */
function whereToSet(sources: readonly SecretSource[] | undefined): string {
  const [only, ...more] = sources ?? [];
  if (only === undefined || more.length) return 'set its variable to the token';
  if (only.file !== undefined) return `the file ${only.file} that ${only.variable} names is empty: write the token into it`;
  return `${only.variable} is set to nothing: set it to the token`;
}

/**
 * Destinations whose `token` is empty (`ERP_TOKEN=` in an env file with no `ERP_TOKEN_FILE`, an empty secret file): valid,
 * for an ERP that takes no credentials, but every request then goes without any, which a 401 per
 * delivery would otherwise be the first sign of. A token not set (deferred) is not read here.
 */
export function emptyTokenWarnings(config: { readonly destinations: readonly object[] }): SecretProblem[] {
  const sources = SOURCES.get(config);
  return config.destinations.flatMap((d, i) => {
    const token = Object.getOwnPropertyDescriptor(d, 'token');
    const name = (d as { name?: string }).name ?? String(i);
    return token !== undefined && 'value' in token && token.value === ''
      ? [{ key: `destinations.${i}.token`, message: `is empty, so every request to ${name} goes without credentials: ${whereToSet(sources?.get(`destinations.${i}.token`))}, or leave token out for an ERP that takes none` }]
      : [];
  });
}
