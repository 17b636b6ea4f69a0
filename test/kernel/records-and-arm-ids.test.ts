import { lastSegment } from '../../shared/kernel/arm-id';
import { isRecord } from '../../shared/kernel/records';

describe('isRecord', () => {
  it('is true for a plain object only', () => {
    expect(isRecord({})).toBe(true);
    expect(isRecord({ a: 1 })).toBe(true);
    expect(isRecord(null)).toBe(false);
    expect(isRecord([])).toBe(false);
    expect(isRecord('{}')).toBe(false);
    expect(isRecord(undefined)).toBe(false);
  });
});

describe('lastSegment', () => {
  it('gives the last segment of an ARM id, a trailing slash ignored', () => {
    const incident =
      '/subscriptions/s/resourceGroups/rg/providers/Microsoft.OperationalInsights/workspaces/w/providers/Microsoft.SecurityInsights/Incidents/8f0d2a5e-1c3b-4e6f-9a7d-2b4c6e8f0a1c';
    expect(lastSegment(incident)).toBe('8f0d2a5e-1c3b-4e6f-9a7d-2b4c6e8f0a1c');
    expect(lastSegment('/a/b/')).toBe('b');
    expect(lastSegment('plain-id')).toBe('plain-id');
    expect(lastSegment('/')).toBeUndefined();
    expect(lastSegment(undefined)).toBeUndefined();
  });
});
