import { afterEach, describe, expect, it, vi } from 'vitest';
import { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { registerAempParseCommand, runAempParse, type AempParseIo } from './aemp-parse.js';

const FIXTURES = new URL('../../adapters/telematics/aemp/__fixtures__/', import.meta.url);
const fixturePath = (name: string): string => new URL(name, FIXTURES).pathname;
const NOW = Date.UTC(2025, 2, 4, 6);

function memoryIo(files: Record<string, string | Uint8Array> = {}): AempParseIo & { out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return {
    out,
    err,
    stdout: (t) => void out.push(t),
    stderr: (t) => void err.push(t),
    readFile: (path) => {
      const content = files[path];
      if (content !== undefined) return Promise.resolve(typeof content === 'string' ? new TextEncoder().encode(content) : content);
      try {
        return Promise.resolve(readFileSync(path));
      } catch (e) {
        return Promise.reject(e instanceof Error ? e : new Error(String(e)));
      }
    },
    now: () => NOW,
  };
}

const lines = (chunks: readonly string[]): string[] => chunks.join('').split('\n').filter((l) => l !== '');

describe('runAempParse', () => {
  it('prints one canonical event per line and a summary per file', async () => {
    const io = memoryIo();
    const code = await runAempParse([fixturePath('iso-fleet.xml')], { source: 'aemp:file' }, io);
    expect(code).toBe(0);
    const events = lines(io.out).map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(events.map((e) => e.kind)).toEqual(['sensor', 'meter', 'sensor', 'position']);
    expect(events[1]).toEqual({
      kind: 'meter',
      source: 'aemp:file',
      ids: [
        { type: 'pin', value: 'VCEC220EP00312874' },
        { type: 'serial', value: 'VCEC220EP00312874' },
      ],
      eventTime: '2025-03-03T16:42:05.000Z',
      receivedAt: new Date(NOW).toISOString(),
      operatingHours: 4871.35,
      idleHours: 1322.8,
      fuelUsedL: 61240.5,
    });
    expect(lines(io.err)).toEqual([`${fixturePath('iso-fleet.xml')}: fleet, 1 equipment, 4 events, 3 links`]);
  });

  it('includes raw blocks on request', async () => {
    const io = memoryIo();
    await runAempParse([fixturePath('iso-fleet.xml')], { source: 's', raw: true }, io);
    const meter = lines(io.out).map((l) => JSON.parse(l) as Record<string, unknown>)[1];
    expect(meter?.raw).toMatchObject({ CumulativeOperatingHours: { Hour: '4871.35' } });
  });

  it('reports warnings with the file and equipment, and events validation would quarantine', async () => {
    const io = memoryIo({
      'odd.json': JSON.stringify({
        Equipment: [
          {
            EquipmentHeader: { PIN: 'P-1', Model: 'missing' },
            CumulativeOperatingHours: { datetime: '2099-01-01T00:00:00Z', Hour: 5 },
          },
        ],
      }),
    });
    const code = await runAempParse(['odd.json'], { source: 's' }, io);
    expect(code).toBe(0);
    expect(lines(io.err)).toEqual([
      'odd.json: equipment 1 (P-1): warning: EquipmentHeader.Model is the placeholder "missing"; treated as absent',
      'odd.json: equipment 1 (P-1): would be quarantined (invalid): meter at 2099-01-01T00:00:00.000Z: event time 2099-01-01T00:00:00.000Z is more than 300 s in the future (ingest.maxFutureSkewMs); check the sender\'s clock, or raise the limit if such a skew is expected',
      'odd.json: fleet, 1 equipment, 1 events, 0 links',
    ]);
  });

  it('--no-validate leaves the quarantine check out', async () => {
    const io = memoryIo({ 'future.json': '{"Equipment":{"EquipmentHeader":{"PIN":"P"},"CumulativeOperatingHours":{"datetime":"2099-01-01T00:00:00Z","Hour":1}}}' });
    await runAempParse(['future.json'], { source: 's', validate: false }, io);
    expect(lines(io.out)).toHaveLength(1);
    expect(lines(io.err)).toEqual(['future.json: fleet, 1 equipment, 1 events, 0 links']);
  });

  it('exits 1 when any file is rejected, and still parses the others', async () => {
    const io = memoryIo({ 'broken.json': '{"Equipment": [', 'page.html': '<html><body>login</body></html>' });
    const code = await runAempParse(['broken.json', fixturePath('jcb-livelink.json'), 'page.html', 'missing.xml'], { source: 's' }, io);
    expect(code).toBe(1);
    const err = lines(io.err);
    expect(err[0]).toMatch(/^broken\.json: rejected: invalid JSON: .*truncated/);
    expect(err[2]).toMatch(/^page\.html: rejected: body is an HTML page/);
    // Why in words, and what to do; not Node's "ENOENT: no such file or directory, open 'missing.xml'".
    expect(err[3]).toBe('missing.xml: rejected: cannot read the file (no such file or directory): check the path (a relative one is taken from the current directory): give saved AEMP documents, JSON or XML');
    expect(lines(io.out)).toHaveLength(4);
  });

  it('a directory given for a file: says so, and to name the files in it', async () => {
    const io = memoryIo();
    expect(await runAempParse([fixturePath('.')], { source: 's' }, io)).toBe(1);
    expect(lines(io.err)).toEqual([`${fixturePath('.')}: rejected: cannot read the file (it is a directory): name the files in it (a shell glob such as dir/*.json does)`]);
  });

  it('refuses a file over the size limit naming --max-bytes, the option that raises it, and parses it with a larger one', async () => {
    const big = JSON.stringify({ Equipment: [{ EquipmentHeader: { PIN: 'P1' }, CumulativeOperatingHours: { datetime: '2025-03-04T04:00:00Z', Hour: 5 } }] }).padEnd(3000, ' ');
    const io = memoryIo({ 'big.json': big });
    expect(await runAempParse(['big.json'], { source: 's', maxBytes: '2000' }, io)).toBe(1);
    expect(lines(io.err)).toEqual(['big.json: rejected: the file is 3000 bytes, over the 2000-byte limit; to parse it, give --max-bytes 3000']);
    const again = memoryIo({ 'big.json': big });
    expect(await runAempParse(['big.json'], { source: 's', maxBytes: '3000' }, again)).toBe(0);
    expect(lines(again.out)).toHaveLength(1);
  });

  it('applies --id to time-series pages and --received-at to events', async () => {
    const io = memoryIo();
    await runAempParse([fixturePath('ts-trackunit-distance.json')], { source: 's', id: ['device-serial:2409317'], receivedAt: '2025-03-05T00:00:00Z' }, io);
    const events = lines(io.out).map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(events.map((e) => e.ids)).toEqual([[{ type: 'device-serial', value: '2409317' }], [{ type: 'device-serial', value: '2409317' }]]);
    expect(events.every((e) => e.receivedAt === '2025-03-05T00:00:00.000Z')).toBe(true);
    expect(lines(io.err).at(-1)).toMatch(/time series Distance, 2 events, 1 links$/);
  });

  it('refuses bad options with a message that says what to do', async () => {
    await expect(runAempParse(['x'], { source: 's', id: ['pn:123'] }, memoryIo())).rejects.toThrow(/--id "pn:123" must be TYPE:VALUE with TYPE one of tag, tracker, pin/);
    await expect(runAempParse(['x'], { source: 's', receivedAt: 'soon' }, memoryIo())).rejects.toThrow(/--received-at "soon" is not a date/);
    await expect(runAempParse(['x'], { source: 's', expect: 'snapshot' }, memoryIo())).rejects.toThrow(/--expect must be fleet or timeseries/);
  });

  it('refuses a --received-at that is no real ISO 8601 time instead of guessing one', async () => {
    // Date.parse reads "10" as 2001-10-01, rolls 30 February over to 2 March and reads a time without a zone as local time.
    for (const bad of ['10', '2025-02-30T00:00:00Z', '2025-03-05T06:00:00']) {
      await expect(runAempParse(['x'], { source: 's', receivedAt: bad }, memoryIo())).rejects.toThrow(`--received-at "${bad}"`);
    }
  });
});

describe('registerAempParseCommand', () => {
  afterEach(() => {
    process.exitCode = undefined;
  });

  it('adds `aemp parse` with help and an example, reusing an existing aemp group', async () => {
    const program = new Command('assetbridge').exitOverride();
    const existing = program.command('aemp').description('already here');
    const io = memoryIo();
    const parse = registerAempParseCommand(program, io);
    expect(program.commands.filter((c) => c.name() === 'aemp')).toHaveLength(1);
    expect(existing.commands).toContain(parse);
    expect(parse.helpInformation()).toMatch(/Usage: assetbridge aemp parse \[options\] <files\.\.\.>/);
    let helpText = '';
    parse.configureOutput({ writeOut: (s) => (helpText += s) });
    await expect(program.parseAsync(['node', 'assetbridge', 'aemp', 'parse', '--help'])).rejects.toThrow();
    expect(helpText).toMatch(/Examples:\n {2}assetbridge aemp parse fleet-page1\.xml fleet-page2\.xml/);
  });

  it('runs through commander and sets the exit code on rejection', async () => {
    const program = new Command('assetbridge').exitOverride();
    const io = memoryIo({ 'bad.xml': '<Fleet><Equipment>' });
    registerAempParseCommand(program, io);
    await program.parseAsync(['node', 'assetbridge', 'aemp', 'parse', '--source', 'aemp:x', 'bad.xml', fixturePath('iso-fleet.xml')]);
    expect(process.exitCode).toBe(1);
    expect(lines(io.out).map((l) => (JSON.parse(l) as { source: string }).source)).toEqual(['aemp:x', 'aemp:x', 'aemp:x', 'aemp:x']);
  });

  it('takes --id before the file names, repeatedly', async () => {
    const program = new Command('assetbridge').exitOverride();
    const io = memoryIo();
    registerAempParseCommand(program, io);
    const file = fixturePath('ts-trackunit-distance.json');
    await program.parseAsync(['node', 'assetbridge', 'aemp', 'parse', '--id', 'device-serial:2409317', '--id', 'unit-id:988120', file]);
    expect(process.exitCode).toBeUndefined();
    const events = lines(io.out).map((l) => JSON.parse(l) as { ids: unknown });
    expect(events).toHaveLength(2);
    expect(events[0]?.ids).toEqual([
      { type: 'device-serial', value: '2409317' },
      { type: 'unit-id', value: '988120' },
    ]);
  });

  it('turns a usage error into exit code 2', async () => {
    const program = new Command('assetbridge').exitOverride();
    registerAempParseCommand(program, memoryIo());
    const captured: string[] = [];
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => (captured.push(String(chunk)), true));
    try {
      await program.parseAsync(['node', 'assetbridge', 'aemp', 'parse', '--expect', 'nope', 'x.json']);
    } finally {
      stderr.mockRestore();
    }
    expect(process.exitCode).toBe(2);
    expect(captured.join('')).toMatch(/error: --expect must be fleet or timeseries/);
  });
});
