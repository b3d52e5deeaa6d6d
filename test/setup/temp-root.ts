/**
 * Each test file's temporary files (stores, configs, captures, the CLI's data dirs) go under one
 * directory of its own, removed when the file's tests end: `os.tmpdir()` reads `TMPDIR` on every
 * call, so every `mkdtempSync(join(tmpdir(), …))` lands here, and so do the child processes the
 * CLI tests start. Without it every run left its stores behind in /tmp.
 *
 * Registered first (vitest `setupFiles`), this `afterAll` runs after the file's own, which close
 * their stores first. `KEEP_TEST_TMP=1` keeps the files to look at after a failure.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';

const outer = process.env.TMPDIR;
const root = mkdtempSync(join(tmpdir(), 'ab-test-'));
process.env.TMPDIR = root;

afterAll(() => {
  if (outer === undefined) delete process.env.TMPDIR;
  else process.env.TMPDIR = outer;
  if (process.env.KEEP_TEST_TMP === '1') process.stderr.write(`test files kept in ${root}\n`);
  else rmSync(root, { recursive: true, force: true });
});
