/**
 * How a JSON text of events is cut into messages, as `POST /v1/events` takes a body and `rules
 * test` a line: each item of an array is its own message (decided, accepted or quarantined on its
 * own, named by its index), any other value one message.
 * @module
 */
import { jsonSyntaxErrorText } from '../json-text.js';

/**
 * How deep a POST's or push's JSON may nest arrays and objects within each other: far deeper than
 * any event or work order, and shallow enough that each item can be written out again as its own
 * message (`JSON.stringify` recurses: a body of `[[[…]]]` a few thousand deep, well within the body
 * limit, would overflow the call stack and be answered 500, kept nowhere, and sent again and again).
 */
export const MAX_JSON_DEPTH = 1000;

/** Why a body nesting deeper than {@link MAX_JSON_DEPTH} is set aside (the reason its quarantine entry keeps). */
export const TOO_DEEP_REASON = `body nests JSON arrays and objects more than ${MAX_JSON_DEPTH} levels deep; no event or work order does`;

/** Whether `value` nests arrays and objects more than `max` deep (the value itself is level 1); without recursion. */
function nestsDeeperThan(value: unknown, max: number): boolean {
  const stack: { value: unknown; depth: number }[] = [{ value, depth: 1 }];
  for (let top = stack.pop(); top !== undefined; top = stack.pop()) {
    if (top.value === null || typeof top.value !== 'object') continue;
    if (top.depth > max) return true;
    for (const child of Array.isArray(top.value) ? top.value : Object.values(top.value)) if (child !== null && typeof child === 'object') stack.push({ value: child, depth: top.depth + 1 });
  }
  return false;
}

export type JsonItems =
  /** `array`: the text was a JSON array, whose items are named by their index. */
  | { readonly ok: true; readonly items: unknown[]; readonly array: boolean }
  /** No JSON (`notJson`: where and what, {@link jsonSyntaxErrorText}), or JSON nested too deep (`tooDeep`: {@link TOO_DEEP_REASON}). */
  | { readonly ok: false; readonly notJson?: string; readonly tooDeep?: string };

/** A JSON text as the list of its messages' items: an array's items, or the one value (a list of one). */
export function jsonItems(text: string): JsonItems {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    return { ok: false, notJson: jsonSyntaxErrorText(text, (err as Error).message) };
  }
  if (nestsDeeperThan(parsed, MAX_JSON_DEPTH)) return { ok: false, tooDeep: TOO_DEEP_REASON };
  return Array.isArray(parsed) ? { ok: true, items: parsed, array: true } : { ok: true, items: [parsed], array: false };
}

/** The payload of the message one item is taken as: the item alone, as compact JSON. */
export const itemPayload = (item: unknown): string => JSON.stringify(item);
