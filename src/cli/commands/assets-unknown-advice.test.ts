import { describe, expect, it } from 'vitest';
import { IdentityIndex } from '../../core/identity/resolver.js';
import { unmappedIdentifiers } from './assets.js';

describe('unmappedIdentifiers', () => {
  it("reads the identifiers back from the resolver's own unknown-asset reason, one or several", () => {
    const none = new IdentityIndex().resolve([{ type: 'tag', value: 'tag-7' }, { type: 'pin', value: 'WNCE 0803' }]);
    expect(none.ok).toBe(false);
    const reason = none.ok ? '' : none.reason;
    expect(unmappedIdentifiers(reason)).toEqual([{ type: 'tag', value: 'tag-7' }, { type: 'pin', value: 'WNCE 0803' }]);
  });

  it('gives nothing for a reason in another form (a replay decides those)', () => {
    expect(unmappedIdentifiers('identifiers point at different ERP assets (a → EQ-1, b → EQ-2)')).toBeUndefined();
    expect(unmappedIdentifiers('no ERP mapping for (none)')).toBeUndefined();
  });
});
