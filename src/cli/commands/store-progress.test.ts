/** `store vacuum`'s and `store backup`'s progress lines ({@link vacuumProgress}, {@link backupProgress}): redrawn in place at a terminal, one line each elsewhere. */
import { describe, expect, it } from 'vitest';
import type { VacuumProgress } from '../../adapters/store/sqlite/sqlite-store.js';
import { backupProgress, vacuumProgress } from './store.js';

const MIB = 1_048_576;
const stream = (isTTY: boolean) => {
  const written: string[] = [];
  return { out: { isTTY, write: (s: string) => written.push(s) } as unknown as NodeJS.WriteStream, written };
};
/** A vacuum of a 40 MiB file with 10 MiB in use, `s` seconds in (the progress carries its own clock). */
const at = (s: number, over: Partial<VacuumProgress> = {}): VacuumProgress => ({ elapsedMs: s * 1000, fileBytes: 40 * MIB, walBytes: 0, tempBytes: undefined, inUseBytes: 10 * MIB, done: false, ...over });

describe('vacuumProgress', () => {
  it('not at a terminal: a line at the start, at most one every 5 s between, and one at the end; no carriage returns', () => {
    const { out, written } = stream(false);
    const show = vacuumProgress('vacuuming ab.db', out);
    show(at(0));
    for (const s of [1, 2, 3, 4]) show(at(s, { tempBytes: s * MIB }));
    show(at(5, { tempBytes: 8 * MIB, walBytes: 2.5 * MIB }));
    show(at(6, { walBytes: 9 * MIB }));
    show(at(7, { fileBytes: 9.6 * MIB, done: true }));
    expect(written).toEqual([
      'vacuuming ab.db: 0 s; WAL 0 MiB, of about 10 MiB in use (file 40 MiB)\n',
      'vacuuming ab.db: 5 s; temporary copy 8 MiB, WAL 2.5 MiB, of about 10 MiB in use (file 40 MiB)\n',
      'vacuuming ab.db: done in 7 s, the file is 9.6 MiB\n',
    ]);
  });

  it('at a terminal: each report redraws the one line, ended with the last', () => {
    const { out, written } = stream(true);
    const show = vacuumProgress('vacuuming ab.db', out);
    show(at(0));
    show(at(1, { tempBytes: 3 * MIB }));
    show(at(2, { fileBytes: 9.6 * MIB, done: true }));
    expect(written).toEqual([
      '\rvacuuming ab.db: 0 s; WAL 0 MiB, of about 10 MiB in use (file 40 MiB)\x1b[K',
      '\rvacuuming ab.db: 1 s; temporary copy 3 MiB, WAL 0 MiB, of about 10 MiB in use (file 40 MiB)\x1b[K',
      '\rvacuuming ab.db: done in 2 s, the file is 9.6 MiB\x1b[K\n',
    ]);
  });
});

describe('backupProgress', () => {
  // Was: the lines ran "0 % (0 of 6.6 MiB)" … "100 % (6.4 of 6.4 MiB)": the total was the estimate
  // (the pages in use) until the end, then the size of the compacted copy, so it jumped.
  it('keeps the one total, the estimate made at the start, on every line, the last too, and says it is about', () => {
    const { out, written } = stream(false);
    const show = backupProgress('backing up ab.db to copy.db', out);
    show({ written: 0, expected: 6.6 * MIB, done: false });
    show({ written: 3.3 * MIB, expected: 6.6 * MIB, done: false });
    show({ written: 6.4 * MIB, expected: 6.6 * MIB, done: true });
    expect(written).toEqual([
      'backing up ab.db to copy.db: 0 % (0 of about 6.6 MiB)\n',
      'backing up ab.db to copy.db: 50 % (3.3 of about 6.6 MiB)\n',
      'backing up ab.db to copy.db: 100 % (6.4 MiB copied, of about 6.6 MiB)\n',
    ]);
  });

  it('a copy that outgrows the estimate (a running service wrote meanwhile) shows what it wrote, at 99 % until done', () => {
    const { out, written } = stream(true);
    const show = backupProgress('backing up ab.db to copy.db', out);
    show({ written: 7 * MIB, expected: 6.6 * MIB, done: false });
    show({ written: 7.2 * MIB, expected: 6.6 * MIB, done: true });
    expect(written).toEqual([
      '\rbacking up ab.db to copy.db: 99 % (7 of about 6.6 MiB)\x1b[K',
      '\rbacking up ab.db to copy.db: 100 % (7.2 MiB copied, of about 6.6 MiB)\x1b[K\n',
    ]);
  });
});
