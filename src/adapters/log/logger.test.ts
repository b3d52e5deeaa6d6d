/** `ASSETBRIDGE_LOG_LEVEL` over the command's own level, and a value that is no level refused; secrets redacted at any depth. */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../core/errors/errors.js';
import { deferSecret } from '../../config/secrets.js';
import { createLogger, exitWhenLogged, logLevel } from './logger.js';

/** A logger at info writing to `lines`, and the lines written so far, parsed. */
function capture(): { logger: ReturnType<typeof createLogger>; text: () => string; parsed: () => Record<string, unknown>[] } {
  const lines: string[] = [];
  const logger = createLogger('info', 'test', { write: (line: string) => void lines.push(line) });
  return { logger, text: () => lines.join(''), parsed: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

describe('logLevel', () => {
  it('takes the variable when set, else the fallback (an empty value counts as unset)', () => {
    expect(logLevel('warn', {})).toBe('warn');
    expect(logLevel('warn', { ASSETBRIDGE_LOG_LEVEL: '' })).toBe('warn');
    expect(logLevel('warn', { ASSETBRIDGE_LOG_LEVEL: 'debug' })).toBe('debug');
    expect(logLevel('info', { ASSETBRIDGE_LOG_LEVEL: 'silent' })).toBe('silent');
  });

  it('takes a level in capitals or with spaces around it (DEBUG, as env files often write it) as that level', () => {
    expect(logLevel('warn', { ASSETBRIDGE_LOG_LEVEL: 'DEBUG' })).toBe('debug');
    expect(logLevel('warn', { ASSETBRIDGE_LOG_LEVEL: ' Info ' })).toBe('info');
    expect(logLevel('warn', { ASSETBRIDGE_LOG_LEVEL: '  ' })).toBe('warn');
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

  it('redacts a quoted Bearer credential and one after another Authorization scheme in a message, an error and a field', () => {
    const { logger, text } = capture();
    const err = new Error('PATCH /x → 500: Internal error: Authorization: Bearer "LOG-S3CR3T-1" was refused');
    logger.error({ err, detail: "echo: Authorization: Token 'LOG-S3CR3T-2'" }, 'sent Authorization: ApiKey LOG-S3CR3T-3');
    expect(text()).toContain('Internal error');
    expect(text()).not.toContain('S3CR3T');
  });

  it('redacts the text of a secret-named XML element in a message (a SOAP fault that quotes the request)', () => {
    const { logger, text } = capture();
    logger.warn({ answer: '<Fault><Password>XML-S3CR3T-1</Password></Fault>' }, 'refused <Token>XML-S3CR3T-2</Token>');
    expect(text()).toContain('<Fault><Password>[REDACTED]</Password></Fault>');
    expect(text()).not.toContain('S3CR3T');
  });

  it('scrubs the configured secrets wherever a line quotes them, whatever the words around them', () => {
    const lines: string[] = [];
    const logger = createLogger('info', 'test', { write: (line: string) => void lines.push(line) }, () => ['CFG-S3CR3T-1', 'p@ss/CFG-S3CR3T-2', undefined]);
    const child = logger.child({ note: 'broker said CFG-S3CR3T-1 is unknown' });
    child.error({ err: new Error('nope, CFG-S3CR3T-1 was refused'), answer: '{"detail":"p@ss\\/CFG-S3CR3T-2 unknown"}' }, 'ERP answered CFG-S3CR3T-1 unknown');
    const out = lines.join('');
    expect(out).toContain('was refused');
    expect(out).not.toContain('S3CR3T');
  });

  it('scrubs a configured secret with a space in it whole, though a pattern matches its first word (Bearer)', () => {
    const lines: string[] = [];
    const logger = createLogger('info', 'test', { write: (line: string) => void lines.push(line) }, () => ['TOK S3CR3T x']);
    logger.warn({ error: 'Headers.append: "Bearer TOK S3CR3T x" is an invalid header value.' }, 'sent Bearer TOK S3CR3T x');
    expect(lines.join('')).toContain('Bearer [REDACTED]');
    expect(lines.join('')).not.toContain('S3CR3T');
  });

  it('redacts secret-named fields at any depth and in arrays, keeping the ordinary ones', () => {
    // Mutation: pino `redact` paths, which reach two levels down only.
    const { logger, text, parsed } = capture();
    logger.info(
      {
        config: { erp: { baseUrl: 'https://erp.example', auth: { clientId: 'app', clientSecret: 'depth3-secret' } } },
        a: { b: { c: { d: { password: 'depth5-secret' } } } },
        a1: { b: { c: { d: { e: { refresh_token: 'depth6-secret' } } } } },
        destinations: [{ name: 'erp', token: 'array-secret' }, [{ dbPassword: 'nested-array-secret' }]],
        asset: 'EQ-1',
      },
      'loaded',
    );
    for (const secret of ['depth3-secret', 'depth5-secret', 'depth6-secret', 'array-secret', 'nested-array-secret']) expect(text()).not.toContain(secret);
    expect(parsed()[0]).toMatchObject({
      msg: 'loaded',
      asset: 'EQ-1',
      config: { erp: { baseUrl: 'https://erp.example', auth: { clientId: 'app', clientSecret: '[REDACTED]' } } },
      a1: { b: { c: { d: { e: { refresh_token: '[REDACTED]' } } } } },
      destinations: [{ name: 'erp', token: '[REDACTED]' }, [{ dbPassword: '[REDACTED]' }]],
    });
  });

  it('redacts credential headers, a nested error and its cause, and URL passwords, wherever they are', () => {
    const { logger, text, parsed } = capture();
    const cause = new Error('POST https://erp.example/oauth failed: password=cause-secret');
    const err = Object.assign(new Error('delivery failed', { cause }), {
      status: 401,
      response: { headers: { authorization: 'Bearer err-header-secret', 'content-type': 'application/json' } },
    });
    logger.warn(
      {
        attempt: { n: 2, error: err },
        request: {
          url: 'https://svc:url-secret@erp.example/api?page=2',
          link: new URL('https://erp.example/next?access_token=url-object-secret&page=3'),
          headers: { Authorization: 'Basic auth-secret', Cookie: 'sid=cookie-secret', 'X-Api-Key': 'api-key-secret', 'Proxy-Authorization': 'proxy-secret', 'X-Auth-Key': 'auth-key-secret', Accept: 'application/json' },
        },
        plain: { cause: { response: { headers: { authorization: 'plain-cause-secret' } } } },
        broker: ['mqtt://tags:broker-secret@127.0.0.1:1883'],
      },
      'delivery failed',
    );
    for (const secret of ['cause-secret', 'err-header-secret', 'url-secret', 'url-object-secret', 'auth-secret', 'cookie-secret', 'api-key-secret', 'proxy-secret', 'auth-key-secret', 'plain-cause-secret', 'broker-secret']) {
      expect(text()).not.toContain(secret);
    }
    const line = parsed()[0] as { attempt: { error: { type: string; message: string; status: number; response: unknown } }; request: Record<string, unknown> };
    expect(line.attempt.error).toMatchObject({ type: 'Error', status: 401, response: { headers: { authorization: '[REDACTED]', 'content-type': 'application/json' } } });
    expect(line.attempt.error.message).toBe('delivery failed: POST https://erp.example/oauth failed: password=[REDACTED]');
    expect(line.request).toMatchObject({
      url: 'https://svc:[REDACTED]@erp.example/api?page=2',
      link: 'https://erp.example/next?access_token=[REDACTED]&page=3',
      headers: { Authorization: '[REDACTED]', Cookie: '[REDACTED]', 'X-Api-Key': '[REDACTED]', 'Proxy-Authorization': '[REDACTED]', Accept: 'application/json' },
    });
  });

  it("redacts a child logger's bindings and the message taken from a logged error", () => {
    // Mutation: bindings or the message left to pino (which passes a child's through no formatter).
    const { logger, text, parsed } = capture();
    logger.child({ component: 'aemp', feed: { auth: { credentials: { password: 'binding-secret' } } } }).child({ site: 'PLANT-1' }).info('pulled');
    logger.error(new Error('refused: token=message-secret'));
    expect(text()).not.toContain('binding-secret');
    expect(text()).not.toContain('message-secret');
    expect(parsed()[0]).toMatchObject({ component: 'aemp', site: 'PLANT-1', feed: { auth: { credentials: { password: '[REDACTED]' } } }, msg: 'pulled' });
    expect(parsed()[1]).toMatchObject({ msg: 'refused: token=[REDACTED]', err: { type: 'Error', message: 'refused: token=[REDACTED]' } });
  });

  it('writes cycles, very deep or very large objects and unreadable fields without failing or leaking', () => {
    const { logger, text, parsed } = capture();
    const cyclic: Record<string, unknown> = { name: 'erp' };
    cyclic.self = cyclic;
    let deep: Record<string, unknown> = { token: 'too-deep-secret' };
    for (let i = 0; i < 30; i++) deep = { next: deep };
    const many = Array.from({ length: 20_000 }, (_, i) => ({ i, secret: `many-secret-${i}` }));
    // A config's secret that was not set throws when read (config/secrets.ts).
    const destination = { name: 'erp' };
    deferSecret(destination, 'token', [{ key: 'destinations.0.token', message: 'not set' }]);
    deferSecret(destination, 'username', [{ key: 'destinations.0.username', message: 'not set' }]);
    const shared = { id: 7 };
    logger.info({ cyclic, deep, destination, twice: [shared, shared] }, 'odd');
    logger.info({ many }, 'large');
    expect(text()).not.toMatch(/too-deep-secret|many-secret/);
    const [odd, large] = parsed() as [Record<string, unknown>, { many: unknown[] }];
    expect(odd).toMatchObject({ cyclic: { name: 'erp', self: '[Circular]' }, destination: { name: 'erp', token: '[REDACTED]', username: '[Unreadable]' }, twice: [{ id: 7 }, { id: 7 }] });
    expect(JSON.stringify(odd.deep)).toContain('[Object]');
    expect(large.many.length).toBeLessThan(20_000);
    expect(large.many.at(-1)).toMatch(/^\[Truncated: \d+ more\]$/);
  });
});

describe('exitWhenLogged', () => {
  it('ends the process only once the line the destination is writing is out, which process.exit would cut off', async () => {
    // Was process.exit right after the last line: on a pipe, `assetbridge stopped` (or why a forced exit happened) was lost now and then.
    const dir = mkdtempSync(join(tmpdir(), 'ab-log-'));
    try {
      const file = join(dir, 'log');
      const dest = pino.destination({ dest: file, sync: false, mkdir: true });
      await new Promise<void>((r) => dest.once('ready', () => r()));
      const logger = createLogger('info', 'test', dest);
      logger.info('assetbridge stopped');
      const codes: number[] = [];
      let exited: (code: number) => void = () => undefined;
      const ended = new Promise<number>((r) => (exited = r));
      const exit = exitWhenLogged(logger, (code) => (codes.push(code), exited(code)), 60_000);
      let lastRan = false;
      exit(130, () => (lastRan = true));
      exit(0); // a stop that ends meanwhile: the first exit asked for stands
      expect(codes).toEqual([]); // the line is still being written
      expect(await ended).toBe(130);
      expect(lastRan).toBe(true);
      expect(codes).toEqual([130]);
      expect(readFileSync(file, 'utf8')).toContain('"msg":"assetbridge stopped"');
      dest.end();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('ends at once when nothing is being written', () => {
    const codes: number[] = [];
    exitWhenLogged(capture().logger, (code) => void codes.push(code))(0);
    expect(codes).toEqual([0]);
  });
});
