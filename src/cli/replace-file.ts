/**
 * Writing a report file so that it is never left half written: the text goes to a temporary file
 * beside it (same directory, so the same file system), which is flushed to disk (fsync) and then
 * renamed over the file. A crash or an error midway (a full disk, a file size limit) leaves the
 * previous file as it was, never a truncated one; on an error the temporary file is removed.
 * A process killed midway (kill -9, the OOM killer, a power loss) cannot remove its temporary file:
 * the next write of the same file removes those left so ({@link staleTempFiles}).
 *
 * What a rename cannot keep: the new file is another file (inode) that takes over the name.
 * - Hard links: the file's other names would go on naming the old one, with the old text, so a file
 *   with more than one link is refused ({@link HardLinkedFileError}), left as it was. (A symbolic
 *   link is written through: the file it names is replaced, the link stays.)
 * - POSIX ACLs (`setfacl`) and other extended attributes (`user.*`, an SELinux or SMACK label) of
 *   the file are not carried over: the new file has the ACL its directory gives new files (its
 *   default ACL) and the label new files get there. Node has no API to read or write extended
 *   attributes, and copying them would take a native dependency; so where a report's readers are
 *   let in by an ACL on the file itself, give the directory a default ACL
 *   (`setfacl -d -m u:reader:r DIR`) instead, which every new file there gets.
 *   Permission bits, owner and group are kept ({@link keepAccess}).
 *
 * Not `write-file-atomic`: its temporary file is `<file>.<hash>` (not hidden, no writer's pid to
 * tell a dead writer's from a live one's) and it removes it on exit through `signal-exit`, which no
 * SIGKILL reaches, so it leaves the same leftovers, with nothing to clear them.
 * @module
 */
import { randomBytes } from 'node:crypto';
import { closeSync, fchmodSync, fchownSync, fstatSync, fsyncSync, openSync, readdirSync, realpathSync, renameSync, rmSync, statSync, writeFileSync, type Stats } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { pidAlive } from '../engine/store-lease.js';

/**
 * The temporary file `file` is written to first: hidden, beside it, unique to this write (process
 * and random part), so two writes at once never share one and no file of the user's is taken.
 */
export function tempPathFor(file: string): string {
  return join(dirname(file), `.${basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
}

/**
 * A file with more than one hard link, which {@link replaceFile} refuses: replaced by rename, only
 * the name given would have the new text, its other names the old. Left as it was.
 */
export class HardLinkedFileError extends Error {
  readonly code = 'EHARDLINKED';
  constructor(
    readonly file: string,
    readonly links: number,
  ) {
    super(
      `${file} has ${links} hard links (other names for the same file): it is written beside it and renamed over it, which would give only this name the new text and leave the others with the old, so it is left as it was; ` +
        `give a path of its own, or remove the other links first (find DIR -samefile ${file} lists them), or write another file and copy it over (cp writes into the file, so every link sees it)`,
    );
    this.name = 'HardLinkedFileError';
  }
}

/**
 * `text` as the whole content of `file`, replaced at once (see the module). An existing file keeps
 * its permission bits, owner and group ({@link keepAccess}), but not its ACL or extended attributes
 * (see the module); one with more than one hard link is refused ({@link HardLinkedFileError});
 * a symbolic link is written through (the file it points to is replaced, the
 * link stays); a FIFO or a device is written into, not replaced. Errors are thrown as the file system gives them (`code`: ENOENT, EACCES, EISDIR, …).
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
  // A FIFO or a device (`--out /dev/stdout`, `/dev/null`) is written into: renamed over, it would be
  // replaced by a regular file (as root, /dev/null itself), and a reader of the FIFO would get nothing.
  if (existing && !existing.isFile()) return writeInto(target, text);
  if (existing && existing.nlink > 1) throw new HardLinkedFileError(file, existing.nlink);
  const temp = tempPathFor(target);
  let fd: number | undefined;
  try {
    // Owner-only until it has the old file's access: an open file stays readable whatever its mode
    // becomes, so a reader who opened it at a wider mode would read the text written after.
    fd = openSync(temp, 'wx', existing ? 0o600 : 0o666);
    if (existing) keepAccess(fd, existing);
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
  removeStaleTempFiles(target);
}

/**
 * The old file's owner, group and permission bits given to the new one (`fd`): replaced by another
 * user (root, say), a file kept for a group would otherwise become that user's, in that user's
 * group with the same bits. Where the owner or group cannot be kept (not root; not in that group),
 * the new file is this user's, and a group it now has apart from the old one gets nothing.
 */
function keepAccess(fd: number, old: Stats): void {
  const made = fstatSync(fd);
  if (made.uid !== old.uid || made.gid !== old.gid) {
    try {
      fchownSync(fd, old.uid, old.gid);
    } catch {
      try {
        fchownSync(fd, -1, old.gid); // a group this user is in
      } catch {
        // Left as made: its group's bits are cleared below.
      }
    }
  }
  const sameGroup = fstatSync(fd).gid === old.gid;
  fchmodSync(fd, old.mode & (sameGroup ? 0o7777 : 0o7707));
}

/** `text` written into the FIFO or device `target` as it is (no temporary file, nothing to fsync). */
function writeInto(target: string, text: string): void {
  const fd = openSync(target, 'w');
  try {
    writeFileSync(fd, text);
  } finally {
    closeSync(fd);
  }
}

/**
 * A temporary file is taken for one a killed writer left once untouched for this long: a write
 * updates its file as it goes, and renames it a moment after its last byte, so a live writer's
 * (another process's, even on a volume shared with another container, whose pids are not seen
 * here) is never this old.
 */
export const STALE_TEMP_MS = 10 * 60_000;

/**
 * Of `names` (a directory's entries), the temporary files of `file` ({@link tempPathFor}: only that
 * pattern, so no file of the user's) that a killed writer left: untouched for over
 * {@link STALE_TEMP_MS}, and whose writer's pid is no live process here, or is this process's
 * (which writes one at a time, so one of its pid not being written now is an earlier process's,
 * as a restarted container's pid 1). Names only.
 */
export function staleTempFiles(
  file: string,
  names: readonly string[],
  now: number,
  modifiedAt: (name: string) => number | undefined,
  writerAlive: (pid: number) => boolean = (pid) => pidAlive(pid),
): string[] {
  const prefix = `.${basename(file)}.`;
  return names.filter((name) => {
    if (!name.startsWith(prefix) || !name.endsWith('.tmp')) return false;
    const middle = /^(\d+)\.[0-9a-f]{8}$/.exec(name.slice(prefix.length, -'.tmp'.length));
    if (!middle) return false;
    const mtime = modifiedAt(name);
    if (mtime === undefined || now - mtime <= STALE_TEMP_MS) return false;
    const pid = Number(middle[1]);
    return pid === process.pid || !writerAlive(pid);
  });
}

/** Best effort: a directory that cannot be listed, or a file that cannot be removed, is left as it is. */
function removeStaleTempFiles(target: string): void {
  const dir = dirname(target);
  try {
    const stale = staleTempFiles(target, readdirSync(dir), Date.now(), (name) => statOrUndefined(join(dir, name))?.mtimeMs);
    for (const name of stale) rmSync(join(dir, name), { force: true });
  } catch {
    // The report is written; a leftover the next write may remove.
  }
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
