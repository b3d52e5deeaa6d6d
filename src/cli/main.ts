#!/usr/bin/env -S node --max-semi-space-size=32
/**
 * The `assetbridge` command line. Each command lives in ./commands and registers itself here.
 * @module
 */
import { Command, CommanderError } from 'commander';
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
import { tuneV8 } from '../runtime/v8-tuning.js';

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

tuneV8();

// `assetbridge audit --json | head` closes the pipe early: that is not an error.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

try {
  await buildProgram().parseAsync(process.argv);
} catch (err) {
  // Commander has printed what was wrong; --help and --version end with 0, usage errors with 2.
  if (err instanceof CommanderError) process.exit(err.exitCode === 0 ? 0 : 2);
  throw err;
}
