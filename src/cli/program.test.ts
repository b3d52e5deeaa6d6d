import type { Command } from 'commander';
import { CommanderError } from 'commander';
import { describe, expect, it } from 'vitest';
import { buildProgram } from './program.js';

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

  it.each([[], ...paths].map((p) => [p.join(' ') || '(the program)', p] as const))('%s --help prints its usage and exits 0', async (_name, path) => {
    const { out, err, exitCode, code } = await help([...path]);
    expect(err).toBe('');
    expect({ exitCode, code }).toEqual({ exitCode: 0, code: 'commander.helpDisplayed' });
    expect(out).toContain(`Usage: assetbridge${path.length ? ' ' + path.join(' ') : ''} `);
  });
});
