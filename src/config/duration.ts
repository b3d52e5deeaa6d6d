import { z } from 'zod';
import { echo } from './issue-messages.js';

/** Durations in config: a number of milliseconds, or a string like `250ms`, `30s`, `5m`, `1h`, `2d`. */
const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

export function parseDuration(input: string | number): number | undefined {
  if (typeof input === 'number') return Number.isFinite(input) && input >= 0 ? input : undefined;
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*$/.exec(input);
  if (!m || m[1] === undefined || m[2] === undefined) return undefined;
  return Math.round(Number(m[1]) * (UNITS[m[2]] ?? NaN));
}

/** Milliseconds as a config would write them, in the largest unit that divides them: `30s`, `2d`, `50ms`. */
export function durationText(ms: number): string {
  for (const [unit, size] of [['d', UNITS.d], ['h', UNITS.h], ['m', UNITS.m], ['s', UNITS.s]] as const) if (size !== undefined && ms > 0 && ms % size === 0) return `${ms / size}${unit}`;
  return `${ms}ms`;
}

/** The longest a Node timer waits (2^31 − 1 ms, about 24.8 days): one set longer fires after 1 ms instead. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * A duration that becomes a timer (a request timeout, a wait before reconnecting, a batch's or a
 * checkpoint's wait, the shutdown grace): at most {@link MAX_TIMER_MS}, as Node would otherwise cut
 * a longer one to 1 ms and a `timeoutMs: 30d` meant as "wait long" would time out every request.
 * Pipe a duration field into it: `duration('15s').pipe(timerDuration('15s'))`.
 */
export const timerDuration = (example: string) =>
  z.number().max(MAX_TIMER_MS, {
    error: (iss) =>
      `${durationText(Number(iss.input))} is too long: a timer waits at most 24.8 days (${MAX_TIMER_MS} ms), and a longer one would end at once (after 1 ms); give at most 24d, e.g. ${example}`,
  });

const notADuration = (value: string): string => `${value} is not a duration; write e.g. 30s, 5m, 1h or a number of milliseconds`;

const UNIT_WORDS: Record<string, string> = { millisecond: 'ms', msec: 'ms', second: 's', sec: 's', minute: 'm', min: 'm', hour: 'h', hr: 'h', day: 'd' };

/**
 * Why a value that is not a duration is not one, when that can be told: a negative one, or a unit
 * spelt out (`5 minutes`, which reads as `5m`).
 */
function notADurationMessage(v: string | number): string {
  const text = String(v).trim();
  const shown = typeof v === 'number' ? text : `"${text}"`;
  if (/^-\s*\d/.test(text)) return `${shown} is negative: a duration is 0 or more; write e.g. 30s, 5m, 1h or a number of milliseconds`;
  const words = /^(\d+(?:\.\d+)?)\s*([a-z]+?)s?$/i.exec(text);
  const unit = words?.[2] === undefined ? undefined : UNIT_WORDS[words[2].toLowerCase()];
  if (words && unit !== undefined) return `${shown} is not a duration; write ${words[1] ?? ''}${unit} (units: ms, s, m, h, d)`;
  // `5S`, `30M`: the units are lower case (`M` is not months).
  const upper = /^(\d+(?:\.\d+)?)\s*(MS|S|M|H|D)$/i.exec(text);
  if (upper) return `${shown} is not a duration: units are lower case; write ${upper[1] ?? ''}${(upper[2] ?? '').toLowerCase()} (units: ms, s, m, h, d)`;
  // Weeks, and several units at once (`2w`, `1h30m`): the same time in one unit.
  const weeks = /^(\d+(?:\.\d+)?)\s*(w|wk|week)s?$/i.exec(text);
  if (weeks) return `${shown} is not a duration; write ${durationText(Number(weeks[1]) * 7 * 86_400_000)} (units: ms, s, m, h, d; no weeks)`;
  // ISO 8601 (`PT5M`, `P1D`, `PT1H30M`), as other tools write them: the same time as this map writes it.
  const iso = /^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$/i.exec(text);
  if (iso && /\d/.test(text) && !/T$/i.test(text)) {
    const [d, h, m, sec] = [iso[1], iso[2], iso[3], iso[4]].map((n) => Number(n ?? 0)) as [number, number, number, number];
    return `${shown} is not a duration: ISO 8601 durations are not read here; write ${durationText(Math.round(((d * 24 + h) * 60 + m) * 60_000 + sec * 1000))} (units: ms, s, m, h, d)`;
  }
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*/g)];
  if (parts.length > 1 && parts.map((p) => p[0]).join('') === text) {
    const total = parts.reduce((sum, p) => sum + Number(p[1]) * (UNITS[p[2] ?? ''] ?? NaN), 0);
    if (Number.isFinite(total)) return `${shown} is not a duration: give it in one unit; write ${durationText(Math.round(total))}`;
  }
  return notADuration(shown);
}

/** Text or a number: anything else (`true`, a list) is refused with the same words as a bad text. */
const durationInput = () => z.union([z.string(), z.number()], { error: (iss) => (iss.code === 'invalid_union' ? notADuration(echo(iss.input)) : undefined) });

/** Digits alone: milliseconds, as text (`"604800000"`, a `${ENV}` reference always gives text). */
const MS_TEXT = /^\s*\d+\s*$/;

/**
 * A duration config field without a default (the parsed value is milliseconds). Digits alone are
 * milliseconds here, as the number they would be written as in the file; not for command-line
 * options, where `--max-wait 60` would more likely mean seconds.
 */
export const durationField = () =>
  durationInput().transform((v, ctx) => {
    const ms = typeof v === 'string' && MS_TEXT.test(v) ? Number(v) : parseDuration(v);
    if (ms === undefined) {
      ctx.addIssue({ code: 'custom', message: notADurationMessage(v) });
      return z.NEVER;
    }
    return ms;
  });

/** A duration config field with a default, e.g. `duration('30s')`. */
export const duration = (fallback: string) => durationInput().default(fallback).pipe(durationField());

/** Digits alone from 1 to 999 (a number, or text as a `${NAME}` gives it). */
function underASecondInDigits(v: string | number): boolean {
  const ms = typeof v === 'number' ? v : MS_TEXT.test(v) ? Number(v) : undefined;
  return ms !== undefined && ms > 0 && ms < 1000;
}

/**
 * A rule's time span with a default (a hold, a cooldown, a window, the lateness), e.g.
 * `ruleDuration('1h')`. Digits alone are milliseconds here too, so `for: 5` or `cooldown: 12`, meant
 * as minutes or hours, would be taken as 5 or 12 ms, and such a rule fire at once or again and again:
 * digits from 1 to 999 are refused, saying to write the unit (`5ms` says milliseconds on purpose).
 * 0 and a thousand or more pass, as in every duration.
 */
export const ruleDuration = (fallback: string) =>
  durationInput()
    .default(fallback)
    // A transform, whose problem refuses the value (not read on as milliseconds by the field, nor
    // by its entry's checks), as an explicit abort did; the entry's checks of its other values still run.
    .transform((v, ctx) => {
      if (!underASecondInDigits(v)) return v;
      const n = String(v).trim();
      ctx.addIssue({ code: 'custom', message: `${echo(v)} would be ${n} milliseconds (digits alone are milliseconds): write the unit, e.g. ${n}s or ${n}m (${n}ms if milliseconds are meant)` });
      return z.NEVER;
    })
    .pipe(durationField());
