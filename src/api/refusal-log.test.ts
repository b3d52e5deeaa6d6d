import { describe, expect, it } from 'vitest';
import { MAX_CLIENTS, RefusalLog } from './refusal-log.js';

function logWith(now: () => number) {
  const lines: { fields: Record<string, unknown>; message: string }[] = [];
  const log = new RefusalLog({ warn: (fields, message) => lines.push({ fields, message }) }, now, 60_000);
  return { log, lines };
}

describe('RefusalLog: the count of refusals not logged', () => {
  it('says from which clients the counted refusals came, not only the client of the request logged', () => {
    let now = 0;
    const { log, lines } = logWith(() => now);
    log.warn('intake wrong-token', { client: '10.0.0.1' }, 'event POST to /v1/events refused');
    for (let i = 0; i < 4; i++) log.warn('intake wrong-token', { client: '10.0.0.2' }, 'event POST to /v1/events refused');
    log.warn('intake wrong-token', { client: '10.0.0.3' }, 'event POST to /v1/events refused');
    now = 60_000;
    log.warn('intake wrong-token', { client: '10.0.0.1' }, 'event POST to /v1/events refused');
    expect(lines).toHaveLength(2);
    expect(lines[1]).toEqual({
      fields: { client: '10.0.0.1', notLogged: 5, notLoggedClients: 2, notLoggedFrom: ['10.0.0.2', '10.0.0.3'], since: '1970-01-01T00:00:00.000Z' },
      message: 'event POST to /v1/events refused (5 more like it from 2 clients (10.0.0.2, 10.0.0.3) since 1970-01-01T00:00:00.000Z, not logged one by one)',
    });
  });

  it('names the one client when all came from it, and only counts them when many clients sent them', () => {
    let now = 0;
    const { log, lines } = logWith(() => now);
    log.warn('k', { client: '10.0.0.1' }, 'refused');
    log.warn('k', { client: '10.0.0.9' }, 'refused');
    now = 60_000;
    log.warn('k', { client: '10.0.0.1' }, 'refused');
    expect(lines[1]?.message).toBe('refused (1 more like it from 10.0.0.9 since 1970-01-01T00:00:00.000Z, not logged one by one)');
    for (let i = 0; i < 10; i++) log.warn('k', { client: `10.1.0.${i}` }, 'refused');
    now = 120_000;
    log.warn('k', {}, 'refused');
    expect(lines[2]?.fields).toMatchObject({ notLogged: 10, notLoggedClients: 10 });
    expect(lines[2]?.message).toBe('refused (10 more like it from 10 clients since 1970-01-01T00:01:00.000Z, not logged one by one)');
  });

  it('keeps at most MAX_CLIENTS addresses per kind, and says "more than" past them', () => {
    let now = 0;
    const { log, lines } = logWith(() => now);
    log.warn('k', { client: 'first' }, 'refused');
    for (let i = 0; i < MAX_CLIENTS + 50; i++) log.warn('k', { client: `c${i}` }, 'refused');
    now = 60_000;
    log.warn('k', { client: 'first' }, 'refused');
    expect(lines).toHaveLength(2);
    expect(lines[1]?.fields).toMatchObject({ notLogged: MAX_CLIENTS + 50, notLoggedClients: MAX_CLIENTS });
    expect(lines[1]?.message).toBe(`refused (${MAX_CLIENTS + 50} more like it from more than ${MAX_CLIENTS} clients since 1970-01-01T00:00:00.000Z, not logged one by one)`);
  });

  it('says nothing of clients when the refusals named none', () => {
    let now = 0;
    const { log, lines } = logWith(() => now);
    log.warn('k', {}, 'refused');
    log.warn('k', {}, 'refused');
    now = 60_000;
    log.warn('k', {}, 'refused');
    expect(lines[1]).toEqual({ fields: { notLogged: 1, since: '1970-01-01T00:00:00.000Z' }, message: 'refused (1 more like it since 1970-01-01T00:00:00.000Z, not logged one by one)' });
  });
});
