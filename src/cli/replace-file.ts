/**
 * Writing a report file so that it is never left half written: the text goes to a temporary file
 * beside it (same directory, so the same file system), which is flushed to disk (fsync) and then
 * renamed over the file. A crash or an error midway (a full disk, a file size limit) leaves the
 * previous file as it was, never a truncated one; on an error the temporary file is removed.
 * @module
 */
import { randomBytes } from 'node:crypto';
import { closeSync, fchmodSync, fsyncSync, openSync, realpathSync, renameSync, rmSync, statSync, writeFileSync, type Stats } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';

/**
 * The temporary file `file` is written to first: hidden, beside it, unique to this write (process
 * and random part), so two writes at once never share one and no file of the user's is taken.
 */
export function tempPathFor(file: string): string {
  return join(dirname(file), `.${basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
}

/**
 * `text` as the whole content of `file`, replaced at once (see the module). An existing file keeps
 * its permission bits; a symbolic link is written through (the file it points to is replaced, the
 * link stays). Errors are thrown as the file system gives them (`code`: ENOENT, EACCES, EISDIR, …).
 */
export function replaceFile(file: string, text: string): void {
  let target = resolve(file);
  try {
    target = realpathSync(target);
  } catch {
    // Not there yet (or a dangling link): created as named.
  }
  const existing = statOrUndefined(target);
  if (existing?.isDirectory()) throw Object.assign(new Error(`EISDIR: illegal operation on a directory, open '${file}'`), { code: 'EISDIR' });
  const temp = tempPathFor(target);
  let fd: number | undefined;
  try {
    fd = openSync(temp, 'wx', 0o666);
    if (existing) fchmodSync(fd, existing.mode & 0o7777);
    writeFileSync(fd, text);
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    renameSync(temp, target);
  } catch (err) {
    if (fd !== undefined) closeQuietly(fd);
    rmSync(temp, { force: true });
    throw err;
  }
  syncDirectory(dirname(target));
}

function statOrUndefined(path: string): Stats | undefined {
  try {
    return statSync(path);
  } catch {
    return undefined;
  }
}

function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // Already failing: the first error is the one to tell.
  }
}

/** The rename made durable: the directory's entry flushed too. Not every platform can (Windows cannot open a directory): best effort. */
function syncDirectory(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    // The file itself is on disk; only the rename may not yet be.
  } finally {
    if (fd !== undefined) closeQuietly(fd);
  }
}
