/**
 * Structured logs (pino, JSON to stderr so command output on stdout stays machine-readable).
 * Secret-looking fields are redacted wherever they appear, so a careless log call cannot leak them.
 * @module
 */
import { pino, type Logger } from 'pino';
import { UsageError } from '../../core/errors/errors.js';

const SECRET_KEYS = ['password', 'token', 'secret', 'clientSecret', 'client_secret', 'authorization', 'Authorization', 'apiKey', 'access_token', 'refresh_token'];

export function createLogger(level: string, name = 'assetbridge'): Logger {
  return pino(
    {
      name,
      level,
      redact: { paths: [...SECRET_KEYS, ...SECRET_KEYS.map((k) => `*.${k}`), ...SECRET_KEYS.map((k) => `*.*.${k}`)], censor: '[REDACTED]' },
    },
    pino.destination(2),
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
