/**
 * Structured logs (pino, JSON to stderr so command output on stdout stays machine-readable).
 * Secret-looking fields are redacted wherever they appear, so a careless log call cannot leak them.
 * @module
 */
import { pino, type DestinationStream, type Logger } from 'pino';
import { UsageError } from '../../core/errors/errors.js';
import { createRedactor } from '../http/redact.js';

const SECRET_KEYS = ['password', 'token', 'secret', 'clientSecret', 'client_secret', 'authorization', 'Authorization', 'apiKey', 'api_key', 'access_token', 'refresh_token', 'cookie', 'Cookie'];

/** The audit trail's redactor (secret pairs, user:password@ in URLs), for what field paths cannot reach: error texts. */
const redactor = createRedactor();

/**
 * An error as pino writes it, with its message and stack redacted: an error can quote what it
 * failed on (a URL with a token, an ERP's answer echoing a password) in text no key path reaches.
 */
function redactedError(err: unknown): unknown {
  if (!(err instanceof Error)) return err;
  const out = pino.stdSerializers.err(err) as unknown as Record<string, unknown>;
  for (const key of ['message', 'stack'] as const) {
    const text = out[key];
    if (typeof text === 'string') out[key] = redactor.text(text);
  }
  return out;
}

export function createLogger(level: string, name = 'assetbridge', destination: DestinationStream = pino.destination(2)): Logger {
  return pino(
    {
      name,
      level,
      redact: { paths: [...SECRET_KEYS, ...SECRET_KEYS.map((k) => `*.${k}`), ...SECRET_KEYS.map((k) => `*.*.${k}`)], censor: '[REDACTED]' },
      serializers: { err: redactedError },
    },
    destination,
  );
}

/**
 * The level to log at: `ASSETBRIDGE_LOG_LEVEL` when set, else `fallback` (`log.level` for the
 * service, warnings for the other commands). One that is no level is refused, naming the variable.
 */
export function logLevel(fallback: string, env: Readonly<Record<string, string | undefined>> = process.env): string {
  const level = env.ASSETBRIDGE_LOG_LEVEL;
  if (level === undefined || level === '') return fallback;
  const levels = [...Object.entries(pino.levels.values).sort(([, a], [, b]) => b - a).map(([name]) => name), 'silent'];
  if (!levels.includes(level)) throw new UsageError(`ASSETBRIDGE_LOG_LEVEL "${level}" is not a log level; use one of ${levels.join(', ')} (or unset it)`);
  return level;
}
