/**
 * The configurations the README, docs/configuration.md and examples/ show are valid as written
 * (every YAML block, the README's asset CSV, and YAML written inline in a code span): a reader who
 * copies one gets a config that loads (secrets left to the environment, as
 * `config check` without `--connect` leaves them), with no warning that a rule could never fire.
 */
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { describe, expect, it } from 'vitest';
import { configuredAssets } from '../app.js';
import { loadConfigFile } from './load.js';
import { ruleInputWarnings } from './rule-inputs.js';

const root = resolve(import.meta.dirname, '../..');
const DEST = "destinations:\n  - { name: erp, type: rest, baseUrl: 'https://erp.example.com' }\n";

/** The fenced blocks of a Markdown file in a language (```yaml), in order. */
function blocks(file: string, lang: string): string[] {
  return [...readFileSync(join(root, file), 'utf8').matchAll(new RegExp(`^\`\`\`${lang}\n([\\s\\S]*?)^\`\`\`$`, 'gm'))].map((m) => m[1] ?? '');
}
const yamlBlocks = (file: string): string[] => blocks(file, 'yaml');

/** The code spans of a Markdown file (outside its fenced blocks) that are YAML mappings written inline: `capture: { dir: ./capture }`. */
function inlineYaml(file: string): string[] {
  const text = readFileSync(join(root, file), 'utf8').replace(/^```[\s\S]*?^```$/gm, '');
  return [...text.matchAll(/`([^`]+)`/g)].map((m) => m[1] ?? '').filter((span) => /^[A-Za-z_][\w.]*: *[[{]/.test(span));
}

/** Writes `yaml` as assetbridge.yaml into a fresh directory holding the example asset CSV as mapping.csv. */
function configDir(yaml: string, files: Record<string, string> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'ab-doc-config-'));
  copyFileSync(join(root, 'examples/mapping.csv'), join(dir, 'mapping.csv'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  writeFileSync(join(dir, 'assetbridge.yaml'), yaml);
  return join(dir, 'assetbridge.yaml');
}

function load(file: string) {
  const config = loadConfigFile(file, {}, { deferSecrets: true });
  configuredAssets(config); // the asset CSVs, as `config check` reads them
  return config;
}

describe('configurations shown in the docs', () => {
  it('examples/assetbridge.yaml and examples/rules/assetbridge.yaml', () => {
    const full = load(join(root, 'examples/assetbridge.yaml'));
    expect(full.capture?.dir).toBe(join(root, 'examples/capture'));
    expect(ruleInputWarnings(full)).toEqual([]);
    expect(ruleInputWarnings(load(join(root, 'examples/rules/assetbridge.yaml')))).toEqual([]);
  });

  it("the README's configuration, with the README's asset CSV as its mapping.csv", () => {
    const [block, ...more] = yamlBlocks('README.md');
    expect(more).toEqual([]); // another block: test it here too
    expect(block).toContain('sources:');
    const [csv, ...moreCsv] = blocks('README.md', 'csv');
    expect(moreCsv).toEqual([]);
    expect(csv).toMatch(/^identifier,id_type,erp_asset_id/);
    const config = load(configDir(block ?? '', { 'mapping.csv': csv ?? '' }));
    expect(config.destinations.map((d) => d.name)).toEqual(['erp']);
    expect(ruleInputWarnings(config)).toEqual([]);
  });

  const ZONES = { type: 'FeatureCollection', features: [{ type: 'Feature', properties: { name: 'QUAY', erpLocation: '1000/0002', site: 'ROT', radiusM: 50 }, geometry: { type: 'Point', coordinates: [4.06, 51.95] } }] };
  // The file listed with its own property names (a QGIS export's NAME and SLOC).
  const QGIS = { type: 'FeatureCollection', features: [{ type: 'Feature', properties: { NAME: 'BERTH-7', SLOC: '1000/0007', radiusM: 40 }, geometry: { type: 'Point', coordinates: [4.07, 51.95] } }] };
  const zoneFiles = { 'zones.geojson': JSON.stringify(ZONES), 'qgis-export.geojson': JSON.stringify(QGIS) };

  it("docs/configuration.md's rules and telematics sections, with a zones file of the properties it names", () => {
    const blocks = yamlBlocks('docs/configuration.md');
    const rules = blocks.find((b) => b.startsWith('rules:'));
    const telematics = blocks.find((b) => b.startsWith('telematics:'));
    expect(rules).toBeDefined();
    expect(telematics).toBeDefined();
    const withRules = load(configDir(`${DEST}${rules ?? ''}`, zoneFiles));
    expect(withRules.rules.zones?.zones.map((z) => z.name).sort()).toEqual(['BERTH-7', 'QUAY', 'YARD-A']);
    expect(withRules.rules.maintenance?.thresholds.map((t) => t.name)).toEqual(['engine-temp', 'pressure-spikes']);
    expect(load(configDir(`${DEST}${telematics ?? ''}`)).telematics.map((t) => t.vendor)).toEqual(['trackunit']);
  });

  it("docs/configuration.md's webhook example, in a destination", () => {
    const webhook = yamlBlocks('docs/configuration.md').find((b) => b.startsWith('webhook:')) ?? '';
    const dest = `destinations:\n  - name: erp\n    type: rest\n    baseUrl: https://erp.example.com\n${webhook.replace(/^/gm, '    ')}`;
    const config = load(configDir(dest));
    expect(config.destinations[0]?.webhook).toMatchObject({ timestampHeader: 'X-Signature-Timestamp', toleranceMs: 300_000 });
  });

  it("docs/configuration.md's other section examples, each in a config of its own (with a destination when it has none)", () => {
    const blocks = yamlBlocks('docs/configuration.md').filter((b) => !b.startsWith('webhook:'));
    expect(blocks.length).toBeGreaterThan(8);
    for (const block of blocks) {
      expect(block).toMatch(/^[a-z]+:/); // a section of the config, as a reader copies it
      const config = load(configDir(/^destinations:/m.test(block) ? block : `${DEST}${block}`, zoneFiles));
      expect(ruleInputWarnings(config), block).toEqual([]);
    }
  });

  it('the inline YAML in the README and docs/ is YAML as written (a reader copies it into the config)', () => {
    const files = ['README.md', 'docs/cli.md', 'docs/configuration.md', 'docs/operations.md', 'docs/architecture.md'];
    const spans = files.flatMap((f) => inlineYaml(f).map((span) => [f, span] as const));
    expect(spans.length).toBeGreaterThan(10);
    const broken = spans.flatMap(([f, span]) => {
      try {
        parseYaml(span);
        return [];
      } catch (e) {
        return [`${f}: ${span}: ${(e as Error).message.split('\n')[0] ?? ''}`];
      }
    });
    expect(broken).toEqual([]);
  });
});
