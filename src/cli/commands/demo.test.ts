import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../core/errors/errors.js';
import { howToRun, prepareDemoDataDir } from './demo.js';
import { summaryTable } from '../../demo/demo.js';

describe('howToRun: the command the demo tells a newcomer to run next', () => {
  it('is `node <script>` from the working directory in a checkout (`npm run demo`), where no assetbridge is on the PATH', () => {
    expect(howToRun('/home/me/assetbridge/dist/src/cli/main.js', '/home/me/assetbridge')).toBe('node dist/src/cli/main.js');
  });

  it('is the script in full when it lies outside the working directory, quoted when it has a space', () => {
    expect(howToRun('/opt/assetbridge/dist/src/cli/main.js', '/home/me')).toBe('node /opt/assetbridge/dist/src/cli/main.js');
    expect(howToRun('/opt/my tools/dist/src/cli/main.js', '/home/me')).toBe('node "/opt/my tools/dist/src/cli/main.js"');
  });

  it('is assetbridge when it ran as the installed or linked bin', () => {
    expect(howToRun('/usr/local/bin/assetbridge', '/home/me')).toBe('assetbridge');
    expect(howToRun('/srv/app/node_modules/.bin/assetbridge', '/srv/app')).toBe('assetbridge');
    expect(howToRun(undefined, '/home/me')).toBe('assetbridge');
  });
});

describe('demo --data-dir', () => {
  it('is made when missing; one holding an earlier run\'s store is refused', () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'ab-demo-dir-')), 'new');
    expect(() => prepareDemoDataDir(dir)).not.toThrow();
    expect(existsSync(dir)).toBe(true);
    writeFileSync(join(dir, 'assetbridge.db'), 'x');
    expect(() => prepareDemoDataDir(dir)).toThrow(/holds the store of an earlier demo run/);
  });

  // `--data-dir .` in a project directory: the demo wrote its own assetbridge.yaml over the user's config.
  it('refuses a directory holding an assetbridge.yaml, which the demo would replace, and leaves the file as it was', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ab-demo-dir-'));
    const mine = join(dir, 'assetbridge.yaml');
    writeFileSync(mine, 'destinations: [] # mine\n');
    expect(() => prepareDemoDataDir(dir)).toThrow(UsageError);
    expect(() => prepareDemoDataDir(dir)).toThrow(`--data-dir ${dir} holds ${mine}, which the demo would replace with the config it writes for inspecting its run`);
    expect(readFileSync(mine, 'utf8')).toBe('destinations: [] # mine\n');
  });
});

// The summary's labels were padded by hand: some values stood a column off ("repeated writes not re-applied 2").
describe('the demo summary', () => {
  it('puts every value in one column, two spaces after the longest label', () => {
    const lines = summaryTable([
      ['messages published', '10'],
      ['repeated writes not re-applied', '2 (a retry)'],
      ['work orders (engine > 96.5 °C)', '16 for 16'],
    ]);
    expect(lines).toEqual(['  messages published              10', '  repeated writes not re-applied  2 (a retry)', '  work orders (engine > 96.5 °C)  16 for 16']);
  });
});
