/**
 * Structured logs (pino, JSON to stderr so command output on stdout stays machine-readable).
 * Secrets are redacted wherever they appear in what a log call carries, at any depth, so a
 * careless log call cannot leak them: every object, array, error (its fields, its message and
 * stack with its causes') and child binding is walked with the audit trail's redactor
 * (src/adapters/http/redact.ts).
 * @module
 */
import { pino, type DestinationStream, type Logger } from 'pino';
import { UsageError } from '../../core/errors/errors.js';
import { REDACTED, createRedactor, scrubSecretValues } from '../http/redact.js';

/** The audit trail's redactor: secret field and header names, secret pairs and user:password@ in text. */
const redactor = createRedactor();

/** Deeper objects are written as `[Object]` (`[Array]`): a log line is no place for them. */
const MAX_DEPTH = 12;

/** Fields and items one log call may carry; past them, what is left is cut with a `[Truncated…]` note. */
const MAX_VALUES = 5_000;

/** Only text with one of these can hold something {@link redactor}`.text` redacts. */
const MAY_HOLD_SECRET = /[:=<]|bearer|basic/i;

/**
 * A string with any secret it quotes redacted (a pair such as `password=…`, a `Bearer` credential,
 * a URL's user:password@ or secret query parameter, a `<Password>…</Password>` element).
 * Otherwise the string as it was: the redactor's parsing would only reformat it.
 */
export function redactString(text: string): string {
  if (!MAY_HOLD_SECRET.test(text)) return text;
  const out = redactor.text(text);
  return out !== text && out.split(REDACTED).length > text.split(REDACTED).length ? out : text;
}

interface Walk {
  /** The configured secrets' values scrubbed from a string (see {@link createLogger}'s `secrets`). */
  readonly scrub: (text: string) => string;
  /** Fields and items still allowed (see {@link MAX_VALUES}). */
  budget: number;
  /** The objects on the path to the current one, to write a cycle as `[Circular]`. */
  readonly ancestors: Set<object>;
}

/** Reads `obj[key]`, a getter that throws (a config's unresolved secret) being `undefined` with `failed`. */
function read(obj: object, key: string): { value: unknown; failed: boolean } {
  try {
    return { value: (obj as Record<string, unknown>)[key], failed: false };
  } catch {
    return { value: undefined, failed: true };
  }
}

/**
 * A copy of `value` safe to log: secret-named fields (and, under a `headers` key, credential
 * headers) replaced by {@link REDACTED}, strings by {@link redactString}, errors as pino writes
 * them (type, message and stack with their causes', own fields) and then redacted the same way.
 */
function redactForLog(value: unknown, depth: number, walk: Walk, headers = false): unknown {
  // The secrets' values first, whole: a pattern could redact a part of one and leave the rest.
  if (typeof value === 'string') return redactString(walk.scrub(value));
  if (value === null || typeof value !== 'object' || value instanceof Date) return value;
  if (walk.ancestors.has(value)) return '[Circular]';
  if (depth >= MAX_DEPTH) return Array.isArray(value) ? '[Array]' : '[Object]';
  walk.ancestors.add(value);
  try {
    if (Array.isArray(value)) {
      const items: unknown[] = [];
      for (const item of value as unknown[]) {
        if (walk.budget-- <= 0) {
          items.push(`[Truncated: ${value.length - items.length} more]`);
          break;
        }
        items.push(redactForLog(item, depth + 1, walk));
      }
      return items;
    }
    let source: object = value;
    if (value instanceof Error) {
      source = pino.stdSerializers.err(value);
    } else if (typeof (value as { toJSON?: unknown }).toJSON === 'function') {
      // What JSON would write (a URL's href, a Buffer's bytes), redacted in its turn.
      try {
        return redactForLog((value as { toJSON(): unknown }).toJSON(), depth + 1, walk);
      } catch {
        return '[Unserializable]';
      }
    }
    const out: Record<string, unknown> = {};
    const keys = Object.keys(source);
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i] as string;
      if (walk.budget-- <= 0) {
        out['[Truncated]'] = `${keys.length - i} more fields`;
        break;
      }
      const { value: field, failed } = read(source, key);
      let safe: unknown;
      if (headers ? redactor.isSecretHeader(key) : redactor.isSecretField(key)) safe = field === undefined && !failed ? undefined : REDACTED;
      else if (failed) safe = '[Unreadable]';
      else safe = redactForLog(field, depth + 1, walk, key.toLowerCase() === 'headers');
      if (key === '__proto__') Object.defineProperty(out, key, { value: safe, enumerable: true, writable: true, configurable: true });
      else out[key] = safe;
    }
    return out;
  } finally {
    walk.ancestors.delete(value);
  }
}

/**
 * A logger writing JSON lines to `destination` (stderr), with every secret redacted (see the
 * module). `secrets` are values scrubbed wherever a line quotes them, whatever the words around
 * them (the config's credentials: `configuredSecretValues`); read once, at the first line.
 */
export function createLogger(
  level: string,
  name = 'assetbridge',
  destination: DestinationStream = pino.destination(2),
  secrets?: () => Iterable<string | undefined>,
): Logger {
  let known: readonly (string | undefined)[] | undefined;
  const scrub = (text: string): string => {
    if (secrets === undefined) return text;
    known ??= [...secrets()];
    return scrubSecretValues(text, known);
  };
  /** What one log call (or child logger) carries, redacted; see {@link redactForLog}. */
  const redactedFields = (fields: Record<string, unknown>): Record<string, unknown> =>
    redactForLog(fields, 0, { scrub, budget: MAX_VALUES, ancestors: new Set() }) as Record<string, unknown>;
  const logger = pino(
    {
      name,
      level,
      formatters: { log: redactedFields, bindings: redactedFields },
      serializers: {
        // Errors are already written (and redacted) by redactedFields; pino's own serializer
        // would take the plain object for an error again and name its type "Object".
        err: (err: unknown) => err,
        // `log.error(err)` makes the error's message the line's message.
        msg: (msg: unknown) => (typeof msg === 'string' ? redactString(scrub(msg)) : msg),
      },
    },
    destination,
  );
  // pino passes a child's bindings through no formatter, so redact them here; children inherit
  // this `child` from the root logger, so theirs are redacted too.
  type Child = (this: Logger, bindings: Record<string, unknown>, options?: object) => Logger;
  const child = logger.child as unknown as Child; // eslint-disable-line @typescript-eslint/unbound-method -- called with its `this` below
  const redactingChild: Child = function (bindings, options) {
    return child.call(this, redactedFields(bindings), options);
  };
  logger.child = redactingChild as unknown as Logger['child'];
  return logger;
}

/**
 * The level to log at: `ASSETBRIDGE_LOG_LEVEL` when set, else `fallback` (`log.level` for the
 * service, warnings for the other commands), in any case. One that is no level is refused, naming the variable.
 */
export function logLevel(fallback: string, env: Readonly<Record<string, string | undefined>> = process.env): string {
  // `DEBUG` or ` info` as an env file or a shell writes it: the level meant.
  const level = env.ASSETBRIDGE_LOG_LEVEL?.trim().toLowerCase();
  if (level === undefined || level === '') return fallback;
  const levels = [...Object.entries(pino.levels.values).sort(([, a], [, b]) => b - a).map(([name]) => name), 'silent'];
  if (!levels.includes(level)) throw new UsageError(`ASSETBRIDGE_LOG_LEVEL "${env.ASSETBRIDGE_LOG_LEVEL ?? ''}" is not a log level; use one of ${levels.join(', ')} (or unset it)`);
  return level;
}

/**
 * How a process that logs ends with an exit code: once what it logged is written out (at most
 * `waitMs`). `process.exit` does not wait for a log write in flight: pino's exit hook writes out
 * what waits behind one, but not the one the destination (sonic-boom, asynchronous) has under way,
 * so on a pipe (a container's or journald's stderr) the last line (`assetbridge stopped`, why a
 * forced exit happened) was lost now and then. Its `flush` does not wait for that write either
 * (it calls back at once with no minimum length), so this waits for the destination's `drain`,
 * which it emits once nothing is left to write. The first exit asked for stands (a forced exit is
 * not made a clean one by a stop that ends while its line is written); `last` runs just before it.
 */
export function exitWhenLogged(logger: Logger, exit: (code: number) => void = (code) => process.exit(code), waitMs = 1000): (code: number, last?: () => void) => void {
  let asked = false;
  return (code, last) => {
    if (asked) return;
    asked = true;
    let done = false;
    const end = (): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      try {
        last?.();
      } finally {
        exit(code);
      }
    };
    const timer = setTimeout(end, waitMs);
    const stream = (logger as unknown as Record<symbol, unknown>)[pino.symbols.streamSym] as { _writing?: unknown; once?: (event: string, fn: () => void) => unknown } | undefined;
    if (stream?._writing === true && typeof stream.once === 'function') stream.once('drain', end);
    else end();
  };
}
