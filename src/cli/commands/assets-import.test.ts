/**
 * `assets import` of a large file (the built CLI): it takes seconds to check and store, and says
 * what it is doing on stderr meanwhile (stdout keeps only the result); a small file stays quiet.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, writeConfig } from '../../../test/helpers/cli.js';
import { LARGE_IMPORT_BYTES } from './assets.js';

const config = () => writeConfig((dir) => ({ store: { path: join(dir, 'ab.db') }, destinations: [{ name: 'erp', type: 'rest', baseUrl: 'http://127.0.0.1:9', token: 'x' }] }));

function csv(rows: number): string {
  const lines = ['identifier,id_type,erp_asset_id,erp_module,destination,site,model'];
  for (let i = 0; i < rows; i++) lines.push(`tag-${i},tag,EQ-${i},fixed-assets,,PLANT-${i % 7},Excavator model with a long name ${i}`);
  return `${lines.join('\n')}\n`;
}

describe('assets import', () => {
  it('of a large file says on stderr what it is doing while it takes its seconds, and that an interrupted import imports nothing', async () => {
    const { path, dir } = config();
    const text = csv(20_000);
    expect(Buffer.byteLength(text)).toBeGreaterThanOrEqual(LARGE_IMPORT_BYTES);
    writeFileSync(join(dir, 'big.csv'), text);
    const r = await runCli(['assets', 'import', join(dir, 'big.csv'), '-c', path]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`imported 20000 identifier(s) for 20000 asset(s) from ${join(dir, 'big.csv')}\n`);
    const notes = r.stderr.split('\n');
    expect(notes[0]).toMatch(/^checking .*big\.csv \(\d+\.\d MiB\)…$/);
    // How far the check got, told every 10,000 rows: the file read (by bytes), then half of its 20,000 rows checked.
    expect(notes[1]).toMatch(/^ {2}.*big\.csv: read \d\d % of the file$/);
    expect(notes[2]).toMatch(/^ {2}.*big\.csv: checked 50 % of the rows$/);
    expect(notes[3]).toMatch(/big\.csv: 20000 asset\(s\) checked in \d+\.\d s; storing them in one transaction \(interrupted now, nothing is imported\)…$/);

    writeFileSync(join(dir, 'small.csv'), csv(3));
    const small = await runCli(['assets', 'import', join(dir, 'small.csv'), '-c', path]);
    expect(small.code).toBe(0);
    expect(small.stderr).toBe('');
  }, 60_000);

  it('warns of identifiers a spreadsheet turned into dates, naming the file, line and column, and imports them', async () => {
    const { path, dir } = config();
    const file = join(dir, 'excel.csv');
    writeFileSync(file, 'identifier,id_type,erp_asset_id\r\nOct-26,serial,A1\r\ntag-2,tag,A2\r\n');
    const r = await runCli(['assets', 'import', file, '-c', path]);
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n').filter((l) => l.startsWith('warning: '))).toEqual([
      `warning: ${file} line 2, column identifier: "Oct-26" looks like a date a spreadsheet made of the value (it saves 2026-10 as Oct-26, 1-2 as 2-Jan, 2026-10-01 as 10/1/2026); if it was, the value is lost: re-enter it in a column formatted as Text (or open the original with Data → From Text/CSV, the column set to Text) and import the file again`,
    ]);
    expect(r.stdout).toContain('imported 2 identifier(s) for 2 asset(s)');
  });

  // Was the problems alone: whether the file's good rows had gone in was left to guess.
  it('refusing a file for its rows, says that none of them was imported (and none was)', async () => {
    const { path, dir } = config();
    const file = join(dir, 'typo.csv');
    writeFileSync(file, 'identifier,id_type,erp_asset_id\ntag-1,tag,A1\ntag-2,tagg,A2\n');
    const r = await runCli(['assets', 'import', file, '-c', path]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      `error: ${file} line 3: id_type "tagg" is not one of tag, tracker, pin, vin, serial, device-serial, external-ref, machine-id, unit-id, erp; did you mean tag?\n` +
        `nothing of ${file} was imported: fix what is named above in the file and import it again\n`,
    );
    // Line 2 was good, and is not in the registry all the same (nor is the store made).
    const listed = await runCli(['assets', 'list', '-c', path]);
    expect(listed.stdout).not.toContain('A1');
    // A file that is not the text it should be: the same.
    const latin1 = join(dir, 'latin1.csv');
    writeFileSync(latin1, Buffer.from('identifier,id_type,erp_asset_id\ntag-\xe9,tag,A3\n', 'latin1'));
    const l = await runCli(['assets', 'import', latin1, '-c', path]);
    expect(l.code).toBe(2);
    expect(l.stderr).toContain(`nothing of ${latin1} was imported: fix what is named above in the file and import it again\n`);
  });

  // Was "cannot read FILE: ENOENT: no such file or directory, open 'FILE'": Node's words, and nothing to do.
  it('names a file it cannot read with why in words, and what to give', async () => {
    const { path, dir } = config();
    const missing = await runCli(['assets', 'import', join(dir, 'asets.csv'), '-c', path]);
    expect({ code: missing.code, stderr: missing.stderr }).toEqual({ code: 2, stderr: `error: cannot read ${join(dir, 'asets.csv')} (no such file or directory): give the path of an asset CSV (as 'assetbridge assets export' writes one)\n` });
    const folder = await runCli(['assets', 'import', dir, '-c', path]);
    expect({ code: folder.code, stderr: folder.stderr }).toEqual({ code: 2, stderr: `error: cannot read ${dir} (it is a directory): give the path of an asset CSV (as 'assetbridge assets export' writes one)\n` });
  });
});
