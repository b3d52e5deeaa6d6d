import { describe, expect, it } from 'vitest';
import { jsonErrorOffset, jsonSyntaxErrorText, parseJsonText } from './json-text.js';

describe('parseJsonText', () => {
  it('skips a UTF-8 byte order mark (Windows GIS exports start with one)', () => {
    expect(parseJsonText('\uFEFF{"type":"FeatureCollection","features":[]}')).toEqual({ type: 'FeatureCollection', features: [] });
  });

  it('says the line and column of a syntax error, counted as an editor counts them', () => {
    expect(() => parseJsonText('{\n  "a": [1, 2,],\n  "b": 1\n}')).toThrow(/^line 2, column 14: /);
    // V8 gives no position for an unexpected token; ours does.
    expect(() => parseJsonText('{\r\n"a": x}')).toThrow(/^line 2, column 6: Unexpected token 'x'/);
    expect(() => parseJsonText('\uFEFF{"a": 1}}')).toThrow(/^line 1, column 10: /);
    expect(() => parseJsonText('{"a": tru}')).toThrow(/^line 1, column 10: /);
    expect(() => parseJsonText('{"a": 1')).toThrow(/^line 1, column 8: /);
    // The text V8 quotes stays on the message's one line: its line breaks are written as \n.
    expect(() => parseJsonText('not json\n')).toThrow('line 1, column 2: Unexpected token \'o\', "not json\\n" is not valid JSON');
  });

  it('finds no error in valid JSON (the scanner agrees with JSON.parse)', () => {
    for (const text of ['{"a":[1,-2.5e3,true,false,null,"x\\"\\u00e9"]}', ' [ ] ', '0', '{"":{}}']) {
      expect(JSON.parse(text)).toBeDefined();
      expect(jsonErrorOffset(text)).toBeUndefined();
    }
    for (const text of ['[01]', '{"a" 1}', '[1 2]', '"\\x"', '[', '{,}', '-', '1 2']) expect(jsonErrorOffset(text)).toBeTypeOf('number');
  });
});

describe('jsonSyntaxErrorText', () => {
  it('puts where before the parser\'s message, without V8\'s offset in either form', () => {
    expect(jsonSyntaxErrorText('{"a": 1,}', 'Expected double-quoted property name in JSON at position 8')).toBe('column 9: Expected double-quoted property name in JSON');
    expect(jsonSyntaxErrorText('{"a": 1,}', 'Expected double-quoted property name in JSON at position 8 (line 1 column 9)')).toBe('column 9: Expected double-quoted property name in JSON');
    // A trailing line break does not make a text of several lines.
    expect(jsonSyntaxErrorText('{"a": 1,}\r\n', 'x at position 8')).toBe('column 9: x');
    expect(jsonSyntaxErrorText('{\r\n"a": x}', 'Unexpected token \'x\', "{\r\n"a": x}" is not valid JSON')).toBe('line 2, column 6: Unexpected token \'x\', "{\\r\\n"a": x}" is not valid JSON');
    expect(jsonSyntaxErrorText('  ', 'Unexpected end of JSON input')).toBe('Unexpected end of JSON input');
  });
});
