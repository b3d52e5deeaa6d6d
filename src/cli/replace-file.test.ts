/** {@link replaceFile}: the file replaced whole, as it was kept (its mode, a link to it), nothing left beside it. */
import { execFileSync } from 'node:child_process';
import { chmodSync, closeSync, constants, linkSync, lstatSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, readSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { HardLinkedFileError, replaceFile, STALE_TEMP_MS, staleTempFiles } from './replace-file.js';

const dir = () => mkdtempSync(join(tmpdir(), 'ab-replace-'));

describe('replaceFile', () => {
  it('creates a new file, and replaces an existing one keeping its permission bits', () => {
    const d = dir();
    const f = join(d, 'r.csv');
    replaceFile(f, 'one\n');
    expect(readFileSync(f, 'utf8')).toBe('one\n');
    chmodSync(f, 0o640);
    replaceFile(f, 'two\n');
    expect([readFileSync(f, 'utf8'), statSync(f).mode & 0o777]).toEqual(['two\n', 0o640]);
    expect(readdirSync(d)).toEqual(['r.csv']);
  });

  it.skipIf(process.platform === 'win32')('writes through a symbolic link: the file it points to is replaced, the link stays', () => {
    const d = dir();
    mkdirSync(join(d, 'real'));
    writeFileSync(join(d, 'real', 'r.csv'), 'old\n');
    symlinkSync(join(d, 'real', 'r.csv'), join(d, 'link.csv'));
    replaceFile(join(d, 'link.csv'), 'new\n');
    expect(lstatSync(join(d, 'link.csv')).isSymbolicLink()).toBe(true);
    expect(readFileSync(join(d, 'real', 'r.csv'), 'utf8')).toBe('new\n');
    expect([readdirSync(d).sort(), readdirSync(join(d, 'real'))]).toEqual([['link.csv', 'real'], ['r.csv']]);
  });

  // Was: renamed over, a file with another hard link had the new text under the name given and the
  // old one under its other name(s), silently.
  it.skipIf(process.platform === 'win32')('refuses a file with other hard links, leaving it (and every link) as it was, and says what to do', () => {
    const d = dir();
    const f = join(d, 'r.csv');
    writeFileSync(f, 'old\n');
    linkSync(f, join(d, 'other.csv'));
    let thrown: unknown;
    try {
      replaceFile(f, 'new\n');
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(HardLinkedFileError);
    expect((thrown as Error).message).toMatch(/has 2 hard links .*so it is left as it was; give a path of its own, or remove the other links first .*or write another file and copy it over/);
    expect([readFileSync(f, 'utf8'), readFileSync(join(d, 'other.csv'), 'utf8'), statSync(f).ino]).toEqual(['old\n', 'old\n', statSync(join(d, 'other.csv')).ino]);
    expect(readdirSync(d).sort()).toEqual(['other.csv', 'r.csv']);
    // With the other link gone, it is replaced as any file.
    rmSync(join(d, 'other.csv'));
    replaceFile(f, 'new\n');
    expect(readFileSync(f, 'utf8')).toBe('new\n');
  });

  it('refuses a directory (EISDIR) and a missing directory (ENOENT), leaving nothing behind', () => {
    const d = dir();
    mkdirSync(join(d, 'sub'));
    expect(() => replaceFile(join(d, 'sub'), 'x')).toThrow(expect.objectContaining({ code: 'EISDIR' }));
    expect(() => replaceFile(join(d, 'none', 'r.csv'), 'x')).toThrow(expect.objectContaining({ code: 'ENOENT' }));
    expect(readdirSync(d)).toEqual(['sub']);
    expect(readdirSync(join(d, 'sub'))).toEqual([]);
  });
});

// Was: a write killed midway (kill -9) left its hidden temporary file beside the report for good,
// one more at each such kill; the next write of the same file now removes those a dead writer left.
describe('replaceFile: temporary files a killed writer left', () => {
  /** No process has it: above the highest pid Linux gives (pid_max is at most 2^22), and macOS's. */
  const deadPid = (): number => 4_194_304 + 1000;

  it('removes the file\'s own leftovers once old, keeping a live writer\'s, a recent one and anything else', () => {
    const d = dir();
    const f = join(d, 'r.csv');
    const old = Date.now() / 1000 - 3600;
    const dead = `.r.csv.${deadPid()}.0a1b2c3d.tmp`;
    const mine = `.r.csv.${process.pid}.deadbeef.tmp`; // an earlier process that had this pid (a restarted container's)
    const live = `.r.csv.${process.ppid}.0a1b2c3d.tmp`; // a writer still running
    const recent = `.r.csv.${deadPid()}.11111111.tmp`;
    const others = [`.other.csv.${deadPid()}.0a1b2c3d.tmp`, `.r.csv.${deadPid()}.tmp`, '.r.csv.1.2.0a1b2c3d.tmp', 'r.csv.bak'];
    for (const name of [dead, mine, live, recent, ...others]) {
      writeFileSync(join(d, name), 'partial');
      if (name !== recent) utimesSync(join(d, name), old, old);
    }
    replaceFile(f, 'new\n');
    expect(readFileSync(f, 'utf8')).toBe('new\n');
    expect(readdirSync(d).sort()).toEqual(['r.csv', live, recent, ...others].sort());
  });

  it('takes only its own pattern, and only a dead writer\'s (or this pid\'s) untouched for over 10 minutes', () => {
    const now = 1_000_000_000;
    const at: Record<string, number> = { '.r.csv.7.0a1b2c3d.tmp': now - STALE_TEMP_MS - 1, '.r.csv.8.0a1b2c3d.tmp': now - STALE_TEMP_MS - 1, '.r.csv.9.0a1b2c3d.tmp': now - STALE_TEMP_MS };
    const names = [...Object.keys(at), '.r.csv.x.0a1b2c3d.tmp', '.r.csv.7.0A1B2C3D.tmp', '.r.csv.7.0a1b2c3d.tmp.keep'];
    expect(staleTempFiles('/d/r.csv', names, now, (n) => at[n] ?? now - STALE_TEMP_MS - 1, (pid) => pid === 8)).toEqual(['.r.csv.7.0a1b2c3d.tmp']);
  });
});

// Was: a FIFO or a device named as the file (`--out /dev/stdout`, `/dev/null`) was renamed over:
// replaced by a regular file (as root, /dev/null itself), its reader getting nothing.
describe.skipIf(process.platform === 'win32')('replaceFile: a FIFO or a device', () => {
  it('is written into, and stays what it was', () => {
    const d = dir();
    const fifo = join(d, 'pipe');
    execFileSync('mkfifo', [fifo]);
    // A reader already there (as a shell's `| consumer` is): the write does not wait for one.
    const reader = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
    try {
      replaceFile(fifo, 'report\n');
      const buf = Buffer.alloc(64);
      const n = readSync(reader, buf);
      expect(buf.subarray(0, n).toString()).toBe('report\n');
    } finally {
      closeSync(reader);
    }
    expect(lstatSync(fifo).isFIFO()).toBe(true);
    expect(readdirSync(d)).toEqual(['pipe']);
  });
});
