/**
 * Reading token endpoint answers in each vendor's dialect: the OAuth2 JSON body, a bare token as
 * plain text (MyDevelon), and error bodies as OAuth2 JSON, Trackunit's `{status, code, message}`,
 * XML (Proemion) or text. Pure; the dialect comes from the vendor profile.
 * @module
 */
import { XMLParser } from 'fast-xml-parser';
import { jsonCutShort } from '../../http/cut-short.js';
import type { TokenEndpointDialect } from '../vendor-profiles.js';

export interface ParsedToken {
  readonly accessToken: string;
  /** Lifetime the server gave (`expires_in`), in ms; undefined when it did not say. */
  readonly expiresInMs?: number;
  readonly refreshToken?: string;
  readonly tokenType: string;
}

/** `cutShort`: the body opens as JSON and ends early, an answer cut short rather than one from another page. */
export type TokenParse = { readonly ok: true; readonly token: ParsedToken } | { readonly ok: false; readonly reason: string; readonly cutShort?: true };

const TOKEN_CHARS = /^[A-Za-z0-9._~+/=-]+$/;

/** Parse a 2xx token response body. */
export function parseTokenResponse(body: string, dialect: TokenEndpointDialect): TokenParse {
  const trimmed = body.trim();
  if (trimmed.startsWith('{')) return parseJsonToken(trimmed);
  if (dialect.body === 'text') {
    const bare = trimmed.replace(/^"(.*)"$/s, '$1').replace(/^Bearer\s+/i, '');
    if (bare !== '' && TOKEN_CHARS.test(bare)) return { ok: true, token: { accessToken: bare, tokenType: 'Bearer' } };
    return { ok: false, reason: 'the plain-text token body is empty or contains characters a token cannot have' };
  }
  return { ok: false, reason: `expected a JSON token response, got ${trimmed === '' ? 'an empty body' : 'a body that is not JSON'}` };
}

function parseJsonToken(text: string): TokenParse {
  let doc: Record<string, unknown>;
  try {
    doc = JSON.parse(text) as Record<string, unknown>;
  } catch {
    const cut = jsonCutShort(text);
    return cut !== undefined ? { ok: false, reason: `the token response is ${cut}`, cutShort: true } : { ok: false, reason: 'the token response is not valid JSON' };
  }
  const accessToken = doc.access_token ?? doc.accessToken ?? doc.token;
  if (typeof accessToken !== 'string' || accessToken === '') return { ok: false, reason: 'the token response has no access_token' };
  const type = typeof doc.token_type === 'string' ? doc.token_type : 'Bearer';
  if (type.toLowerCase() !== 'bearer') return { ok: false, reason: `token_type "${type}" is not supported; only Bearer tokens are` };
  const expires = Number(doc.expires_in ?? doc.expiresIn);
  const refresh = doc.refresh_token ?? doc.refreshToken;
  return {
    ok: true,
    token: {
      accessToken,
      tokenType: 'Bearer',
      ...(Number.isFinite(expires) && expires > 0 ? { expiresInMs: expires * 1000 } : {}),
      ...(typeof refresh === 'string' && refresh !== '' ? { refreshToken: refresh } : {}),
    },
  };
}

const xmlParser = new XMLParser({ ignoreAttributes: true, removeNSPrefix: true, parseTagValue: false });

/** Keys that carry an error's code and text, in every dialect seen. */
const CODE_KEYS = ['error', 'code', 'errorcode'];
const TEXT_KEYS = ['error_description', 'errordescription', 'message', 'description', 'detail', 'title'];

/**
 * A short, human explanation of a refused token request (`invalid_scope: scope x not allowed`).
 * Never includes the request; the caller must still scrub secrets the server echoed.
 */
export function describeTokenError(body: string, dialect: TokenEndpointDialect): string {
  const trimmed = body.trim();
  if (trimmed === '') return 'no error body';
  let doc: unknown;
  if (trimmed.startsWith('{')) {
    try {
      doc = JSON.parse(trimmed);
    } catch {
      doc = undefined;
    }
  } else if (trimmed.startsWith('<') || dialect.errors === 'xml') {
    try {
      doc = xmlParser.parse(trimmed);
    } catch {
      doc = undefined;
    }
  }
  if (doc !== undefined && doc !== null && typeof doc === 'object') {
    const code = findText(doc, CODE_KEYS);
    const text = findText(doc, TEXT_KEYS);
    const parts = [code, text].filter((p): p is string => p !== undefined && p !== '');
    if (parts.length) return clip(parts.join(': '));
  }
  return clip(trimmed.replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ').trim());
}

function findText(doc: unknown, keys: readonly string[]): string | undefined {
  const queue: unknown[] = [doc];
  while (queue.length) {
    const node = queue.shift();
    if (node === null || typeof node !== 'object') continue;
    for (const [k, v] of Object.entries(node as Record<string, unknown>)) {
      if (keys.includes(k.toLowerCase()) && (typeof v === 'string' || typeof v === 'number')) return String(v);
    }
    for (const v of Object.values(node as Record<string, unknown>)) if (v !== null && typeof v === 'object') queue.push(v);
  }
  return undefined;
}

function clip(text: string): string {
  return text.length > 300 ? `${text.slice(0, 300)}…` : text;
}
