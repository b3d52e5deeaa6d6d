/**
 * {@link replaceFile}: the new file is never readable by anyone the old one was not, not even for
 * the moment between its creation and its taking the old file's mode, owner and group.
 */
import type * as fs from 'node:fs';
import { chmodSync, chownSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { replaceFile } from './replace-file.js';

/** Each temporary file's mode as it was created (before anything was written or changed). */
const created: { path: string; mode: number }[] = [];
let refuseChown = false;

vi.mock('node:fs', async (importOriginal) => {
  const real = await importOriginal<typeof fs>();
  return {
    ...real,
    openSync: (...args: Parameters<typeof real.openSync>) => {
      const fd = real.openSync(...args);
      if (String(args[0]).endsWith('.tmp')) created.push({ path: String(args[0]), mode: real.fstatSync(fd).mode & 0o7777 });
      return fd;
    },
    fchownSync: (...args: Parameters<typeof real.fchownSync>) => {
      if (refuseChown) throw Object.assign(new Error('EPERM: operation not permitted, fchown'), { code: 'EPERM' });
      real.fchownSync(...args);
    },
  };
});

const dir = () => mkdtempSync(join(tmpdir(), 'ab-replace-access-'));
const isRoot = process.getuid?.() === 0;
let umask = 0;
beforeEach(() => {
  created.length = 0;
  refuseChown = false;
  umask = process.umask(0o022); // the usual one, which makes a new file world-readable
});
afterEach(() => void process.umask(umask));

// Was: the temporary file was created at 0666 less the umask (0644) and given the old file's mode
// only then: a reader who opened it in between (the directory lists it) kept reading the secrets
// written to it after.
describe('replaceFile: access to the new file', () => {
  it('an owner-only file is owner-only from the moment its replacement is created', () => {
    const f = join(dir(), 'secrets.csv');
    writeFileSync(f, 'old\n');
    chmodSync(f, 0o600);
    replaceFile(f, 'new\n');
    expect(created).toHaveLength(1);
    expect(created[0]?.mode).toBe(0o600);
    expect([readFileSync(f, 'utf8'), statSync(f).mode & 0o777]).toEqual(['new\n', 0o600]);
  });

  it('a new file (none there before) is made as any other would be, by the umask', () => {
    const f = join(dir(), 'new.csv');
    replaceFile(f, 'x\n');
    expect(statSync(f).mode & 0o777).toBe(0o644);
  });

  // Was: replaced by another user (root), the file became that user's, in that user's group.
  it.skipIf(!isRoot)('keeps the old file\'s owner and group', () => {
    const f = join(dir(), 'r.csv');
    writeFileSync(f, 'old\n');
    chownSync(f, 4321, 4322);
    chmodSync(f, 0o640);
    replaceFile(f, 'new\n');
    const st = statSync(f);
    expect([st.uid, st.gid, st.mode & 0o777, readFileSync(f, 'utf8')]).toEqual([4321, 4322, 0o640, 'new\n']);
  });

  it.skipIf(!isRoot)('where the group cannot be kept, the group the new file has instead is given nothing', () => {
    const f = join(dir(), 'r.csv');
    writeFileSync(f, 'old\n');
    chownSync(f, 4321, 4322);
    chmodSync(f, 0o640);
    refuseChown = true; // as for a user not in the old file's group
    replaceFile(f, 'new\n');
    const st = statSync(f);
    expect([st.gid === 4322, st.mode & 0o777, readFileSync(f, 'utf8')]).toEqual([false, 0o600, 'new\n']);
  });
});
