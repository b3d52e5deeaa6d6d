/**
 * Warnings about requests the service refused, which whoever reaches the port can cause at will (a
 * push to a path that names no destination, an unsigned push): each kind is logged once per
 * interval, and how many more of it were refused meanwhile (and from how many client addresses) is
 * told with its next line, so a flood of them (or a misconfigured ERP retrying) cannot flood the log.
 * @module
 */

/** How long after a kind's warning the same kind is only counted. */
export const REFUSAL_LOG_INTERVAL_MS = 60_000;

/** How many kinds are told apart; past it (a caller varying the path), the rest share one. */
const MAX_KINDS = 100;

/** How many client addresses a kind's counted refusals are told apart by; past it, "more than" that many. */
export const MAX_CLIENTS = 100;

/** How many of those addresses a line names (in `notLoggedFrom`, and in its message when that is all of them). */
const CLIENTS_NAMED = 3;

/** The kind the warnings past {@link MAX_KINDS} share. */
const OTHERS = '\0others';

export interface RefusalLogger {
  warn(fields: Record<string, unknown>, message: string): void;
}

export class RefusalLog {
  /**
   * Per kind: when its last line was logged, how many of it were refused since, and from which
   * client addresses (the `client` field; at most {@link MAX_CLIENTS}, `manyClients` past it).
   */
  private readonly kinds = new Map<string, { at: number; more: number; clients: Set<string>; manyClients: boolean }>();

  constructor(
    private readonly logger: RefusalLogger | undefined,
    private readonly now: () => number,
    private readonly intervalMs = REFUSAL_LOG_INTERVAL_MS,
  ) {}

  /**
   * Logs `message` with `fields` unless a warning of `kind` was logged less than the interval ago
   * (then it is counted). A line logged after some were counted says how many (`notLogged`, and
   * `since`: the time of the kind's previous line) and, as `fields.client` names only the client of
   * the request logged, from how many client addresses (`notLoggedClients`, up to
   * {@link MAX_CLIENTS}; the first few in `notLoggedFrom`).
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
      const client = fields.client;
      if (typeof client === 'string' && !last.clients.has(client)) {
        if (last.clients.size < MAX_CLIENTS) last.clients.add(client);
        else last.manyClients = true;
      }
      return;
    }
    this.kinds.set(key, { at: now, more: 0, clients: new Set(), manyClients: false });
    if (last === undefined || last.more === 0) {
      this.logger?.warn(fields, message);
      return;
    }
    const since = new Date(last.at).toISOString();
    const like = key === OTHERS ? 'refused requests of other kinds' : 'like it';
    const from = fromClients(last.clients, last.manyClients);
    const counted = from === undefined ? {} : { notLoggedClients: last.clients.size, notLoggedFrom: [...last.clients].slice(0, CLIENTS_NAMED) };
    this.logger?.warn({ ...fields, notLogged: last.more, ...counted, since }, `${message} (${last.more} more ${like}${from ?? ''} since ${since}, not logged one by one)`);
  }
}

/** " from …" for the clients of a kind's counted refusals: the addresses when they are few, else how many; undefined when none was known. */
function fromClients(clients: ReadonlySet<string>, many: boolean): string | undefined {
  if (clients.size === 0) return undefined;
  if (many) return ` from more than ${MAX_CLIENTS} clients`;
  if (clients.size === 1) return ` from ${[...clients][0]}`;
  if (clients.size <= CLIENTS_NAMED) return ` from ${clients.size} clients (${[...clients].join(', ')})`;
  return ` from ${clients.size} clients`;
}
