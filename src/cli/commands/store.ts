/**
 * `assetbridge store prune`: applies `store.retention` now, as the running service does every
 * `store.retention.every`. Safe while the service runs (short transactions, one batch at a time).
 * `assetbridge store backup FILE`: a consistent copy of the store, also while the service runs,
 * with nothing else to install (no sqlite3 shell).
 * @module
 */
import { existsSync, realpathSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { Command } from 'commander';
import { SqliteStore, StoreOpenError, StoreOutdatedError, vacuumLeaseMs, type BackupProgress, type VacuumProgress } from '../../adapters/store/sqlite/sqlite-store.js';
import { UsageError } from '../../core/errors/errors.js';
import { storeErrorCode } from '../../core/errors/store-errors.js';
import { cutoffsAt, describePrune, pruneAll } from '../../engine/retention.js';
import { LEASE_KEY, LEASE_NS, StoreBusyError, StoreLease } from '../../engine/store-lease.js';
import { action, addConfigOption, resolveConfig, toJson, withConfigContext, withContext } from '../context.js';

/** `path` with symlinks resolved as far as it exists (the file itself may not yet). */
function realPath(path: string): string {
  const abs = resolve(path);
  return existsSync(abs) ? realpathSync(abs) : resolve(realpathSync(dirname(abs)), abs.slice(dirname(abs).length + 1));
}

/**
 * From this size on, `store backup` and `store vacuum` show their progress on stderr: for a backup,
 * of what it copies (the database pages in use, {@link longCopiesOnly}); for a vacuum, of the store
 * file and its WAL, which it rewrites.
 */
export const LONG_COPY_BYTES = 1_048_576;

/** Bytes of the store file and its WAL. */
function storeBytes(path: string): number {
  return ['', '-wal'].reduce((n, suffix) => n + (existsSync(path + suffix) ? statSync(path + suffix).size : 0), 0);
}

/**
 * `show` for a backup that copies {@link LONG_COPY_BYTES} or more (`expected`: the database pages
 * the copy reads), else nothing: not the file sizes, which count freed pages and the WAL (megabytes
 * while a service runs, though a small store is copied in a moment).
 */
export function longCopiesOnly(show: (p: BackupProgress) => void): (p: BackupProgress) => void {
  return (p) => {
    if (p.expected >= LONG_COPY_BYTES) show(p);
  };
}

const mib = (bytes: number): number => Math.round((bytes / 1_048_576) * 10) / 10;

/** Not at a terminal: a progress line at least this often, besides one at each quarter. */
const PROGRESS_LINE_MS = 5000;

/**
 * Shows on stderr (never stdout, which has the summary) how far a backup has got: at a terminal one
 * line updated in place; else a line at the start, at 25, 50 and 75 %, at least every
 * {@link PROGRESS_LINE_MS} between, and at the end. The total is the estimate made at the start
 * (the store's pages in use), on every line, the last too: the compacted copy comes out somewhat
 * smaller (pages packed fuller) or larger (what a running service wrote meanwhile), so it is
 * "about", and the MiB written are the copy's own, never trimmed to the estimate.
 */
export function backupProgress(what: string, out: NodeJS.WriteStream = process.stderr): (p: BackupProgress) => void {
  const tty = out.isTTY === true;
  let lastQuarter = -1;
  let lastLine = 0;
  return ({ written, expected, done }) => {
    // The copy may come out larger than the pages counted: never over 100 % before it is done.
    const pct = done ? 100 : Math.min(99, expected > 0 ? Math.floor((written / expected) * 100) : 0);
    const line = `${what}: ${pct} % (${mib(written)} ${done ? 'MiB copied, ' : ''}of about ${mib(expected)} MiB)`;
    if (tty) {
      out.write(`\r${line}\x1b[K${done ? '\n' : ''}`);
      return;
    }
    const quarter = Math.floor(pct / 25);
    if (!done && quarter === lastQuarter && Date.now() - lastLine < PROGRESS_LINE_MS) return;
    lastQuarter = quarter;
    lastLine = Date.now();
    out.write(`${line}\n`);
  };
}

/**
 * Shows on stderr (never stdout, which has the summary) what can be seen of a vacuum, as SQLite
 * reports no progress of its own: the time taken; the temporary compacted copy it builds first
 * (where this process's open files can be listed); the WAL it then writes the copy back through;
 * against the pages in use (about what the file comes to) and the file's size. At a terminal one
 * line updated in place; else a line at the start, at least every {@link PROGRESS_LINE_MS} between
 * (by the vacuum's own clock, `elapsedMs`), and at the end.
 */
export function vacuumProgress(what: string, out: NodeJS.WriteStream = process.stderr): (p: VacuumProgress) => void {
  const tty = out.isTTY === true;
  let lastLine: number | undefined;
  return ({ elapsedMs, fileBytes, walBytes, tempBytes, inUseBytes, done }) => {
    const took = `${Math.round(elapsedMs / 1000)} s`;
    const line = done
      ? `${what}: done in ${took}, the file is ${mib(fileBytes)} MiB`
      : `${what}: ${took}; ${tempBytes ? `temporary copy ${mib(tempBytes)} MiB, ` : ''}WAL ${mib(walBytes)} MiB, of about ${mib(inUseBytes)} MiB in use (file ${mib(fileBytes)} MiB)`;
    if (tty) {
      out.write(`\r${line}\x1b[K${done ? '\n' : ''}`);
      return;
    }
    if (!done && lastLine !== undefined && elapsedMs - lastLine < PROGRESS_LINE_MS) return;
    lastLine = elapsedMs;
    out.write(`${line}\n`);
  };
}

/**
 * Left out of a backup: the store lease of the process running on the store (the service). In the
 * copy it would name that process as the copy's holder: restored beside it (a restore drill, a
 * store moved to a new path), the copy was "in use" by it for as long as it ran, refusing a service
 * or `store vacuum` there and showing it as a service not answering.
 */
const NOT_COPIED = [{ namespace: LEASE_NS, key: LEASE_KEY }] as const;

export function registerStoreCommand(program: Command): void {
  const store = program.command('store').description('the local store: retention of finished records, backups, shrinking the file');

  addConfigOption(
    store
      .command('vacuum')
      .description('shrink the store file to what it holds (pages freed by store prune are reused, not given back): with the service stopped')
      .addHelpText(
        'after',
        '\nIt rewrites the whole file: it needs free disk for a second copy meanwhile, and no service on the store (refused while one runs; one started meanwhile is refused).\n' +
          'SQLite reports no percentage: for a store of 1 MiB or more, stderr shows every second (at a terminal; else every 5 s) what can be seen of it: ' +
          'the time taken, the temporary compacted copy (on Linux), the WAL it is written back through, against the pages in use.\n' +
          "The store lease (kept in the store, which the vacuum locks) cannot be renewed meanwhile: it is renewed ahead first, for a minute and a minute more per 480 MiB of store, so that no process takes the store over while it runs; killed, a vacuum's lease is taken over at once on this host, from another after that time.\n\n" +
          'Example:\n  assetbridge store prune -c assetbridge.yaml && assetbridge store vacuum -c assetbridge.yaml',
      ),
  ).action(
    action(async (opts: { config: string }) => {
      await withContext(opts.config, async ({ config, store: s, logger }) => {
        if (!(s instanceof SqliteStore)) throw new UsageError('store vacuum shrinks the embedded SQLite store; a PostgreSQL store is vacuumed by PostgreSQL');
        // It holds the write lock for its whole run: a running service's commits would fail meanwhile.
        const lease = await StoreLease.acquire(s, { command: 'assetbridge store vacuum', path: config.store.path, logger }).catch((err: unknown) => {
          if (!(err instanceof StoreBusyError)) throw err;
          const h = err.holder;
          throw new UsageError(
            `the store ${config.store.path} (store.path) is in use by ${h.command} (pid ${h.pid} on ${h.host}): store vacuum rewrites the whole file and keeps it locked meanwhile, so stop that one first (store prune and store backup work while it runs)`,
          );
        });
        try {
          const before = storeBytes(config.store.path);
          // A small store is vacuumed in a moment: only a large one shows its progress.
          const onProgress = before >= LONG_COPY_BYTES ? vacuumProgress(`vacuuming ${config.store.path}`) : undefined;
          const started = Date.now();
          // The vacuum's worker holds the write lock throughout, and the lease is a row of the
          // store: no renewal can be written meanwhile (one would wait on the lock and fail). So it
          // is renewed ahead, for as long as a vacuum of this size may take on a slow disk.
          const holdMs = vacuumLeaseMs(before);
          if (onProgress)
            process.stderr.write(
              `the store lease cannot be renewed while the vacuum locks the store: it is held for up to ${Math.ceil(holdMs / 60_000)} min ahead (should this process be killed, a process on another host can take the store over only after that)\n`,
            );
          await lease.renewalsHeldDuring(() => s.vacuum({ onProgress }), holdMs);
          process.stdout.write(`vacuumed ${config.store.path}: ${mib(before)} MiB → ${mib(storeBytes(config.store.path))} MiB in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
        } finally {
          await lease.release();
        }
      }, { existingStore: true });
    }),
  );

  addConfigOption(
    store
      .command('backup')
      .description('write a consistent copy of the store to FILE, also while the service runs (compacted: deleted rows take no room in it)')
      .argument('<file>', 'the copy to write (a path from the current directory)')
      .option('--force', 'replace FILE if it exists (say, last night\'s copy)')
      .addHelpText(
        'after',
        '\nThe copy is written beside FILE first and renamed when complete, so a copy cut short never stands as FILE.\n' +
          'A copy of 1 MiB or more (the pages in use; freed pages and the -wal file are not copied) shows its progress on stderr.\n' +
          'To restore it: stop the service, delete the store file and its -wal and -shm files (store.path), copy FILE there, start the service.\n\n' +
          'Example:\n  assetbridge store backup /backups/assetbridge-$(date +%F).db -c assetbridge.yaml',
      ),
  ).action(
    action(async (file: string, opts: { config: string; force?: boolean }) => {
      const { config, configPath } = resolveConfig(opts.config);
      const backUp = async (copy: (target: string, onProgress: ((p: BackupProgress) => void) | undefined) => Promise<{ bytes: number }>) => {
        const target = resolve(file);
        if (!existsSync(dirname(target)) || !statSync(dirname(target)).isDirectory()) throw new UsageError(`the directory of ${target} does not exist: make it first, or give another FILE`);
        const storeFile = realPath(config.store.path);
        // Renamed over the store (or its WAL) under a running service, the copy would damage it.
        if ([storeFile, `${storeFile}-wal`, `${storeFile}-shm`].includes(realPath(target))) {
          throw new UsageError(`${target} is the store itself (store.path): give FILE another path`);
        }
        // --force cannot replace a directory: say so before the copy is made (and then cannot be renamed there).
        if (existsSync(target) && statSync(target).isDirectory())
          throw new UsageError(`${target} is a directory: give FILE as a file path, e.g. ${join(target, 'assetbridge-backup.db')}`);
        if (existsSync(target) && opts.force !== true) throw new UsageError(`${target} exists: give another FILE, or --force to replace it`);
        // A small store is copied in a moment: only a large copy shows its progress.
        const onProgress = longCopiesOnly(backupProgress(`backing up ${config.store.path} to ${target}`));
        const started = Date.now();
        let bytes: number;
        try {
          ({ bytes } = await copy(target, onProgress));
        } catch (err) {
          const code = storeErrorCode(err);
          // A store that cannot be read keeps the store's advice; anything else is about FILE.
          if (err instanceof StoreOpenError || code === 'SQLITE_CORRUPT' || code === 'SQLITE_NOTADB' || code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED') throw err;
          throw new Error(`cannot write the backup ${target}: ${(err as Error).message}; check that its directory is writable and has room for a copy of the store`, { cause: err });
        }
        process.stdout.write(`backed up ${config.store.path} to ${target} (${mib(bytes)} MiB) in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
        process.stdout.write(`to restore: stop the service, delete ${config.store.path} and its -wal and -shm files, copy ${target} there, start the service\n`);
      };
      try {
        await withConfigContext(config, configPath, async ({ store: s }) => {
          if (!(s instanceof SqliteStore)) throw new UsageError('store backup copies the embedded SQLite store; back up a PostgreSQL store with pg_dump');
          await backUp((target, onProgress) => s.backupTo(target, { omit: NOT_COPIED, onProgress }));
        }, { readOnly: true });
      } catch (err) {
        // A store an older assetbridge wrote: copied as it is, not upgraded first (the copy to go back to).
        if (!(err instanceof StoreOutdatedError)) throw err;
        process.stderr.write(`the store is at schema version ${err.version} (this assetbridge expects version ${err.expected}): copied as it is, not upgraded\n`);
        await backUp((target, onProgress) => SqliteStore.backupFile(config.store.path, target, { omit: NOT_COPIED, onProgress }));
      }
    }),
  );

  addConfigOption(
    store
      .command('prune')
      .description('delete finished records older than store.retention now (delivered state updates, audit records, closed quarantine entries; delivered facts only when set)')
      .option('--dry-run', 'count what would be deleted, and delete nothing')
      .option('--json', 'print JSON: the retention applied (in ms, 0: kept) and the records deleted (with --dry-run, that would be), by kind')
      .addHelpText('after', '\nPending, in-flight and dead deliveries and open quarantine entries are never deleted.\n\nExample:\n  assetbridge store prune -c assetbridge.yaml'),
  ).action(
    action(async (opts: { config: string; dryRun?: boolean; json?: boolean }) => {
      await withContext(opts.config, async ({ config, store: s }) => {
        const r = config.store.retention;
        const retentionMs = { delivered: r.delivered, deliveredFacts: r.deliveredFacts, audit: r.audit, quarantine: r.quarantine };
        const days = (ms: number) => (ms > 0 ? `${Math.round((ms / 86_400_000) * 10) / 10} d` : 'kept');
        if (!opts.json) process.stdout.write(`retention: delivered ${days(r.delivered)}, delivered facts ${days(r.deliveredFacts)}, audit ${days(r.audit)}, closed quarantine ${days(r.quarantine)} (store.retention)\n`);
        if (opts.dryRun) {
          const counted = await s.countPrunable(cutoffsAt(r, Date.now()));
          process.stdout.write(opts.json ? `${toJson({ dryRun: true, retentionMs, wouldDelete: counted })}\n` : `would delete ${describePrune(counted)} (dry run: nothing deleted)\n`);
          return;
        }
        let last = Date.now();
        const total = await pruneAll(s, cutoffsAt(r, Date.now()), {
          onBatch: (t) => {
            if (Date.now() - last < 5000) return;
            last = Date.now();
            process.stderr.write(`… ${describePrune(t)} so far\n`);
          },
        });
        process.stdout.write(opts.json ? `${toJson({ dryRun: false, retentionMs, deleted: total })}\n` : `deleted ${describePrune(total)}\n`);
      }, { existingStore: true, readOnly: opts.dryRun === true });
    }),
  );
}
