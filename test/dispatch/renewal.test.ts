/**
 * When a renewal at MDE's lift may be posted: only for the isolation the register still follows, and
 * for a Sentinel alert only while its incident can be read open (test/integration/incident-status.test.ts
 * reads it from the simulator).
 */
import { manualRequest } from '../../shared/dispatch/request';
import type { IncidentAccess } from '../../shared/dispatch/steps/incident-open';
import { renewalOf, renewalRefusal } from '../../shared/dispatch/steps/renewal';
import type { IsolationRecord } from '../../shared/state/store';
import { alertOf } from '../support/alerts';

const machineId = '716240a6127a2375ac877a23ed488ec786b9e4a4';
const isolation = { id: '1a2b3c4d-0000-4000-8000-000000000001', machineId };
const NOW = Date.UTC(2026, 11, 8);

/** A reader the case must not reach: each case here is decided before any incident is read. */
const UNASKED: IncidentAccess = {
  reader: {
    read: async (id) => {
      throw new Error(`incident ${id} read`);
    },
  },
  maxAttempts: 1,
};

const requestFrom = (source: 'mde-alert' | 'sentinel-incident' | 'sentinel-alert') =>
  renewalOf(
    manualRequest('isolate', { mdeDeviceId: machineId }, 'Full', 'enforce', {
      alert: alertOf({ source, incidentArmId: null, devices: [{ mdeDeviceId: machineId }] }),
      receivedAt: new Date(NOW),
      policyVersion: 'p1',
      requestedBy: { kind: 'rule', name: 'isolate-high' },
    }),
    isolation,
    NOW,
  );

const record = (state: IsolationRecord['state'], actionId = isolation.id) =>
  ({ machineId, state, actions: [{ actionId, type: 'Isolate' }] }) as unknown as IsolationRecord;

describe('renewalRefusal', () => {
  it('lets a renewal of the isolation the register follows go on, isolated or lifted', async () => {
    expect(await renewalRefusal(requestFrom('mde-alert'), record('isolated'), UNASKED)).toBeNull();
    expect(await renewalRefusal(requestFrom('mde-alert'), record('lifted'), UNASKED)).toBeNull();
  });

  it('skips it once the register follows something else: released, or isolated again since', async () => {
    for (const moved of [record('released'), record('isolated', 'another-action'), null])
      expect(await renewalRefusal(requestFrom('sentinel-incident'), moved, UNASKED)).toMatchObject({
        outcome: 'skipped',
        reason: expect.stringContaining('the register no longer follows it'),
      });
  });

  it('escalates a renewal for a Sentinel alert that names no incident resource: nothing to read', async () => {
    for (const source of ['sentinel-incident', 'sentinel-alert'] as const)
      expect(await renewalRefusal(requestFrom(source), record('isolated'), UNASKED)).toMatchObject({
        outcome: 'escalated',
        reason: expect.stringContaining('carried no incident resource id'),
      });
  });
});
