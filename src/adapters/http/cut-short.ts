/**
 * Telling an answer cut short from an answer of another kind. A body that opens as JSON (`{` or
 * `[`) but does not parse ended early (a proxy's or load balancer's time or size limit, a server
 * dying mid-answer): a transport fault, not a wrong address. A body that is not JSON at all (a
 * proxy's HTML, a login page) is an answer of another kind, from another page. Pure.
 * @module
 */

/**
 * `JSON cut short (6 characters, ending "{\"item")` when `text` opens as JSON and does not parse;
 * undefined for JSON that parses and for text that is not JSON at all.
 */
export function jsonCutShort(text: string): string | undefined {
  if (!/^\s*[[{]/.test(text)) return undefined;
  try {
    JSON.parse(text);
    return undefined;
  } catch {
    const end = text.length > 40 ? `…${text.slice(-40)}` : text;
    return `JSON cut short (${text.length} characters, ending ${JSON.stringify(end)})`;
  }
}

/**
 * How an answer with no body at all, where `expected` was (`a work-order list (at least [])`), is
 * said wherever one is read (a connectivity check, a poll's page, a lookup): `the answer was empty
 * (no body at all, where … was expected)`, not as an answer of the wrong kind (`got undefined`).
 */
export function emptyAnswerText(expected: string): string {
  return `the answer was empty (no body at all, where ${expected} was expected)`;
}
