import { describe, expect, it } from 'vitest';
import { pretenuringOff } from './v8-tuning.js';

describe('V8 tuning', () => {
  it('turns allocation-site pretenuring off unless ASSETBRIDGE_V8_PRETENURING=on', () => {
    expect(pretenuringOff({})).toBe(true);
    expect(pretenuringOff({ ASSETBRIDGE_V8_PRETENURING: 'off' })).toBe(true);
    expect(pretenuringOff({ ASSETBRIDGE_V8_PRETENURING: 'on' })).toBe(false);
    expect(pretenuringOff({ ASSETBRIDGE_V8_PRETENURING: ' ON ' })).toBe(false);
  });
});
