#!/usr/bin/env -S node --max-semi-space-size=32
/**
 * The `assetbridge` command line. Each command lives in ./commands and registers itself in ./program.ts.
 * @module
 */
import { CommanderError } from 'commander';
import { buildProgram, unknownCommandMessage, unknownSubcommand } from './program.js';
import { tuneV8 } from '../runtime/v8-tuning.js';

tuneV8();

// `assetbridge audit --json | head` closes the pipe early: that is not an error.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

try {
  const program = buildProgram();
  // `assets review --help` would print the group's help and end with 0, as if `review` existed.
  const unknown = unknownSubcommand(program, process.argv.slice(2));
  if (unknown) {
    process.stderr.write(unknownCommandMessage(unknown));
    process.exit(2);
  }
  await program.parseAsync(process.argv);
} catch (err) {
  // Commander has printed what was wrong; --help and --version end with 0, usage errors with 2.
  if (err instanceof CommanderError) process.exit(err.exitCode === 0 ? 0 : 2);
  throw err;
}
