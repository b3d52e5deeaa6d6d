import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { authorizeWebhook } from './server.js';

describe('work-order webhook authorization', () => {
  const body = '{"workOrder":{}}';
  const signed = (key: string) => `sha256=${createHmac('sha256', key).update(body).digest('hex')}`;
  const hook = { secret: 'shared-secret-0123456789', signatureHeader: 'X-Signature-256' };

  it('with a secret: the body signature, and nothing else', () => {
    expect(authorizeWebhook('erp', hook, 'intake-token', body, signed(hook.secret), undefined)).toBeUndefined();
    expect(authorizeWebhook('erp', hook, 'intake-token', body, signed('another-secret-entirely'), undefined)?.status).toBe(401);
    expect(authorizeWebhook('erp', hook, 'intake-token', `${body} `, signed(hook.secret), undefined)?.status).toBe(401); // body changed
    expect(authorizeWebhook('erp', hook, 'intake-token', body, undefined, 'Bearer intake-token')).toMatchObject({ status: 401, error: expect.stringContaining('X-Signature-256') as unknown });
  });

  it('without a secret: the intake bearer token', () => {
    const plain = { signatureHeader: 'X-Signature-256' };
    expect(authorizeWebhook('erp', plain, 'intake-token', body, undefined, 'Bearer intake-token')).toBeUndefined();
    expect(authorizeWebhook('erp', plain, 'intake-token', body, undefined, 'Bearer intake-tokeN')?.status).toBe(401);
    expect(authorizeWebhook('erp', plain, 'intake-token', body, undefined, undefined)?.status).toBe(401);
  });

  it('with neither, refuses and names the two config keys that turn it on', () => {
    const r = authorizeWebhook('erp', { signatureHeader: 'X-Signature-256' }, undefined, body, undefined, 'Bearer x');
    expect(r?.status).toBe(403);
    expect(r?.error).toContain('webhook.secret');
    expect(r?.error).toContain('sources.http.token');
  });
});
