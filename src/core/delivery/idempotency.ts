/**
 * Idempotency keys derived from the business fact (invariant 3): the same fact always yields the
 * same key, on every retry, restart and replay, so the ERP (or our find-before-create) can drop
 * duplicates. Never random.
 * @module
 */
import { createHash } from 'node:crypto';
import type { DeliveryIntent } from '../model/delivery.js';

/** JSON with sorted keys, so equal payloads hash equally whatever their key order. */
export function stableStringify(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(stableStringify).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableStringify(v)}`).join(',')}}`;
}

/**
 * A fact is identified by its business key alone (one work order per asset/rule/occurrence).
 * A state update is the fact "this value, as of this event time", so time and value are part of it.
 */
export function idempotencyKeyFor(intent: DeliveryIntent): string {
  const material =
    intent.kind === 'fact'
      ? [intent.destination, intent.operation, intent.businessKey]
      : [
          intent.destination,
          intent.operation,
          intent.businessKey,
          String(intent.eventTime),
          stableStringify(intent.payload),
        ];
  const digest = createHash('sha256').update(material.join('\u001f')).digest('hex').slice(0, 32);
  return `ab1-${digest}`;
}

/**
 * The key of a state value sent once more after an unknown outcome (`OutboxItem.resend`): the ERP
 * must apply it again, so it cannot reuse the key it was delivered with, which an ERP with
 * idempotency support answers from its store. Derived from that key and the time the resend is
 * due, so it stays the same on the resend's own retries.
 */
export function resendKeyFor(deliveredKey: string, dueAt: number): string {
  const digest = createHash('sha256').update(`${deliveredKey}\u001fresend\u001f${dueAt}`).digest('hex').slice(0, 32);
  return `ab1-${digest}`;
}

/**
 * The key of a dead letter whose payload was edited by hand (`dlq replay ID --payload`), used only
 * when no request of it may have reached the ERP: an ERP that keeps its answer under a key (a 4xx
 * too) or refuses a key reused with another body (422) would otherwise refuse the corrected
 * payload every time. Derived from the old key and the edited payload, so it stays the same on the
 * replay's own retries and for the same edit made twice.
 */
export function editedKeyFor(key: string, payload: Record<string, unknown>): string {
  return derivedKey(key, 'edited', stableStringify(payload));
}

/**
 * The key of a dead letter replayed unchanged under a new key (`dlq replay ID --new-key`), used
 * only when no request of it may have reached the ERP (or the operator checked it holds none): an
 * ERP that keeps its answer under a key (a 4xx too) would otherwise answer the replay with the same
 * refusal for ever. Derived from the old key and the replay's generation (how many times this
 * delivery was given a new key so, this one included), so it stays the same on the replay's own
 * retries and differs on each further re-keyed replay.
 */
export function replayKeyFor(key: string, generation: number): string {
  return derivedKey(key, 'replayed', String(generation));
}

/** A key derived from another (a dead letter's edit or re-keyed replay): never random, never the old one. */
function derivedKey(key: string, why: string, material: string): string {
  const digest = createHash('sha256').update(`${key}\u001f${why}\u001f${material}`).digest('hex').slice(0, 32);
  return `ab1-${digest}`;
}
