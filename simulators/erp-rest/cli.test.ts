/** The ERP simulator's command line: numbers out of an option's range are refused, naming the option and the range. */
import { CommanderError } from 'commander';
import { describe, expect, it } from 'vitest';
import { erpSimulatorCommand, parseErpSimulatorArgs } from './cli.js';

/** What the command line makes of `argv`, or the message it refuses it with. */
function parse(argv: string[]): ReturnType<typeof parseErpSimulatorArgs> | string {
  const program = erpSimulatorCommand()
    .exitOverride()
    .configureOutput({ writeErr: () => undefined, writeOut: () => undefined });
  try {
    return parseErpSimulatorArgs(argv, program);
  } catch (err) {
    if (err instanceof CommanderError) return err.message;
    throw err;
  }
}

describe('erp simulator command line', () => {
  it('refuses --token-ttl 0 and --max-batch-size 0, which would expire every token at once and refuse every batch', () => {
    expect(parse(['--token-ttl', '0'])).toBe(`error: option '--token-ttl <seconds>' argument '0' is invalid. It takes a whole number of seconds, 1 or more, got "0".`);
    expect(parse(['--max-batch-size', '0'])).toBe(`error: option '--max-batch-size <n>' argument '0' is invalid. It takes a whole number, 1 or more, got "0".`);
    expect(parse(['--page-size', '0'])).toMatch(/'--page-size <n>' argument '0' is invalid\. It takes a whole number, 1 or more/);
  });

  it('refuses a number that is negative, not whole, not a number, empty or out of range, for every numeric option', () => {
    for (const option of ['--port', '--token-ttl', '--rate-per-minute', '--max-concurrent', '--webhook-retries', '--max-batch-size', '--seed', '--page-size']) {
      for (const value of ['-1', '1.5', 'ten', '', '1e3', '0x10', ' 5', '99999999999999999999']) {
        expect(parse([option, value]), `${option} ${JSON.stringify(value)}`).toMatch(new RegExp(`^error: option '${option} <[a-z]+>' argument '.*' is invalid\\. It takes a whole number`));
      }
    }
    expect(parse(['--port', '65536'])).toMatch(/It takes a whole number, from 0 to 65535 \(0 = any free port\), got "65536"/);
    expect(parse(['--seed', '4294967296'])).toMatch(/It takes a whole number, from 0 to 4294967295, got "4294967296"/);
  });

  it('keeps the zeros that mean something: any free port, no rate limit, no concurrency limit, a webhook sent once', () => {
    const options = parse(['--port', '0', '--rate-per-minute', '0', '--max-concurrent', '0', '--webhook-retries', '0', '--seed', '0', '--token-ttl', '1', '--max-batch-size', '1']);
    expect(options).toMatchObject({ port: 0, webhookRetries: 0, seed: 0, tokenTtlSeconds: 1, maxBatchSize: 1 });
    expect(options).not.toHaveProperty('ratePerMinute');
    expect(options).not.toHaveProperty('maxConcurrent');
    expect(parse([])).toMatchObject({ port: 4010, tokenTtlSeconds: 3600, maxBatchSize: 50, webhookRetries: 5, seed: 1, pageSize: 100 });
  });

  it('refuses a --known-assets naming no asset (every write would be 404) and a --webhook-url that is no http(s) URL', () => {
    for (const empty of ['', ',', ' , '])
      expect(parse(['--known-assets', empty])).toBe(`error: --known-assets names no asset, got "${empty}"; give comma-separated asset ids, or leave it out to take writes for any asset`);
    expect(parse(['--known-assets', 'EQ-1, EQ-2,'])).toMatchObject({ knownAssets: ['EQ-1', 'EQ-2'] });
    expect(parse([])).not.toHaveProperty('knownAssets');
    for (const url of ['localhost:9000/hooks', 'ftp://example.com/hooks', 'not a url'])
      expect(parse(['--webhook-url', url])).toBe(`error: --webhook-url must be an http:// or https:// URL, got "${url}"`);
    expect(parse(['--webhook-url', 'http://127.0.0.1:9000/hooks'])).toMatchObject({ webhookUrl: 'http://127.0.0.1:9000/hooks' });
  });

  it('ignores ?updatedSince= only when --ignore-updated-since asks it (opt-in)', () => {
    expect(parse(['--ignore-updated-since'])).toMatchObject({ updatedSinceFilter: false });
    expect(parse([])).not.toHaveProperty('updatedSinceFilter');
  });

  it('takes --webhook-timestamp-header with --webhook-secret only, which it is signed with', () => {
    expect(parse(['--webhook-secret', 'whsec-0123456789abcdef', '--webhook-timestamp-header', 'X-Signature-Timestamp'])).toMatchObject({ webhookTimestampHeader: 'X-Signature-Timestamp' });
    expect(parse(['--webhook-timestamp-header', 'X-Signature-Timestamp'])).toBe('error: --webhook-timestamp-header needs --webhook-secret: the timestamp is signed with the body');
  });

  it('names the option of a word it does not know', () => {
    expect(parse(['--rate-window', 'rolling'])).toBe('error: --rate-window must be fixed or sliding, got "rolling"');
    expect(parse(['--list-order', 'random'])).toBe('error: --list-order must be oldest-first or newest-first, got "random"');
  });
});
