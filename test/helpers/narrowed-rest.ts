/**
 * In-process CLI runs with the REST registration (`CONNECTORS.rest`) narrowed to deliver fewer
 * operations: no destination type lacks one yet, so the checks of what a destination delivers are
 * tried against this stand-in. Call {@link restoreRest} after each test.
 */
import { vi } from 'vitest';
import { CONNECTORS } from '../../src/app.js';
import { buildProgram } from '../../src/cli/program.js';

const registry = CONNECTORS as unknown as Record<string, unknown>;
const rest = CONNECTORS.rest;

/** `CONNECTORS.rest` from now on delivers every operation of REST's but `operation`. */
export function narrowRest(operation: string): void {
  registry.rest = { ...rest, operations: rest.operations.filter((op) => op !== operation) };
}

/** The REST registration as it was; mocks restored and the exit code cleared. */
export function restoreRest(): void {
  registry.rest = rest;
  vi.restoreAllMocks();
  process.exitCode = undefined;
}

/** `assetbridge ...args` run in this process: its exit code and what it wrote. */
export async function cliInProcess(args: readonly string[]): Promise<{ code: number | string | undefined; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => ((stdout += String(chunk)), true));
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => ((stderr += String(chunk)), true));
  process.exitCode = undefined;
  try {
    await buildProgram().parseAsync(['node', 'assetbridge', ...args]);
  } finally {
    vi.restoreAllMocks();
  }
  return { code: process.exitCode, stdout, stderr };
}
