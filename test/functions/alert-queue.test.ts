import { InvocationContext } from '@azure/functions';
import { alertQueue, registerAlertQueue } from '../../functions/alert-queue';
import type { DecisionSink } from '../../shared/dispatch/sink';
import { RetryAlertMessageError, receiveAlertMessage, retryPauseMs } from '../../shared/intake/alert-message';
import { receiveAlerts } from '../../shared/intake/receive-alerts';
import { StoreUnavailableError } from '../../shared/state/store';
import { fixture, fixtureNames } from '../fixtures';
import { useQueueOnlyRuntime } from '../setup/queue-only-runtime';
import { NAMESPACE, useServiceBusRegistrationSpy } from '../support/registration';

// Intake ends at the queue: requests are queued, never sent to MDE.
const installed = useQueueOnlyRuntime();

const context = (messageId: string, deliveryCount = 1) =>
  new InvocationContext({ triggerMetadata: { deliveryCount, messageId }, logHandler: () => undefined });

describe('alert queue function (Service Bus trigger)', () => {
  it.each(fixtureNames())('takes %s through the intake of POST /api/alerts', async (name) => {
    const before = installed().inline?.deadLetters.length ?? 0;
    // The binding hands JSON over parsed or as text.
    await expect(alertQueue(JSON.stringify(fixture(name)), context(`msg-${name}`))).resolves.toBeUndefined();
    expect(installed().inline?.deadLetters).toHaveLength(before);
  });

  it('queues the isolation requests of a batch, one message for all', async () => {
    const pending = installed().inline?.pending() ?? 0;
    const batch = [
      { hostname: 'ws-batch-1', comment: 'relay batch' },
      { hostname: 'ws-batch-2', comment: 'relay batch' },
    ];
    await alertQueue(batch, context('msg-batch'));
    expect(installed().inline?.pending()).toBe(pending + 2);
  });

  it('records a message that is not an alert with its reason and id, and completes it (never retried)', async () => {
    await expect(alertQueue('{"severity": "High",', context('msg-broken'))).resolves.toBeUndefined();
    await expect(alertQueue({ hello: 'world' }, context('msg-not-alert'))).resolves.toBeUndefined();
    expect(installed().inline?.deadLetters.slice(-2)).toEqual([
      expect.objectContaining({
        reason: 'NotJson',
        messageId: 'msg-broken',
        description: expect.stringMatching(/not JSON/),
      }),
      expect.objectContaining({
        reason: 'NotAnAlert',
        messageId: 'msg-not-alert',
        request: { hello: 'world' },
      }),
    ]);
  });

  it('throws on a transient store failure, so Service Bus redelivers the message', async () => {
    const runtime = installed();
    const down = () => Promise.reject(new StoreUnavailableError('store down'));
    const storeDown: DecisionSink = { submit: down, breakerState: down, openBreaker: down };
    const pauses: number[] = [];
    const delivery = receiveAlertMessage(
      fixture('15-manual-fqdn.json'),
      { deliveryCount: 3, messageId: 'msg-outage' },
      {
        receiveAlerts: (body, log) =>
          receiveAlerts(body, { policy: runtime.policy, sink: storeDown, log: log ?? (() => undefined) }),
        deadLetter: (record) => runtime.deadLetter(record),
        log: () => undefined,
        pause: async (ms) => {
          pauses.push(ms);
        },
      },
    );
    await expect(delivery).rejects.toBeInstanceOf(RetryAlertMessageError);
    // The third delivery waits 4 s before handing the message back, not a tight loop.
    expect(pauses).toEqual([retryPauseMs(3)]);
    expect(retryPauseMs(3)).toBe(4_000);
    expect(retryPauseMs(20)).toBe(30_000);
  });
});

describe('alert queue trigger registration', () => {
  const registered = useServiceBusRegistrationSpy();

  it('registers on ALERT_QUEUE with a namespace and a valid configuration', () => {
    expect(registerAlertQueue(NAMESPACE)).toBe(true);
    expect(registered()).toHaveBeenCalledWith(
      'alertQueue',
      expect.objectContaining({ queueName: '%ALERT_QUEUE%' }),
    );
  });

  it('registers nothing without a namespace or with an invalid configuration', () => {
    expect(registerAlertQueue({})).toBe(false);
    expect(registerAlertQueue({ ...NAMESPACE, MDE_RATE_LIMITS: 'lots' })).toBe(false);
    expect(registered()).not.toHaveBeenCalled();
  });
});
