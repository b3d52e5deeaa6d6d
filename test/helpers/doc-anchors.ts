/**
 * Markdown anchors for the doc tests: the anchors GitHub gives a doc's headings, and the `#anchor`
 * links into a doc (its own contents links, and `<doc>#anchor` from other files).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** A Markdown file's headings as read (`### \`assetbridge status\`` → `` `assetbridge status` ``), outside code blocks. */
export function headingTexts(text: string): string[] {
  return [...text.replace(/^```[\s\S]*?^```$/gm, '').matchAll(/^#{1,6} (.*)$/gm)].map((m) => (m[1] ?? '').trim());
}

/** The anchors of a Markdown file's headings, as GitHub makes them (`## Work-order webhooks` → `work-order-webhooks`, `` ## `sources.mqtt[]` `` → `sourcesmqtt`). */
export function headingAnchors(text: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  for (const heading of headingTexts(text)) {
    const slug = heading.toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, '').replace(/\s/g, '-');
    const n = seen.get(slug) ?? 0;
    seen.set(slug, n + 1);
    out.add(n === 0 ? slug : `${slug}-${n}`);
  }
  return out;
}

/**
 * The links into `doc` (a path under `root`, e.g. `docs/operations.md`): its own `](#anchor)` links and
 * every `<file name>#anchor` in `files`, as [file, anchor] pairs.
 */
export function anchorLinks(root: string, doc: string, files: readonly string[]): (readonly [string, string])[] {
  const text = readFileSync(join(root, doc), 'utf8');
  const name = (doc.split('/').pop() ?? doc).replace(/\./g, '\\.');
  const into = new RegExp(`${name}#([\\w-]+)`, 'g');
  return [
    ...[...text.matchAll(/\]\(#([^)]+)\)/g)].map((m) => [doc, m[1] ?? ''] as const),
    ...files.flatMap((f) => [...readFileSync(join(root, f), 'utf8').matchAll(into)].map((m) => [f, m[1] ?? ''] as const)),
  ];
}
