import { judgePriorActions } from '../../shared/dispatch/steps/idempotency';
import type { MachineAction, MachineActionStatus } from '../../shared/mde/types';

let sequence = 0;
function action(type: 'Isolate' | 'Unisolate', status: MachineActionStatus, minute: number): MachineAction {
  sequence += 1;
  const at = new Date(Date.UTC(2026, 10, 1, 0, minute)).toISOString();
  return {
    id: `act-${sequence}`,
    type,
    scope: type === 'Isolate' ? 'Full' : null,
    requestor: 'app',
    requestorComment: '',
    status,
    machineId: 'm1',
    computerDnsName: 'ws',
    creationDateTimeUtc: at,
    lastUpdateDateTimeUtc: at,
  };
}

describe('judgePriorActions', () => {
  it('posts when nothing was ever done on the device', () => {
    expect(judgePriorActions('isolate', [])).toEqual({ kind: 'post' });
  });

  it('adopts a pending or running action of the same kind', () => {
    const pending = action('Isolate', 'Pending', 5);
    expect(judgePriorActions('isolate', [action('Unisolate', 'Succeeded', 1), pending])).toEqual({
      kind: 'adopt',
      action: pending,
    });
    const running = action('Unisolate', 'InProgress', 3);
    expect(judgePriorActions('release', [running])).toMatchObject({ kind: 'adopt', action: running });
  });

  it('never posts an isolate while a release is under way, or the reverse', () => {
    expect(judgePriorActions('isolate', [action('Unisolate', 'Pending', 9)])).toMatchObject({
      kind: 'conflict',
      reason: expect.stringMatching(/a release .* still under way/),
    });
    expect(judgePriorActions('release', [action('Isolate', 'InProgress', 9)])).toMatchObject({
      kind: 'conflict',
    });
  });

  it('skips an isolate when the last finished action isolated the device', () => {
    const done = action('Isolate', 'Succeeded', 4);
    expect(
      judgePriorActions('isolate', [
        action('Isolate', 'Failed', 6),
        done,
        action('Unisolate', 'Succeeded', 1),
      ]),
    ).toMatchObject({
      kind: 'skip',
      reason: expect.stringContaining('already isolated'),
    });
  });

  it('posts an isolate after a later release, and after failed or timed-out attempts', () => {
    expect(
      judgePriorActions('isolate', [action('Isolate', 'Succeeded', 1), action('Unisolate', 'Succeeded', 2)]),
    ).toEqual({ kind: 'post' });
    expect(
      judgePriorActions('isolate', [action('Isolate', 'TimeOut', 1), action('Isolate', 'Failed', 2)]),
    ).toEqual({ kind: 'post' });
  });

  it('skips a release only when a release is the last finished action', () => {
    expect(
      judgePriorActions('release', [action('Isolate', 'Succeeded', 1), action('Unisolate', 'Succeeded', 2)]),
    ).toMatchObject({ kind: 'skip' });
    expect(
      judgePriorActions('release', [action('Isolate', 'Succeeded', 3), action('Unisolate', 'Succeeded', 2)]),
    ).toEqual({ kind: 'post' });
  });

  it('posts a release when nothing finished is on record: the device may be isolated by other means', () => {
    expect(judgePriorActions('release', [])).toEqual({ kind: 'post' });
    expect(judgePriorActions('release', [action('Unisolate', 'Failed', 1)])).toEqual({ kind: 'post' });
  });
});
