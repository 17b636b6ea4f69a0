import { isSentinelIncidentArmId, lastSegment, sentinelWorkspaceOf } from '../../shared/kernel/arm-id';
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

describe('isSentinelIncidentArmId and sentinelWorkspaceOf', () => {
  const workspace = '/subscriptions/s/resourceGroups/rg/providers/Microsoft.OperationalInsights/workspaces/w';
  const incident = `${workspace}/providers/Microsoft.SecurityInsights/Incidents/8f0d2a5e`;

  it("take a workspace's incident, in any case, and name its workspace", () => {
    expect(isSentinelIncidentArmId(incident)).toBe(true);
    expect(isSentinelIncidentArmId(incident.toLowerCase())).toBe(true);
    expect(sentinelWorkspaceOf(incident)).toBe(workspace);
  });

  it('refuse anything else: another resource, a walk up, an encoded segment, a query, a host', () => {
    for (const other of [
      workspace,
      `${incident}/comments/1`,
      `${workspace}/providers/Microsoft.SecurityInsights/Incidents/..`,
      `${workspace}/providers/Microsoft.SecurityInsights/Incidents/%2e%2e`,
      `${workspace}/providers/Microsoft.SecurityInsights/Incidents/a\\b`,
      `${incident}?x=1`,
      `${incident}#x`,
      `https://management.azure.com${incident}`,
      '/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm',
    ]) {
      expect(isSentinelIncidentArmId(other)).toBe(false);
      expect(sentinelWorkspaceOf(other)).toBeNull();
    }
  });
});
