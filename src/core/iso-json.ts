/**
 * JSON for people and scripts (`--json`, `GET /v1/status`). Times are stored and passed around as
 * epoch milliseconds; in output they are ISO 8601 (UTC) strings, like the times in the tables, so
 * `jq` users need no conversion.
 * @module
 */
import { isoTime } from './rules/iso-format.js';

/** The largest epoch-ms value a Date can hold (±100,000,000 days). */
const MAX_DATE_MS = 8.64e15;

/**
 * A time is a number in a field named `at`, `since`, `now` (when a report was taken: `inventory
 * counts`), `eventTime` or ending in `At` (`receivedAt`, `nextFullAt`) or `Until` (`cooldownUntil`).
 * `indent` 0 gives one line (JSON lines).
 */
export function toJson(value: unknown, indent = 2): string {
  return JSON.stringify(value, isoTimes, indent || undefined);
}

/** Fields named like a time that hold none: a threshold rule's clear value (`rules list`, a work order's `trigger`). */
const NOT_TIMES: ReadonlySet<string> = new Set(['clearAt']);

function isoTimes(this: unknown, key: string, v: unknown): unknown {
  if (typeof v === 'number' && Number.isFinite(v) && Math.abs(v) <= MAX_DATE_MS && !NOT_TIMES.has(key) && (key === 'at' || key === 'since' || key === 'now' || key === 'eventTime' || key.endsWith('At') || key.endsWith('Until'))) return isoTime(v);
  return v;
}
