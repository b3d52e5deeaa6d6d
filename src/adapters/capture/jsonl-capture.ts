/**
 * Event capture to daily JSONL files: `<dir>/events-YYYY-MM-DD.jsonl` (UTC day of processing),
 * one canonical event per line (core/normalize/canonical-encoder.ts; `"redelivered": true` on an
 * event of a message its source sent again), the input `rules test --events` reads. Files older than `keepDays` are deleted when a new day starts and at start.
 *
 * Best effort, never in ingest's way: a day's file stops growing at `maxFileBytes`, events are
 * not captured while the writer is more than `maxBacklogBytes` behind the disk, and after a write
 * error capture pauses until the next day. Each of these is logged once and counted: an event
 * counts as captured once its write has finished, so the events of a write that fails count as
 * not kept (see {@link JsonlCapture.counts}).
 * @module
 */
import { closeSync, createWriteStream, existsSync, mkdirSync, openSync, readdirSync, readSync, statSync, unlinkSync, type WriteStream } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { Logger } from 'pino';
import { ConfigError } from '../../core/errors/errors.js';
import { canonicalLine } from '../../core/normalize/canonical-encoder.js';
import type { CapturedEvent, EventCapture } from '../../ports/capture.js';

export interface JsonlCaptureOptions {
  /** Directory for the daily files; created when missing. */
  readonly dir: string;
  /** Days of files kept besides today's; 0 keeps every file. */
  readonly keepDays: number;
  /** Largest size of one day's file, bytes. */
  readonly maxFileBytes: number;
  /** Most bytes waiting for the disk before events are no longer captured. @default 32 MiB */
  readonly maxBacklogBytes?: number;
  readonly logger?: Logger;
}

const FILE = /^events-(\d{4}-\d{2}-\d{2})\.jsonl$/;
const DAY_MS = 86_400_000;

/** The file name for the UTC day of `now`. */
export const captureFileName = (now: number): string => `events-${new Date(now).toISOString().slice(0, 10)}.jsonl`;

/** Capture files in `names` older than `keepDays` before the day of `now` (0: none). */
export function expiredCaptureFiles(names: readonly string[], now: number, keepDays: number): string[] {
  if (keepDays <= 0) return [];
  const oldest = new Date(Math.floor(now / DAY_MS) * DAY_MS - keepDays * DAY_MS).toISOString().slice(0, 10);
  return names.filter((n) => {
    const day = FILE.exec(n)?.[1];
    return day !== undefined && day < oldest;
  });
}

/**
 * Why `dir` cannot be the capture directory, checked without creating it (as `config check` and
 * the start check it): an existing file there, or a file on its path, or a directory (or, for a
 * missing one, the nearest existing directory above it, where it would be created) this process
 * cannot write. Undefined when it is a writable directory, or can be created (a missing one is, at start).
 */
export function captureDirProblem(dir: string): string | undefined {
  try {
    if (!statSync(dir).isDirectory()) return `${dir} is a file, not a directory (capture writes one file a day into it): set it to a directory (created when missing), e.g. ./capture`;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOTDIR') return `cannot create ${dir}: a part of its path is a file, not a directory; set it to a directory (created when missing), e.g. ./capture`;
    if (code !== 'ENOENT') return `cannot read ${dir}: ${(err as Error).message}; set it to a directory this user can write, or give this user access to it`;
    const parent = nearestExisting(dirname(resolve(dir)));
    const why = cannotWrite(parent);
    return why === undefined ? undefined : `cannot create ${dir}: ${parent} is not writable (${why}); create ${dir} and give this user write access to it, or set capture.dir to a directory this user can write`;
  }
  const why = cannotWrite(dir);
  return why === undefined ? undefined : `${dir} is not writable (${why}): give this user write access to it, or set capture.dir to a directory this user can write`;
}

/** `path` or the nearest directory above it that exists. */
function nearestExisting(path: string): string {
  for (let p = path; ; p = dirname(p)) {
    if (existsSync(p) || dirname(p) === p) return p;
  }
}

/**
 * Why a file cannot be made in directory `dir`, or undefined: by making (and removing) one, as
 * permission bits alone do not tell (root ignores them; a read-only mount does not show in them).
 */
function cannotWrite(dir: string): string | undefined {
  const probe = join(dir, `.assetbridge-capture-check-${process.pid}`);
  try {
    closeSync(openSync(probe, 'wx'));
  } catch (err) {
    return (err as NodeJS.ErrnoException).code ?? (err as Error).message;
  }
  try {
    unlinkSync(probe);
  } catch {
    // Made, so writable; a probe left behind is harmless.
  }
  return undefined;
}

export class JsonlCapture implements EventCapture {
  private day: string | undefined;
  private stream: WriteStream | undefined;
  /** Earlier days' streams still writing out what they were given: {@link JsonlCapture.close} waits for them too. */
  private readonly ending = new Set<Promise<void>>();
  private bytes = 0;
  /** Why capture is paused until the next day (logged once), if it is. */
  private paused: string | undefined;
  private behind = false;
  private closed = false;
  private readonly maxBacklog: number;
  /** Events whose write finished, and events not kept (refused, or lost with a failed write): {@link JsonlCapture.counts}. */
  private captured = 0;
  private dropped = 0;

  constructor(private readonly opts: JsonlCaptureOptions) {
    const problem = captureDirProblem(opts.dir);
    if (problem !== undefined) throw new ConfigError([{ key: 'capture.dir', message: problem }]);
    try {
      mkdirSync(opts.dir, { recursive: true });
    } catch (err) {
      throw new ConfigError([{ key: 'capture.dir', message: `cannot create ${opts.dir}: ${(err as Error).message}; set it to a writable directory` }]);
    }
    this.maxBacklog = opts.maxBacklogBytes ?? 32 * 1_048_576;
  }

  write(events: readonly CapturedEvent[], now: number): number {
    const refused = this.take(events, now);
    this.dropped += refused;
    return refused;
  }

  counts(): { captured: number; dropped: number } {
    return { captured: this.captured, dropped: this.dropped };
  }

  /** Queues `events` for the disk; returns how many it did not take. */
  private take(events: readonly CapturedEvent[], now: number): number {
    if (events.length === 0) return 0;
    if (this.closed) return events.length; // a batch committing after close (a stop that timed out): not reopened
    const name = captureFileName(now);
    if (name !== this.day) this.open(name, now);
    if (this.paused !== undefined || !this.stream) return events.length;
    if (this.stream.writableLength > this.maxBacklog) {
      if (!this.behind) this.opts.logger?.warn({ backlogBytes: this.stream.writableLength }, 'event capture is behind the disk: events are not captured until it catches up');
      this.behind = true;
      return events.length;
    }
    this.behind = false;
    let text = '';
    for (const { event, erpAssetId, redelivered } of events) text += canonicalLine(event, erpAssetId, redelivered === true);
    const size = Buffer.byteLength(text);
    if (this.bytes + size > this.opts.maxFileBytes) {
      this.pause(`${join(this.opts.dir, name)} reached capture.maxFileBytes (${this.opts.maxFileBytes} bytes): no more events are captured today; raise the limit to keep more`, 'warn');
      return events.length;
    }
    this.bytes += size;
    // Captured once written: a write that fails (a full disk) loses these, and pauses capture below.
    const n = events.length;
    this.stream.write(text, (err) => {
      if (err) this.dropped += n;
      else this.captured += n;
    });
    return 0;
  }

  async close(): Promise<void> {
    this.closed = true;
    const s = this.stream;
    this.stream = undefined;
    this.day = undefined;
    if (s) await endStream(s);
    await Promise.all(this.ending);
  }

  private open(name: string, now: number): void {
    const old = this.stream;
    if (old) {
      const ended: Promise<void> = endStream(old).then(() => {
        this.ending.delete(ended);
      });
      this.ending.add(ended);
    }
    this.day = name;
    this.paused = undefined;
    this.behind = false;
    this.prune(now);
    const path = join(this.opts.dir, name);
    try {
      this.bytes = statSync(path, { throwIfNoEntry: false })?.size ?? 0;
      const torn = this.bytes > 0 && !endsWithNewline(path, this.bytes);
      const stream = createWriteStream(path, { flags: 'a' });
      // A failed write pauses capture for the day; ingest goes on.
      stream.on('error', (err) => {
        if (this.stream === stream) this.pause(`event capture to ${path} failed: ${err.message}; capture resumes with the next day's file (check capture.dir)`, 'error');
      });
      this.stream = stream;
      // A crash mid-write left half a line: end it, or the next event would be glued onto it and lost too.
      if (torn) {
        stream.write('\n');
        this.bytes += 1;
      }
    } catch (err) {
      this.stream = undefined;
      this.pause(`event capture cannot open ${path}: ${(err as Error).message}; check capture.dir`, 'error');
    }
  }

  private pause(message: string, level: 'warn' | 'error'): void {
    if (this.paused !== undefined) return;
    this.paused = message;
    this.opts.logger?.[level](message);
  }

  private prune(now: number): void {
    try {
      for (const n of expiredCaptureFiles(readdirSync(this.opts.dir), now, this.opts.keepDays)) unlinkSync(join(this.opts.dir, n));
    } catch (err) {
      this.opts.logger?.warn({ err }, `event capture could not delete old files in ${this.opts.dir} (capture.keepDays)`);
    }
  }
}

/** Whether the file of `size` bytes at `path` ends with a newline. */
function endsWithNewline(path: string, size: number): boolean {
  const fd = openSync(path, 'r');
  try {
    const last = Buffer.alloc(1);
    readSync(fd, last, 0, 1, size - 1);
    return last[0] === 0x0a;
  } finally {
    closeSync(fd);
  }
}

function endStream(s: WriteStream): Promise<void> {
  return new Promise((resolve) => {
    if (s.destroyed || s.closed) return resolve();
    s.once('error', () => resolve());
    s.end(() => resolve());
  });
}
