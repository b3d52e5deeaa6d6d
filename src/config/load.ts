/**
 * Loading config: YAML → `${ENV}` interpolation (with the `ENV_FILE` variant for secrets kept in
 * files) → schema validation → frozen config. Every problem names its key, and all problems are
 * reported at once: the checks across entries ({@link crossFieldProblems}) too, on what was given,
 * when the schema refuses the config, and so are the rules section's refinements across its
 * entries ({@link rulesCrossProblems}), which the schema makes only once none of that section's
 * values is refused.
 * @module
 */
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { isMap, isScalar, LineCounter, parseDocument, visit, type Document } from 'yaml';
import type { z } from 'zod';
import { ConfigError } from '../core/errors/errors.js';
import { editDistance } from '../core/edit-distance.js';
import { normalizeIdentifier } from '../core/model/assets.js';
import type { ZoneShape } from '../core/rules/zones/geometry.js';
import { configSchema, DEFAULT_STORE_PATH, isUrlLike, type Config } from './schema.js';
import { telematicsConfigProblems } from './telematics-schema.js';
import { rulesCrossProblems, unknownFilterKey } from './rules-schema.js';
import { closest, configIssueMessage, valueAt } from './issue-messages.js';
import { lineOfKey } from './yaml-lines.js';
import { unreadableSecretFile, whyUnreadable } from './unreadable-file.js';
import { deferSecret, isSecretKey, notSetProblem, recordSecretSources, UNRESOLVED_PLACEHOLDER, unresolvedSecretMessage, withLine, type SecretProblem, type SecretSource } from './secrets.js';

type Env = Readonly<Record<string, string | undefined>>;

/** A secret that could not be resolved at load: where it is, and why. */
export interface DeferredSecret {
  readonly path: readonly string[];
  readonly problems: readonly SecretProblem[];
}

/** A secret key whose value came from variables: where it is, and their names (for messages). */
interface SecretFromEnv {
  readonly path: readonly string[];
  readonly variables: readonly string[];
  /** Each variable, with the file a `NAME_FILE` named. */
  readonly sources: readonly SecretSource[];
}

/**
 * Replace `${NAME}` in every string: from `NAME`, else from the file named by `NAME_FILE` (trailing
 * newline trimmed). An empty variable counts as not set when the other one is set (container
 * platforms and env files leave `NAME=` behind); both set and not empty is an error naming both, as
 * which one was meant cannot be told. A missing variable is an error naming the key, never an
 * empty string (`NAME=` alone is the empty string). With
 * `deferred`, one at a secret key ({@link isSecretKey}) is collected there instead and the value
 * becomes {@link UNRESOLVED_PLACEHOLDER}, for the commands that connect to refuse.
 */
export function interpolateEnv(
  value: unknown,
  env: Env,
  path: string[] = [],
  problems: { key: string; message: string }[] = [],
  deferred?: DeferredSecret[],
  /** Collects the secret keys resolved from variables, so a value the schema refuses names its variable. */
  fromEnv?: Map<string, SecretFromEnv>,
): unknown {
  if (typeof value === 'string') {
    const key = keyOf(path);
    // `token: $ERP_TOKEN`, as a shell would read it: sent as written, a 401 per delivery. The value is not echoed (a secret key's).
    if (isSecretKey(key) && SHELL_VARIABLE.test(value)) {
      problems.push({
        key,
        message:
          'the value given looks like a shell variable ($NAME), but only ${NAME}, with braces, is read from the environment: as written it would be sent as the credential itself; add the braces (for a credential that really reads so, put it in a file and write ${NAME} with NAME_FILE set to that file)',
      });
      return value;
    }
    const own: SecretProblem[] = [];
    const variables: string[] = [];
    const sources: SecretSource[] = [];
    const out = value.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_m, name: string) => {
      const direct = env[name];
      const file = env[`${name}_FILE`];
      const hasDirect = direct !== undefined && direct !== '';
      const hasFile = file !== undefined && file !== '';
      if (hasDirect && hasFile) {
        own.push({ key, message: `both ${name} and ${name}_FILE are set: set only one (${name} to the value itself, or ${name}_FILE to the path of a file holding it)` });
        return '';
      }
      if (!hasFile && direct !== undefined) {
        variables.push(name);
        sources.push({ variable: name });
        return direct;
      }
      if (hasFile) {
        try {
          const text = readFileSync(file, 'utf8').replace(/\r?\n$/, '');
          variables.push(`${name}_FILE`);
          sources.push({ variable: `${name}_FILE`, file });
          return text;
        } catch (err) {
          own.push({ key, message: unreadableSecretFile(`${name}_FILE`, file, err) });
          return '';
        }
      }
      own.push(notSetProblem(key, `environment variable ${name} is not set (set ${name} or ${name}_FILE)`));
      return '';
    });
    if (own.length === 0) {
      if (variables.length && fromEnv && isSecretKey(key)) fromEnv.set(key, { path, variables, sources });
      return out;
    }
    if (deferred && isSecretKey(key)) {
      deferred.push({ path, problems: own });
      return UNRESOLVED_PLACEHOLDER;
    }
    problems.push(...own);
    return out;
  }
  if (Array.isArray(value)) return value.map((v, i) => interpolateEnv(v, env, [...path, String(i)], problems, deferred, fromEnv));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, interpolateEnv(v, env, [...path, k], problems, deferred, fromEnv)]));
  }
  return value;
}

/** A shell-style variable reference without braces, the whole value: `$ERP_TOKEN`. */
const SHELL_VARIABLE = /^\s*\$[A-Z_][A-Z0-9_]*\s*$/;

function keyOf(path: readonly (string | number | symbol)[]): string {
  return path.map(String).join('.') || '(root)';
}

/**
 * Schema issues as problems a person can act on, each under its key: an unknown key is named in
 * full with the likely intended one, or, in a union of objects by `type`, with the type it belongs
 * to. Every other message was written when the issue was raised, by its field or by
 * {@link configIssueMessage}. `root` is the schema the issue paths start from; `input` the value
 * parsed (for the `type` given), when known.
 */
export function formatIssues(issues: readonly z.core.$ZodIssue[], root: z.core.$ZodType = configSchema, input?: unknown): { key: string; message: string }[] {
  return issues.flatMap((i) => {
    if (i.code === 'unrecognized_keys') {
      const objects = objectSchemasAt(root, i.path);
      const kinds = kindsOf(objects, input === undefined ? undefined : valueAt(input, i.path));
      const known = objects.length ? keysOf(kinds?.chosen ?? objects) : undefined;
      return i.keys.map((k) => {
        const key = keyOf([...i.path, k]);
        // A key of another branch of a union by `type` (`tokenUrl` with `auth: {type: bearer}`): say whose it is, never "did you mean" the key itself.
        // Without the value's type (not given, or none of them), every branch is a candidate.
        const owners = kinds ? kinds.branches.filter((b) => !kinds.chosen?.includes(b.schema) && Object.hasOwn(shapeOf(b.schema), k)) : [];
        if (kinds && owners.length) {
          // One letter off a key of the type given (`scope` with trackunit-token-v2, which takes `scopes`): most likely that one was meant.
          const near = kinds.chosen ? known?.find((c) => editDistance(c.toLowerCase(), k.toLowerCase()) === 1) : undefined;
          const whose = belongsTo(k, i.path, kinds, owners);
          return { key, message: near ? whose.replace(/^unknown key: /, `unknown key: did you mean ${near}? `) : whose };
        }
        const planned = notBuiltYet(i.path, k);
        if (planned) return { key, message: `unknown key: ${planned}: remove ${key}` };
        const like = known && closest(k, known);
        // `appliesTo: { site: BER }`: an asset attribute named where the filter's own keys go.
        if (!like && i.path.at(-1) === 'appliesTo') return { key, message: unknownFilterKey(k, input === undefined ? undefined : valueAt(input, [...i.path, k])) };
        return { key, message: `unknown key${like ? `: did you mean ${like}?` : known ? `; known here: ${known.join(', ')}` : ''}` };
      });
    }
    return [{ key: keyOf(i.path), message: i.message }];
  });
}

const SCALED_STORE_KEYS = new Set(['url', 'uri', 'type', 'driver', 'kind', 'engine', 'postgres', 'postgresql', 'pg', 'connectionstring', 'dsn', 'host', 'port', 'database', 'user', 'username', 'password']);
const SCALED_ROOT_KEYS = new Set(['postgres', 'postgresql', 'database', 'scaled', 'cluster']);
const AMQP_SOURCE_KEYS = new Set(['rabbitmq', 'rabbit', 'amqp']);

/**
 * What an unknown key asks for that this version does not have, from the scaled mode the docs
 * describe as not built yet (a PostgreSQL store, a RabbitMQ source); undefined for any other key.
 */
function notBuiltYet(path: readonly PropertyKey[], k: string): string | undefined {
  const at = path.map(String).join('.');
  const key = k.toLowerCase();
  const store = 'a PostgreSQL store (the scaled mode) is not built in this version; the store is the SQLite file at store.path, one service per store';
  if (at === 'store' && SCALED_STORE_KEYS.has(key)) return store;
  if (at === '' && SCALED_ROOT_KEYS.has(key)) return store;
  if ((at === 'sources' || at === '') && AMQP_SOURCE_KEYS.has(key))
    return 'RabbitMQ (AMQP) is not a source in this version; the sources are sources.mqtt, sources.http and telematics (a RabbitMQ broker with its MQTT plugin can be read as a sources.mqtt entry)';
  return undefined;
}

/** The branches of a union of objects told apart by a literal key (`type`), and the one(s) the value given picks. */
interface Kinds {
  readonly discriminator: string;
  readonly branches: readonly { readonly schema: z.core.$ZodType; readonly values: readonly unknown[] }[];
  /** The value's discriminator, when the config gives one. */
  readonly given?: unknown;
  /** The branches whose discriminator is the value's; undefined when it picks none (or there is no value). */
  readonly chosen?: readonly z.core.$ZodType[];
}

function kindsOf(objects: readonly z.core.$ZodType[], value: unknown): Kinds | undefined {
  if (objects.length < 2) return undefined;
  const literals = (s: z.core.$ZodType, key: string): unknown[] | undefined => {
    const field = shapeOf(s)[key];
    const def = field === undefined ? undefined : (unwrapField(field)._zod.def as unknown as { type: string; values?: unknown[] });
    return def?.type === 'literal' ? def.values : undefined;
  };
  const discriminator = Object.keys(shapeOf(objects[0] as z.core.$ZodType)).find((key) => objects.every((o) => literals(o, key) !== undefined));
  if (discriminator === undefined) return undefined;
  const branches = objects.map((schema) => ({ schema, values: literals(schema, discriminator) as unknown[] }));
  const given = isDoc(value) ? value[discriminator] : undefined;
  const chosen = given === undefined ? [] : branches.filter((b) => b.values.includes(given)).map((b) => b.schema);
  return { discriminator, branches, ...(given !== undefined ? { given } : {}), ...(chosen.length ? { chosen } : {}) };
}

/** `tokenUrl belongs to auth.type oauth2-client-credentials, not bearer: …`. */
function belongsTo(k: string, path: readonly PropertyKey[], kinds: Kinds, owners: Kinds['branches']): string {
  const parent = path.at(-1);
  const label = typeof parent === 'string' && !/^\d+$/.test(parent) ? `${parent}.${kinds.discriminator}` : kinds.discriminator;
  const text = (v: unknown): string => (typeof v === 'string' ? v : JSON.stringify(v));
  const types = owners.flatMap((b) => b.values.map(text));
  const given = kinds.given === undefined ? '' : `, not ${text(kinds.given)}`;
  const list = types.length > 1 ? `${types.slice(0, -1).join(', ')} or ${types.at(-1) ?? ''}` : (types[0] ?? '');
  const set = types.length > 1 ? `${kinds.discriminator} to one of those` : `${kinds.discriminator}: ${list}`;
  return `unknown key: ${k} belongs to ${label} ${list}${given}; remove it, or set ${set} (with that type's keys)`;
}

function shapeOf(s: z.core.$ZodType): Record<string, z.core.$ZodType> {
  return (s._zod.def as unknown as { shape?: Record<string, z.core.$ZodType> }).shape ?? {};
}

function unwrapField(s: z.core.$ZodType): z.core.$ZodType {
  const def = s._zod.def as unknown as Record<string, unknown> & { type: string };
  return def.type === 'optional' || def.type === 'default' || def.type === 'nullable' || def.type === 'prefault' ? unwrapField(def.innerType as z.core.$ZodType) : s;
}

function keysOf(objects: readonly z.core.$ZodType[]): string[] {
  return [...new Set(objects.flatMap((s) => Object.keys(shapeOf(s))))].sort();
}

/** The object schemas at `path` (through optional, default, pipe, array and union wrappers); several for a union. */
function objectSchemasAt(schema: z.core.$ZodType, path: readonly PropertyKey[]): z.core.$ZodType[] {
  let candidates: z.core.$ZodType[] = [schema];
  const unwrap = (s: z.core.$ZodType): z.core.$ZodType[] => {
    const def = s._zod.def as unknown as Record<string, unknown> & { type: string };
    if (def.type === 'optional' || def.type === 'default' || def.type === 'nullable' || def.type === 'prefault') return unwrap(def.innerType as z.core.$ZodType);
    if (def.type === 'pipe') return unwrap(def.in as z.core.$ZodType);
    if (def.type === 'union') return (def.options as z.core.$ZodType[]).flatMap(unwrap);
    return [s];
  };
  for (const p of [...path, undefined]) {
    candidates = candidates.flatMap(unwrap);
    if (p === undefined) break;
    candidates = candidates.flatMap((s) => {
      const def = s._zod.def as unknown as Record<string, unknown> & { type: string };
      if (def.type === 'object' && typeof p === 'string') {
        const next = (def.shape as Record<string, z.core.$ZodType>)[p];
        return next ? [next] : [];
      }
      if (def.type === 'array') return [def.element as z.core.$ZodType];
      if (def.type === 'record') return [def.valueType as z.core.$ZodType];
      return [];
    });
  }
  return candidates.filter((s) => (s._zod.def as { type: string }).type === 'object');
}

type Doc = Record<string, unknown>;
const isDoc = (v: unknown): v is Doc => v !== null && typeof v === 'object' && !Array.isArray(v);

/**
 * Resolves the file paths a config file names against its directory, so a config means the same
 * files whichever directory a command runs in (the service and `assetbridge status -c /srv/ab/…`
 * open the same store): `store.path` (and its default), `assets.files`, `rules.zones.files`, `capture.dir` and
 * the MQTT sources' `caFile`, `certFile`, `keyFile`. Absolute paths stay as they are; anything of
 * the wrong type is left for the schema to report. Runs after `${ENV}` interpolation.
 */
export function resolveConfigPaths(input: unknown, baseDir: string): unknown {
  if (!isDoc(input)) return input;
  const doc = structuredClone(input);
  // A URL is left as given, for the schema to refuse as such (not a file named `postgres:/…` beside the config).
  const at = (p: unknown): unknown => (typeof p === 'string' && p !== '' && p !== ':memory:' && !isUrlLike(p) && !isAbsolute(p) ? resolve(baseDir, p) : p);
  const resolveKey = (obj: unknown, key: string): void => {
    if (!isDoc(obj) || !(key in obj)) return;
    const p = obj[key];
    obj[key] = Array.isArray(p) ? p.map(at) : at(p);
  };
  doc.store ??= {};
  if (isDoc(doc.store)) {
    doc.store.path ??= DEFAULT_STORE_PATH;
    resolveKey(doc.store, 'path');
  }
  resolveKey(doc.assets, 'files');
  resolveKey(doc.capture, 'dir');
  // A zones file is a path, or `{path, properties}`.
  if (isDoc(doc.rules) && isDoc(doc.rules.zones) && Array.isArray(doc.rules.zones.files))
    doc.rules.zones.files = doc.rules.zones.files.map((f: unknown) => (isDoc(f) && 'path' in f ? { ...f, path: at(f.path) } : at(f)));
  if (isDoc(doc.sources) && Array.isArray(doc.sources.mqtt)) for (const s of doc.sources.mqtt) for (const k of ['caFile', 'certFile', 'keyFile']) resolveKey(s, k);
  return doc;
}

/**
 * The config without its top-level `x-` keys: a place for YAML anchors that the entries merge in
 * (`x-erp: &erp {…}`, then `<<: *erp`), as Docker Compose has it; they configure nothing themselves.
 */
function withoutExtensions(input: unknown): unknown {
  return isDoc(input) ? Object.fromEntries(Object.entries(input).filter(([k]) => !k.startsWith('x-'))) : input;
}

/** How {@link compileConfig} treats a secret it cannot resolve. */
export interface CompileOptions {
  /**
   * Load without it: the secret throws when read, and the commands that connect refuse to start
   * ({@link requireSecrets}). Without this, it is refused here with every other problem. With it,
   * a config refused for other problems says it among them (what to set, which commands need it).
   */
  readonly deferSecrets?: boolean;
  /**
   * The config-file line each key is written on ({@link loadConfigFile} gives it): a deferred
   * secret's problem carries it, so the command that refuses to start without the secret names
   * the line as a load problem does.
   */
  readonly lineOf?: (key: string) => number | undefined;
}

/**
 * Validate an already-parsed config object. Cross-field rules are checked here too. With
 * `baseDir` (the config file's directory), relative file paths are resolved against it
 * ({@link resolveConfigPaths}); without, against the working directory.
 */
export function compileConfig(input: unknown, env: Env = process.env, baseDir?: string, options: CompileOptions = {}): Config {
  const problems: { key: string; message: string }[] = [];
  const deferred: DeferredSecret[] | undefined = options.deferSecrets ? [] : undefined;
  const fromEnv = new Map<string, SecretFromEnv>();
  const interpolated = interpolateEnv(withoutExtensions(input ?? {}), env, [], problems, deferred, fromEnv);
  // A missing secret is reported with everything else (all at once), but not again as the empty
  // value the schema would then refuse at the same key.
  const unset = new Set(problems.map((p) => p.key));
  const parse = () => configSchema.safeParse(baseDir === undefined ? interpolated : resolveConfigPaths(interpolated, baseDir), { error: configIssueMessage(input) });
  let parsed = parse();
  if (!parsed.success) {
    // A secret variable's value the schema refuses (too short, say): the message names the variable,
    // and when deferring it loads like a secret that is not set, for the parts that connect to refuse.
    const naming = (issues: readonly z.core.$ZodIssue[]) =>
      formatIssues(issues, configSchema, interpolated).map((i) => {
        const source = fromEnv.get(i.key);
        return source ? { ...i, message: `${i.message} (the value of ${source.variables.join(', ')})` } : i;
      });
    const issues = naming(parsed.error.issues);
    if (deferred && issues.every((i) => fromEnv.has(i.key))) {
      for (const key of new Set(issues.map((i) => i.key))) {
        const path = (fromEnv.get(key) as SecretFromEnv).path;
        const parent = valueAt(interpolated, path.slice(0, -1));
        if (isDoc(parent)) parent[path[path.length - 1] as string] = UNRESOLVED_PLACEHOLDER;
        deferred.push({ path, problems: issues.filter((i) => i.key === key) });
      }
      parsed = parse();
    }
    if (!parsed.success) {
      // A variable under a key the schema does not know (`oauth2: {clientSecret: ${SEC}}`) is moot: only the unknown key is said.
      const unknown = parsed.error.issues.flatMap((i) => (i.code === 'unrecognized_keys' ? i.keys.map((k) => keyOf([...i.path, k])) : []));
      const under = (key: string) => unknown.some((u) => key === u || key.startsWith(`${u}.`));
      const schemaProblems = naming(parsed.error.issues).filter((i) => !unset.has(i.key));
      // The checks across entries, on what is there to check (a name used twice beside a misspelled key), but not again at a key already at fault.
      const faulty = new Set([...problems, ...schemaProblems].map((p) => p.key));
      // And the rules section's own checks across entries, which the schema skips while any value of that section is refused.
      const sections = rulesCrossProblems(fieldOf(interpolated, 'rules')).map((p) => ({ key: keyOf(['rules', ...p.path]), message: p.message }));
      const across = [...crossFieldProblems(interpolated), ...sections].filter((p) => !faulty.has(p.key) && !under(p.key));
      // The secrets not resolved here (a variable not set, a NAME_FILE that cannot be read), which
      // load deferred: said with the rest, as a valid config's check says them, or they would be
      // news only once the schema's problems are fixed. Named by key and variable, never by value.
      // Apart from the problems, after them: they are not why the config is refused (said so, not
      // read as its cause), unless nothing else is said.
      const secrets = (deferred ?? []).flatMap((d) => d.problems).filter((p) => !under(p.key)).map((p) => ({ key: p.key, message: unresolvedSecretMessage(p) }));
      const refused = [...problems.filter((p) => !under(p.key)), ...schemaProblems, ...across];
      throw refused.length === 0 ? new ConfigError(secrets) : new ConfigError(refused, { unresolvedSecrets: secrets });
    }
  }
  const config = parsed.data;
  problems.push(...crossFieldProblems(config));
  // A placeholder the schema moved elsewhere would be sent as a credential: refused instead.
  const lineOf = options.lineOf;
  for (const d of deferred ?? []) {
    const located = lineOf ? { ...d, problems: d.problems.map((p) => withLine(p, lineOf(p.key))) } : d;
    if (!deferAt(config, located)) problems.push(...located.problems);
  }
  if (problems.length) throw new ConfigError(problems);
  for (const zone of config.rules.zones?.zones ?? []) freezeShape(zone.shape);
  recordSecretSources(config, new Map([...fromEnv].map(([key, f]) => [key, f.sources])));
  return deepFreeze(config);
}

/** A list's items, or none when `value` is not a list. */
const itemsOf = (value: unknown): unknown[] => (Array.isArray(value) ? value : []);
/** `value[key]` when `value` is a mapping. */
const fieldOf = (value: unknown, key: string): unknown => (isDoc(value) ? value[key] : undefined);

/**
 * The checks across entries: a destination, MQTT source or telematics provider name used twice, a
 * destination named that is not configured, an asset listed twice inline, an identifier given to two
 * inline assets, two MQTT sources taking one session, a telematics schedule's unknown time zone. On the parsed config, or, when the schema
 * refused it, on what was given, so they are reported with the schema's problems: an entry whose
 * keys they read are not of the kind they take is passed over (and "no destination named" is said
 * only when every destination has a name).
 */
function crossFieldProblems(config: unknown): { key: string; message: string }[] {
  const problems: { key: string; message: string }[] = [];
  /** destination name → the first entry that has it. */
  const names = new Map<string, number>();
  const destinations = itemsOf(fieldOf(config, 'destinations'));
  destinations.forEach((d, i) => {
    const name = fieldOf(d, 'name');
    if (typeof name !== 'string') return;
    const first = names.get(name);
    if (first === undefined) names.set(name, i);
    else
      problems.push({
        key: `destinations.${i}.name`,
        message: `duplicate destination name "${name}" (destinations.${first} has it too): give each destination its own name; the outbox keys its deliveries and dead letters by it, and defaultDestination and an asset's destination pick it by it`,
      });
  });
  const allNamed = destinations.every((d) => typeof fieldOf(d, 'name') === 'string');
  const defaultDestination = fieldOf(config, 'defaultDestination');
  if (allNamed && typeof defaultDestination === 'string' && !names.has(defaultDestination))
    problems.push({ key: 'defaultDestination', message: `no destination named "${defaultDestination}"; configured: ${[...names.keys()].join(', ')}` });
  /** erpAssetId → the first inline entry listing it. */
  const inlineAssets = new Map<string, number>();
  /** `type value` (as identity matches it) → the asset and the key of the first inline identifier that is it. */
  const inlineIdentifiers = new Map<string, { erpAssetId: string; key: string }>();
  itemsOf(fieldOf(fieldOf(config, 'assets'), 'inline')).forEach((a, i) => {
    const named = fieldOf(a, 'destination');
    // Read without spaces at either end, as the schema reads it.
    const destination = typeof named === 'string' ? named.trim() : undefined;
    if (allNamed && destination !== undefined && !names.has(destination))
      problems.push({ key: `assets.inline.${i}.destination`, message: `no destination named "${destination}"; configured: ${[...names.keys()].join(', ')}` });
    const given = fieldOf(a, 'erpAssetId');
    const erpAssetId = typeof given === 'string' ? given.trim() : '';
    if (erpAssetId === '') return;
    // Events naming it would go to whichever asset was applied last (the service's start refuses it, but only once the schema takes the config).
    itemsOf(fieldOf(a, 'identifiers')).forEach((id, j) => {
      const type = fieldOf(id, 'type');
      const value = fieldOf(id, 'value');
      if (typeof type !== 'string' || typeof value !== 'string' || value.trim() === '') return;
      const key = `assets.inline.${i}.identifiers.${j}`;
      const ident = `${type}\u001f${normalizeIdentifier(value)}`;
      const first = inlineIdentifiers.get(ident);
      if (first === undefined) inlineIdentifiers.set(ident, { erpAssetId, key });
      else if (first.erpAssetId !== erpAssetId)
        problems.push({ key, message: `${type} "${value.trim()}" is given to asset ${erpAssetId} here but to ${first.erpAssetId} in ${first.key}; an identifier can name only one asset: remove it from the one it does not name` });
    });
    // Applied one after the other, the later entry's module, destination and attributes replaced the earlier's, silently.
    const first = inlineAssets.get(erpAssetId);
    if (first === undefined) inlineAssets.set(erpAssetId, i);
    else
      problems.push({
        key: `assets.inline.${i}.erpAssetId`,
        message: `asset "${erpAssetId}" is listed by assets.inline.${first} too: list each asset once, with all its identifiers and attributes (as two entries, the module, destination and attributes of the later one would replace those of the earlier one)`,
      });
  });
  /** MQTT source name → the first entry that has it. */
  const sourceNames = new Map<string, number>();
  /** `host:port client id` → the source index that uses it: a broker lets one connection hold a client id. */
  const sessions = new Map<string, number>();
  itemsOf(fieldOf(fieldOf(config, 'sources'), 'mqtt')).forEach((s, i) => {
    const name = fieldOf(s, 'name');
    if (typeof name !== 'string') return;
    const firstNamed = sourceNames.get(name);
    if (firstNamed !== undefined) {
      problems.push({
        key: `sources.mqtt.${i}.name`,
        message: `duplicate source name "${name}" (sources.mqtt.${firstNamed} has it too): give each source its own name; it keys the topic mappings its messages are decoded by, and names them (source "mqtt:${name}") in quarantine, status and metrics`,
      });
      return;
    }
    sourceNames.set(name, i);
    const url = fieldOf(s, 'url');
    const clientId = fieldOf(s, 'clientId') ?? 'assetbridge';
    if (typeof url !== 'string' || !URL.canParse(url) || typeof clientId !== 'string' || clientId === '') return;
    const broker = brokerAddress(url);
    const first = sessions.get(`${broker} ${clientId}`);
    if (first === undefined) sessions.set(`${broker} ${clientId}`, i);
    else
      problems.push({
        key: `sources.mqtt.${i}.clientId`,
        message: `client id "${clientId}"${clientId === 'assetbridge' ? ' (the default)' : ''} is also used by sources.mqtt.${first} on the same broker ${broker}: the broker takes the session from one connection for the other, over and over; give each source its own clientId`,
      });
  });
  // One check for both: on the parsed entries, or on what was given.
  problems.push(...telematicsConfigProblems(itemsOf(fieldOf(config, 'telematics'))));
  return problems;
}

/**
 * Freezes a zone's shape down to its rings, not each [lng, lat] position: a large zones file has
 * a million positions, and walking them was most of every command's start (4 s of 5 at 22,500
 * zones). No position can be added, removed or replaced; the positions themselves are read-only
 * by their type. deepFreeze skips what is frozen already, so it stops here.
 */
function freezeShape(shape: ZoneShape): void {
  if (shape.type !== 'polygon') return;
  for (const polygon of shape.polygons) {
    for (const ring of polygon) Object.freeze(ring);
    Object.freeze(polygon);
  }
}

/** Replaces the placeholder a deferred secret left with a property that throws when read; false when it is not there. */
function deferAt(config: Config, { path, problems }: DeferredSecret): boolean {
  const parent = valueAt(config, path.slice(0, -1));
  const prop = path[path.length - 1];
  if (!isDoc(parent) || prop === undefined || parent[prop] !== UNRESOLVED_PLACEHOLDER) return false;
  deferSecret(parent, prop, problems);
  return true;
}

/**
 * The parser's warnings that refuse a config: a tag it does not resolve (`!env ERP_TOKEN`, read as
 * the plain text after it) or a known tag on the wrong kind of node (`!!set [a, b]`, read as if
 * untagged). Its other warnings (an unknown `%` directive, `%YAML 1.3`, an anchor name ending in
 * `:`) leave the document read as written, so a valid config is not refused for them.
 */
const REFUSED_YAML_WARNINGS: ReadonlySet<string> = new Set(['TAG_RESOLVE_FAILED', 'BAD_COLLECTION_TYPE']);

/**
 * A config file's text as YAML, with merge keys (`<<: *defaults`): YAML 1.2 dropped them, so the
 * parser would otherwise keep `<<` as a key of its own and every key it was meant to bring in
 * would be reported missing. Throws the parser's first error, or else its first warning about a
 * tag ({@link REFUSED_YAML_WARNINGS}).
 */
export function parseConfigYaml(text: string): unknown {
  return parseConfigDocument(text).value;
}

function parseConfigDocument(text: string): { value: unknown; lineOf: (key: string) => number | undefined } {
  const lines = new LineCounter();
  const doc = parseDocument(text, { merge: true, lineCounter: lines });
  // A tag warning too (an unknown tag such as `!env ERP_TOKEN`, whose text would be taken as the value): refused, not passed over.
  const [error] = [...doc.errors, ...doc.warnings.filter((w) => REFUSED_YAML_WARNINGS.has(w.code))];
  if (error) throw error;
  keysAsWritten(doc);
  return { value: doc.toJS(), lineOf: (key) => lineOfKey(doc, lines, key) };
}

/**
 * Mapping keys are names (a site, an attribute, an ERP status), so a plain key YAML reads as a
 * number keeps the text it was written with: `0001:` under `windows.sites` is the SAP plant
 * `0001`, not `1` (whose windows no asset at plant 0001 would get: it fell back to the default
 * calendar without a word). A number written as JavaScript prints it (`1000:`) reads as before.
 */
function keysAsWritten(doc: Document): void {
  visit(doc, {
    Map(_, map) {
      if (!isMap(map)) return;
      for (const pair of map.items) {
        const key = pair.key;
        if (isScalar(key) && typeof key.value === 'number' && typeof key.source === 'string' && key.source !== String(key.value)) key.value = key.source;
      }
    },
  });
}

/**
 * Why a line the parser stopped at may not parse: a `${NAME}` reference written bare inside a flow
 * mapping or list (`{ token: ${ERP_TOKEN} }`), where `{` and `}` are YAML's own; quoted it reads.
 */
function unquotedReferenceHint(text: string, err: unknown): string {
  const line = (err as { linePos?: readonly { line: number }[] }).linePos?.[0]?.line;
  const written = line === undefined ? undefined : text.split(/\r?\n/)[line - 1];
  const bare = written === undefined ? null : /(?:^|[\s,:[{])(\$\{[A-Za-z_][A-Za-z0-9_]*\})/.exec(written);
  if (!bare || !/[{[]/.test(written ?? '')) return '';
  return `\nA \${NAME} reference inside { … } or [ … ] must be quoted: write "${bare[1] ?? ''}"`;
}

/** A line of the file that writes a credential (or a mapping of them) in place: `token: …`, `headers: { X-Api-Key: … }`. */
const CREDENTIAL_LINE = /\b(token|password|passwd|secret|clientsecret|previoussecret|clientid|username|api[-_]?key|authorization|headers|auth|webhook)\b["']?\s*:/i;

/** The password of a `scheme://user:password@` URL on a line (it may hold a `@` itself). */
const USERINFO_PASSWORD = /\b([a-z][a-z0-9+.-]*:\/\/[^\s/?#@:]*):[^\s/?#]*@/gi;

/**
 * The parser's message without the values of credentials it quotes: it shows the lines around the
 * mistake, and one may write a secret in place (`token: "s3cr3t` without its closing quote). The
 * line keeps its key, the value is replaced by `…` (and the caret, which pointed into it, dropped).
 */
function withoutQuotedCredentials(message: string): string {
  const [first = '', ...context] = message.split('\n');
  let masked = false;
  const shown = context.map((line) => {
    const m = CREDENTIAL_LINE.exec(line);
    if (!m) {
      // A URL's password (`url: mqtt://user:password@broker`), to the last `@` as a URL parser reads it.
      const hidden = line.replace(USERINFO_PASSWORD, '$1:…@');
      if (hidden !== line) masked = true;
      return hidden;
    }
    masked = true;
    return `${line.slice(0, m.index + m[0].length)} … (not shown: it may hold a secret)`;
  });
  return [first, ...(masked ? shown.filter((line) => !/^\s*\^+\s*$/.test(line)) : shown)].join('\n');
}

/** Where each key of a config loaded by {@link loadConfigFile} is written in its file. */
const KEY_LINES = new WeakMap<object, (key: string) => number | undefined>();

/**
 * `problems` found after `config` was loaded (an asset CSV's rows, a feed's address) with the
 * config-file line of each one's key, as a problem found at load says it: `assets.files.0 (line 14)`.
 * A problem with a line, or a config not loaded from a file, is left as it is.
 */
export function withConfigLines<P extends { readonly key: string; readonly line?: number }>(config: object, problems: readonly P[]): P[] {
  const lineOf = KEY_LINES.get(config);
  return problems.map((p) => {
    const line = p.line === undefined && lineOf ? lineOf(p.key) : undefined;
    return line === undefined ? p : { ...p, line };
  });
}

/**
 * A config file read and parsed as YAML, not yet validated: refused as {@link loadConfigFile}
 * refuses it (a file that cannot be read, YAML that is not valid, with a line that may hold a
 * credential not shown), for commands that read a part of a config whose whole may not validate
 * (`zones check -c`, reading `rules.zones.properties` beside the zones file being checked).
 */
export function readConfigYaml(file: string): unknown {
  return readConfigDocument(file).value;
}

function readConfigDocument(file: string): ReturnType<typeof parseConfigDocument> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError([{ key: '(file)', message: `cannot read ${file} (${whyUnreadable(err)})` }]);
  }
  try {
    return parseConfigDocument(text);
  } catch (err) {
    // The parser's advice for several documents names its own API; say what to do with the file.
    if ((err as { code?: unknown }).code === 'MULTIPLE_DOCS') {
      const line = (err as { linePos?: readonly { line: number }[] }).linePos?.[0]?.line;
      throw new ConfigError([{ key: '(yaml)', message: `${file} holds more than one YAML document (a --- line${line === undefined ? '' : ` at line ${line}`} starts another): a config is one document; remove that line, joining the keys into one mapping` }]);
    }
    const tag = REFUSED_YAML_WARNINGS.has(String((err as { code?: unknown }).code)) ? '\nassetbridge reads no YAML tags: remove it (for an environment variable write "${NAME}")' : '';
    throw new ConfigError([{ key: '(yaml)', message: `${file} is not valid YAML: ${withoutQuotedCredentials((err as Error).message)}${unquotedReferenceHint(text, err)}${tag}` }]);
  }
}

export function loadConfigFile(file: string, env: Env = process.env, options: CompileOptions = {}): Config {
  const parsed = readConfigDocument(file);
  const doc = parsed.value;
  // Empty, or comments only: not "destinations is missing" as if the file had been read as meant.
  if (doc === null || doc === undefined)
    throw new ConfigError([{ key: '(file)', message: `${file} is empty (or holds only comments): a config needs at least destinations; start from examples/assetbridge.yaml (docs/configuration.md is the reference)` }]);
  try {
    const config = compileConfig(doc, env, dirname(resolve(file)), { ...options, lineOf: parsed.lineOf });
    KEY_LINES.set(config, parsed.lineOf);
    return config;
  } catch (err) {
    // Each problem with the line its key is written on (or its nearest written parent's).
    if (!(err instanceof ConfigError)) throw err;
    const located = <P extends { readonly key: string; readonly line?: number }>(p: P): P => {
      const line = p.line ?? parsed.lineOf(p.key);
      return line === undefined ? p : { ...p, line };
    };
    throw new ConfigError(err.problems.map(located), { cause: err, unresolvedSecrets: err.unresolvedSecrets.map(located) });
  }
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    // Through descriptors: reading a deferred secret's value would throw.
    for (const d of Object.values(Object.getOwnPropertyDescriptors(value))) if ('value' in d) deepFreeze(d.value);
  }
  return value;
}

/** An MQTT URL's broker as `host:port`, the scheme's default port filled in. */
function brokerAddress(url: string): string {
  const u = new URL(url);
  const port = u.port !== '' ? u.port : ({ 'mqtt:': '1883', 'mqtts:': '8883', 'ws:': '80', 'wss:': '443' } as Record<string, string>)[u.protocol] ?? '';
  return `${u.hostname.toLowerCase()}:${port}`;
}
