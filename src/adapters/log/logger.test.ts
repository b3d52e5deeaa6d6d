/** `ASSETBRIDGE_LOG_LEVEL` over the command's own level, and a value that is no level refused. */
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../core/errors/errors.js';
import { createLogger, logLevel } from './logger.js';

describe('logLevel', () => {
  it('takes the variable when set, else the fallback (an empty value counts as unset)', () => {
    expect(logLevel('warn', {})).toBe('warn');
    expect(logLevel('warn', { ASSETBRIDGE_LOG_LEVEL: '' })).toBe('warn');
    expect(logLevel('warn', { ASSETBRIDGE_LOG_LEVEL: 'debug' })).toBe('debug');
    expect(logLevel('info', { ASSETBRIDGE_LOG_LEVEL: 'silent' })).toBe('silent');
  });

  it('refuses a value that is no level, naming the variable and the levels', () => {
    expect(() => logLevel('warn', { ASSETBRIDGE_LOG_LEVEL: 'verbose' })).toThrow(UsageError);
    expect(() => logLevel('warn', { ASSETBRIDGE_LOG_LEVEL: 'verbose' })).toThrow(
      'ASSETBRIDGE_LOG_LEVEL "verbose" is not a log level; use one of fatal, error, warn, info, debug, trace, silent (or unset it)',
    );
  });
});

describe('createLogger', () => {
  it('redacts secrets quoted in an error message and stack, and cookie and api_key fields', () => {
    // Mutation: errors written with pino's own serializer (their text as thrown).
    const lines: string[] = [];
    const logger = createLogger('info', 'test', { write: (line: string) => void lines.push(line) });
    const err = new Error('POST https://erp.example/api?access_token=abc123secret failed: {"error":"bad login","password":"hunter22"} (proxy https://svc:pa55word@proxy.example refused)');
    logger.error({ err, request: { cookie: 'sid=s3cr3t', api_key: 'k-9876543' }, asset: 'EQ-1' }, 'delivery failed');
    const out = lines.join('');
    for (const secret of ['abc123secret', 'hunter22', 'pa55word', 's3cr3t', 'k-9876543']) expect(out).not.toContain(secret);
    const line = JSON.parse(out) as { err: { message: string; stack: string; type: string }; asset: string; msg: string };
    expect(line).toMatchObject({ asset: 'EQ-1', msg: 'delivery failed', err: { type: 'Error' } });
    expect(line.err.message).toContain('bad login');
    expect(line.err.stack).toContain('[REDACTED]');
  });
});
