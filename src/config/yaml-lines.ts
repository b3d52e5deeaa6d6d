/**
 * Where a config key is written in its file, so a problem can say which line to look at
 * (`destinations.0.baseUrl (line 3): missing: …`). A key that is not written (missing) is placed
 * at the nearest enclosing entry that is.
 * @module
 */
import { isMap, isScalar, isSeq, type Document, type LineCounter } from 'yaml';

/**
 * The 1-based line of `key` (dotted, as problems name it: `destinations.0.token`) in `doc`: of the
 * key itself, or of the deepest entry on its path that is written. Undefined for the document root
 * and for keys that are no path (`(file)`, `(yaml)`).
 */
export function lineOfKey(doc: Document, lines: LineCounter, key: string): number | undefined {
  if (key.startsWith('(')) return undefined;
  let node: unknown = doc.contents;
  let offset: number | undefined;
  for (const segment of key.split('.')) {
    let next: unknown;
    let at: number | undefined;
    if (isMap(node)) {
      const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === segment);
      if (pair === undefined) break;
      next = pair.value;
      at = isScalar(pair.key) ? pair.key.range?.[0] : undefined;
    } else if (isSeq(node) && /^\d+$/.test(segment)) {
      next = node.items[Number(segment)];
      at = (next as { range?: [number, number, number] } | undefined)?.range?.[0];
      if (next === undefined) break;
    } else break;
    if (at === undefined) break;
    offset = at;
    node = next;
  }
  return offset === undefined ? undefined : lines.linePos(offset).line;
}
