/**
 * Serialising rule state for the store, at every batch for every asset whose state changed. Most
 * of a rule state's bytes are often its reorder buffer (`order.pending`: the samples waiting out
 * the allowed lateness), and most of that buffer was already serialised at the previous batch.
 * Buffered items are immutable (rules only ever add new ones and drop released ones), so each
 * item's JSON is kept (weakly, it goes with the item) and reused; everything else goes through
 * `JSON.stringify`. The output is exactly `JSON.stringify(state)`.
 * @module
 */

const itemJson = new WeakMap<object, string>();

/** Below this many buffered items, plain `JSON.stringify` is as fast. */
const MIN_BUFFERED = 4;

interface ReorderLike {
  readonly pending: readonly unknown[];
}

function isReorder(v: unknown): v is ReorderLike {
  return typeof v === 'object' && v !== null && Array.isArray((v as { pending?: unknown }).pending);
}

export function stringifyRuleState(state: unknown): string | undefined {
  if (typeof state !== 'object' || state === null || Array.isArray(state)) return JSON.stringify(state);
  const order = (state as { order?: unknown }).order;
  if (!isReorder(order) || order.pending.length < MIN_BUFFERED || hasToJson(state) || hasToJson(order)) return JSON.stringify(state);
  return objectJson(state as Record<string, unknown>, (key, value) => (key === 'order' ? objectJson(order as unknown as Record<string, unknown>, pendingJson) : JSON.stringify(value)));
}

function pendingJson(key: string, value: unknown): string | undefined {
  if (key !== 'pending') return JSON.stringify(value);
  const items = value as readonly unknown[];
  let out = '[';
  for (let i = 0; i < items.length; i++) out += (i ? ',' : '') + itemOf(items[i]);
  return `${out}]`;
}

function itemOf(item: unknown): string {
  if (typeof item !== 'object' || item === null) return JSON.stringify(item) ?? 'null';
  let json = itemJson.get(item);
  if (json === undefined) {
    json = JSON.stringify(item) ?? 'null';
    itemJson.set(item, json);
  }
  return json;
}

/** `{"key":value,…}` in own-key order, skipping values JSON would skip, as JSON.stringify does. */
function objectJson(obj: Record<string, unknown>, valueJson: (key: string, value: unknown) => string | undefined): string {
  let out = '{';
  let first = true;
  for (const key of Object.keys(obj)) {
    const json = valueJson(key, obj[key]);
    if (json === undefined) continue;
    out += `${first ? '' : ','}${JSON.stringify(key)}:${json}`;
    first = false;
  }
  return `${out}}`;
}

function hasToJson(v: object): boolean {
  return typeof (v as { toJSON?: unknown }).toJSON === 'function';
}
