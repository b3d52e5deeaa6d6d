import type { Command } from 'commander';
import { existsSync, mkdirSync } from 'node:fs';
import { basename, isAbsolute, join, relative } from 'node:path';
import { UsageError } from '../../core/errors/errors.js';
import { parseDuration } from '../../config/duration.js';
import { runDemo } from '../../demo/demo.js';
import { action } from '../context.js';

function positive(name: string, v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new UsageError(`--${name} must be a positive number, got "${v}"`);
  return n;
}

/**
 * How the user runs this CLI again, for the hints a command prints: `assetbridge` when it ran as
 * the installed or linked bin, else `node <script>` (`node dist/src/cli/main.js` after `npm run
 * demo` in a checkout, where no `assetbridge` is on the PATH).
 */
export function howToRun(script: string | undefined, cwd: string): string {
  if (script === undefined || basename(script) === 'assetbridge') return 'assetbridge';
  const fromCwd = relative(cwd, script);
  const path = fromCwd.startsWith('..') || isAbsolute(fromCwd) ? script : fromCwd;
  return `node ${/\s/.test(path) ? JSON.stringify(path) : path}`;
}

/**
 * Makes `--data-dir` (it may not exist yet) and refuses one the demo would spoil: an earlier run's
 * store, or a config file named as the demo's own (assetbridge.yaml, which it writes beside the
 * store for inspecting the run): `--data-dir .` in a project directory replaced the user's config.
 */
export function prepareDemoDataDir(dir: string): void {
  // Made here, so a path that cannot be a directory names the option rather than a bare errno.
  try {
    mkdirSync(dir, { recursive: true });
  } catch (err) {
    throw new UsageError(`--data-dir ${dir} cannot hold the demo's store: ${(err as Error).message}; name a directory (it is created if missing) or leave --data-dir out for a new temporary one`);
  }
  // An earlier run's store: its work orders count as sent already, so a new ERP simulator
  // would never get them and the check would fail.
  const earlier = join(dir, 'assetbridge.db');
  if (existsSync(earlier))
    throw new UsageError(`--data-dir ${dir} holds the store of an earlier demo run (${earlier}): its work orders count as sent, so this run's new ERP simulator would not get them; name a new or empty directory, or delete that store first`);
  const config = join(dir, 'assetbridge.yaml');
  if (existsSync(config))
    throw new UsageError(`--data-dir ${dir} holds ${config}, which the demo would replace with the config it writes for inspecting its run; name a new or empty directory, or leave --data-dir out for a new temporary one`);
}

export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description('run the real pipeline between a simulated fleet (MQTT) and a simulated REST ERP, then check the ERP matches the fleet')
    .option('--assets <n>', 'simulated assets', '300')
    .option('--duration <d>', 'how long the fleet reports (e.g. 45s, 2m)', '45s')
    .option('--rate <n>', 'fleet messages per second', '200')
    .option('--bad-share <x>', 'share of deliberately bad messages (0..1)', '0.02')
    .option('--erp-rate <n>', "the ERP simulator's limit, requests per minute", '300')
    .option('--no-faults', 'a well-behaved ERP (no injected 503s, lost responses or latency)')
    .option('--mqtt-url <url>', 'use this broker (e.g. mqtt://127.0.0.1:1883) instead of the in-process one')
    .option('--data-dir <dir>', 'keep the demo store here: a new or empty directory (default: a new temp directory)')
    .option('--seed <n>', 'random seed for the fleet and faults', '1')
    .option('--with-trackunit [machines]', 'also pull machines from the Trackunit ISO 15143-3 simulator (default 250)')
    .addHelpText(
      'after',
      '\nExit code 0 when the ERP ends up matching the fleet and nothing was lost; 1 otherwise.\n\n' +
        'Examples:\n  assetbridge demo\n  assetbridge demo --assets 50 --duration 10s --data-dir demo-store   # then inspect it: the run prints the status command',
    )
    .action(
      action(async (o: { assets: string; duration: string; rate: string; badShare: string; erpRate: string; faults: boolean; mqttUrl?: string; dataDir?: string; seed: string; withTrackunit?: string | boolean }) => {
        const durationMs = parseDuration(o.duration);
        if (durationMs === undefined || durationMs <= 0) throw new UsageError(`--duration "${o.duration}" is not a duration like 45s or 2m`);
        // Checked here: the demo's own config would name sources.mqtt.0.url, a key the user never wrote.
        if (o.mqttUrl !== undefined && !/^mqtts?:\/\//.test(o.mqttUrl)) throw new UsageError(`--mqtt-url "${o.mqttUrl}" must start with mqtt:// or mqtts://, e.g. mqtt://127.0.0.1:1883`);
        const badShare = Number(o.badShare);
        if (!(badShare >= 0 && badShare < 1)) throw new UsageError('--bad-share must be between 0 and 1');
        if (o.dataDir !== undefined) prepareDemoDataDir(o.dataDir);
        const result = await runDemo({
          assets: Math.round(positive('assets', o.assets)),
          durationMs,
          ratePerSecond: positive('rate', o.rate),
          badShare,
          faults: o.faults,
          erpRatePerMinute: positive('erp-rate', o.erpRate),
          seed: Math.round(positive('seed', o.seed)),
          drainTimeoutMs: 120_000,
          trackunitMachines: o.withTrackunit === undefined || o.withTrackunit === false ? 0 : o.withTrackunit === true ? 250 : Math.round(positive('with-trackunit', o.withTrackunit)),
          cli: howToRun(process.argv[1], process.cwd()),
          out: process.stdout,
          ...(o.mqttUrl ? { mqttUrl: o.mqttUrl } : {}),
          ...(o.dataDir ? { dataDir: o.dataDir } : {}),
        });
        process.exitCode = result.ok ? 0 : 1;
      }),
    );
}
