/**
 * The `assetbridge` command tree, built apart from main.ts (which parses the process's arguments)
 * so that tests can walk it.
 * @module
 */
import { Command } from 'commander';
import { editDistance } from '../core/edit-distance.js';
import { registerAssetsCommand } from './commands/assets.js';
import { registerMetersCommand } from './commands/meters.js';
import { registerAempParseCommand } from './commands/aemp-parse.js';
import { registerAempCommands } from './commands/aemp.js';
import { registerAssetReviewCommands } from './commands/assets-review.js';
import { registerDepreciationCommand } from './commands/depreciation.js';
import { registerMaintenanceCommand } from './commands/maintenance.js';
import { registerRulesCommand } from './commands/rules.js';
import { registerZonesCommand } from './commands/zones.js';
import { registerInventoryCommand } from './commands/inventory.js';
import { registerAuditCommand } from './commands/audit.js';
import { registerDemoCommand } from './commands/demo.js';
import { registerDlqCommand } from './commands/dlq.js';
import { registerQuarantineCommand } from './commands/quarantine.js';
import { registerRunCommand } from './commands/run.js';
import { registerConfigCommand } from './commands/config-check.js';
import { registerStatusCommand } from './commands/status.js';
import { registerStoreCommand } from './commands/store.js';

export function buildProgram(): Command {
  const program = new Command('assetbridge')
    .description('Connects asset-tracking and telematics systems with ERPs: durable, exactly-once, rate-limited, audited.')
    .version('0.1.0')
    .showHelpAfterError('(run with --help for usage)')
    // Usage errors (an unknown option, a missing argument) throw instead of exiting 1: main maps
    // them to the documented exit code 2. Set before the commands, which inherit it.
    .exitOverride();
  registerRunCommand(program);
  registerConfigCommand(program);
  registerDemoCommand(program);
  registerStatusCommand(program);
  registerAssetsCommand(program);
  registerQuarantineCommand(program);
  registerDlqCommand(program);
  registerAuditCommand(program);
  registerAempParseCommand(program);
  registerAempCommands(program);
  registerAssetReviewCommands(program);
  registerMetersCommand(program);
  registerRulesCommand(program);
  registerMaintenanceCommand(program);
  registerDepreciationCommand(program);
  registerInventoryCommand(program);
  registerZonesCommand(program);
  registerStoreCommand(program);
  return program;
}

/**
 * The command word in `args` (the arguments after the program name) that names no command of its
 * group, as in `assetbridge assets review --help`: commander prints the group's help for that and
 * ends with 0, as if the command existed; likewise `assetbridge help stauts` and `assetbridge
 * assets help imprt`. Undefined when the words name a command (or there are none before the first
 * option). `suggestion`: the command it most likely meant (`status` for `stauts`).
 */
export function unknownSubcommand(program: Command, args: readonly string[]): { word: string; group: string; suggestion?: string } | undefined {
  let command = program;
  const path: string[] = [];
  let afterHelp = false;
  for (const word of args) {
    if (word.startsWith('-') || command.commands.length === 0) return undefined;
    // `help X`: X is a command of the same group (commander's help takes that one word).
    if (word === 'help' && !afterHelp) {
      afterHelp = true;
      continue;
    }
    const sub = command.commands.find((c) => c.name() === word || c.aliases().includes(word));
    if (!sub) {
      const suggestion = likelyCommand(word, command.commands.flatMap((c) => [c.name(), ...c.aliases()]));
      return { word, group: ['assetbridge', ...path].join(' '), ...(suggestion !== undefined ? { suggestion } : {}) };
    }
    if (afterHelp) return undefined;
    command = sub;
    path.push(word);
  }
  return undefined;
}

/** The command a mistyped word most likely meant: at most two edits away (`stauts`), or the one command it starts (`maint`). */
function likelyCommand(word: string, names: readonly string[]): string | undefined {
  const lower = word.toLowerCase();
  let best: { name: string; d: number } | undefined;
  for (const name of names) {
    const d = editDistance(lower, name);
    if (d <= Math.min(2, name.length - 1) && (!best || d < best.d)) best = { name, d };
  }
  if (best) return best.name;
  const starting = lower.length >= 3 ? names.filter((n) => n.startsWith(lower)) : [];
  return starting.length === 1 ? starting[0] : undefined;
}

/** What main prints for {@link unknownSubcommand}'s answer: the word, the command it likely meant, and where the group's commands are listed. */
export function unknownCommandMessage(unknown: { word: string; group: string; suggestion?: string }): string {
  const meant = unknown.suggestion !== undefined ? `: did you mean '${unknown.group} ${unknown.suggestion}'?` : '';
  return `error: unknown command '${unknown.word}'${meant} (see '${unknown.group} --help' for the commands there)\n`;
}
