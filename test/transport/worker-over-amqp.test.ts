/**
 * The worker in Service Bus mode, end to end over the wire: the runtime's request queue is the real
 * adapter on the AMQP peer, the trigger hands each message to the app's own worker function
 * (functions/worker.ts), and the work the worker defers (the tracking of a posted isolation) goes
 * back to the queue as a scheduled message that comes due only on the peer's clock.
 */
import { ServiceBusClient } from '@azure/service-bus';
import { worker } from '../../functions/worker';
import { isolateRequestFrom } from '../../shared/dispatch/request';
import { messageFor } from '../../shared/dispatch/transport/queue';
import { closeRuntime, createRuntime, installRuntime, type Runtime } from '../../shared/runtime';
import type { RunningSimulator } from '../../simulator';
import { alertOf } from '../support/alerts';
import { silentReporter } from '../support/reporter';
import { type ServedQueue, serveQueue } from '../support/service-bus-peer/functions-host';
import { ServiceBusPeer } from '../support/service-bus-peer/peer';
import { requestQueues } from '../support/service-bus-peer/queues';
import { startSimulatorWithIdentity } from '../support/simulator';

const QUEUE = 'isolation-requests';

describe('worker over AMQP (Service Bus mode)', () => {
  let sim: RunningSimulator;
  let peer: ServiceBusPeer;
  let runtime: Runtime;
  let client: ServiceBusClient;
  let served: ServedQueue;

  beforeAll(async () => {
    sim = await startSimulatorWithIdentity();
    peer = new ServiceBusPeer({ queues: requestQueues(QUEUE) });
    await peer.start();
    runtime = installRuntime(
      createRuntime({
        env: {
          ...sim.env(),
          ISOLATION_MODE: 'enforce',
          ISOLATION_QUEUE: QUEUE,
          ServiceBusConnection__fullyQualifiedNamespace: 'peer.servicebus.windows.net',
        },
        serviceBus: { connectionString: peer.connectionString },
        reporter: silentReporter,
        // One time for the worker and the queue: a scheduled step comes due when the test says.
        clock: peer.clock,
      }),
    );
    client = new ServiceBusClient(peer.connectionString);
    served = serveQueue(client, QUEUE, worker);
  });
  afterAll(async () => {
    await served.close();
    await client.close();
    await closeRuntime();
    await peer.stop();
    await sim.close();
  });

  it('isolates once from a queued request and sends the tracking back as a scheduled message', async () => {
    expect(runtime.mode).toBe('service-bus');
    const machine = sim.machines().find((m) => m.computerDnsName?.startsWith('ws-finance-01'));
    const alert = alertOf({
      source: 'manual',
      alertId: 'manual-amqp',
      incidentId: null,
      title: 'containment',
      categories: [],
      mitreTechniques: [],
      devices: [{ mdeDeviceId: machine?.id }],
      manual: { comment: 'containment', requestedBy: 'analyst@contoso.com' },
    });
    const [decision] = runtime.policy.decideAlert(alert);
    const request = isolateRequestFrom(decision, {
      alert,
      receivedAt: new Date(),
      policyVersion: decision.policyVersion,
      requestedBy: { kind: 'caller', name: 'analyst@contoso.com' },
    });
    // Sent twice, as a relay retrying its HTTP call would: duplicate detection keeps one.
    await runtime.resubmit(request);
    await runtime.resubmit(request);
    await peer.whenQuiet(QUEUE);
    expect(sim.actions().filter((a) => a.machineId === machine?.id && a.type === 'Isolate')).toHaveLength(1);
    const [tracking] = peer.queue(QUEUE).contents();
    expect(String(tracking.message.message_id)).toMatch(new RegExp(`^track:.+:${request.requestId}$`));
    expect(String(tracking.message.application_properties?.action)).toBe('track');
    expect(tracking.visibleAt).toBeGreaterThan(peer.clock.now());
    expect(messageFor(request).messageId).toBe(request.requestId);

    // The poll comes due on the peer's clock, is handed to the worker, and ends in the simulator's answer.
    peer.advance(tracking.visibleAt - peer.clock.now());
    await peer.whenQuiet(QUEUE);
    const left = peer.queue(QUEUE).contents();
    expect(left.every((m) => m.sequenceNumber !== tracking.sequenceNumber)).toBe(true);
    expect(sim.actions().filter((a) => a.machineId === machine?.id && a.type === 'Isolate')).toHaveLength(1);
    expect(served.errors).toEqual([]);
  });
});
