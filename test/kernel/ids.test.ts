import { GUID, MDE_DEVICE_ID } from '../../shared/kernel/ids';

describe('identifier shapes', () => {
  it('an MDE device id is 40 hex characters, in either case', () => {
    expect(MDE_DEVICE_ID.test('716240a6127a2375ac877a23ed488ec786b9e4a4')).toBe(true);
    expect(MDE_DEVICE_ID.test('716240A6127A2375AC877A23ED488EC786B9E4A4')).toBe(true);
    expect(MDE_DEVICE_ID.test('ab'.repeat(16))).toBe(false);
    expect(MDE_DEVICE_ID.test(`${'ab'.repeat(20)}0`)).toBe(false);
    expect(MDE_DEVICE_ID.test(`${'ab'.repeat(19)}xz`)).toBe(false);
  });

  it('a GUID is 8-4-4-4-12 hex, in either case', () => {
    expect(GUID.test('8f0d2a5e-1c3b-4e6f-9a7d-2b4c6e8f0a1c')).toBe(true);
    expect(GUID.test('8F0D2A5E-1C3B-4E6F-9A7D-2B4C6E8F0A1C')).toBe(true);
    expect(GUID.test('8f0d2a5e1c3b4e6f9a7d2b4c6e8f0a1c')).toBe(false);
    expect(GUID.test('{8f0d2a5e-1c3b-4e6f-9a7d-2b4c6e8f0a1c}')).toBe(false);
  });

  it('carries no flags, so a JSON Schema pattern (which has none) built from its source accepts the same ids', () => {
    expect(GUID.flags).toBe('');
    expect(MDE_DEVICE_ID.flags).toBe('');
  });
});
