import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { CommanderError } from 'commander';
import { describe, expect, it } from 'vitest';
import { buildProgram, unknownCommandMessage, unknownSubcommand } from './program.js';

const root = resolve(import.meta.dirname, '../..');

/** Each command's options (`--all`, `-c`), by the words that name it (`dlq replay`). */
function commandOptions(command: Command, path: string[] = [], out = new Map<string, string[]>()): Map<string, string[]> {
  for (const sub of command.commands) {
    const words = [...path, sub.name()];
    out.set(words.join(' '), sub.options.flatMap((o) => [o.long, o.short].filter((f): f is string => f !== undefined)));
    commandOptions(sub, words, out);
  }
  return out;
}

/** The rows of the command tables: the README's, in short, and docs/cli.md's, each command whole. */
function tableRows(): [string, string][] {
  return ['README.md', 'docs/cli.md'].flatMap((file) =>
    readFileSync(join(root, file), 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('| `assetbridge '))
      .map((l): [string, string] => [file, l]),
  );
}

/**
 * The commands the docs show, as `[where, command words, options given]`: the command tables of
 * the README and docs/cli.md (a cell's later spans, `export [FILE]`, name commands of the first
 * one's group) and every `assetbridge …` code span or command line of the other docs.
 */
function documentedCommands(known: ReadonlyMap<string, string[]>): [string, string, string[], string[]][] {
  const out: [string, string, string[], string[]][] = [];
  const resolveWords = (words: string[], group?: string): string | undefined => {
    const path: string[] = group ? [group] : [];
    for (const w of words) {
      if (!known.has([...path, w].join(' '))) break;
      path.push(w);
    }
    return path.length > (group ? 1 : 0) ? path.join(' ') : undefined;
  };
  const flagsOf = (text: string) => [...text.matchAll(/(?<![\w-])(--[a-z][a-z-]*|-[a-z])\b/g)].map((m) => m[1] ?? '');
  // The options a span shows as always given: outside `[...]`, not one of `A \| B`.
  const unbracketed = (text: string) => {
    let rest = text;
    for (let prev = ''; prev !== rest; ) [prev, rest] = [rest, rest.replace(/\[[^[\]]*\]/g, '')];
    return flagsOf(rest.replace(/\S+ \\\| \S+/g, ''));
  };
  for (const [file, line] of tableRows()) {
    let last: string | undefined;
    for (const [, span = ''] of (line.split(/(?<!\\)\|/)[1] ?? '').matchAll(/`([^`]+)`/g)) {
      // `--km K`, `[--at T]`: more options of the command before.
      if (/^\[?-/.test(span) && last !== undefined) {
        out.push([file, last, flagsOf(span), []]); // an alternative (`(or --km K)`) or more options
        continue;
      }
      const words = span.replace(/^assetbridge /, '').split(/\s+/);
      const command = span.startsWith('assetbridge ') ? resolveWords(words) : resolveWords(words, last?.split(' ')[0]);
      if (command === undefined) {
        out.push([file, `(no command) ${span}`, [], []]);
        continue;
      }
      last = command;
      out.push([file, command, flagsOf(span), unbracketed(span)]);
    }
  }
  for (const file of ['docs/operations.md', 'docs/configuration.md', 'docs/architecture.md', 'docs/adding-a-connector.md']) {
    const text = readFileSync(join(root, file), 'utf8');
    const spans = [...text.matchAll(/`assetbridge ([^`]+)`/g)].map((m) => m[1] ?? '');
    // Command lines: in a ```sh block, or indented as code.
    const lines = [...text.matchAll(/^```sh\n([\s\S]*?)^```$/gm)].flatMap((m) => (m[1] ?? '').split('\n')).concat(text.split('\n').filter((l) => l.startsWith('    ')));
    spans.push(...lines.flatMap((l) => (/^\s*assetbridge [a-z]/.test(l) ? [l.trim().replace(/^assetbridge /, '').replace(/\s+#.*$/, '')] : [])));
    for (const span of spans) {
      const command = resolveWords(span.split(/\s+/));
      out.push([file, command ?? `(no command) ${span}`, command === undefined ? [] : flagsOf(span), []]);
    }
  }
  return out;
}

/** Every command in the tree, as the words that name it (`['dlq', 'replay']`). */
function commandPaths(command: Command, path: string[] = []): string[][] {
  return command.commands.flatMap((sub) => [[...path, sub.name()], ...commandPaths(sub, [...path, sub.name()])]);
}

/** Runs `assetbridge ...args --help` in-process: what it printed, and how it ended. */
async function help(args: string[]): Promise<{ out: string; err: string; exitCode: number | undefined; code: string | undefined }> {
  const program = buildProgram();
  let out = '';
  let err = '';
  const capture = (command: Command): void => {
    command.exitOverride().configureOutput({ writeOut: (s) => (out += s), writeErr: (s) => (err += s) });
    command.commands.forEach(capture);
  };
  capture(program);
  try {
    await program.parseAsync(['node', 'assetbridge', ...args, '--help']);
    return { out, err, exitCode: undefined, code: undefined };
  } catch (e) {
    if (!(e instanceof CommanderError)) throw e;
    return { out, err, exitCode: e.exitCode, code: e.code };
  }
}

describe('assetbridge --help', () => {
  const paths = commandPaths(buildProgram());

  it('the tree has the commands the README lists', () => {
    const names = paths.map((p) => p.join(' '));
    for (const name of ['run', 'demo', 'config check', 'status', 'assets import', 'assets reset-meter', 'dlq mark-delivered', 'aemp backfill', 'rules test', 'maintenance complete', 'depreciation refile', 'inventory snapshot', 'zones occupancy', 'store vacuum'])
      expect(names).toContain(name);
  });

  it('every command and option the README and docs/ show exists, under that command', () => {
    const known = commandOptions(buildProgram());
    const shown = documentedCommands(known);
    expect(shown.length).toBeGreaterThan(80);
    const wrong = shown.flatMap(([file, command, flags]) => {
      const options = known.get(command);
      if (options === undefined) return [`${file}: ${command}`];
      return flags.filter((f) => !options.includes(f) && f !== '--help' && f !== '-h').map((f) => `${file}: ${command} ${f}`);
    });
    expect(wrong).toEqual([]);
    // Every command is in the README's table and in docs/cli.md's.
    for (const table of ['README.md', 'docs/cli.md']) {
      const listed = new Set(shown.filter(([file]) => file === table).map(([, command]) => command));
      expect({ table, missing: [...known.keys()].filter((c) => known.get(c)?.length && !listed.has(c) && c !== 'help') }).toEqual({ table, missing: [] });
    }
  });

  it("docs/cli.md's command table names every option of each command, in its own spans or its row's text (but the output ones; demo, aemp parse and zones check point to their --help)", () => {
    const rows = readFileSync(join(root, 'docs/cli.md'), 'utf8').split('\n').filter((l) => l.startsWith('| `assetbridge '));
    const generic = ['--help', '--config', '--json', '--csv', '--out'];
    const known = commandOptions(buildProgram());
    // Where a command's options may be named: its own spans in the table (`counts [--destination D]`),
    // or the prose of its row (`--exit-code: exit 1 when …`), not another command's spans.
    const ownSpans = new Map<string, Set<string>>();
    for (const [file, command, flags] of documentedCommands(known)) if (file === 'docs/cli.md') ownSpans.set(command, new Set([...(ownSpans.get(command) ?? []), ...flags]));
    const prose = (command: string) =>
      rows
        .filter((l) => l.startsWith(`| \`assetbridge ${command.split(' ')[0] ?? ''}`))
        .map((l) => l.split(/(?<!\\)\|/).slice(2).join('|'))
        .join(' ');
    const unnamed = [...known].flatMap(([command, flags]) => {
      if (['demo', 'aemp parse', 'zones check'].includes(command)) return [];
      const text = prose(command);
      return flags.filter((f) => f.startsWith('--') && !generic.includes(f) && !ownSpans.get(command)?.has(f) && !new RegExp(`${f}(?![\\w-])`).test(text)).map((f) => `${command} ${f}`);
    });
    expect(unnamed).toEqual([]);
  });

  it("docs/cli.md's command table shows an option outside [brackets] only where the command cannot run without it", () => {
    const program = buildProgram();
    const find = (words: string[]) => words.reduce<Command | undefined>((c, w) => c?.commands.find((s) => s.name() === w), program);
    // Required by the command's own check, or one of the forms the row shows (`replay ID --payload FILE`).
    const checked = ['aemp backfill --from', 'assets reset-meter --hours', 'dlq replay --payload', 'dlq replay --new-key'];
    const shown = documentedCommands(commandOptions(program)).filter(([file]) => file === 'docs/cli.md');
    expect(shown.some(([, , , always]) => always.length > 0)).toBe(true);
    const wrong = shown.flatMap(([, command, , always]) =>
      always.filter((f) => !find(command.split(' '))?.options.find((o) => o.long === f)?.mandatory && !checked.includes(`${command} ${f}`)).map((f) => `${command} ${f}`),
    );
    expect(wrong).toEqual([]);
  });

  it('says "required" of each option a command cannot run without (commander marks none in its help)', () => {
    const program = buildProgram();
    const find = (words: string[]) => words.reduce<Command | undefined>((c, w) => c?.commands.find((s) => s.name() === w), program);
    const required = paths.flatMap((p) => (find(p)?.options ?? []).filter((o) => o.mandatory).map((o) => [p.join(' '), o.long ?? '', o.description] as const));
    // Required by the command's own check rather than commander's.
    const checked = [['aemp', 'backfill', '--from']].map(([g, c, f]) => [`${g} ${c}`, f, find([g ?? '', c ?? ''])?.options.find((o) => o.long === f)?.description ?? ''] as const);
    expect(required.map(([c, f]) => `${c} ${f}`)).toEqual(['rules test --events', 'depreciation post --period']);
    expect([...required, ...checked].filter(([, , d]) => !d.includes('required'))).toEqual([]);
  });

  it('quarantine replay --help says which entries it never replays (replayQuarantine passes them over)', async () => {
    const { out } = await help(['quarantine', 'replay']);
    expect(out).toContain('unreadable-page');
    expect(out).toContain('too-large');
  });

  // The operations guide's fix for unknown-asset is 'assets import mapping.csv': its --help said
  // nothing of the file (the format was only under 'assets --help') and gave no example.
  it('assets import --help gives the file’s header, where the whole format is, and an example', async () => {
    const { out } = await help(['assets', 'import']);
    expect(out).toContain('identifier,id_type,erp_asset_id,erp_module,destination,site');
    expect(out).toContain("'assetbridge assets --help' gives the whole format");
    expect(out).toContain('assetbridge assets import mapping.csv -c assetbridge.yaml');
  });

  it('maintenance status --help names every kind of rule it reports on', async () => {
    const { out } = await help(['maintenance', 'status']);
    for (const kind of ['service', 'calendar', 'threshold', 'fault']) expect(out).toContain(kind);
  });

  it('every --out says in its help that a file with other hard links is refused and that its ACL is not kept (replaceFile renames a new file over it)', async () => {
    const withOut = paths.filter((p) => findCommand(buildProgram(), p)?.options.some((o) => o.long === '--out'));
    expect(withOut.length).toBeGreaterThan(3);
    for (const p of withOut) {
      const { out } = await help(p);
      expect(out.replace(/\s+/g, ' '), p.join(' ')).toMatch(/--out <file> .*hard links is refused, and its POSIX ACL and extended attributes are not kept/);
    }
  });

  // A walk of every --help found a dozen commands (status, dlq list, depreciation post, …) with no
  // example: what to type first had to be pieced together from the options.
  it('every command that runs (every leaf of the tree) gives an example in its --help', async () => {
    const leaves = paths.filter((p) => findCommand(buildProgram(), p)?.commands.length === 0);
    expect(leaves.length).toBeGreaterThan(40);
    const without: string[] = [];
    for (const p of leaves) if (helpExamples((await help(p)).out).length === 0) without.push(p.join(' '));
    expect(without).toEqual([]);
  });

  it("each --help example names a command, with options it has and the arguments it takes (parsed by the command's own parser)", async () => {
    const leaves = paths.filter((p) => findCommand(buildProgram(), p)?.commands.length === 0);
    const wrong: string[] = [];
    let checked = 0;
    for (const p of leaves) {
      for (const line of helpExamples((await help(p)).out)) {
        const invocations = assetbridgeInvocations(line);
        if (invocations.length === 0) wrong.push(`${p.join(' ')}: runs no assetbridge command: ${line}`);
        for (const args of invocations) {
          checked++;
          const problem = await parseOnly(args);
          if (problem !== undefined) wrong.push(`${p.join(' ')}: ${line}: ${problem}`);
        }
      }
    }
    expect(checked).toBeGreaterThan(60);
    expect(wrong).toEqual([]);
  });

  it('the example check catches an option the command lacks, a missing argument and a required option left out', async () => {
    expect(await parseOnly(['status', '--destination', 'erp'])).toContain("unknown option '--destination'");
    expect(await parseOnly(['quarantine', 'show'])).toContain("missing required argument 'id'");
    expect(await parseOnly(['depreciation', 'post', '--dry-run'])).toContain("required option '--period <id>' not specified");
    expect(await parseOnly(['dlq', 'list', 'extra'])).toContain('too many arguments');
    expect(await parseOnly(['dlq', 'lists'])).toContain('does not name a command');
    expect(await parseOnly(['dlq', 'replay', '42', '--payload', 'fix.json'])).toBeUndefined();
    expect(assetbridgeInvocations("zcat e.jsonl.gz | assetbridge rules test --events - --jsonl | jq -c 'select(.type == \"line\")'   # a comment")).toEqual([['rules', 'test', '--events', '-', '--jsonl']]);
    expect(assetbridgeInvocations('assetbridge store backup /b/ab-$(date +%F).db')).toEqual([['store', 'backup', '/b/ab-$(date +%F).db']]);
    expect(assetbridgeInvocations("assetbridge dlq show 42 --payload > p.json && assetbridge assets confirm 'trackunit|machine-id:7F' 10004711")).toEqual([
      ['dlq', 'show', '42', '--payload'],
      ['assets', 'confirm', 'trackunit|machine-id:7F', '10004711'],
    ]);
  });

  it('status --help gives its exit codes, with 2 for a store that does not exist', async () => {
    const { out } = await help(['status']);
    expect(out.replace(/\s+/g, ' ')).toMatch(/Exit codes: 0 shown .*1 failed .*2 bad usage or config, or no store at the config's store\.path/);
  });

  it.each([[], ...paths].map((p) => [p.join(' ') || '(the program)', p] as const))('%s --help prints its usage and exits 0', async (_name, path) => {
    const { out, err, exitCode, code } = await help([...path]);
    expect(err).toBe('');
    expect({ exitCode, code }).toEqual({ exitCode: 0, code: 'commander.helpDisplayed' });
    expect(out).toContain(`Usage: assetbridge${path.length ? ' ' + path.join(' ') : ''} `);
  });
});

/** The command `path` names in `program`. */
function findCommand(program: Command, path: readonly string[]): Command | undefined {
  let command: Command | undefined = program;
  for (const name of path) command = command?.commands.find((c) => c.name() === name);
  return command;
}

/** The example lines of a --help: those under its "Examples:" (or "Example:", "Examples (…):") heading. */
function helpExamples(out: string): string[] {
  const block = /\nExamples?(?: \([^)]*\))?:\n((?: {2}\S.*(?:\n|$))+)/.exec(out)?.[1] ?? '';
  return block
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '');
}

/**
 * The arguments of each `assetbridge …` a shell line runs (`zcat f | assetbridge rules test --events -`),
 * as the shell would pass them: quotes taken off, a `# comment`, redirections and the other
 * commands of a pipe or list left out.
 */
function assetbridgeInvocations(line: string): string[][] {
  const commands: string[][] = [[]];
  const words = [...line.matchAll(/'([^']*)'|"((?:[^"\\]|\\.)*)"|(\|\||&&|[|;]|\d?>>?|<)|(#.*$)|((?:\$\([^)]*\)|[^\s'"|;&<>])+)/g)];
  let redirect = false;
  for (const [, single, double, operator, comment, bare] of words) {
    if (comment !== undefined) break;
    if (operator !== undefined) {
      if (/^[|;&]/.test(operator)) commands.push([]);
      else redirect = true;
      continue;
    }
    const word = single ?? double?.replace(/\\(.)/g, '$1') ?? bare ?? '';
    if (redirect) redirect = false;
    else commands[commands.length - 1]?.push(word);
  }
  return commands.filter((c) => c[0] === 'assetbridge').map((c) => c.slice(1));
}

/**
 * Parses `assetbridge …args` with the real command tree, its actions replaced by ones that do
 * nothing: undefined when commander takes it, else what commander said was wrong.
 */
async function parseOnly(args: string[]): Promise<string | undefined> {
  const program = buildProgram();
  let err = '';
  const quiet = (command: Command): void => {
    command.exitOverride().configureOutput({ writeOut: () => undefined, writeErr: (s) => (err += s) });
    if (command.commands.length === 0) command.action(() => undefined);
    command.commands.forEach(quiet);
  };
  quiet(program);
  const unknown = unknownSubcommand(program, args);
  if (unknown) return `'${unknown.word}' does not name a command of ${unknown.group}`;
  try {
    await program.parseAsync(['node', 'assetbridge', ...args]);
    return undefined;
  } catch (e) {
    if (!(e instanceof CommanderError)) throw e;
    return err.trim() || e.message;
  }
}

describe('a command word that names no command', () => {
  const program = buildProgram();
  it('is answered with the command of its group it most likely meant: a typo, or the start of one command', () => {
    expect(unknownSubcommand(program, ['stauts'])).toEqual({ word: 'stauts', group: 'assetbridge', suggestion: 'status' });
    expect(unknownSubcommand(program, ['dlq', 'replya', '--all'])).toEqual({ word: 'replya', group: 'assetbridge dlq', suggestion: 'replay' });
    expect(unknownSubcommand(program, ['maint'])).toEqual({ word: 'maint', group: 'assetbridge', suggestion: 'maintenance' });
    // Nothing close: no guess.
    expect(unknownSubcommand(program, ['assets', 'review'])).toEqual({ word: 'review', group: 'assetbridge assets' });
    expect(unknownCommandMessage({ word: 'chek', group: 'assetbridge config', suggestion: 'check' })).toBe(
      "error: unknown command 'chek': did you mean 'assetbridge config check'? (see 'assetbridge config --help' for the commands there)\n",
    );
  });

  it('after help too (`help stauts`, `assets help imprt`), while `help status` is left to commander', () => {
    expect(unknownSubcommand(program, ['help', 'stauts'])).toEqual({ word: 'stauts', group: 'assetbridge', suggestion: 'status' });
    expect(unknownSubcommand(program, ['assets', 'help', 'imprt'])).toEqual({ word: 'imprt', group: 'assetbridge assets', suggestion: 'import' });
    expect(unknownSubcommand(program, ['help', 'status'])).toBeUndefined();
    expect(unknownSubcommand(program, ['assets', 'help', 'import'])).toBeUndefined();
    expect(unknownSubcommand(program, ['help'])).toBeUndefined();
  });
});
