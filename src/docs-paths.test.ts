/**
 * The files and folders README.md, docs/ and the simulators' READMEs name in code spans exist: a contributor following
 * docs/architecture.md or docs/adding-a-connector.md opens them; so do the code names those two give
 * (`prepareBatch`, `ErpConnector`, `outbox_counts`), which a rename would leave behind. A span is a path when it has a
 * `/` and a file extension or a trailing `/`, and no placeholder (`<name>`, `{id}`, `*`); it may be
 * written from the root or from any folder (`rest/rest-errors.ts`, `zones/zone-tracker.ts`).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { anchorLinks, headingAnchors, headingTexts } from '../test/helpers/doc-anchors.js';

const root = resolve(import.meta.dirname, '..');
const DOCS = ['README.md', 'docs/architecture.md', 'docs/adding-a-connector.md', 'docs/cli.md', 'docs/configuration.md', 'docs/operations.md', 'simulators/README.md', 'simulators/erp-rest/README.md'];

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

/** The code names in a doc's code spans: camelCase, PascalCase with a second capital, or snake_case words. */
export function codeNames(text: string): string[] {
  // A name built on a placeholder (`<name>DestinationSchema`) is no name of the code.
  return [...text.matchAll(/`([^`\n]+)`/g)].flatMap((m) => (m[1] ?? '').replace(/<[^>]*>\w*/g, ' ').split(/[.\s(),:<>[\]{}'"=|/-]+/)).filter((w) => /^(?:[a-z]+[A-Z]\w*|[A-Z][a-z0-9]+[A-Z]\w*|[a-z0-9]+_[a-z0-9_]+)$/.test(w));
}

describe('code names in docs/architecture.md and docs/adding-a-connector.md', () => {
  // Not the code's: an ERP's own field named as an example.
  const ERP_WORDS = ['externalId'];
  const code = listFiles(root)
    .filter((f) => /^(src|simulators|test|bench)\/.*\.ts$/.test(f))
    .map((f) => readFileSync(join(root, f), 'utf8'))
    .join('\n');
  const words = new Set(code.match(/\w+/g));

  it('finds code names to check', () => {
    expect(codeNames('`Ingestor.prepareBatch`, `outbox_counts`, `ErpConnector`, `rest/`, `send(items)`, `<name>DestinationSchema`')).toEqual(['prepareBatch', 'outbox_counts', 'ErpConnector']);
  });

  it.each(['docs/architecture.md', 'docs/adding-a-connector.md'])('%s names only code that exists', (doc) => {
    const names = codeNames(readFileSync(join(root, doc), 'utf8'));
    expect(names.length).toBeGreaterThan(10);
    expect([...new Set(names.filter((n) => !words.has(n) && !ERP_WORDS.includes(n)))]).toEqual([]);
  });
});

/** The sections a doc names in prose after `operations.md, ` (`operations.md, "Large fleets" and "Data"`): each quoted name. */
export function quotedSections(text: string, file: string): string[] {
  const at = new RegExp(`${file.replace('.', '\\.')},\\s+((?:"[^"\\n]+"(?:,\\s*|\\s+and\\s+|;\\s*[^"\\n;]*?:\\s*)?)+)`, 'g');
  return [...text.matchAll(at)].flatMap((m) => [...(m[1] ?? '').matchAll(/"([^"\n]+)"/g)].map((q) => q[1] ?? ''));
}

describe('links and pointers to docs/operations.md', () => {
  const ops = readFileSync(join(root, 'docs/operations.md'), 'utf8');
  const anchors = headingAnchors(ops);
  const headings = new Set(headingTexts(ops).map((h) => h.replace(/`/g, '')));

  it('finds what it checks (the patterns still match how the docs write them)', () => {
    expect(quotedSections('see operations.md, "Large fleets" and "Data"; keys: x', 'operations.md')).toEqual(['Large fleets', 'Data']);
    expect(quotedSections('operations.md, "Maintenance rules"; trying a change: "Changing a rule"; meter hygiene: "Meter readings set aside".', 'operations.md')).toEqual(['Maintenance rules', 'Changing a rule', 'Meter readings set aside']);
    expect(anchors.has('work-order-webhooks')).toBe(true);
  });

  it('every #anchor into it (its own table of contents, README.md, docs/, src/) is a heading of it', () => {
    const files = ['README.md', ...DOCS.filter((d) => d.startsWith('docs/')), ...listFiles(join(root, 'src')).filter((f) => f.endsWith('.ts'))];
    const links = anchorLinks(root, 'docs/operations.md', files);
    expect(links.length).toBeGreaterThan(20);
    expect(links.filter(([, a]) => !anchors.has(a)).map(([f, a]) => `${f}: #${a}`)).toEqual([]);
  });

  it('every section docs/configuration.md, docs/cli.md and README.md name by its heading ("operations.md, \\"Large fleets\\"") is one', () => {
    const named = ['docs/configuration.md', 'docs/cli.md', 'README.md'].flatMap((f) => quotedSections(readFileSync(join(root, f), 'utf8'), 'operations.md').map((s) => [f, s] as const));
    expect(named.length).toBeGreaterThan(8);
    expect(named.filter(([, s]) => !headings.has(s)).map(([f, s]) => `${f}: "${s}"`)).toEqual([]);
  });
});
