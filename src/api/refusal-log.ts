/**
 * Warnings about requests the service refused, which whoever reaches the port can cause at will (a
 * push to a path that names no destination, an unsigned push): each kind is logged once per
 * interval, and how many more of it were refused meanwhile is told with its next line, so a flood
 * of them (or a misconfigured ERP retrying) cannot flood the log.
 * @module
 */

/** How long after a kind's warning the same kind is only counted. */
export const REFUSAL_LOG_INTERVAL_MS = 60_000;

/** How many kinds are told apart; past it (a caller varying the path), the rest share one. */
const MAX_KINDS = 100;

/** The kind the warnings past {@link MAX_KINDS} share. */
const OTHERS = '\0others';

export interface RefusalLogger {
  warn(fields: Record<string, unknown>, message: string): void;
}

export class RefusalLog {
  /** Per kind: when its last line was logged, and how many of it were refused since. */
  private readonly kinds = new Map<string, { at: number; more: number }>();

  constructor(
    private readonly logger: RefusalLogger | undefined,
    private readonly now: () => number,
    private readonly intervalMs = REFUSAL_LOG_INTERVAL_MS,
  ) {}

  /**
   * Logs `message` with `fields` unless a warning of `kind` was logged less than the interval ago
   * (then it is counted). A line logged after some were counted says how many (`notLogged`, and
   * `since`: the time of the kind's previous line).
   */
  warn(kind: string, fields: Record<string, unknown>, message: string): void {
    const now = this.now();
    let key = kind;
    if (!this.kinds.has(key) && this.kinds.size >= MAX_KINDS) {
      // Kinds whose interval is over and that have nothing untold are forgotten first.
      for (const [k, s] of this.kinds) if (k !== OTHERS && s.more === 0 && now - s.at >= this.intervalMs) this.kinds.delete(k);
      if (this.kinds.size >= MAX_KINDS) key = OTHERS;
    }
    const last = this.kinds.get(key);
    // A clock set back starts a new interval, rather than holding the kind's lines back until it catches up.
    if (last !== undefined && now >= last.at && now - last.at < this.intervalMs) {
      last.more++;
      return;
    }
    this.kinds.set(key, { at: now, more: 0 });
    if (last === undefined || last.more === 0) {
      this.logger?.warn(fields, message);
      return;
    }
    const since = new Date(last.at).toISOString();
    const like = key === OTHERS ? 'refused requests of other kinds' : 'like it';
    this.logger?.warn({ ...fields, notLogged: last.more, since }, `${message} (${last.more} more ${like} since ${since}, not logged one by one)`);
  }
}
