import { describe, expect, it } from 'vitest';
import { IdentityIndex } from './resolver.js';

const asset = (id: string) => ({ erpAssetId: id, erpModule: 'fixed-assets', attributes: {} });
const index = new IdentityIndex([
  { asset: asset('10004711'), identifiers: [{ type: 'tag', value: 'Tag-7823', erpAssetId: '10004711' }, { type: 'pin', value: 'WNCE0803PAAL00542', erpAssetId: '10004711' }] },
  { asset: asset('10004712'), identifiers: [{ type: 'serial', value: 'SN-1', erpAssetId: '10004712' }] },
  { asset: asset('10004713'), identifiers: [{ type: 'tag', value: 'SN-1', erpAssetId: '10004713' }] },
]);

describe('IdentityIndex', () => {
  it('matches trimmed and case-insensitively', () => {
    expect(index.resolve([{ type: 'tag', value: '  tag-7823 ' }])).toMatchObject({ ok: true, asset: { erpAssetId: '10004711' } });
    expect(index.resolve([{ type: 'pin', value: 'wnce0803paal00542' }])).toMatchObject({ ok: true, asset: { erpAssetId: '10004711' } });
  });
  it('resolves a PIN or VIN written with other spaces or dashes (ISO 10261 / 3779 have only letters and digits), when one asset has it', () => {
    expect(index.resolve([{ type: 'pin', value: 'WNCE-0803-PAAL-00542' }])).toMatchObject({ ok: true, asset: { erpAssetId: '10004711' } });
    expect(index.resolve([{ type: 'pin', value: 'wnce 0803 paal 00542' }])).toMatchObject({ ok: true, asset: { erpAssetId: '10004711' } });
    expect(index.resolve([{ type: 'serial', value: 'SN1' }])).toMatchObject({ ok: false }); // a serial's dashes may matter
    const twice = new IdentityIndex([
      { asset: asset('A'), identifiers: [{ type: 'pin', value: 'PIN-1111', erpAssetId: 'A' }] },
      { asset: asset('B'), identifiers: [{ type: 'pin', value: 'PIN1111', erpAssetId: 'B' }] },
    ]);
    expect(twice.resolve([{ type: 'pin', value: 'PIN 1111' }])).toMatchObject({ ok: false });
    expect(twice.resolve([{ type: 'pin', value: 'pin-1111' }])).toMatchObject({ ok: true, asset: { erpAssetId: 'A' } });
  });
  it('resolves the ERP id itself', () => {
    expect(index.resolve([{ type: 'erp', value: '10004712' }])).toMatchObject({ ok: true, asset: { erpAssetId: '10004712' } });
  });
  it('uses an untyped match only when unambiguous', () => {
    expect(index.resolve([{ type: 'device-serial', value: 'wnce0803paal00542' }])).toMatchObject({ ok: true });
    expect(index.resolve([{ type: 'device-serial', value: 'SN-1' }])).toMatchObject({ ok: false });
  });
  it('refuses identifiers that point at different assets', () => {
    const r = index.resolve([{ type: 'tag', value: 'tag-7823' }, { type: 'serial', value: 'SN-1' }]);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toContain('different ERP assets');
  });
  it('explains an unknown identifier', () => {
    const r = index.resolve([{ type: 'tag', value: 'tag-9999' }]);
    expect(r).toEqual({ ok: false, reason: expect.stringContaining('no ERP mapping for tag tag-9999') });
  });
  it('says when an untyped identifier is ambiguous rather than unmapped', () => {
    const r = index.resolve([{ type: 'device-serial', value: 'sn-1' }]);
    expect(r).toEqual({ ok: false, reason: expect.stringContaining('device-serial sn-1 is no device-serial of any asset, and as another type it names several (10004712, 10004713)') });
  });
});
