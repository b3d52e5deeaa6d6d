/**
 * The HTTP edge: event intake (`POST /v1/events`), ERP work-order webhooks, health, readiness,
 * Prometheus metrics and a JSON status. Intake answers 2xx only after the events are committed
 * (invariant 1); bad items get a 400 with a per-item reason and are quarantined, not lost.
 * @module
 */
import { serve, type ServerType } from '@hono/node-server';
import { Hono } from 'hono';
import { bearerAuth } from 'hono/bearer-auth';
import { bodyLimit } from 'hono/body-limit';
import type { RawMessage } from '../core/model/messages.js';
import type { IngestSink } from '../ports/source.js';

export interface StatusProvider {
  /** Liveness: the process is up. Readiness: the engine is running. */
  ready(): boolean;
  status(): Promise<Record<string, unknown>>;
  /** Prometheus text exposition. */
  metrics(): Promise<string>;
}

export interface HttpServerOptions {
  readonly host: string;
  readonly port: number;
  readonly sink: IngestSink;
  readonly status: StatusProvider;
  /** Intake; absent = `POST /v1/events` and webhooks are disabled (404). */
  readonly intake?: { readonly token: string; readonly bodyLimitBytes: number; readonly maxEvents: number };
  readonly now: () => number;
}

export function createHttpApp(opts: HttpServerOptions): Hono {
  const app = new Hono();
  app.get('/healthz', (c) => c.json({ ok: true }));
  app.get('/readyz', (c) => (opts.status.ready() ? c.json({ ready: true }) : c.json({ ready: false }, 503)));
  app.get('/metrics', async (c) => c.text(await opts.status.metrics(), 200, { 'content-type': 'text/plain; version=0.0.4' }));
  app.get('/v1/status', async (c) => c.json(await opts.status.status()));

  const intake = opts.intake;
  if (intake) {
    const guard = [
      bearerAuth({ token: intake.token, noAuthenticationHeader: { message: { error: 'missing bearer token; send Authorization: Bearer <token>' } } }),
      bodyLimit({
        maxSize: intake.bodyLimitBytes,
        onError: (c) => c.json({ error: `body exceeds ${intake.bodyLimitBytes} bytes; split it into smaller POSTs` }, 413),
      }),
    ] as const;

    app.post('/v1/events', ...guard, async (c) => {
      const { text, items, error, receivedAt } = await readJsonItems(c.req.text(), opts.now);
      if (error) {
        // Keep the body: it is quarantined with the reason, so nothing is lost.
        const r = await opts.sink.submit([{ source: 'http', channel: '/v1/events', payload: text, receivedAt }]);
        return c.json({ error, accepted: 0, rejected: r.quarantined }, 400);
      }
      if (items.length > intake.maxEvents) {
        return c.json({ error: `${items.length} events in one POST; the limit is ${intake.maxEvents}` }, 413);
      }
      const messages: RawMessage[] = items.map((item) => ({ source: 'http', channel: '/v1/events', payload: JSON.stringify(item), receivedAt }));
      const result = await opts.sink.submit(messages);
      if (result.quarantined.length) {
        return c.json({ accepted: result.accepted, rejected: result.quarantined, note: 'accepted items are stored; rejected ones are quarantined with the reason' }, 400);
      }
      return c.json({ accepted: result.accepted }, 202);
    });

    // ERP work-order status pushes: each update becomes a canonical `workorder` event.
    app.post('/v1/webhooks/:destination/work-orders', ...guard, async (c) => {
      const destination = c.req.param('destination');
      const { items: updates, error, receivedAt } = await readJsonItems(c.req.text(), opts.now);
      if (error) return c.json({ error }, 400);
      const messages: RawMessage[] = updates.map((u) => ({
        source: `erp-feedback:${destination}`,
        channel: c.req.path,
        payload: JSON.stringify(workOrderEventJson(u)),
        receivedAt,
      }));
      const result = await opts.sink.submit(messages);
      return c.json({ accepted: result.accepted, rejected: result.quarantined }, result.quarantined.length ? 400 : 202);
    });
  }
  app.notFound((c) => c.json({ error: `no route ${c.req.method} ${c.req.path}` }, 404));
  return app;
}

/** A JSON body as a list of items (a single object counts as a list of one), or why it is not JSON. */
async function readJsonItems(body: Promise<string>, now: () => number): Promise<{ text: string; items: unknown[]; error?: string; receivedAt: number }> {
  const text = await body;
  const receivedAt = now();
  try {
    const parsed: unknown = JSON.parse(text);
    return { text, items: Array.isArray(parsed) ? parsed : [parsed], receivedAt };
  } catch (err) {
    return { text, items: [], error: `body is not JSON: ${(err as Error).message}`, receivedAt };
  }
}

/** Map an ERP work-order update (WorkOrderUpdate shape) to a canonical `workorder` event JSON. */
export function workOrderEventJson(u: unknown): unknown {
  if (u === null || typeof u !== 'object') return u;
  const o = u as Record<string, unknown>;
  return {
    kind: 'workorder',
    erpAssetId: o.erpAssetId,
    businessKey: o.businessKey ?? o.externalKey,
    erpWorkOrderId: o.erpWorkOrderId ?? o.id,
    status: o.status,
    eventTime: o.changedAt ?? o.completedAt ?? o.updatedAt,
    ...(o.operatingHoursAtCompletion !== undefined ? { operatingHoursAtCompletion: o.operatingHoursAtCompletion } : {}),
  };
}

export interface RunningServer {
  readonly url: string;
  close(): Promise<void>;
}

export function startHttpServer(opts: HttpServerOptions): Promise<RunningServer> {
  const app = createHttpApp(opts);
  return new Promise((resolve, reject) => {
    let server: ServerType | undefined = undefined;
    try {
      server = serve({ fetch: app.fetch, hostname: opts.host, port: opts.port }, (info) => {
        resolve({
          url: `http://${opts.host}:${info.port}`,
          close: () =>
            new Promise<void>((res) => {
              (server as ServerType).close(() => res());
              if ('closeAllConnections' in (server as object)) (server as unknown as { closeAllConnections(): void }).closeAllConnections();
            }),
        });
      });
      server.on('error', reject);
    } catch (err) {
      reject(err instanceof Error ? err : new Error(String(err)));
    }
  });
}
