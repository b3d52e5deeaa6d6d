/**
 * JSON text from files people export and edit: a UTF-8 byte order mark (Windows GIS tools write
 * one) is skipped, and a syntax error says its line and column, which V8's message does not
 * always give ("Unexpected token 'x', ... is not valid JSON" has no position at all).
 * @module
 */

import { decodeUtf16WithBom, firstLineNotUtf8 } from './text-bytes.js';

const BOM = '\uFEFF';

/** A JSON file whose bytes are not text in an encoding JSON allows, or no text at all: what is wrong, and what to do. */
export class JsonFileEncodingError extends Error {}

/**
 * A JSON file's bytes as text: UTF-8 (with or without a BOM, as RFC 8259 asks), or UTF-16 with its
 * BOM (Windows PowerShell 5 writes it with `>` and `Out-File`). Anything else is refused, naming
 * the first line that is not UTF-8: read as UTF-8, a Windows-1252 "Lager Süd" would become
 * "Lager S\uFFFDd", and a location code so read would reach the ERP mangled, with nothing said.
 * An empty file (0 bytes, or only a BOM and blanks: an export that failed, a `>` that cut it) is
 * refused as empty, not as JSON that ends too soon ("no trailing commas, no comments" says nothing of it).
 * `what`: what the file is, for what to do ("save the zones file as UTF-8").
 */
export function decodeJsonFile(bytes: Uint8Array, what = 'file'): string {
  const text = decodeText(bytes, what);
  if (text.replace(BOM, '').trim() === '') {
    throw new JsonFileEncodingError(`${bytes.length === 0 ? 'the file is empty (0 bytes)' : 'the file holds only blanks'}: write the ${what} again (an export that failed or was cut short leaves it so)`);
  }
  return text;
}

function decodeText(bytes: Uint8Array, what: string): string {
  const utf16 = decodeUtf16WithBom(bytes);
  if (utf16 !== undefined) return withoutNul(utf16, what);
  // UTF-16 without its BOM first: its bytes beside the NULs need not be UTF-8 either ("ü" is FC 00).
  if (bytes.includes(0)) withoutNul(new TextDecoder('utf-8').decode(bytes), what);
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    // Below: which line.
  }
  const bad = firstLineNotUtf8(bytes);
  if (bad === undefined) throw new JsonFileEncodingError(`not UTF-8 text: save the ${what} as UTF-8 and try again`);
  const shown = bad.text.trim();
  // Around the first character that is not UTF-8: a line of a minified file is the whole file.
  const at = shown.indexOf('\uFFFD');
  const excerpt = shown.length > 60 ? `${at > 30 ? '…' : ''}${shown.slice(Math.max(0, at - 30), Math.max(0, at - 30) + 60)}…` : shown;
  throw new JsonFileEncodingError(
    `line ${bad.line} is not UTF-8 text (${excerpt}): the file is in another encoding (Windows-1252 or Latin-1, as some editors and older GIS tools save); save the ${what} as UTF-8 and try again`,
  );
}

/** `text`, refused when it holds a NUL character: no JSON text does, but UTF-16 without its BOM reads as one ("{\0\"\0t\0…"). */
function withoutNul(text: string, what: string): string {
  const at = text.indexOf('\0');
  if (at < 0) return text;
  const { line, column } = lineColumn(text, at);
  throw new JsonFileEncodingError(`line ${line}, column ${column}: a NUL character, as UTF-16 text without its byte-order mark has (or a binary file): save the ${what} as UTF-8 and try again`);
}

/** JSON.parse after a leading BOM; a syntax error's message starts with `line L, column C:`. */
export function parseJsonText(text: string): unknown {
  const body = text.startsWith(BOM) ? text.slice(1) : text;
  try {
    return JSON.parse(body) as unknown;
  } catch (err) {
    if (!(err instanceof SyntaxError)) throw err;
    const at = jsonErrorOffset(body);
    if (at === undefined) throw err;
    // Positions count from the file's start, BOM included, as an editor shows them.
    const { line, column } = lineColumn(text, at + (body === text ? 0 : 1));
    throw new SyntaxError(`line ${line}, column ${column}: ${oneLine(withoutV8Position(err.message))}`);
  }
}

/** V8 quotes the text around the error as it is: its line breaks, written as `\n`, would break a one-line message. */
function oneLine(message: string): string {
  return message.replace(/\r?\n|\r/g, (b) => (b === '\n' ? '\\n' : b === '\r' ? '\\r' : '\\r\\n'));
}

/**
 * Where the syntax error of a JSON text JSON.parse refused is, as a person finds it: `column C` in
 * a text of one line (a message's payload, a JSON Lines line), `line L, column C` in one of more
 * (1-based, as an editor shows them); undefined for blank text (nothing to point at) or when the
 * scanner finds no error.
 */
export function jsonErrorWhere(text: string): string | undefined {
  if (text.trim() === '') return undefined;
  const at = jsonErrorAt(text);
  if (at === undefined) return undefined;
  return /[\r\n]/.test(text.trimEnd()) ? `line ${at.line}, column ${at.column}` : `column ${at.column}`;
}

/**
 * A JSON.parse error of `text` as a reason people read (a quarantine entry's, an HTTP answer's):
 * where it is ({@link jsonErrorWhere}), then the parser's message without V8's offset from 0
 * ("at position 98") and on one line: `column 37: Unexpected token 'N', "…" is not valid JSON`.
 */
export function jsonSyntaxErrorText(text: string, message: string): string {
  const where = jsonErrorWhere(text);
  const said = oneLine(withoutV8Position(message));
  return where === undefined ? said : `${where}: ${said}`;
}

/**
 * A JSON.parse error's message without V8's own offset: "at position 98" counts characters from
 * the text's start (from 0), and Node 22 adds "(line 1 column 99)"; beside the line and column
 * this module gives, it would only disagree with them.
 */
export function withoutV8Position(message: string): string {
  return message.replace(/ at position \d+(?: \(line \d+ column \d+\))?/, '');
}

/**
 * Where the syntax error of a JSON text that JSON.parse refused is, as an editor shows it (1-based
 * line and column); undefined when there is none.
 */
export function jsonErrorAt(text: string): { line: number; column: number } | undefined {
  const at = jsonErrorOffset(text);
  return at === undefined ? undefined : lineColumn(text, at);
}

/** 1-based line and column of an offset (a column counts characters, a line break is \n, \r\n or \r). */
export function lineColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let start = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    const ch = text[i];
    if (ch === '\n' || (ch === '\r' && text[i + 1] !== '\n')) {
      line++;
      start = i + 1;
    }
  }
  return { line, column: offset - start + 1 };
}

/**
 * Where the first syntax error of a JSON text is, or undefined when there is none: a small
 * scanner, run only after JSON.parse has refused the text.
 */
export function jsonErrorOffset(text: string): number | undefined {
  let i = 0;
  const ws = () => {
    while (i < text.length && (text[i] === ' ' || text[i] === '\t' || text[i] === '\n' || text[i] === '\r')) i++;
  };
  // Each returns false at the error, with `i` on the offending character.
  const value = (): boolean => {
    ws();
    const ch = text[i];
    if (ch === '{') return container('}', true);
    if (ch === '[') return container(']', false);
    if (ch === '"') return string();
    if (ch === '-' || (ch !== undefined && ch >= '0' && ch <= '9')) return number();
    for (const word of ['true', 'false', 'null']) {
      if (text.startsWith(word, i)) {
        i += word.length;
        return true;
      }
    }
    // A misspelt literal: point at its first wrong character.
    for (const word of ['true', 'false', 'null'])
      if (ch === word[0]) {
        let k = 0;
        while (text[i + k] === word[k]) k++;
        i += k;
        return false;
      }
    return false;
  };
  const container = (close: string, object: boolean): boolean => {
    i++;
    ws();
    if (text[i] === close) {
      i++;
      return true;
    }
    for (;;) {
      if (object) {
        ws();
        if (text[i] !== '"' || !string()) return false;
        ws();
        if (text[i] !== ':') return false;
        i++;
      }
      if (!value()) return false;
      ws();
      if (text[i] === close) {
        i++;
        return true;
      }
      if (text[i] !== ',') return false;
      i++;
      // A trailing comma: the error is the bracket after it.
      ws();
      if (text[i] === close) return false;
    }
  };
  const string = (): boolean => {
    i++;
    while (i < text.length) {
      const ch = text.charCodeAt(i);
      if (ch === 0x22) {
        i++;
        return true;
      }
      if (ch < 0x20) return false;
      if (ch === 0x5c) {
        const e = text[i + 1] ?? '';
        if ('"\\/bfnrt'.includes(e) && e !== '') i += 2;
        else if (e === 'u' && /^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) i += 6;
        else {
          i++;
          return false;
        }
      } else i++;
    }
    return false;
  };
  const number = (): boolean => {
    const m = /^-?(0|[1-9]\d*)(\.\d+)?([eE][-+]?\d+)?/.exec(text.slice(i, i + 400));
    if (!m) {
      if (text[i] === '-') i++;
      return false;
    }
    i += m[0].length;
    return true;
  };
  if (!value()) return Math.min(i, text.length);
  ws();
  return i < text.length ? i : undefined;
}
