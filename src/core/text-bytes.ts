/**
 * Text files people export and edit (asset CSVs, zones GeoJSON): the encodings read, and where a
 * file in another one goes wrong, for the caller's error to name the line.
 * @module
 */

/** `bytes` as text when they open with a UTF-16 byte-order mark (Excel's "Unicode Text", PowerShell 5's `>`), else undefined. */
export function decodeUtf16WithBom(bytes: Uint8Array): string | undefined {
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return new TextDecoder('utf-16le').decode(bytes);
  if (bytes[0] === 0xfe && bytes[1] === 0xff) return new TextDecoder('utf-16be').decode(bytes);
  return undefined;
}

/**
 * The first line (from 1) of `bytes` that is not UTF-8, as read with replacement characters and
 * without its line end; undefined when every line is UTF-8.
 */
export function firstLineNotUtf8(bytes: Uint8Array): { line: number; text: string } | undefined {
  const utf8 = new TextDecoder('utf-8', { fatal: true });
  let line = 1;
  let start = 0;
  for (let i = 0; i <= bytes.length; i++) {
    if (i < bytes.length && bytes[i] !== 0x0a) continue;
    try {
      utf8.decode(bytes.subarray(start, i));
    } catch {
      return { line, text: new TextDecoder('utf-8').decode(bytes.subarray(start, i)).replace(/\r$/, '') };
    }
    line++;
    start = i + 1;
  }
  return undefined;
}
