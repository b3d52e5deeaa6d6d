/** `ASSETBRIDGE_LOG_LEVEL` over the command's own level, and a value that is no level refused. */
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../core/errors/errors.js';
import { logLevel } from './logger.js';

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
