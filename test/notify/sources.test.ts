/**
 * Where events come from: each outcome a person needs to hear of, the drift and dead-letter notes, and
 * intake's escalations and breaker opening (told only once the sink accepted them).
 */
import type { NormalizedAlert } from '../../shared/alerts/model';
import { OUTCOMES, type Outcome, outcomeRecord } from '../../shared/dispatch/outcome';
import type { IsolationRequest } from '../../shared/dispatch/request';
import type { DecisionSink } from '../../shared/dispatch/sink';
import type { NotifyEvent } from '../../shared/notify/events';
import { eventOfNote, eventOfOutcome } from '../../shared/notify/from-records';
import { notifyingSink } from '../../shared/notify/sink';
import type { Decision } from '../../shared/policy/types';
import { alertOf } from '../support/alerts';
import { handClock } from '../support/hand-clock';
import { trackingRequest } from '../support/tracking-request';

const MACHINE = '1e5bc9d7e413ddd7902c2932e418702b84d0cc07';

function request(action: 'isolate' | 'release'): IsolationRequest {
  return trackingRequest({
    requestId: 'req-7',
    alert: { title: 'Ransomware on WS-042' },
    tracking: {
      actionId: 'act-1',
      action,
      machineId: MACHINE,
      computerDnsName: 'ws-042.contoso.local',
      postedAt: '2026-11-29T01:00:02.000Z',
      polls: 3,
    },
  });
}

const kindOf = (outcome: Outcome, action: 'isolate' | 'release' = 'isolate') =>
  eventOfOutcome(
    outcomeRecord(request(action), { outcome, reason: 'because' }, Date.parse('2026-11-29T01:05:00Z')),
  )?.kind ?? null;

describe('outcome records', () => {
  it('tell what a person needs to hear of, and nothing of a skip, a dry run or a coalesced request', () => {
    const told = Object.fromEntries(OUTCOMES.map((outcome) => [outcome, kindOf(outcome)]));
    expect(told).toEqual({
      succeeded: 'isolation-succeeded',
      failed: 'isolation-failed',
      'timed-out': 'isolation-timed-out',
      cancelled: 'isolation-failed',
      skipped: null,
      escalated: 'escalated',
      'dry-run': null,
      error: 'isolation-failed',
      'tracking-expired': 'isolation-failed',
      // Told by its note, which carries the reason code.
      'dead-lettered': null,
      coalesced: null,
      // Told by the approvals' own event (approval-pending), with the link to decide.
      'awaiting-approval': null,
      // The person who denied it is the one who would be told.
      denied: null,
    });
    expect(kindOf('succeeded', 'release')).toBe('released');
  });

  it('name the device, the alert and the action, at the time the request ended', () => {
    const event = eventOfOutcome(
      outcomeRecord(
        request('isolate'),
        { outcome: 'succeeded', reason: 'done' },
        Date.parse('2026-11-29T01:05:00Z'),
      ),
    );
    expect(event).toMatchObject({
      kind: 'isolation-succeeded',
      at: '2026-11-29T01:05:00.000Z',
      device: { name: 'ws-042.contoso.local', machineId: MACHINE },
      alert: { title: 'Ransomware on WS-042', alertId: 'alert-1' },
      actionId: 'act-1',
      requestId: 'req-7',
    });
  });
});

describe('notes', () => {
  it('a drift and a dead letter are events, with nothing of the dead letter body', () => {
    expect(
      eventOfNote(
        {
          event: 'isolation-drift',
          kind: 'released',
          machineId: MACHINE,
          computerDnsName: 'ws-042.contoso.local',
          by: 'ana@contoso.com',
          at: '2026-11-29T02:00:00.000Z',
          reason: 'released in the portal',
        },
        0,
      ),
    ).toEqual({
      kind: 'drift-found',
      at: '2026-11-29T02:00:00.000Z',
      device: { name: 'ws-042.contoso.local', machineId: MACHINE },
      drift: 'released',
      reason: 'released in the portal',
      by: 'ana@contoso.com',
    });
    const deadLetter = eventOfNote(
      {
        event: 'isolation-dead-letter',
        reason: 'NotJson',
        description: 'not JSON',
        messageId: 'm-1',
        deadLetteredAt: '2026-11-29T03:00:00.000Z',
        request: { token: 'eyJ-sent-by-someone' },
      },
      0,
    );
    expect(deadLetter).toEqual({
      kind: 'dead-lettered',
      at: '2026-11-29T03:00:00.000Z',
      reason: 'NotJson',
      description: 'not JSON',
      messageId: 'm-1',
    });
  });

  it('other notes are no event', () => {
    expect(eventOfNote({ event: 'reconciliation-failed', why: 'x' }, 0)).toBeNull();
  });
});

describe("intake's sink", () => {
  const decision = (action: Decision['action'], device: Decision['device']): Decision => ({
    device,
    action,
    isolationType: 'Full',
    rule: action === 'escalate' ? 'servers-escalate' : 'isolate-high',
    reason: 'a reason',
    policyVersion: 'p-1',
    mode: 'enforce',
    needsDeviceCheck: false,
  });

  function sinkThat(fails: boolean) {
    const told: NotifyEvent[] = [];
    const inner: DecisionSink = {
      breakerState: async () => ({ open: false, reason: null }),
      openBreaker: async () => {
        if (fails) throw new Error('store down');
      },
      submit: async () => {
        if (fails) throw new Error('queue down');
        return [];
      },
    };
    const sink = notifyingSink(
      inner,
      (event) => told.push(event),
      handClock(Date.parse('2026-11-29T04:00:00Z')),
    );
    return { sink, told };
  }

  const alert: NormalizedAlert = alertOf({ alertId: 'alert-9', title: 'Credential dumping' });

  it('tells each escalation once the sink accepted the alert, and no other decision', async () => {
    const { sink, told } = sinkThat(false);
    await sink.submit(alert, [
      decision('escalate', { fqdn: 'sql-01.contoso.com' }),
      decision('isolate', { fqdn: 'ws-1.contoso.com' }),
      decision('skip', { fqdn: 'ws-2.contoso.com' }),
    ]);
    expect(told).toEqual([
      {
        kind: 'escalated',
        at: '2026-11-29T04:00:00.000Z',
        device: { name: 'sql-01.contoso.com', machineId: null },
        alert: expect.objectContaining({ alertId: 'alert-9', title: 'Credential dumping' }),
        rule: 'servers-escalate',
        reason: 'a reason',
        requestId: 'alert:alert-9',
      },
    ]);
    await sink.openBreaker('one alert named 120 devices');
    expect(told[1]).toEqual({
      kind: 'breaker-opened',
      at: '2026-11-29T04:00:00.000Z',
      reason: 'one alert named 120 devices',
    });
  });

  it('tells nothing the sink refused: the sender retries, and the next try tells it', async () => {
    const { sink, told } = sinkThat(true);
    await expect(
      sink.submit(alert, [decision('escalate', { fqdn: 'sql-01.contoso.com' })]),
    ).rejects.toThrow();
    await expect(sink.openBreaker('x')).rejects.toThrow();
    expect(told).toEqual([]);
  });
});
