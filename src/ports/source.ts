/**
 * The source port. A source receives input and hands it to the pipeline's sink; it acknowledges
 * to its upstream (PUBACK, HTTP 2xx, cursor advance) only after `submit` resolves, which happens
 * after the batch is committed (invariant 1).
 * @module
 */
import type { RawMessage } from '../core/model/messages.js';

export interface SubmitResult {
  readonly accepted: number;
  /** Per-message reasons for messages that went to quarantine, by index in the submitted array. */
  readonly quarantined: readonly { index: number; reason: string }[];
}

export interface IngestSink {
  /** Resolves once every message is durably stored (accepted state/outbox, or quarantine). */
  submit(messages: readonly RawMessage[]): Promise<SubmitResult>;
  /**
   * Messages submitted and not yet taken into a batch: how far storing is behind. Sources that
   * cannot slow their sender otherwise (HTTP) refuse new input above a limit instead of queuing
   * without bound. A submit's messages count here from the moment it is called (not after an
   * await), so a source can check the backlog and submit without another taking the same room.
   * Absent: never behind.
   */
  backlog?(): number;
}

export interface Source {
  readonly name: string;
  start(sink: IngestSink): Promise<void>;
  /** Stop taking input. MQTT sources must not unsubscribe, so the broker keeps queuing. */
  stop(): Promise<void>;
  /** Whether it is connected to what feeds it now (an MQTT broker). Absent: a source without a connection. */
  connected?(): boolean;
  /** Subscriptions its broker refused (an ACL): nothing matching them arrives. Absent: a source without subscriptions. */
  refusedSubscriptions?(): readonly RefusedSubscription[];
  /** While not connected, why the latest attempt failed and the config key to check. Absent: a source without a connection. */
  connectionError?(): { readonly key: string; readonly error: string } | undefined;
  /** What a broker-fed source counted since it started, for `/metrics`. Absent: a source without a broker. */
  stats?(): SourceStats;
}

/** The counters of a broker-fed (MQTT) source since it started, as `/metrics` shows them. */
export interface SourceStats {
  /** Messages received and handed to the sink. */
  readonly received: number;
  /** Messages acknowledged to the broker after their commit. */
  readonly acked: number;
  /** Messages submitted and not yet settled. */
  readonly inflight: number;
  /** QoS 1/2 messages left un-acknowledged for the broker to redeliver. */
  readonly leftForRedelivery: number;
  /** QoS 0 messages not stored: a broker never redelivers QoS 0, so they are lost. */
  readonly droppedQos0: number;
  /** Submits that rejected (each caused a reconnect). */
  readonly submitFailures: number;
  /** Successful connections (1 + reconnects). */
  readonly connects: number;
}

/** A topic filter the broker refused to subscribe, as `status` and `/metrics` show it. */
export interface RefusedSubscription {
  /** The filter as subscribed (with `$share/<group>/` when it has one). */
  readonly filter: string;
  /** Its config key, e.g. `sources.mqtt.0.topics.1.filter`. */
  readonly key: string;
  /** The SUBACK's reason (MQTT 5) or return (3.1.1) code, 0x80 or above. */
  readonly reasonCode: number;
  /** What the broker answered, in words. */
  readonly reason: string;
}
