/**
 * Structured logs (pino, JSON to stderr so command output on stdout stays machine-readable).
 * Secret-looking fields are redacted wherever they appear, so a careless log call cannot leak them.
 * @module
 */
import { pino, type Logger } from 'pino';

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
