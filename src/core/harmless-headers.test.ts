import { describe, expect, it } from 'vitest';
import { configuredHeaderSecrets, isHarmlessHeader } from './harmless-headers.js';

describe('configured headers', () => {
  it('are secrets whatever their name, but for the few that say how to talk (any case, - or _)', () => {
    for (const name of ['Accept', 'accept-language', 'Content-Type', 'USER_AGENT', 'Prefer', 'OData-Version']) expect(isHarmlessHeader(name), name).toBe(true);
    for (const name of ['X-Tenant', 'X-Acme-Key', 'Ocp-Apim-Subscription-Key', 'Authorization', 'X-Accept-Token', 'Accepts']) expect(isHarmlessHeader(name), name).toBe(false);
    expect(configuredHeaderSecrets({ Accept: 'application/json', 'X-Tenant': 'acme', 'X-Acme-Key': 'k-1' })).toEqual(['acme', 'k-1']);
  });
});
