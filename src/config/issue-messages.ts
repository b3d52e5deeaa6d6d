/**
 * Words for the config schema's issues that no field wrote its own message for: every one echoes
 * the value given (not a secret's), says what the key allows and so what to write instead, in the
 * style of the hand-written ones (`"ful" is not allowed here: use full or normal (did you mean
 * full?)`), never the library's default (`Invalid option: expected one of "full"|"normal"`). The
 * key itself is named by whoever prints the problem (`key: message`).
 * @module
 */
import type { z } from 'zod';
import { editDistance } from '../core/edit-distance.js';
import { isSecretKey } from './secrets.js';

type RawIssue = z.core.$ZodRawIssue;
type Path = readonly PropertyKey[];

/** Keys whose values are not echoed: they hold credentials. */
const SECRET_KEY = /(password|secret|token|apikey)$/i;
/**
 * The mappings of credentials: a value given in their place (text, a number) is most likely one
 * (`webhook: ${ERP_WEBHOOK_SECRET}`, `http: ${INTAKE_TOKEN}`).
 */
const SECRET_MAPPING = /^((destinations|telematics)\.\d+\.(auth|headers)|destinations\.\d+\.webhook|sources\.http)$/;

/**
 * A value as a message quotes it: text in quotes, anything long cut short, a secret not at all (a
 * key named like one, or one of the config's credential keys: any request header of a destination
 * or telematics feed, a telematics username or client id, see secrets.ts; or text given in place of
 * their `auth`, `headers` or `webhook` mapping, or of `sources.http`).
 */
export function echo(input: unknown, path: Path = []): string {
  const key = path.map(String).join('.');
  if (SECRET_KEY.test(String(path.at(-1) ?? '')) || isSecretKey(key) || SECRET_MAPPING.test(key)) return 'the value given';
  const text = input === undefined ? 'nothing' : typeof input === 'number' ? String(input) : typeof input === 'string' ? JSON.stringify(input) : (JSON.stringify(input) ?? typeof input);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/**
 * A field's own message with the value given in front, as the messages of this map have it (a
 * secret's is not echoed): `z.string().regex(re, { error: echoed('is not a name: use ...') })`.
 */
export function echoed(message: string): (iss: RawIssue) => string {
  return (iss) => `${echo(iss.input, iss.path ?? [])} ${message}`;
}

/** What kind of value was given, as a sentence: `"abc" is text`, `a list was given`. */
function given(input: unknown, path: Path): string {
  if (input === null) return 'the value is empty (null)';
  if (Array.isArray(input)) return 'a list was given';
  if (typeof input === 'object') return 'a mapping was given';
  const kind = typeof input === 'string' ? 'text' : typeof input === 'number' ? 'a number' : typeof input === 'boolean' ? 'a boolean' : typeof input;
  return `${echo(input, path)} is ${kind}`;
}

interface NumberBounds {
  readonly int: boolean;
  readonly min?: { value: number; inclusive: boolean };
  readonly max?: { value: number; inclusive: boolean };
}

/** The bounds a number schema checks (read from its checks: its `bag` is filled lazily). */
function numberBounds(schema: unknown): NumberBounds {
  const checks = ((schema as { _zod?: { def?: { checks?: { _zod: { def: Record<string, unknown> } }[] } } } | undefined)?._zod?.def?.checks ?? []).map((c) => c._zod.def);
  let bounds: NumberBounds = { int: false };
  for (const c of checks) {
    if (c.check === 'number_format' && (c.format === 'safeint' || c.format === 'int32' || c.format === 'uint32')) bounds = { ...bounds, int: true };
    if (c.check === 'greater_than' && typeof c.value === 'number') bounds = { ...bounds, min: { value: c.value, inclusive: c.inclusive === true } };
    if (c.check === 'less_than' && typeof c.value === 'number') bounds = { ...bounds, max: { value: c.value, inclusive: c.inclusive === true } };
  }
  return bounds;
}

/** `a whole number from 0 to 65535`, `a number above 0 and at most 4096`, `a whole number of at least 1`. */
function numberNoun(b: NumberBounds): string {
  const noun = b.int ? 'a whole number' : 'a number';
  const { min, max } = b;
  if (min?.inclusive && max?.inclusive) return `${noun} from ${min.value} to ${max.value}`;
  const low = min && (min.inclusive ? `at least ${min.value}` : `above ${min.value}`);
  const high = max && (max.inclusive ? `at most ${max.value}` : `below ${max.value}`);
  if (low && high) return `${noun} ${low} and ${high}`;
  const one = low ?? high;
  return one ? `${noun} ${one.startsWith('at ') ? 'of ' : ''}${one}` : noun;
}

/** What a key of the expected type takes, as the object of "use ...". */
function wanted(expected: string, schema: unknown, input: unknown): string {
  switch (expected) {
    case 'number':
    case 'int':
      return numberNoun(numberBounds(schema));
    case 'boolean':
      return 'true or false';
    case 'string':
      return typeof input === 'number' || typeof input === 'boolean' ? 'text (put it in quotes)' : 'text';
    case 'object':
    case 'record':
      return 'a mapping (key: value)';
    case 'array':
      return 'a list (one "- " item per line, or [a, b])';
    default:
      return expected;
  }
}

/** One of a fixed set of values: the set, and the one likely meant. */
function choice(options: readonly unknown[], input: unknown, path: Path): string {
  const allowed = options.map(String);
  const list = allowed.length <= 2 ? allowed.join(' or ') : `one of ${allowed.join(', ')}`;
  const like = typeof input === 'string' ? closest(input, allowed) : undefined;
  return `${echo(input, path)} is not allowed here: use ${list}${like ? ` (did you mean ${like}?)` : ''}`;
}

/** A union's branches that want a value of another type: `text or a mapping (key: value)`. */
function alternatives(errors: readonly (readonly z.core.$ZodIssue[])[], input: unknown): string | undefined {
  const nouns: string[] = [];
  for (const branch of errors) {
    const first = branch[0];
    if (branch.length !== 1 || first?.code !== 'invalid_type' || first.path.length !== 0) return undefined;
    nouns.push(wanted(first.expected, undefined, input));
  }
  const unique = [...new Set(nouns)];
  return unique.length ? (unique.length > 2 ? `${unique.slice(0, -1).join(', ')} or ${unique.at(-1) ?? ''}` : unique.join(' or ')) : undefined;
}

function sizeMessage(iss: RawIssue & { code: 'too_small' | 'too_big' }, path: Path): string {
  const small = iss.code === 'too_small';
  const bound = Number(small ? iss.minimum : iss.maximum);
  const { input } = iss;
  if (iss.origin === 'array' || iss.origin === 'set') {
    const n = Array.isArray(input) ? input.length : 0;
    const items = (k: number) => `${k} item${k === 1 ? '' : 's'}`;
    return `${n === 0 ? 'the list is empty' : `the list has ${items(n)}`}: give ${small ? 'at least' : 'at most'} ${items(bound)}`;
  }
  if (iss.origin === 'string') {
    const chars = `${bound} character${bound === 1 ? '' : 's'}`;
    if (input === '') return `the value is empty: give at least ${chars}`;
    return `${echo(input, path)} is too ${small ? 'short' : 'long'}: use ${small ? 'at least' : 'at most'} ${chars}`;
  }
  const schema = (iss as { schema?: unknown }).schema ?? iss.inst;
  const bounds = numberBounds(schema);
  // Without the schema's own bounds, the one this issue names.
  const known = bounds.min ?? bounds.max ? bounds : { int: false, [small ? 'min' : 'max']: { value: bound, inclusive: iss.inclusive !== false } };
  return `${echo(input, path)} is too ${small ? 'small' : 'large'}: use ${numberNoun(known)}`;
}

function formatMessage(iss: RawIssue & { code: 'invalid_format' }, path: Path): string {
  const value = echo(iss.input, path);
  const detail = iss as { format: string; prefix?: string; suffix?: string; includes?: string; pattern?: RegExp | string };
  switch (detail.format) {
    case 'url':
      return `${value} is not a URL: write it in full, e.g. https://erp.example.com`;
    case 'starts_with':
      return `${value} does not start with ${detail.prefix ?? ''}: write it so that it does`;
    case 'ends_with':
      return `${value} does not end with ${detail.suffix ?? ''}: write it so that it does`;
    case 'includes':
      return `${value} does not contain ${detail.includes ?? ''}: write it so that it does`;
    case 'regex':
      return `${value} is not in the form this key takes (${String(detail.pattern)})`;
    default:
      return `${value} is not a valid ${detail.format}`;
  }
}

/**
 * The error map for parsing config (`schema.safeParse(doc, { error: configIssueMessage(raw) })`).
 * A field's own message always wins over this. `raw` is the document as written (before `${…}`),
 * to tell why a number is text.
 */
export function configIssueMessage(raw?: unknown): z.core.$ZodErrorMap {
  return (iss) => describeIssue(iss, raw);
}

/** The message for one issue ({@link configIssueMessage}); for a field's own map to add to. */
export function describeIssue(iss: RawIssue, raw?: unknown): string | undefined {
  const path = iss.path ?? [];
  const { input } = iss;
  switch (iss.code) {
    case 'invalid_type': {
      const schema = (iss as { schema?: unknown }).schema ?? iss.inst;
      // What to give, in the words of the other messages (not the schema's type name: `array`, `string`).
      if (input === undefined) return `missing: this key is required; give ${wanted(iss.expected, schema, input)}`;
      const use = wanted(iss.expected, schema, input);
      if ((iss.expected === 'number' || iss.expected === 'int') && typeof input === 'number') {
        return `${echo(input, path)} is not ${Number.isFinite(input) ? 'a whole' : 'a finite'} number: use ${use}`;
      }
      if ((iss.expected === 'number' || iss.expected === 'int') && typeof input === 'string') {
        if (/\$\{/.test(String(valueAt(raw, path)))) return `${given(input, path)}: a \${NAME} reference always gives text, so this number must be written in the file`;
        if (input.trim() !== '' && Number.isFinite(Number(input))) return `${given(input, path)}: use ${use} (write it without quotes)`;
      }
      // `commitInWorker: "${IN_WORKER}"` with IN_WORKER=true: "use true or false" would say to write what was given.
      if (iss.expected === 'boolean' && typeof input === 'string') {
        if (/\$\{/.test(String(valueAt(raw, path)))) return `${given(input, path)}: a \${NAME} reference always gives text, so true or false must be written in the file`;
        if (/^\s*(true|false)\s*$/i.test(input)) return `${given(input, path)}: use ${use} (write it without quotes)`;
      }
      return `${given(input, path)}: use ${use}`;
    }
    case 'invalid_value':
      return choice(iss.values, input, path);
    case 'invalid_union': {
      if (iss.discriminator !== undefined) {
        const listed = (iss as { options?: unknown }).options;
        const options: readonly unknown[] = Array.isArray(listed) ? listed : [];
        const value = input !== null && typeof input === 'object' ? (input as Record<string, unknown>)[iss.discriminator] : undefined;
        if (value === undefined) return `missing: this key is required (${options.length === 1 ? String(options[0]) : `one of ${options.map(String).join(', ')}`})`;
        return choice(options, value, path);
      }
      const alts = alternatives(iss.errors, input);
      return alts ? `${given(input, path)}: use ${alts}` : `${echo(input, path)} is none of the forms this key takes: see its entry in docs/configuration.md`;
    }
    case 'too_small':
    case 'too_big':
      return sizeMessage(iss, path);
    case 'invalid_format':
      return formatMessage(iss, path);
    case 'not_multiple_of':
      return `${echo(input, path)} is not a multiple of ${String(iss.divisor)}: use one that is`;
    case 'unrecognized_keys':
      return undefined; // named with the known keys by formatIssues, which knows the schema
    default:
      return `${echo(input, path)} is not accepted here: see its entry in docs/configuration.md`;
  }
}

/** The value at `path` in a plain document, if any. */
export function valueAt(doc: unknown, path: Path): unknown {
  let v = doc;
  for (const p of path) v = v !== null && typeof v === 'object' ? (v as Record<PropertyKey, unknown>)[p] : undefined;
  return v;
}

/** The known word a typo most likely meant: same letters in another case, or at most two edits away. */
export function closest(key: string, known: readonly string[]): string | undefined {
  const lower = key.toLowerCase();
  const exact = known.find((k) => k.toLowerCase() === lower);
  if (exact) return exact;
  let best: { k: string; d: number } | undefined;
  for (const k of known) {
    const d = editDistance(lower, k.toLowerCase());
    if (d <= 2 && (!best || d < best.d)) best = { k, d };
  }
  // Common confusion: a duration key written with or without its Ms suffix.
  return best?.k ?? known.find((k) => k.toLowerCase() === lower.replace(/ms$/, '') || k.toLowerCase() === `${lower}ms`);
}

/** The IANA zones the runtime knows, read once (for hints). */
let knownZones: readonly string[] | undefined;

/**
 * Why a time zone name is refused, with the one likely meant: a misspelling (`Europe/Berln`), a
 * city without its region (`Berlin`, `new york`).
 */
export function timeZoneProblem(input: unknown, path: Path = []): string {
  knownZones ??= Intl.supportedValuesOf('timeZone');
  const text = typeof input === 'string' ? input.trim() : '';
  const city = text.toLowerCase().replaceAll(' ', '_');
  const like = text ? (closest(text, knownZones) ?? knownZones.find((z) => z.toLowerCase().endsWith(`/${city}`))) : undefined;
  return `${echo(input, path)} is not a known IANA time zone; use e.g. UTC, Europe/Berlin, America/New_York${like ? ` (did you mean ${like}?)` : ''}`;
}
