/**
 * Checks of one entry made beside the problems of its own values. A refinement of an object schema
 * (a threshold rule's `above`/`clearBelow`, an MQTT source's topic order) is by default skipped once
 * any value of the entry is refused, so a config was refused in rounds: fix a mistyped duration,
 * run again, and only then hear that the same rule's `clearBelow` is above its trigger. Given
 * {@link BESIDE_VALUE_PROBLEMS}, the refinement runs on every entry that is a mapping, and asks
 * {@link accepted} before each check whether the values it reads were accepted: a check whose
 * input is itself refused stays quiet (the schema says what is wrong with it), so nothing is said
 * twice. So does one whose input was given under a misspelled key (`Above: 9`): the unknown key is
 * said with the key it likely meant, and not what follows only from that key's value being missing.
 * @module
 */
import type { z } from 'zod';
import { closest } from './issue-messages.js';

type Path = readonly PropertyKey[];

const isMapping = (v: unknown): boolean => v !== null && typeof v === 'object' && !Array.isArray(v);

/**
 * `.superRefine(fn, BESIDE_VALUE_PROBLEMS)`: run `fn` on an entry given as a mapping even when
 * some of its values were refused (those values are then as given, not parsed: read only what
 * {@link accepted} says was accepted). Not on a value that is no mapping at all.
 */
export const BESIDE_VALUE_PROBLEMS: z.core.$ZodSuperRefineParams = { when: (payload) => isMapping(payload.value) };

/** `a` is `b`, or begins it. */
const startsWith = (a: Path, b: Path): boolean => a.length <= b.length && a.every((k, i) => k === b[i]);

/** The keys of the object schema that raised an unknown-key issue (none when it is no object schema). */
const knownKeys = (inst: unknown): string[] => Object.keys((inst as { _zod?: { def?: { shape?: object } } } | undefined)?._zod?.def?.shape ?? {});

/**
 * Whether `issue` is a key unknown beside the others that likely means the key at `p` (or above
 * it): the key its "did you mean" names ({@link closest} among its mapping's keys, as the config's
 * problems say it). The value meant for `p` was given under the misspelling, so it was not read.
 */
function misspelledAt(issue: z.core.$ZodRawIssue, p: Path): boolean {
  if (issue.code !== 'unrecognized_keys') return false;
  const at = issue.path ?? [];
  const meant = p[at.length];
  if (meant === undefined || !startsWith(at, p)) return false;
  const known = knownKeys(issue.inst);
  return issue.keys.some((k) => closest(k, known) === meant);
}

/**
 * Whether the entry's values at every one of `paths` (below the entry: `['for']`,
 * `['repeat', 'within']`, `['topics', 2, 'filter']`) were read as their type: no problem that
 * refuses a value was found at one, within one, or at a mapping or list above one. A problem that
 * leaves the value read (a number below its minimum, text not matching its pattern, a key unknown
 * beside the others) does not stop a check, as it did not before any value was refused: with
 * none of those, every check runs as it always did. A key unknown beside the others that likely
 * means one of `paths` (`Above` for `above`) does stop it: the value was given, under that key.
 */
export function accepted(ctx: { readonly issues: readonly z.core.$ZodRawIssue[] }, ...paths: readonly Path[]): boolean {
  return ctx.issues.every((issue) => {
    if (issue.continue === true) return !paths.some((p) => misspelledAt(issue, p));
    const at = issue.path ?? [];
    return paths.every((p) => !startsWith(at, p) && !startsWith(p, at));
  });
}

/**
 * Whether no problem at all was found at, within or above any of `paths`, not even one that
 * leaves the value read (an empty text where one is needed): for a check that never ran beside
 * one before (a zones file's, which its section's transform made only on a valid section). A key
 * unknown beside the others refuses no value, unless it likely means one of `paths`.
 */
export function untouched(ctx: { readonly issues: readonly z.core.$ZodRawIssue[] }, ...paths: readonly Path[]): boolean {
  return ctx.issues.every((issue) => {
    if (issue.code === 'unrecognized_keys' && (issue.path ?? []).length === 0) return !paths.some((p) => misspelledAt(issue, p));
    const at = issue.path ?? [];
    return paths.every((p) => !startsWith(at, p) && !startsWith(p, at));
  });
}
