/**
 * `POST /v1/events` at its edges: 2xx only once the commit has resolved (never for a failed one),
 * the per-POST event and body limits, and the bearer token.
 */
import { describe, expect, it, vi } from 'vitest';
import type { RawMessage } from '../core/model/messages.js';
import type { IngestSink, SubmitResult } from '../ports/source.js';
import { createHttpApp } from './server.js';

const TOKEN = 'intake-token-1';
const status = { ready: () => true, status: () => Promise.resolve({}), metrics: () => Promise.resolve('') };

function app(sink: IngestSink, limits: { bodyLimitBytes?: number; maxEvents?: number } = {}) {
  return createHttpApp({ host: '127.0.0.1', port: 0, now: () => 1_000, intake: { token: TOKEN, bodyLimitBytes: 1_048_576, maxEvents: 100, maxBacklog: 50_000, ...limits }, sink, status });
}

/** A sink that commits everything at once and keeps what it was given. */
function recordingSink(): IngestSink & { submitted: RawMessage[][] } {
  const submitted: RawMessage[][] = [];
  return {
    submitted,
    submit(m) {
      submitted.push([...m]);
      return Promise.resolve({ accepted: m.length, quarantined: [] });
    },
  };
}

/** `authorization` null: no Authorization header. */
const post = (a: ReturnType<typeof app>, body: string, authorization: string | null = `Bearer ${TOKEN}`) =>
  a.request('/v1/events', { method: 'POST', headers: authorization === null ? {} : { Authorization: authorization }, body });

const event = (i: number) => ({ kind: 'meter', assetId: `tag-${i}`, eventTime: '2026-03-01T12:00:00Z', operatingHours: i });

describe('POST /v1/events: the answer follows the commit', () => {
  it('answers only after the commit resolves', async () => {
    let commit: (r: SubmitResult) => void = () => undefined;
    const a = app({ submit: () => new Promise<SubmitResult>((resolve) => (commit = resolve)) });
    let answered = false;
    const answer = Promise.resolve(post(a, JSON.stringify([event(1)]))).then((r) => ((answered = true), r));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(answered).toBe(false);
    commit({ accepted: 1, quarantined: [] });
    const r = await answer;
    expect(r.status).toBe(202);
    expect(await r.json()).toEqual({ accepted: 1 });
  });

  // Mutation: a failed commit answered as accepted.
  it('a commit that fails is answered with a server error, never a 2xx, so the sender retries', async () => {
    const a = app({ submit: () => Promise.reject(new Error('disk I/O error')) });
    const printed = vi.spyOn(console, 'error').mockImplementation(() => undefined); // Hono prints unhandled errors
    try {
      const r = await post(a, JSON.stringify([event(1)]));
      expect(r.status).toBeGreaterThanOrEqual(500);
    } finally {
      printed.mockRestore();
    }
  });

  it('keeps a body that is not JSON: it is handed over as it is (to be quarantined) and answered 400', async () => {
    const sink = recordingSink();
    const r = await post(app(sink), '{"kind": "meter",');
    expect(r.status).toBe(400);
    expect(sink.submitted).toEqual([[{ source: 'http', channel: '/v1/events', payload: '{"kind": "meter",', receivedAt: 1_000 }]]);
    const answer = (await r.json()) as { error: string; note?: string };
    expect(answer.error).toMatch(/^body is not JSON: /);
    // Kept whole: the answer says so, and that the same body is not to be sent again.
    expect(answer.note).toMatch(/^nothing of this POST was taken as events; its body is kept in quarantine as it came, .*: do not send it again unchanged; /);
    // Not only for JSON: a body refused for its charset is fixed there (was: "send the events as a JSON array").
    expect(answer.note).toContain('fix the sender as the error says (its JSON, or the charset its Content-Type names)');
  });

  it('answers an empty body 400 with what to send, without an empty entry in the quarantine', async () => {
    for (const body of ['', ' \r\n']) {
      const sink = recordingSink();
      const r = await post(app(sink), body);
      expect(r.status).toBe(400);
      expect(await r.json()).toEqual({
        error: 'the body is empty: send the events as a JSON array ([{…}, {…}]) with Content-Type: application/json; nothing of this POST was taken (there was nothing to keep)',
        accepted: 0,
      });
      expect(sink.submitted).toEqual([]);
    }
  });

  it('says how to send JSON lines (a capture file, rules test input) when the body is one event per line', async () => {
    const lines = `${JSON.stringify(event(1))}\n${JSON.stringify(event(2))}\n`;
    const r = await post(app(recordingSink()), lines);
    expect(r.status).toBe(400);
    expect(((await r.json()) as { error: string }).error).toMatch(/^body is not JSON: .*; it is JSON lines: send the events as one JSON array \(\[\{…\}, \{…\}\]\)$/);
    const half = await post(app(recordingSink()), '{"kind": "meter",\n{"kind": "meter"}');
    expect(((await half.json()) as { error: string }).error).not.toContain('JSON lines');
  });
});

describe('POST /v1/events: limits', () => {
  // Mutations: maxEvents compared with >=, or not checked.
  it('takes exactly maxEvents events and refuses one more with 413, taking none of them', async () => {
    const sink = recordingSink();
    const a = app(sink, { maxEvents: 3 });
    const ok = await post(a, JSON.stringify([1, 2, 3].map(event)));
    expect(ok.status).toBe(202);
    expect(sink.submitted.map((b) => b.length)).toEqual([3]);
    const tooMany = await post(a, JSON.stringify([1, 2, 3, 4].map(event)));
    expect(tooMany.status).toBe(413);
    expect(await tooMany.json()).toEqual({ error: '4 events in one POST; the limit is 3 (sources.http.maxEvents): split them into smaller POSTs; nothing of this POST was taken' });
    expect(sink.submitted).toHaveLength(1);
  });

  // Mutations: another status for an oversized body; a larger limit than configured.
  it('takes a body of exactly bodyLimitBytes and refuses one byte more with 413, taking nothing', async () => {
    const sink = recordingSink();
    const limit = 400;
    const a = app(sink, { bodyLimitBytes: limit });
    const json = JSON.stringify([event(1)]);
    const sized = (n: number) => json + ' '.repeat(n - json.length); // still valid JSON
    expect((await post(a, sized(limit))).status).toBe(202);
    const big = await post(a, sized(limit + 1));
    expect(big.status).toBe(413);
    expect(await big.json()).toEqual({
      error: `body exceeds ${limit} bytes (sources.http.bodyLimitBytes): split the events into smaller POSTs (or raise sources.http.bodyLimitBytes); nothing of this POST was taken`,
    });
    expect(sink.submitted).toHaveLength(1);
  });
});

describe('POST /v1/events: the bearer token', () => {
  // Mutations: the token check loosened or dropped.
  it.each([
    ['no Authorization header', null, 401],
    ['another token', 'Bearer intake-token-2', 401],
    ['a prefix of the token', 'Bearer intake-token', 401],
    ['a short token', 'Bearer x', 401],
    ['the token without the Bearer scheme', TOKEN, 400],
  ])('refuses %s and takes nothing', async (_what, authorization, expected) => {
    const sink = recordingSink();
    const r = await post(app(sink), JSON.stringify([event(1)]), authorization);
    expect(r.status).toBe(expected);
    expect(sink.submitted).toEqual([]);
  });

  it.each([
    ['no Authorization header', null],
    ['another token', 'Bearer intake-token-2'],
    ['the token without the Bearer scheme', TOKEN],
  ])('says what to send when refusing %s (JSON, as every other answer)', async (_what, authorization) => {
    const r = await post(app(recordingSink()), JSON.stringify([event(1)]), authorization);
    const body = (await r.json()) as { error: string };
    expect(body.error).toContain('Authorization: Bearer <sources.http.token>');
    expect(body.error).not.toContain(TOKEN);
  });
});
