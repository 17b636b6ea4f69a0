/** When a renewal at MDE's lift may be posted: only for the isolation the register still follows, never on a Sentinel incident's behalf. */
import { manualRequest } from '../../shared/dispatch/request';
import { renewalOf, renewalRefusal } from '../../shared/dispatch/steps/renewal';
import type { IsolationRecord } from '../../shared/state/store';
import { alertOf } from '../support/alerts';

const machineId = '716240a6127a2375ac877a23ed488ec786b9e4a4';
const isolation = { id: '1a2b3c4d-0000-4000-8000-000000000001', machineId };
const NOW = Date.UTC(2026, 11, 8);

const requestFrom = (source: 'mde-alert' | 'sentinel-incident') =>
  renewalOf(
    manualRequest('isolate', { mdeDeviceId: machineId }, 'Full', 'enforce', {
      alert: alertOf({ source, devices: [{ mdeDeviceId: machineId }] }),
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
  it('lets a renewal of the isolation the register follows go on, isolated or lifted', () => {
    expect(renewalRefusal(requestFrom('mde-alert'), record('isolated'))).toBeNull();
    expect(renewalRefusal(requestFrom('mde-alert'), record('lifted'))).toBeNull();
  });

  it('skips it once the register follows something else: released, or isolated again since', () => {
    for (const moved of [record('released'), record('isolated', 'another-action'), null])
      expect(renewalRefusal(requestFrom('mde-alert'), moved)).toMatchObject({
        outcome: 'skipped',
        reason: expect.stringContaining('the register no longer follows it'),
      });
  });

  it("escalates a renewal on a Sentinel incident's behalf: whether it is still open cannot be read", () => {
    expect(renewalRefusal(requestFrom('sentinel-incident'), record('isolated'))).toMatchObject({
      outcome: 'escalated',
      reason: expect.stringContaining('Sentinel incident is open'),
    });
  });
});
