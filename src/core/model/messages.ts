/**
 * What sources hand to the pipeline before decoding: the bytes exactly as received, so that a
 * quarantined message can be replayed through the (fixed) decoder later without loss.
 * @module
 */

export interface RawMessage {
  /** Source name from config: `mqtt:<name>`, `http`, `aemp:<name>`, ... */
  readonly source: string;
  /** Topic (MQTT), path (HTTP) or endpoint; decoders may read identifiers from it. */
  readonly channel: string;
  /** The payload exactly as received. */
  readonly payload: Uint8Array | string;
  readonly receivedAt: number;
  /**
   * A quarantined message run again (`quarantine replay`): its entry's id, closed as replayed in
   * the same transaction that stores the message's new outcome, so a crash can neither leave it
   * open after its effect nor close it without one.
   */
  readonly replayOf?: number;
  /**
   * The source may have handed this message over before: an MQTT redelivery (DUP), sent again by
   * the broker because no acknowledgement reached it (often one lost with its connection after the
   * commit), or a retained message an MQTT 3.1.1 broker sends again when the source subscribes at
   * a start to a filter its session held already. A rule that drops it as late has most likely
   * taken it already: not counted as late.
   */
  readonly redelivered?: true;
  /**
   * A retained message's stored copy, sent because a subscription was made (MQTT's RETAIN flag as
   * delivered; a live message never carries it): the broker sends the same copy again at every new
   * subscription (each start, with MQTT 3.1.1). A telematics fleet snapshot's element is one too:
   * the feed's latest report of the machine, sent again at every pull. Set aside, it is kept once
   * in quarantine (see {@link QuarantineEntry.resent}).
   */
  readonly retained?: true;
  /**
   * Set aside by its source before decoding (a pushed work order the destination's connector
   * cannot read): quarantined with this code and reason, in the same transaction as the rest of
   * its submit. So a submit whose commit fails, sent again, keeps it once, not once per attempt.
   * `version`: which version of a record the source lists again (a polled work order: its id, key,
   * status and change time), for a copy ({@link retained}) to be told by it ({@link QuarantineEntry.version}).
   */
  readonly setAside?: { readonly code: QuarantineCode; readonly reason: string; readonly version?: string };
}

/** Where and why input was set aside (invariant 6). */
export interface QuarantineEntry {
  readonly source: string;
  readonly channel: string;
  readonly payload: Uint8Array | string;
  readonly receivedAt: number;
  /** Stable machine-readable reason code, e.g. `invalid`, `unknown-asset`, `stale`, `undecodable`. */
  readonly code: QuarantineCode;
  /** Human-readable reason that says what was wrong. */
  readonly reason: string;
  /** The entry this one is a replay of: the message was replayed from it and set aside again. */
  readonly replayOf?: number;
  /**
   * A copy its source may have handed over before: a retained message's stored copy
   * ({@link RawMessage.retained}) or an MQTT redelivery ({@link RawMessage.redelivered}: the
   * broker got no PUBACK, often one lost with its connection after the commit). When the latest entry
   * with the same source, topic and whole payload ({@link payloadSha256}) is open or discarded, this
   * is that message sent again, and the store counts it on that entry (`repeats`) instead of
   * opening another. A changed payload is another message, and a copy of one whose latest entry was
   * replayed since is set aside afresh: a new entry.
   */
  readonly resent?: true;
  /**
   * SHA-256 (hex) of the whole payload as received, when `payload` keeps only its start (a
   * `too-large` message): copies are identified by it, so two messages that share their first
   * bytes are two entries. Absent: the store hashes `payload`, which is then the whole message.
   */
  readonly payloadSha256?: string;
  /**
   * Which version of a record this is, when its source lists the record again as long as it is
   * there (a polled work order: its id, key, status and change time as read): a copy ({@link resent})
   * is told by it rather than by its bytes, which may differ where nothing read does (a field the
   * ERP fills at each read, the order of its fields), so each version is kept once. Its hash is kept
   * as the entry's; a copy also matches an entry by its whole payload (those kept before).
   */
  readonly version?: string;
}

/**
 * `unreadable-page`: not a message but a page a telematics pull (fleet, time series, one machine) was answered with and could
 * not read (kept as received so it need not be fetched again); a replay passes it over.
 */
export type QuarantineCode = 'undecodable' | 'invalid' | 'unknown-asset' | 'stale' | 'too-large' | 'unreadable-page';
