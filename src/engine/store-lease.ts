/**
 * One process at a time runs the pipeline on an embedded store. The service and the commands that
 * run the pipeline themselves (`quarantine replay`, `maintenance complete` and `aemp backfill` with
 * no service up, the demo) keep rule state in memory and an ingest log beside it; two of them on
 * one SQLite file would each replay and clear the other's log and overwrite each other's state.
 *
 * So the first one takes a lease: a row naming its process, host and command, renewed every
 * {@link HEARTBEAT_MS}. Another process is refused while the holder lives. A holder that died
 * without letting go (kill -9, power loss) is recognised at once on the same host and in the same
 * pid namespace (its pid is gone: {@link pidSpace}), on the same host otherwise (another container
 * given the same hostname, a restarted container) once it has stopped renewing
 * ({@link SAME_HOST_GONE_MS}), and from another host when its renewals stop ({@link STALE_MS}).
 * @module
 */
import { randomUUID } from 'node:crypto';
import { readFileSync, readlinkSync } from 'node:fs';
import { hostname } from 'node:os';
import { setTimeout as delay } from 'node:timers/promises';
import type { Logger } from 'pino';
import { AssetbridgeError } from '../core/errors/errors.js';
import { isoTime } from '../core/rules/iso-format.js';
import { storeErrorAdvice, storeErrorCode } from '../core/errors/store-errors.js';
import type { Store, WriteGuard } from '../ports/store.js';

export const LEASE_NS = 'runtime';
export const LEASE_KEY = 'pipeline-lease';
export const HEARTBEAT_MS = 2000;
/** Renewals missed for this long free the lease (a holder on another host, or a reused pid). */
export const STALE_MS = 30_000;

/** This process, told apart from an earlier one that had the same pid (a restarted container's pid 1). */
const INSTANCE = randomUUID();
/** Leases this process holds per store path (several apps in one process, as in tests, share one). */
const localHolds = new Map<string, number>();
/** The leases this process holds, for {@link releaseLeasesNow} at a forced exit. */
const heldLeases = new Set<StoreLease>();

/**
 * At a forced exit (a second signal): lets go of every store lease this process holds, at once, on
 * this thread, as no turn of the event loop is left before the exit, so the next start need not
 * wait for a gone holder's lease to lapse. Only the lease row is written: what was committed stays,
 * and what was not is as after a crash (not acknowledged, so redelivered; the ingest log replayed at
 * the next start). A lease whose store cannot be written at once (the commit worker holding the write
 * lock longer than `waitMs`, a full disk), or that has no synchronous access, is kept: counted in `kept`.
 */
export function releaseLeasesNow(waitMs = 1000): { released: number; kept: number } {
  let released = 0;
  let kept = 0;
  for (const lease of [...heldLeases]) {
    if (lease.releaseNow(waitMs)) released++;
    else kept++;
  }
  return { released, kept };
}

export interface LeaseHolder {
  readonly pid: number;
  readonly host: string;
  readonly instance: string;
  /** What holds it, for the message: `assetbridge run`, `assetbridge quarantine replay`. */
  readonly command: string;
  readonly since: number;
  readonly heartbeat: number;
  /** When its process started ({@link processStartTime}), where the platform says: a pid reused since is told apart. */
  readonly started?: string;
  /** The kernel boot and pid namespace its pid is in ({@link pidSpace}), where the platform says: a process in the same one can check that pid at once. */
  readonly pidSpace?: string;
}

/** Commands that never hand their work to a running service: refused, they are told to stop the holder, not to wait for it. */
const RUNS_ITS_OWN_PIPELINE: ReadonlySet<string> = new Set(['assetbridge run', 'assetbridge demo']);

/** The store is in use by another live process. */
export class StoreBusyError extends AssetbridgeError {
  readonly code = 'STORE_BUSY';
  constructor(
    readonly holder: LeaseHolder,
    path: string,
    now: number,
    /** What the holder, a service still starting, waits for (a broker down at start): it takes no command's work until it runs. */
    startStep?: string,
    /** What was refused: a second service (`assetbridge run`) is not told to wait for the first to take its work. */
    command?: string,
    /** The holder's own status, when it is a service whose status is not fresh (stopping, or unable to write the store): how old it is. */
    stale?: { readonly state: string; readonly ageMs: number },
  ) {
    const seen = holder.heartbeat > now ? `holding it without renewals until ${isoTime(holder.heartbeat)}, as work that locks the store does` : `last seen ${Math.round((now - holder.heartbeat) / 1000)} s ago`;
    const who = `the store ${path} (store.path) is in use by ${holder.command} (pid ${holder.pid} on ${holder.host}, since ${isoTime(holder.since)}, ${seen})`;
    const starting = startStep === undefined ? '' : `, which is still starting: ${startStep}`;
    // A command that hands its work to a running service, refused by a service that does not answer
    // (its status stale): it goes through that service once it answers, rather than "stop that one".
    const handsOver = command !== undefined && !RUNS_ITS_OWN_PIPELINE.has(command) && holder.command === 'assetbridge run';
    super(
      startStep !== undefined && !(command !== undefined && RUNS_ITS_OWN_PIPELINE.has(command))
        ? `${who}${starting}. One process at a time runs the pipeline on an embedded store; once that one runs, quarantine replay, maintenance complete and the aemp commands go through it by themselves (try them again then: 'assetbridge status' says when)`
        : handsOver && stale !== undefined
          ? stale.state === 'draining'
            ? `${who}, which is stopping. ${command} needs no service stopped (it works with a running one, and alone with none): run it again once that one has stopped (its log's last line says so)`
            : `${who}, which does not answer: its status was last written ${Math.round(stale.ageMs / 1000)} s ago, as when it cannot write the store (a full disk, a read-only volume; its log and /readyz say why). ` +
              `${command} needs no service stopped: run it again once 'assetbridge status' says the service runs`
          : `${who}${starting}. One process at a time runs the pipeline on an embedded store: ` +
            'stop that one first, or give this one its own store.path. Commands such as quarantine replay, maintenance complete and the aemp commands go through a running service by themselves',
    );
  }
}

/**
 * A store an older assetbridge wrote, opened to write by this (newer) version while a process of
 * the older one runs on it (holds its lease): upgrading it would change the schema under that
 * process, whose code knows only the older one (its statements on a table that changed fail, the
 * rows it writes lack what the upgrade filled in) and which checks the version only when it opens
 * the store. So the store is left as it is, and this says what to do.
 */
export class StoreUpgradeBusyError extends AssetbridgeError {
  readonly code = 'STORE_BUSY';
  constructor(
    readonly holder: LeaseHolder,
    readonly path: string,
    readonly version: number,
    readonly expected: number,
    now: number,
    /** The holder cannot be checked from here (another host, a pid that is gone): it is taken as gone when it has not renewed for this long. */
    goneAfterMs: number | undefined,
    /** What this process is: the service (`assetbridge run`) is told to start again, a command to run with the older version. */
    command?: string,
  ) {
    const service = command === 'assetbridge run';
    super(
      `the store ${path} (store.path) is at schema version ${version}, and this assetbridge needs version ${expected}, but ${holder.command} ` +
        `(pid ${holder.pid} on ${holder.host}, since ${isoTime(holder.since)}, last seen ${Math.max(0, Math.round((now - holder.heartbeat) / 1000))} s ago), ` +
        'an older assetbridge, still runs on it: upgrading the store under it would break it, so the store is left as it is. ' +
        `To upgrade: stop ${holder.command === 'assetbridge run' ? 'that service' : 'it (or let it finish)'} ('assetbridge store backup FILE' first keeps a copy to go back to), then start ${service ? 'this one again' : "this version's service ('assetbridge run')"}, which upgrades the store` +
        (service ? '' : '; or run this command with the version that is running') +
        (goneAfterMs === undefined ? '' : `. If that process has ended, it is taken as gone ${Math.round(goneAfterMs / 1000)} s after it was last seen: try again then`),
    );
  }
}

/** Whether the process with this pid (started then, when known) lives on this host ({@link pidAlive}). */
export type IsAlive = (pid: number, started?: string) => boolean;

export type LeaseVerdict = { readonly free: true; readonly why: 'absent' | 'ours' | 'holder-gone' | 'stale' } | { readonly free: false; readonly wait: boolean };

type Identity = Pick<LeaseHolder, 'pid' | 'host' | 'instance'> & { readonly pidSpace?: string | undefined };
const same = (a: Identity, b: Identity): boolean => a.pid === b.pid && a.host === b.host && a.instance === b.instance;

/**
 * A holder on this host whose pid is gone, or is our own (a restarted container's pid 1), and that
 * is not known to be in this process's pid namespace ({@link pidSpace}), is gone once it has not
 * renewed for this long: 3 heartbeats. Not at once: a container given the same
 * hostname as another (compose's `hostname:`, host networking) sees that one's pid in its own pid
 * namespace, so its pid looks gone (or ours), and taking the lease at once took it from a live
 * process, which then stopped, restarted and took it back, for ever.
 */
export const SAME_HOST_GONE_MS = 3 * HEARTBEAT_MS;

/**
 * Whether `current` (the lease as stored) keeps `me` out. `wait`: the holder cannot be checked
 * from here (another host, or a pid that is gone, or ours, on a host of the same name) and may be
 * dead; its renewals will tell, within {@link STALE_MS} (another host) or `goneMs` (this host).
 * A holder that recorded the same {@link pidSpace} as `me` is checked at once: its pid is one of
 * ours, so a pid that is gone (or is ours, with another instance) is a process that ended.
 */
export function leaseVerdict(current: LeaseHolder | undefined, me: Identity, now: number, isAlive: IsAlive, goneMs = SAME_HOST_GONE_MS): LeaseVerdict {
  if (!current) return { free: true, why: 'absent' };
  if (same(current, me)) return { free: true, why: 'ours' };
  if (now - current.heartbeat > STALE_MS) return { free: true, why: 'stale' };
  if (current.host === me.host) {
    if (current.pid !== me.pid && isAlive(current.pid, current.started)) return { free: false, wait: false };
    // Same kernel boot and pid namespace: the pid check above is the answer, no other container's
    // process can hide behind it (a kill -9 is recognised at once, as the module says).
    if (samePidSpace(current, me.host, me.pidSpace)) return { free: true, why: 'holder-gone' };
    // Its pid is gone, or is ours with another instance (an earlier process that had this pid):
    // gone, once it has stopped renewing.
    return now - current.heartbeat > goneMs ? { free: true, why: 'holder-gone' } : { free: false, wait: true };
  }
  return { free: false, wait: true };
}

/**
 * When the process with this pid started, as Linux's /proc/<pid>/stat says (its start time in clock
 * ticks since boot): with the pid, it names one process, where the pid alone is given to another
 * once that one has ended. Undefined where there is no /proc (macOS, Windows), or no such process.
 */
export function processStartTime(pid: number, read: (path: string) => string = (path) => readFileSync(path, 'utf8')): string | undefined {
  try {
    const stat = read(`/proc/${pid}/stat`);
    // After "pid (comm) ": the state is field 3, the start time field 22. The command may hold spaces and parentheses.
    const start = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
    return start !== undefined && /^\d+$/.test(start) ? start : undefined;
  } catch {
    return undefined;
  }
}

/** Whether a holder's pid is one this process can check: the same host, kernel boot and pid namespace ({@link pidSpace}). */
export function samePidSpace(holder: Pick<LeaseHolder, 'host' | 'pidSpace'>, host: string, space: string | undefined): boolean {
  return holder.host === host && holder.pidSpace !== undefined && holder.pidSpace === space;
}

/**
 * This process's kernel boot and pid namespace, as Linux says (/proc/sys/kernel/random/boot_id and
 * /proc/self/ns/pid): two processes with the same one see the same pids, so one can tell at once
 * whether the other's pid is gone. Undefined where either cannot be read (no /proc: macOS, Windows).
 */
export function pidSpace(read: (path: string) => string = (path) => readFileSync(path, 'utf8'), link: (path: string) => string = readlinkSync): string | undefined {
  try {
    const boot = read('/proc/sys/kernel/random/boot_id').trim();
    const ns = link('/proc/self/ns/pid').trim();
    return boot !== '' && ns !== '' ? `${boot} ${ns}` : undefined;
  } catch {
    return undefined;
  }
}

/**
 * True when a process with this pid exists on this host (EPERM: it exists, as another user) and,
 * when `started` is given (the start time recorded with the pid, {@link processStartTime}), it is
 * the same process: a pid a crashed holder had, given since to another process (after a reboot, or
 * pids wrapping round), is no holder. Where the start time cannot be read, the pid alone decides.
 */
export function pidAlive(pid: number, started?: string, startOf: (pid: number) => string | undefined = processStartTime): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  if (started === undefined) return true;
  const now = startOf(pid);
  return now === undefined || now === started;
}

export interface LeaseOptions {
  readonly command: string;
  /** The store's file, for the message. */
  readonly path: string;
  readonly logger: Logger;
  readonly now?: () => number;
  readonly pid?: number;
  readonly host?: string;
  readonly instance?: string;
  /** This process's kernel boot and pid namespace. @default {@link pidSpace}; null: none (the holder is waited out as from another container) */
  readonly pidSpace?: string | null;
  /** Whether the process with this pid (started then, when known) lives on this host. @default {@link pidAlive} */
  readonly isAlive?: IsAlive;
  readonly heartbeatMs?: number;
  /** How long to wait for a holder on another host to show it is gone. @default STALE_MS + 2 heartbeats */
  readonly maxWaitMs?: number;
  readonly sleep?: (ms: number) => Promise<void>;
  /** Aborted while waiting for a holder to lapse: {@link StoreLease.acquire} gives up, throwing the signal's reason. */
  readonly signal?: AbortSignal;
  /** Called once when another process has taken the lease over (this one stalled past {@link STALE_MS}), or the store's file went away. */
  readonly onLost?: () => void;
  /**
   * The store read and written on this thread at once, for {@link releaseLeasesNow} at a forced
   * exit; without it such a lease is left to lapse.
   */
  readonly atOnce?: {
    kvGetNow(namespace: string, key: string): string | undefined;
    kvCompareAndSetNow(namespace: string, key: string, expected: string | undefined, next: string | undefined, waitMs?: number): boolean;
  };
  /**
   * Checked at each renewal: why the store's path no longer names the file this process opened
   * (deleted, replaced); undefined while it does. SQLite goes on committing to a deleted file
   * without an error, so acknowledged input would be lost when the process ends.
   */
  readonly fileGone?: () => string | undefined;
}

export class StoreLease {
  private timer: NodeJS.Timeout | undefined;
  private holding = false;
  private lost = false;
  /** The error renewing last failed with (a full disk fails every 2 s): said once, then at debug until it works again. */
  private renewFailure: string | undefined;

  private constructor(
    private readonly store: Pick<Store, 'kvGet' | 'kvCompareAndSet'>,
    private readonly me: LeaseHolder,
    private readonly opts: LeaseOptions,
  ) {}

  /** Takes the lease, waiting for a holder on another host to lapse; throws {@link StoreBusyError} while a holder lives. */
  static async acquire(store: Pick<Store, 'kvGet' | 'kvCompareAndSet'>, opts: LeaseOptions): Promise<StoreLease> {
    const now = opts.now ?? Date.now;
    const pid = opts.pid ?? process.pid;
    const started = processStartTime(pid);
    const space = opts.pidSpace === undefined ? pidSpace() : (opts.pidSpace ?? undefined);
    const me: LeaseHolder = {
      pid,
      host: opts.host ?? hostname(),
      instance: opts.instance ?? INSTANCE,
      command: opts.command,
      since: now(),
      heartbeat: now(),
      ...(started !== undefined ? { started } : {}),
      ...(space !== undefined ? { pidSpace: space } : {}),
    };
    const lease = new StoreLease(store, me, opts);
    const heartbeatMs = opts.heartbeatMs ?? HEARTBEAT_MS;
    const deadline = now() + (opts.maxWaitMs ?? STALE_MS + 2 * heartbeatMs);
    const sleep = opts.sleep ?? ((ms: number) => delay(ms, undefined, opts.signal ? { signal: opts.signal } : {}).catch(() => undefined));
    let told = false;
    for (;;) {
      opts.signal?.throwIfAborted();
      const raw = await store.kvGet(LEASE_NS, LEASE_KEY);
      const current = raw === undefined ? undefined : parseHolder(raw);
      const verdict = leaseVerdict(current, me, now(), opts.isAlive ?? pidAlive, 3 * heartbeatMs);
      if (verdict.free) {
        const value = JSON.stringify(verdict.why === 'ours' && current ? { ...current, heartbeat: now() } : { ...me, heartbeat: now() });
        if (await store.kvCompareAndSet(LEASE_NS, LEASE_KEY, raw, value)) {
          if (current && verdict.why !== 'ours') opts.logger.warn({ previous: current, why: verdict.why }, 'took over the store lease from a process that is gone');
          lease.holding = true;
          heldLeases.add(lease);
          localHolds.set(opts.path, (localHolds.get(opts.path) ?? 0) + 1);
          lease.startTimer();
          return lease;
        }
        continue; // someone else changed it in between: look again
      }
      if (!verdict.wait || now() >= deadline) {
        const holder = current as LeaseHolder;
        throw new StoreBusyError(holder, opts.path, now(), await startingStep(store, holder, now()), opts.command, await staleStatus(store, holder, now()));
      }
      if (!told) {
        told = true;
        const holder = `the store lease is held by ${current?.command ?? '?'}`;
        const wait = `waiting up to ${Math.round((deadline - now()) / 1000)} s to see whether it is still alive`;
        opts.logger.warn(
          { holder: current },
          current?.host === me.host
            ? `${holder} (pid ${current.pid} on ${me.host}), whose pid is gone or is this process's: a process that ended (a restarted container), or one in another container with the same hostname; ${wait}`
            : `${holder} on another host; ${wait}`,
        );
      }
      await sleep(heartbeatMs);
    }
  }

  /**
   * What the store must still hold for this process to write (see `SqliteStore.writeOnlyWhile`):
   * the lease row naming this process, checked inside each write's transaction, so nothing is
   * claimed or committed here after another process took the store over, even before a renewal
   * has noticed.
   */
  get writeGuard(): WriteGuard {
    return {
      namespace: LEASE_NS,
      key: LEASE_KEY,
      fields: { pid: this.me.pid, host: this.me.host, instance: this.me.instance },
      reason: `another process holds the store lease of ${this.opts.path} now (this one stalled past its lapse): this process writes nothing more to the store and stops; what it had not committed is not acknowledged, so its sources send it again`,
    };
  }

  /** Whether another process took the lease over (this one stopped renewing for longer than {@link STALE_MS}). */
  get isLost(): boolean {
    return this.lost;
  }

  private async renew(): Promise<void> {
    if (!this.holding || this.lost) return;
    const gone = this.opts.fileGone?.();
    if (gone !== undefined) {
      this.lost = true;
      this.stopTimer();
      this.opts.logger.error(
        `the store file ${this.opts.path} (store.path) was ${gone} while this process ran: what it commits now would be lost with it, so it stops as a crash would. ` +
          'If that was not meant, restore the store from a backup (store backup); else start again for a new, empty store',
      );
      this.opts.onLost?.();
      return;
    }
    try {
      const raw = await this.store.kvGet(LEASE_NS, LEASE_KEY);
      const current = raw === undefined ? undefined : parseHolder(raw);
      if (current && same(current, this.me)) {
        await this.store.kvCompareAndSet(LEASE_NS, LEASE_KEY, raw, JSON.stringify({ ...current, heartbeat: (this.opts.now ?? Date.now)() }));
        if (this.renewFailure !== undefined) this.opts.logger.info('renewing the store lease works again');
        this.renewFailure = undefined;
        return; // a failed compare-and-set: a sibling in this process renewed it at the same moment
      }
      this.lost = true;
      this.stopTimer();
      this.opts.logger.error(
        { holder: current },
        'another process took over the store lease (this one did not renew it in time); two pipelines on one store would overwrite each other',
      );
      this.opts.onLost?.();
    } catch (err) {
      // The store was closed without release() (a crashed command): nothing left to renew.
      if (/not open/i.test((err as Error).message)) return void this.stopTimer();
      const message = (err as Error).message;
      if (message === this.renewFailure) return void this.opts.logger.debug({ err }, 'could not renew the store lease again, the same way');
      this.renewFailure = message;
      const advice = storeErrorAdvice(storeErrorCode(err));
      this.opts.logger.warn({ err }, `could not renew the store lease; trying again${advice === undefined ? '' : `; ${advice}`}`);
    }
  }

  /**
   * `work` done with renewals held off, then one at once: for work in another thread that holds the
   * store's write lock throughout (`store vacuum`), which a renewal would wait on, blocking this
   * thread, and then fail. The lease is a row of that same store, so no thread can renew it while
   * the work runs. So, with `holdForMs` (a bound on how long the work may take), the lease is first
   * renewed that far ahead (its heartbeat set to now + `holdForMs`): another process reading it
   * meanwhile (a WAL store can be read under the lock) sees a holder renewed just now until then,
   * and only {@link STALE_MS} after that a lapsed one, rather than one that lapsed 30 s into the
   * work, which it would take over the moment the lock is let go. A holder that dies meanwhile is
   * still recognised at once where its pid can be checked (this host, same pid namespace); from
   * elsewhere it keeps the store for up to `holdForMs` longer. Throws, without running `work`, when
   * the lease is no longer this process's.
   */
  async renewalsHeldDuring<T>(work: () => Promise<T>, holdForMs = 0): Promise<T> {
    this.stopTimer();
    try {
      if (holdForMs > 0) await this.renewAhead(holdForMs);
      return await work();
    } finally {
      if (this.holding && !this.lost) {
        await this.renew();
        if (this.holding && !this.lost) this.startTimer();
      }
    }
  }

  /** The lease renewed `ms` ahead (see {@link renewalsHeldDuring}); throws when it is not this process's any more. */
  private async renewAhead(ms: number): Promise<void> {
    const now = this.opts.now ?? Date.now;
    // A failed compare-and-set is a sibling in this process renewing at the same moment: read again.
    for (let tries = 0; tries < 5; tries++) {
      const raw = await this.store.kvGet(LEASE_NS, LEASE_KEY);
      const current = raw === undefined ? undefined : parseHolder(raw);
      if (!current || !same(current, this.me) || this.lost || !this.holding) break;
      if (await this.store.kvCompareAndSet(LEASE_NS, LEASE_KEY, raw, JSON.stringify({ ...current, heartbeat: now() + ms }))) return;
    }
    await this.renew(); // says it was lost, and calls onLost
    throw new Error(`the store lease of ${this.opts.path} (store.path) is no longer this process's (another process took it over): nothing was done; try again once that one has ended`);
  }

  private startTimer(): void {
    this.timer = setInterval(() => void this.renew(), this.opts.heartbeatMs ?? HEARTBEAT_MS);
    this.timer.unref();
  }

  private stopTimer(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Lets go: the last holder in this process removes the lease (if it is still this process's). */
  async release(): Promise<void> {
    this.stopTimer();
    if (!this.holding) return;
    this.holding = false;
    heldLeases.delete(this);
    const left = (localHolds.get(this.opts.path) ?? 1) - 1;
    if (left > 0) return void localHolds.set(this.opts.path, left);
    localHolds.delete(this.opts.path);
    if (this.lost) return;
    const raw = await this.store.kvGet(LEASE_NS, LEASE_KEY);
    const current = raw === undefined ? undefined : parseHolder(raw);
    if (current && same(current, this.me)) await this.store.kvCompareAndSet(LEASE_NS, LEASE_KEY, raw, undefined);
  }

  /** {@link release}, at once on this thread, for a forced exit (see {@link releaseLeasesNow}); false when the lease is left in the store. */
  releaseNow(waitMs: number): boolean {
    this.stopTimer();
    if (!this.holding) return true;
    this.holding = false;
    heldLeases.delete(this);
    // Every holder in this process goes with it: the row is removed once.
    localHolds.delete(this.opts.path);
    if (this.lost) return true;
    const atOnce = this.opts.atOnce;
    if (!atOnce) return false;
    try {
      const raw = atOnce.kvGetNow(LEASE_NS, LEASE_KEY);
      const current = raw === undefined ? undefined : parseHolder(raw);
      if (!current || !same(current, this.me)) return true;
      return atOnce.kvCompareAndSetNow(LEASE_NS, LEASE_KEY, raw, undefined, waitMs);
    } catch {
      return false; // a closed or unwritable store: the lease lapses as a crashed holder's does
    }
  }
}

/**
 * What the holder waits for when it is a service still starting (its fresh runtime snapshot says
 * so, as `assetbridge status` reads it); undefined otherwise.
 */
async function startingStep(store: Pick<Store, 'kvGet'>, holder: LeaseHolder, now: number): Promise<string | undefined> {
  const raw = await store.kvGet(LEASE_NS, 'snapshot'); // the engine's runtime snapshot, in the same namespace
  if (raw === undefined) return undefined;
  try {
    const snap = JSON.parse(raw) as { pid?: number; state?: string; startStep?: string; at?: number };
    return snap.pid === holder.pid && snap.state === 'starting' && snap.at !== undefined && now - snap.at < 5000 ? (snap.startStep ?? 'starting') : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The holder's runtime snapshot when it is a service's that is not fresh (5 s, as `status` has it):
 * a service that cannot write the store, or is stopping; undefined otherwise.
 */
async function staleStatus(store: Pick<Store, 'kvGet'>, holder: LeaseHolder, now: number): Promise<{ state: string; ageMs: number } | undefined> {
  const raw = await store.kvGet(LEASE_NS, 'snapshot');
  if (raw === undefined) return undefined;
  try {
    const snap = JSON.parse(raw) as { pid?: number; state?: string; at?: number };
    if (snap.pid !== holder.pid || snap.at === undefined || snap.state === undefined || !['running', 'starting', 'draining'].includes(snap.state)) return undefined;
    return now - snap.at >= 5000 || snap.state === 'draining' ? { state: snap.state, ageMs: Math.max(0, now - snap.at) } : undefined;
  } catch {
    return undefined;
  }
}

/**
 * For a store opened to write (SqliteStoreOptions.beforeUpgrade): refuses to upgrade a store
 * while another live process holds its lease, with a {@link StoreUpgradeBusyError}. Called under
 * the store's write lock, so it reads the lease once rather than waiting for a holder to lapse.
 */
export function refuseUpgradeWhileHeld(
  opts: { readonly command?: string; readonly now?: () => number; readonly isAlive?: IsAlive } = {},
): (store: { readonly path: string; readonly version: number; readonly expected: number; kvGet(namespace: string, key: string): string | undefined }) => void {
  return (store) => {
    const raw = store.kvGet(LEASE_NS, LEASE_KEY);
    const current = raw === undefined ? undefined : parseHolder(raw);
    const now = (opts.now ?? Date.now)();
    const verdict = leaseVerdict(current, { pid: process.pid, host: hostname(), instance: INSTANCE, pidSpace: pidSpace() }, now, opts.isAlive ?? pidAlive);
    if (verdict.free || !current) return;
    const goneAfterMs = verdict.wait ? (current.host === hostname() ? SAME_HOST_GONE_MS : STALE_MS) : undefined;
    throw new StoreUpgradeBusyError(current, store.path, store.version, store.expected, now, goneAfterMs, opts.command);
  };
}

/** The store's lease as stored, however long ago it was renewed (a holder that cannot write the store renews it no more); undefined when there is none. */
export async function storedHolder(store: Pick<Store, 'kvGet'>): Promise<LeaseHolder | undefined> {
  const raw = await store.kvGet(LEASE_NS, LEASE_KEY);
  return raw === undefined ? undefined : parseHolder(raw);
}

/** Who holds the store's lease now (a live holder: renewed within {@link STALE_MS}), for `status`. */
export async function currentHolder(store: Pick<Store, 'kvGet'>, now: number): Promise<LeaseHolder | undefined> {
  const raw = await store.kvGet(LEASE_NS, LEASE_KEY);
  const holder = raw === undefined ? undefined : parseHolder(raw);
  return holder && now - holder.heartbeat <= STALE_MS ? holder : undefined;
}

function parseHolder(raw: string): LeaseHolder | undefined {
  try {
    const v = JSON.parse(raw) as Partial<LeaseHolder>;
    if (typeof v.pid === 'number' && typeof v.host === 'string' && typeof v.heartbeat === 'number') {
      return {
        pid: v.pid,
        host: v.host,
        instance: typeof v.instance === 'string' ? v.instance : '',
        command: typeof v.command === 'string' ? v.command : 'assetbridge',
        since: typeof v.since === 'number' ? v.since : v.heartbeat,
        heartbeat: v.heartbeat,
        ...(typeof v.started === 'string' ? { started: v.started } : {}),
        ...(typeof v.pidSpace === 'string' ? { pidSpace: v.pidSpace } : {}),
      };
    }
  } catch {
    // unreadable: treated as no lease (it is replaced through compare-and-set)
  }
  return undefined;
}
