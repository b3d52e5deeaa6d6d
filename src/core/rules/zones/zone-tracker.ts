/**
 * Zone membership with dwell and hysteresis, per asset, over positions in event-time order.
 *
 * - Enter: the asset must be *inside* the zone on fixes spanning at least `enterDwellMs`; any fix
 *   not inside on the way cancels the attempt.
 * - Exit: the asset must be *beyond* the hysteresis band (further than the margin outside the
 *   boundary) on fixes spanning at least `exitDwellMs`; any fix inside or in the band cancels it.
 *   A fix inside a zone beside it (side by side, not overlapping: the next bay) is beyond its band
 *   (the index leaves it out of `band`), so a machine parked in the next bay near the wall leaves.
 *
 * - After a silence: a fix more than `exitDwellMs` after the asset's previous one (`previousAt`)
 *   leaves at once the zones it is beyond the band of. Nothing was seen of the asset for longer than
 *   an exit takes, so nothing says it stayed: an item stale for a day and seen again in another bay
 *   is there, not still in its old bay for another exit dwell of fixes.
 *
 * So GPS jitter along a border neither enters nor leaves, and one wild fix among regular ones does
 * not either. A tracker that reports less often than `exitDwellMs` is the exception: each of its
 * fixes comes after a silence, so a single wild fix beyond the band leaves the zone (see "After a
 * silence" above, and docs/operations.md on trackers that report rarely). The
 * caller feeds fixes in event-time order (see event-time.ts): a late fix never reaches the
 * tracker, so it can never produce a false exit. The state holds only zones not plainly outside.
 * @module
 */
import type { ZoneHit } from './zone-index.js';

export interface DwellOptions {
  /** Time inside before an entry counts, ms. @default 30 s */
  readonly enterDwellMs: number;
  /** Time beyond the hysteresis band before an exit counts, ms. @default 60 s */
  readonly exitDwellMs: number;
}

export type ZonePhase = 'entering' | 'inside' | 'leaving';

/**
 * Zone name → phase and since when (event time): `entering` and `inside` since the first fix inside
 * (an entry is dated to the arrival, not to when the dwell confirmed it), `leaving` since the first
 * fix beyond the band, and `inside` again after a return since that fix. Zones plainly outside are
 * absent.
 */
export type ZoneTrackState = Readonly<Record<string, { readonly phase: ZonePhase; readonly since: number }>>;

export interface ZoneStep {
  readonly state: ZoneTrackState;
  /** Zones entered (confirmed) at this fix, sorted. */
  readonly entered: readonly string[];
  /** Zones left (confirmed) at this fix, sorted. */
  readonly exited: readonly string[];
}

const EMPTY: ZoneTrackState = {};

/**
 * `previousAt`: the event time of the asset's previous fix that placed it (an accurate one, or a
 * reader's sighting); undefined when there is none, or when stepping for an idle watermark (which
 * says the asset stayed where it was last seen). `configured`: whether a zone is configured now;
 * one that is not (renamed or removed) is never in `hit`, so nothing says the asset is beyond it:
 * it is left after the exit dwell, silence or not.
 */
export function stepZones(
  state: ZoneTrackState | undefined,
  time: number,
  hit: ZoneHit,
  options: DwellOptions,
  previousAt?: number,
  configured?: (name: string) => boolean,
): ZoneStep {
  const prev = state ?? EMPTY;
  // Nowhere near a zone and not tracking any: nothing to do (the common case between sites).
  if (hit.inside.length === 0 && hit.band.length === 0 && isEmpty(prev)) return { state: prev, entered: NONE, exited: NONE };
  const next: Record<string, { phase: ZonePhase; since: number }> = {};
  let entered: string[] | undefined;
  let exited: string[] | undefined;
  // A position is in a handful of zones at most: arrays, not sets.
  const inside = hit.inside;
  const near = (name: string) => inside.includes(name) || hit.band.includes(name);
  // Unseen for longer than an exit takes: a zone it is now beyond is left at once.
  const silence = previousAt !== undefined && time - previousAt > options.exitDwellMs;

  for (const name in prev) {
    const z = prev[name] as ZoneTrackState[string];
    switch (z.phase) {
      case 'entering':
        if (!inside.includes(name)) break; // not clearly inside: the attempt is over
        if (time - z.since >= options.enterDwellMs) {
          next[name] = { phase: 'inside', since: z.since }; // inside since the first fix of the dwell
          (entered ??= []).push(name);
        } else next[name] = z;
        break;
      case 'inside':
        if (near(name)) next[name] = z;
        else if (options.exitDwellMs <= 0 || (silence && (configured === undefined || configured(name)))) (exited ??= []).push(name);
        else next[name] = { phase: 'leaving', since: time };
        break;
      case 'leaving':
        if (near(name)) next[name] = { phase: 'inside', since: time };
        else if (time - z.since >= options.exitDwellMs) (exited ??= []).push(name);
        else next[name] = z;
        break;
    }
  }
  for (const name of hit.inside) {
    if (prev[name] !== undefined) continue;
    if (options.enterDwellMs <= 0) {
      next[name] = { phase: 'inside', since: time };
      (entered ??= []).push(name);
    } else next[name] = { phase: 'entering', since: time };
  }
  return { state: next, entered: entered ? entered.sort() : NONE, exited: exited ? exited.sort() : NONE };
}

const NONE: readonly string[] = [];

/**
 * A fixed reader's sighting at `time`: the asset is inside `name` and in no other zone, at once
 * (the reader is authoritative: no dwell, no hysteresis). Inside since its arrival when it was
 * already entering or inside, since `time` when it was leaving (as a return is) or elsewhere.
 */
export function placeInZone(state: ZoneTrackState | undefined, time: number, name: string): ZoneStep {
  const prev = state?.[name];
  const since = prev !== undefined && prev.phase !== 'leaving' ? prev.since : time;
  const entered = prev === undefined || prev.phase === 'entering' ? [name] : NONE;
  let exited: string[] | undefined;
  for (const other in state) if (other !== name && (state[other] as ZoneTrackState[string]).phase !== 'entering') (exited ??= []).push(other);
  return { state: { [name]: { phase: 'inside', since } }, entered, exited: exited ? exited.sort() : NONE };
}

function isEmpty(state: ZoneTrackState): boolean {
  for (const _ in state) return false;
  return true;
}

/**
 * When the entries and exits of `step` (taken from `prev`) became due: the latest of their dwell
 * ends. A watermark that settles them later dates them to this, not to itself: the time the asset
 * had been in (or out of) the zone long enough. Undefined when the step decided nothing.
 */
export function dwellDueAt(prev: ZoneTrackState | undefined, step: ZoneStep, options: DwellOptions): number | undefined {
  let at: number | undefined;
  for (const name of step.entered) {
    const z = prev?.[name];
    if (z !== undefined) at = Math.max(at ?? -Infinity, z.since + options.enterDwellMs);
  }
  for (const name of step.exited) {
    const z = prev?.[name];
    if (z !== undefined) at = Math.max(at ?? -Infinity, z.since + options.exitDwellMs);
  }
  return at;
}

/** Whether an entry or an exit is waiting for its dwell (what an idle watermark may settle). */
export function hasPendingDwell(state: ZoneTrackState | undefined): boolean {
  for (const name in state) if ((state[name] as ZoneTrackState[string]).phase !== 'inside') return true;
  return false;
}

/** The zones of a tracker state the asset has entered (and not yet left), or none. */
export function enteredZones(state: ZoneTrackState | undefined): readonly string[] {
  let out: string[] | undefined;
  for (const name in state) if ((state[name] as ZoneTrackState[string]).phase !== 'entering') (out ??= []).push(name);
  return out ?? NONE;
}

/** Zones the asset is in according to a tracker state (entered and not yet left). */
export function currentZones(state: ZoneTrackState | undefined): string[] {
  return Object.entries(state ?? EMPTY)
    .filter(([, z]) => z.phase !== 'entering')
    .map(([n]) => n)
    .sort();
}
