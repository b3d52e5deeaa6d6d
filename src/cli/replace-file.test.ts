/** {@link replaceFile}: the file replaced whole, as it was kept (its mode, a link to it), nothing left beside it. */
import { chmodSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { replaceFile } from './replace-file.js';

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

  it('refuses a directory (EISDIR) and a missing directory (ENOENT), leaving nothing behind', () => {
    const d = dir();
    mkdirSync(join(d, 'sub'));
    expect(() => replaceFile(join(d, 'sub'), 'x')).toThrow(expect.objectContaining({ code: 'EISDIR' }));
    expect(() => replaceFile(join(d, 'none', 'r.csv'), 'x')).toThrow(expect.objectContaining({ code: 'ENOENT' }));
    expect(readdirSync(d)).toEqual(['sub']);
    expect(readdirSync(join(d, 'sub'))).toEqual([]);
  });
});
