/**
 * The alert queue's relay path over the wire: a relay sends alert events to the queue with the real
 * SDK, the trigger (test/support/service-bus-peer/functions-host.ts) hands them to the app's own
 * function (functions/alert-queue.ts), and the message ends as the app decides: completed once its
 * requests are queued, or completed with a dead-letter record when it can never be an alert.
 */
import { ServiceBusClient } from '@azure/service-bus';
import { alertQueue } from '../../functions/alert-queue';
import { REQUEST_QUEUE_SETTINGS } from '../../shared/dispatch/transport/service-bus-settings';
import { fixture } from '../fixtures';
import { useQueueOnlyRuntime } from '../setup/queue-only-runtime';
import { type ServedQueue, serveQueue } from '../support/service-bus-peer/functions-host';
import { ServiceBusPeer } from '../support/service-bus-peer/peer';

const ALERTS = 'alerts';
const installed = useQueueOnlyRuntime();

describe('alert queue relay over AMQP', () => {
  let peer: ServiceBusPeer;
  let client: ServiceBusClient;
  let served: ServedQueue;
  beforeEach(async () => {
    // infra/modules/servicebus.bicep: the alert queue's window is the request queue's, ten deliveries.
    peer = new ServiceBusPeer({
      queues: [{ name: ALERTS, ...REQUEST_QUEUE_SETTINGS, maxDeliveryCount: 10 }],
    });
    await peer.start();
    client = new ServiceBusClient(peer.connectionString);
    served = serveQueue(client, ALERTS, alertQueue);
  });
  afterEach(async () => {
    await served.close();
    await client.close();
    await peer.stop();
  });

  it('queues the requests of a batch a relay sent as JSON, and completes the message', async () => {
    const pending = installed().inline?.pending() ?? 0;
    await client.createSender(ALERTS).sendMessages({
      messageId: 'relay-batch',
      body: [
        { hostname: 'ws-relay-1', comment: 'relay batch' },
        { hostname: 'ws-relay-2', comment: 'relay batch' },
      ],
      contentType: 'application/json',
    });
    await peer.whenQuiet(ALERTS);
    expect(peer.queue(ALERTS).contents()).toEqual([]);
    expect(installed().inline?.pending()).toBe(pending + 2);
    expect(served.errors).toEqual([]);
  });

  it('takes a Sentinel incident through the intake without a dead-letter record', async () => {
    const records = installed().inline?.deadLetters.length ?? 0;
    await client.createSender(ALERTS).sendMessages({
      messageId: 'relay-sentinel',
      body: fixture('01-sentinel-incident-xdr-single-host.json'),
      contentType: 'application/json',
    });
    await peer.whenQuiet(ALERTS);
    expect(peer.queue(ALERTS).contents()).toEqual([]);
    expect(installed().inline?.deadLetters).toHaveLength(records);
  });

  it('records a message that is not JSON under its message id, completes it, and never sees it again', async () => {
    const records = installed().inline?.deadLetters.length ?? 0;
    // A relay that writes text, not JSON: the SDK hands the bytes over as they came.
    await client
      .createSender(ALERTS)
      .sendMessages({ messageId: 'relay-broken', body: Buffer.from('{"severity": "High",') });
    await peer.whenQuiet(ALERTS);
    expect(peer.queue(ALERTS).contents()).toEqual([]);
    expect(installed().inline?.deadLetters.slice(records)).toEqual([
      expect.objectContaining({ reason: 'NotJson', messageId: 'relay-broken' }),
    ]);
  });
});
