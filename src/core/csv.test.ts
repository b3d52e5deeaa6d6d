import { describe, expect, it } from 'vitest';
import { csvCellValue, toCsv } from './csv.js';

describe('CSV reports', () => {
  it('put a quote before a cell a spreadsheet would run as a formula, and leave numbers with a sign as numbers', () => {
    const text = toCsv([
      ['=1+1', '+cmd', '-A12', '@SUM(A1)', '\tx', '\rx', "'=x"],
      [-5, '-5', '+3', '-1.5e3', 'a=b', '', null],
    ]);
    expect(text).toBe(`'=1+1,'+cmd,'-A12,'@SUM(A1),'\tx,"'\rx",''=x\r\n-5,-5,+3,-1.5e3,a=b,,\r\n`);
  });

  it('read each guarded cell back as the value it stands for', () => {
    for (const v of ['=1+1', '+cmd', '-A12', '@x', "'=x", "''-y", "it's", "'quoted'", '-5', 'plain']) {
      const cell = toCsv([[v]]).replace(/\r\n$/, '');
      expect(csvCellValue(cell)).toBe(v);
    }
  });
});
