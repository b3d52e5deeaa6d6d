/**
 * The files and folders README.md, docs/ and the simulators' READMEs name in code spans exist: a contributor following
 * docs/architecture.md or docs/adding-a-connector.md opens them. A span is a path when it has a
 * `/` and a file extension or a trailing `/`, and no placeholder (`<name>`, `{id}`, `*`); it may be
 * written from the root or from any folder (`rest/rest-errors.ts`, `zones/zone-tracker.ts`).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '..');
const DOCS = ['README.md', 'docs/architecture.md', 'docs/adding-a-connector.md', 'docs/configuration.md', 'docs/operations.md', 'simulators/README.md', 'simulators/erp-rest/README.md'];

function listFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    if (['node_modules', 'dist', 'data', 'coverage'].includes(e.name) || e.name.startsWith('.')) return [];
    const p = join(dir, e.name);
    return e.isDirectory() ? [`${relative(root, p)}/`, ...listFiles(p)] : [relative(root, p)];
  });
}

/** The path-like code spans of `text`. */
export function pathSpans(text: string): string[] {
  return [...text.matchAll(/`([^`\s]+)`/g)]
    .map((m) => m[1] ?? '')
    .filter((s) => s.includes('/') && !/[<>{}*:?=]/.test(s) && !s.startsWith('/') && (/\.(ts|md|json|js|yaml|xml)$/.test(s) || s.endsWith('/')));
}

describe('paths named in README.md and docs/', () => {
  const files = listFiles(root);
  const exists = (span: string): boolean => {
    const p = span.replace(/^\.\//, '');
    const dir = p.endsWith('/') ? p : `${p}/`;
    return files.some((f) => f === p || f.endsWith(`/${p}`) || f === dir || f.endsWith(`/${dir}`));
  };

  it('finds path spans to check (the pattern still matches how the docs write them)', () => {
    expect(pathSpans('see `src/app.ts`, `rest/`, `simulators/erp-<name>/`, `/v1/events`')).toEqual(['src/app.ts', 'rest/']);
    expect(DOCS.flatMap((d) => pathSpans(readFileSync(join(root, d), 'utf8'))).length).toBeGreaterThan(40);
  });

  it.each(DOCS)('%s names only files and folders that exist', (doc) => {
    const missing = pathSpans(readFileSync(join(root, doc), 'utf8')).filter((s) => !exists(s));
    expect([...new Set(missing)]).toEqual([]);
  });
});
