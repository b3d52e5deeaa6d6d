/**
 * The HTTP edge's lifecycle: closing it at shutdown stops new requests but answers the ones
 * already taken (a POST whose events are being committed gets its 202, not a reset).
 */
import { describe, expect, it } from 'vitest';
import type { SubmitResult } from '../ports/source.js';
import { startHttpServer } from './server.js';

describe('HTTP server close', () => {
  it('lets an intake POST that is being committed finish with its answer', async () => {
    let committed: () => void = () => undefined;
    let taken: () => void = () => undefined;
    const inSubmit = new Promise<void>((r) => (taken = r));
    const server = await startHttpServer({
      host: '127.0.0.1',
      port: 0,
      now: () => Date.now(),
      intake: { token: 'intake-token-1', bodyLimitBytes: 1_048_576, maxEvents: 100 },
      sink: {
        submit: (m) =>
          new Promise<SubmitResult>((resolve) => {
            committed = () => resolve({ accepted: m.length, quarantined: [] });
            taken();
          }),
      },
      status: { ready: () => true, status: () => Promise.resolve({}), metrics: () => Promise.resolve('') },
    });
    const answer = fetch(`${server.url}/v1/events`, { method: 'POST', headers: { Authorization: 'Bearer intake-token-1' }, body: JSON.stringify([{ kind: 'meter' }]) }).then(
      async (r) => ({ status: r.status, body: await r.json() }),
      (err: unknown) => ({ error: String((err as Error).cause ?? err) }),
    );
    await inSubmit;
    const closed = server.close();
    await new Promise((r) => setTimeout(r, 50));
    committed();
    await closed;
    expect(await answer).toEqual({ status: 202, body: { accepted: 1 } });
  });

  it('cuts a request still busy after the grace period, so shutdown never hangs on it', async () => {
    const server = await startHttpServer({
      host: '127.0.0.1',
      port: 0,
      now: () => Date.now(),
      intake: { token: 'intake-token-1', bodyLimitBytes: 1_048_576, maxEvents: 100 },
      sink: { submit: () => new Promise<SubmitResult>(() => undefined) }, // a commit that never ends
      status: { ready: () => true, status: () => Promise.resolve({}), metrics: () => Promise.resolve('') },
    });
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200); // leaves an idle keep-alive connection
    const answer = fetch(`${server.url}/v1/events`, { method: 'POST', headers: { Authorization: 'Bearer intake-token-1' }, body: '[]' }).then(
      (r) => r.status,
      () => 'cut',
    );
    await new Promise((r) => setTimeout(r, 50));
    await server.close(100);
    expect(await answer).toBe('cut');
  });
});
