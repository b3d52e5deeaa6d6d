/**
 * Long synchronous walks (every inventory item, every counted cell) cut into slices, the event
 * loop taking a turn between them: MQTT acks, HTTP answers and timers wait for one slice, not for
 * the whole walk.
 *
 * The walk is written once, as a generator that asks `due()` at each step and yields when told
 * to; {@link runWhole} runs it in one go (`due` never true: no yield), {@link runSliced} pauses
 * at each yield. Both run the same code over the same inputs, so a sliced walk returns what the
 * whole one does, provided nothing it reads is changed in place meanwhile (its inputs are
 * snapshots: item states read from the store, records never changed in place).
 * @module
 */

/** Asked at each step of a walk, with the step's weight (elements it covers): whether to yield now. */
export type Due = (weight?: number) => boolean;

/** A walk that yields whenever `due()` says so, returning its result. */
export type SlicedWalk<T> = (due: Due) => Generator<void, T, void>;

export interface Slicer {
  /** Whether the current slice has used its time (the clock is read every `checkEvery` weight). */
  readonly due: Due;
  /** The turn between two slices; the next slice starts when it resolves. */
  pause(): Promise<void>;
}

export interface SlicerOptions {
  /** The most a slice should hold the event loop, ms. @default 10 */
  readonly sliceMs?: number;
  /** Weight (elements) between two readings of the clock. @default 256 */
  readonly checkEvery?: number;
  /** @default performance.now */
  readonly now?: () => number;
  /** The turn between slices. @default one turn of the event loop (setImmediate) */
  readonly pause?: () => Promise<void>;
}

/** The slice length the long walks of a service use, ms. */
export const SLICE_MS = 10;

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

export function createSlicer(options: SlicerOptions = {}): Slicer {
  const sliceMs = options.sliceMs ?? SLICE_MS;
  const checkEvery = options.checkEvery ?? 256;
  const now = options.now ?? (() => performance.now());
  const turn = options.pause ?? nextTurn;
  let weight = 0;
  let started = now();
  return {
    due(w = 1) {
      weight += w;
      if (weight < checkEvery) return false;
      weight = 0;
      return now() - started >= sliceMs;
    },
    async pause() {
      await turn();
      weight = 0;
      started = now();
    },
  };
}

/** Runs `walk` in one go (it never yields: `due` is never true). */
export function runWhole<T>(walk: SlicedWalk<T>): T {
  const step = walk(() => false).next();
  if (!step.done) throw new Error('a walk run whole yielded though never due');
  return step.value;
}

/** Runs `walk` in slices of `slicer`'s length, pausing between them. */
export async function runSliced<T>(walk: SlicedWalk<T>, slicer: Slicer): Promise<T> {
  const steps = walk(slicer.due);
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
    await slicer.pause();
  }
}

/** Strings sorted in runs of this many (one `Array.prototype.sort` each), then merged step by step. */
const SORT_RUN = 2048;

/**
 * `keys` sorted as `[...keys].sort()` sorts them (by UTF-16 code units, as `<` compares strings;
 * equal strings keep their order), yielding between runs and during the merges. `keys` is not changed.
 */
export function* sortedStrings(keys: readonly string[], due: Due): Generator<void, string[], void> {
  if (keys.length <= SORT_RUN) return [...keys].sort();
  let runs: string[][] = [];
  for (let i = 0; i < keys.length; i += SORT_RUN) {
    runs.push(keys.slice(i, i + SORT_RUN).sort());
    if (due(SORT_RUN)) yield;
  }
  while (runs.length > 1) {
    const merged: string[][] = [];
    for (let r = 0; r < runs.length; r += 2) {
      const a = runs[r] as string[];
      const b = runs[r + 1];
      if (b === undefined) {
        merged.push(a);
        continue;
      }
      const out: string[] = new Array<string>(a.length + b.length);
      let i = 0;
      let j = 0;
      let k = 0;
      while (i < a.length && j < b.length) {
        const x = a[i] as string;
        const y = b[j] as string;
        // Stable: on equal strings the earlier run's first.
        if (y < x) {
          out[k++] = y;
          j++;
        } else {
          out[k++] = x;
          i++;
        }
        if (due()) yield;
      }
      while (i < a.length) out[k++] = a[i++] as string;
      while (j < b.length) out[k++] = b[j++] as string;
      merged.push(out);
    }
    runs = merged;
  }
  return runs[0] ?? [];
}

/**
 * `JSON.stringify(value)`, to the same text, for plain JSON data (no `toJSON`, no functions) whose
 * size is in the members of its top-level object: each member that is an array or object is
 * written element by element, yielding between them (a 5 MB record of 100,000 cells, a write-ahead
 * of as many deliveries). Deeper values are written whole.
 */
export function* jsonText(value: unknown, due: Due): Generator<void, string, void> {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  const parts: string[] = [];
  for (const key of Object.keys(value)) {
    const member = (value as Record<string, unknown>)[key];
    if (member === undefined || typeof member === 'function') continue;
    parts.push(`${JSON.stringify(key)}:${yield* memberText(member, due)}`);
  }
  return `{${parts.join(',')}}`;
}

function* memberText(member: unknown, due: Due): Generator<void, string, void> {
  if (member === null || typeof member !== 'object') return JSON.stringify(member);
  const parts: string[] = [];
  if (Array.isArray(member)) {
    for (const element of member as unknown[]) {
      if (due()) yield;
      parts.push(JSON.stringify(element) ?? 'null'); // as in an array: undefined and functions are null
    }
    return `[${parts.join(',')}]`;
  }
  for (const key of Object.keys(member)) {
    if (due()) yield;
    const text = JSON.stringify((member as Record<string, unknown>)[key]);
    if (text !== undefined) parts.push(`${JSON.stringify(key)}:${text}`);
  }
  return `{${parts.join(',')}}`;
}
