import { describe, expect, it } from 'vitest';
import type { IdentifierType, SourceIdentifier } from '../model/events.js';
import { EquipmentMatcher, equipmentKey, type AssetWithIdentifiersLike } from './equipment-match.js';

const asset = (erpAssetId: string, ...ids: [IdentifierType, string][]): AssetWithIdentifiersLike => ({
  asset: { erpAssetId },
  identifiers: ids.map(([type, value]) => ({ type, value })),
});
const id = (type: IdentifierType, value: string): SourceIdentifier => ({ type, value });

describe('equipmentKey', () => {
  it('uses the most stable identifier, upper-cased and trimmed', () => {
    expect(equipmentKey([id('external-ref', 'ERP-1'), id('pin', ' vce123 '), id('machine-id', 'abc-uuid')])).toBe('machine-id:ABC-UUID');
    expect(equipmentKey([id('device-serial', '3318842'), id('pin', 'vce123')])).toBe('pin:VCE123');
    expect(equipmentKey([], 'Telehandler 5')).toBe('label:TELEHANDLER 5');
    expect(equipmentKey([])).toBe('');
  });
});

describe('EquipmentMatcher', () => {
  const registry = [
    asset('EQ-1', ['pin', 'VCEC220EP00312874']),
    asset('EQ-2', ['serial', 'AEBB830EJ04471203']),
    asset('EQ-3', ['machine-id', '7f3c2a90-1b5e-4d2a-9c61-0e8d4b7a5f12'], ['device-serial', '3318842']),
    asset('ERP-EQ-007733'),
  ];
  const matcher = new EquipmentMatcher(registry);

  it('matches a PIN or VIN written with spaces or dashes, as the engine resolves it, but never two assets', () => {
    expect(matcher.match('k', [id('pin', 'VCEC-220E-P003-12874')])).toMatchObject({ status: 'matched', erpAssetId: 'EQ-1' });
    expect(matcher.match('k', [id('pin', 'vcec220ep 00312874 ')])).toMatchObject({ status: 'matched', erpAssetId: 'EQ-1' });
    expect(matcher.match('k', [id('serial', 'AEBB-830E-J044-71203')])).toEqual({ status: 'unmatched' }); // a serial's dashes may matter
    const twice = new EquipmentMatcher([asset('A', ['pin', 'PIN-1111']), asset('B', ['pin', 'PIN1111'])]);
    expect(twice.match('k', [id('pin', 'PIN 1111')])).toEqual({ status: 'unmatched' });
  });

  it('matches by PIN regardless of case and spaces at the ends', () => {
    expect(matcher.match('k', [id('pin', ' vcec220ep00312874 ')])).toMatchObject({ status: 'matched', erpAssetId: 'EQ-1', confirmed: false });
  });

  it('matches a PIN the ERP stores as serial number (related type, unambiguous)', () => {
    expect(matcher.match('k', [id('pin', 'AEBB830EJ04471203')])).toMatchObject({ status: 'matched', erpAssetId: 'EQ-2' });
  });

  it('matches an external reference only through a registered identifier, as the engine resolves it', () => {
    expect(matcher.match('k', [id('external-ref', 'erp-eq-007733')])).toEqual({ status: 'unmatched' });
    const registered = new EquipmentMatcher([asset('ERP-EQ-007733', ['external-ref', 'ERP-EQ-007733'])]);
    expect(registered.match('k', [id('external-ref', 'erp-eq-007733')])).toMatchObject({ status: 'matched', erpAssetId: 'ERP-EQ-007733' });
  });

  it('matches by MachineId and device serial together', () => {
    const m = matcher.match('k', [id('machine-id', '7F3C2A90-1B5E-4D2A-9C61-0E8D4B7A5F12'), id('device-serial', '3318842')]);
    expect(m).toMatchObject({ status: 'matched', erpAssetId: 'EQ-3' });
    expect(m.status === 'matched' && m.via).toHaveLength(2);
  });

  it('reports identifiers that point at different assets as ambiguous, with both candidates', () => {
    const m = matcher.match('k', [id('pin', 'VCEC220EP00312874'), id('device-serial', '3318842')]);
    expect(m.status).toBe('ambiguous');
    expect(m.status === 'ambiguous' && m.candidates.map((c) => c.erpAssetId).sort()).toEqual(['EQ-1', 'EQ-3']);
  });

  it('does not link through a related type when two assets share the value', () => {
    const shared = new EquipmentMatcher([asset('A', ['serial', 'X1']), asset('B', ['vin', 'X1'])]);
    expect(shared.match('k', [id('pin', 'X1')])).toEqual({ status: 'unmatched' });
  });

  it('leaves equipment with no known identifier unmatched', () => {
    expect(matcher.match('k', [id('pin', 'NOPE'), id('device-serial', '1')])).toEqual({ status: 'unmatched' });
  });

  it('a confirmed match wins and names the identifiers that point elsewhere', () => {
    const confirmed = new EquipmentMatcher(registry, new Map([['pin:VCEC220EP00312874', 'EQ-3']]));
    const m = confirmed.match('pin:VCEC220EP00312874', [id('pin', 'VCEC220EP00312874'), id('device-serial', '3318842')]);
    expect(m).toMatchObject({ status: 'matched', erpAssetId: 'EQ-3', confirmed: true, conflicting: [id('pin', 'VCEC220EP00312874')] });
  });

  it('ignores a confirmation whose asset no longer exists', () => {
    const stale = new EquipmentMatcher(registry, new Map([['k', 'GONE']]));
    expect(stale.match('k', [id('pin', 'VCEC220EP00312874')])).toMatchObject({ status: 'matched', erpAssetId: 'EQ-1', confirmed: false });
  });
});
