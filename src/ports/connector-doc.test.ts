/**
 * docs/adding-a-connector.md describes the connector port as `src/ports/connector.ts` has it today:
 * every member of `ErpConnector`, its `ConnectorCapabilities` and a poll's `WorkOrderPoll` is named
 * in the guide (a contributor following it literally implements only what it names), and so is
 * every member of the registration `src/app.ts` takes for a destination type (`CONNECTORS`).
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '../..');
const port = readFileSync(join(root, 'src/ports/connector.ts'), 'utf8');
const app = readFileSync(join(root, 'src/app.ts'), 'utf8');
const guide = readFileSync(join(root, 'docs/adding-a-connector.md'), 'utf8');

/** The members (properties and methods) an exported interface of the port declares, comments left out. */
function members(name: string, source = port): string[] {
  const body = new RegExp(`^export interface ${name}\\b[^{]*\\{\\n([\\s\\S]*?)^\\}`, 'm').exec(source)?.[1] ?? '';
  const code = body.replace(/\/\*\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, '');
  return [...code.matchAll(/^ {2}(?:readonly )?(\w+)\??[:(]/gm)].map((m) => m[1] ?? '');
}

/** The identifiers the guide writes in code spans (`capabilities.lastWriteWins`, `send(items)`). */
const named = new Set([...guide.matchAll(/`([^`]+)`/g)].flatMap((m) => [...(m[1] ?? '').matchAll(/[A-Za-z_]\w*/g)].map((w) => w[0])));

describe('docs/adding-a-connector.md and src/ports/connector.ts', () => {
  it.each(['ErpConnector', 'ConnectorCapabilities', 'WorkOrderPoll'])('names every member of %s', (name) => {
    const declared = members(name);
    expect(declared.length).toBeGreaterThan(3);
    expect(declared.filter((m) => !named.has(m))).toEqual([]);
  });

  it('names the connector registry and every member of a registration (src/app.ts)', () => {
    const declared = members('ConnectorRegistration', app);
    expect(declared).toEqual(expect.arrayContaining(['build', 'createsRecord', 'pushReader']));
    expect(['CONNECTORS', ...declared].filter((m) => !named.has(m))).toEqual([]);
  });
});
