import { expiresAt } from '../../shared/dispatch/steps/expiry';
import {
  actionsSince,
  judgePriorActions,
  judgeRequest,
  mdeTimeBefore,
} from '../../shared/dispatch/steps/idempotency';
import { inForce } from '../../shared/dispatch/steps/in-force';
import { foreignRequestor } from '../../shared/dispatch/steps/requestor';
import { DAY_MS } from '../../shared/kernel/clock';
import type { MachineAction, MachineActionStatus } from '../../shared/mde/types';

/** An hour after the actions of these cases, well inside the seven-day lift. */
const AT = { now: Date.UTC(2026, 10, 1, 1), platformLiftMs: 7 * DAY_MS };

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
    expect(judgePriorActions('isolate', [], AT)).toEqual({ kind: 'post' });
  });

  it('adopts a pending or running action of the same kind', () => {
    const pending = action('Isolate', 'Pending', 5);
    expect(judgePriorActions('isolate', [action('Unisolate', 'Succeeded', 1), pending], AT)).toEqual({
      kind: 'adopt',
      action: pending,
    });
    const running = action('Unisolate', 'InProgress', 3);
    expect(judgePriorActions('release', [running], AT)).toMatchObject({ kind: 'adopt', action: running });
  });

  it('never posts an isolate while a release is under way, or the reverse', () => {
    expect(judgePriorActions('isolate', [action('Unisolate', 'Pending', 9)], AT)).toMatchObject({
      kind: 'conflict',
      reason: expect.stringMatching(/a release .* still under way/),
    });
    expect(judgePriorActions('release', [action('Isolate', 'InProgress', 9)], AT)).toMatchObject({
      kind: 'conflict',
    });
  });

  it('skips an isolate when the last finished action isolated the device', () => {
    const done = action('Isolate', 'Succeeded', 4);
    expect(
      judgePriorActions(
        'isolate',
        [action('Isolate', 'Failed', 6), done, action('Unisolate', 'Succeeded', 1)],
        AT,
      ),
    ).toMatchObject({
      kind: 'skip',
      reason: expect.stringContaining('already isolated'),
    });
  });

  it('posts an isolate after a later release, and after failed or timed-out attempts', () => {
    expect(
      judgePriorActions(
        'isolate',
        [action('Isolate', 'Succeeded', 1), action('Unisolate', 'Succeeded', 2)],
        AT,
      ),
    ).toEqual({ kind: 'post' });
    expect(
      judgePriorActions('isolate', [action('Isolate', 'TimeOut', 1), action('Isolate', 'Failed', 2)], AT),
    ).toEqual({ kind: 'post' });
  });

  it('skips a release only when a release is the last finished action', () => {
    expect(
      judgePriorActions(
        'release',
        [action('Isolate', 'Succeeded', 1), action('Unisolate', 'Succeeded', 2)],
        AT,
      ),
    ).toMatchObject({ kind: 'skip' });
    expect(
      judgePriorActions(
        'release',
        [action('Isolate', 'Succeeded', 3), action('Unisolate', 'Succeeded', 2)],
        AT,
      ),
    ).toEqual({ kind: 'post' });
  });

  it('posts a release when nothing finished is on record: the device may be isolated by other means', () => {
    expect(judgePriorActions('release', [], AT)).toEqual({ kind: 'post' });
    expect(judgePriorActions('release', [action('Unisolate', 'Failed', 1)], AT)).toEqual({ kind: 'post' });
  });
});

describe('inForce', () => {
  it('is the newest action that took effect or still may; failed attempts change nothing', () => {
    const isolated = action('Isolate', 'Succeeded', 1);
    const released = action('Unisolate', 'Succeeded', 2);
    expect(inForce([released, isolated, action('Isolate', 'Failed', 3)], AT)).toEqual({
      kind: 'release',
      action: released,
    });
    const pending = action('Isolate', 'Pending', 4);
    expect(inForce([isolated, released, pending], AT)).toEqual({ kind: 'isolation', action: pending });
    expect(inForce([action('Isolate', 'TimeOut', 5)], AT)).toEqual({ kind: 'none-on-record' });
  });
});

describe('the platform lift (expiry.ts)', () => {
  const succeededAt = Date.UTC(2026, 10, 1, 0, 10);
  const isolatedOnce = (): MachineAction => ({
    ...action('Isolate', 'Succeeded', 1),
    lastUpdateDateTimeUtc: new Date(succeededAt).toISOString(),
  });
  const at = (ms: number) => ({ now: ms, platformLiftMs: 7 * DAY_MS });

  it('keeps an isolation in force until seven days after it took effect, then reports it lifted', () => {
    const isolated = isolatedOnce();
    expect(inForce([isolated], at(succeededAt + 7 * DAY_MS - 1))).toEqual({
      kind: 'isolation',
      action: isolated,
    });
    expect(inForce([isolated], at(succeededAt + 7 * DAY_MS))).toEqual({
      kind: 'lifted',
      action: isolated,
      liftedAt: succeededAt + 7 * DAY_MS,
    });
  });

  it('never lifts an isolation still under way: the lift counts from when it took effect', () => {
    const pending = action('Isolate', 'Pending', 1);
    expect(inForce([pending], at(succeededAt + 30 * DAY_MS)).kind).toBe('isolation');
  });

  it('posts an isolate on day 8 and skips a release there, saying the platform lifted it', () => {
    const day8 = at(succeededAt + 8 * DAY_MS);
    expect(judgePriorActions('isolate', [isolatedOnce()], day8)).toEqual({ kind: 'post' });
    expect(judgePriorActions('release', [isolatedOnce()], day8)).toMatchObject({
      kind: 'skip',
      reason: expect.stringMatching(
        /^not isolated: isolation \S+ was lifted by the platform at 2026-11-08T00:10:00/,
      ),
    });
  });

  it('follows the setting: a lift of 10 days keeps day 8 in force', () => {
    expect(
      judgePriorActions('isolate', [isolatedOnce()], {
        now: succeededAt + 8 * DAY_MS,
        platformLiftMs: 10 * DAY_MS,
      }),
    ).toMatchObject({ kind: 'skip', reason: expect.stringContaining('already isolated') });
  });

  it('ends a time-boxed isolation at its box, never later than the lift', () => {
    expect(expiresAt(succeededAt, 7 * DAY_MS, 8 * 3_600_000)).toBe(succeededAt + 8 * 3_600_000);
    expect(expiresAt(succeededAt, 7 * DAY_MS, 30 * DAY_MS)).toBe(succeededAt + 7 * DAY_MS);
    expect(expiresAt(succeededAt, 7 * DAY_MS)).toBe(succeededAt + 7 * DAY_MS);
  });
});

describe('actionsSince', () => {
  const at = (minute: number) => new Date(Date.UTC(2026, 10, 1, 0, minute)).toISOString();
  it("counts by this app's clock only what MDE's own clock does not place before the request", () => {
    const ours = action('Isolate', 'Succeeded', 10);
    const theirs = action('Unisolate', 'Succeeded', 12);
    // Received at minute 5 by this app's clock, with MDE running ahead: both look later.
    expect(actionsSince([ours, theirs], at(5), null)).toEqual([theirs, ours]);
    // The ledger had recorded `ours` by then: MDE's clock read minute 10 before the request.
    const mdeBefore = mdeTimeBefore(
      [
        { createdAt: ours.creationDateTimeUtc, recordedAt: at(4) },
        { createdAt: at(30), recordedAt: at(6) },
      ],
      at(5),
    );
    expect(mdeBefore).toBe(Date.parse(ours.creationDateTimeUtc));
    expect(actionsSince([ours, theirs], at(5), mdeBefore)).toEqual([theirs]);
    expect(mdeTimeBefore([], at(5))).toBeNull();
  });
});

describe('someone else’s isolation', () => {
  const ours = (a: MachineAction) => a.requestor === 'app';
  const byDefender = (status: MachineActionStatus, minute: number) => ({
    ...action('Isolate', status, minute),
    requestor: 'Automatic attack disruption',
  });

  it('is skipped with whose it is while under way, never followed', () => {
    const pending = byDefender('Pending', 5);
    expect(judgePriorActions('isolate', [pending], AT, ours)).toEqual({
      kind: 'skip',
      action: pending,
      reason: `already isolated by Defender (action ${pending.id} by Automatic attack disruption, Pending)`,
    });
  });

  it('is skipped with whose it is while in force', () => {
    const done = { ...action('Isolate', 'Succeeded', 5), requestor: 'analyst@contoso.com' };
    expect(judgePriorActions('isolate', [done], AT, ours)).toMatchObject({
      kind: 'skip',
      reason: `already isolated by analyst@contoso.com (action ${done.id}, Succeeded)`,
    });
  });

  it('answers a request only while in force: one that failed since it came in leaves it to post', () => {
    const failed = byDefender('Failed', 5);
    expect(judgeRequest('isolate', [failed], [failed], AT, ours)).toEqual({ kind: 'post' });
    const running = byDefender('InProgress', 6);
    expect(judgeRequest('isolate', [failed, running], [running, failed], AT, ours)).toMatchObject({
      kind: 'skip',
      action: running,
    });
  });

  it('still follows a release someone else has under way', () => {
    const releasing = { ...action('Unisolate', 'Pending', 5), requestor: 'analyst@contoso.com' };
    expect(judgePriorActions('release', [releasing], AT, ours)).toMatchObject({ kind: 'adopt' });
  });
});

describe('foreignRequestor', () => {
  it.each([
    [{ requestor: 'analyst@contoso.com' }, 'person'],
    [{ requestor: '5e0b6c2a-1c1d-4c8e-9a57-2f1f5c9d0e11' }, 'application'],
    [{ requestor: 'Automatic attack disruption' }, 'attack-disruption'],
    [{ requestor: 'x', requestSource: 'AttackDisruption' }, 'attack-disruption'],
    [{ requestor: 'Custom detection: LSASS dump' }, 'custom-detection'],
    [{ requestor: 'AutoIR' }, 'defender'],
  ])('%j is %s', (fields, kind) => {
    expect(foreignRequestor({ title: null, ...fields })).toBe(kind);
  });
});
