/**
 * The worker in Service Bus mode, end to end over the wire: the runtime's request queue is the real
 * adapter on the AMQP peer, the trigger hands each message to the app's own worker function
 * (functions/worker.ts), and the work the worker defers (the tracking of a posted isolation) goes
 * back to the queue as a scheduled message that comes due only on the peer's clock. The trace of the
 * invocation that queued a request rides on its message, and on every message the worker sends for it.
 */
import { InvocationContext } from '@azure/functions';
import { ServiceBusClient } from '@azure/service-bus';
import { inInvocation } from '../../functions/invocation';
import { worker } from '../../functions/worker';
import { isolateRequestFrom } from '../../shared/dispatch/request';
import { messageFor, TRACE_PARENT_PROPERTY } from '../../shared/dispatch/transport/queue';
import { closeRuntime, createRuntime, installRuntime, type Runtime } from '../../shared/runtime';
import type { RunningSimulator } from '../../simulator';
import { alertOf } from '../support/alerts';
import { silentReporter } from '../support/reporter';
import { type ServedQueue, serveQueue } from '../support/service-bus-peer/functions-host';
import { ServiceBusPeer } from '../support/service-bus-peer/peer';
import { requestQueues } from '../support/service-bus-peer/queues';
import { startSimulatorWithIdentity } from '../support/simulator';

const QUEUE = 'isolation-requests';
const INTAKE_TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const INTAKE_TRACE_PARENT = `00-${INTAKE_TRACE_ID}-00f067aa0ba902b7-01`;
const traceIdOf = (traceParent: unknown) => String(traceParent ?? '').split('-')[1];

describe('worker over AMQP (Service Bus mode)', () => {
  let sim: RunningSimulator;
  let peer: ServiceBusPeer;
  let runtime: Runtime;
  let client: ServiceBusClient;
  let served: ServedQueue;
  /** The trace context of each worker invocation, with the action of its message. */
  const invocations: { action: unknown; traceParent: string | undefined }[] = [];

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
    served = serveQueue(client, QUEUE, (message, context) => {
      invocations.push({
        action: (context.triggerMetadata?.applicationProperties as Record<string, unknown> | undefined)
          ?.action,
        traceParent: context.traceContext?.traceParent,
      });
      return worker(message, context);
    });
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

  it('carries the intake’s trace to the worker’s invocation and on the tracking it schedules', async () => {
    const machine = sim.machines().find((m) => m.computerDnsName?.startsWith('ws-hr-02'));
    const alert = alertOf({
      source: 'manual',
      alertId: 'manual-trace',
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
    // Queued inside an intake invocation, as functions/alerts.ts and manual.ts queue.
    const intake = new InvocationContext({ traceContext: { traceParent: INTAKE_TRACE_PARENT } });
    invocations.length = 0;
    await inInvocation(async () => runtime.resubmit(request))(undefined, intake);
    await peer.whenQuiet(QUEUE);
    expect(invocations).toHaveLength(1);
    expect(traceIdOf(invocations[0].traceParent)).toBe(INTAKE_TRACE_ID);

    const tracking = peer
      .queue(QUEUE)
      .contents()
      .find((m) => String(m.message.message_id).endsWith(request.requestId));
    const carried = tracking?.message.application_properties?.[TRACE_PARENT_PROPERTY];
    expect(traceIdOf(carried)).toBe(INTAKE_TRACE_ID);
    // A child of the worker's invocation, not a copy of the intake's context.
    expect(carried).toBe(invocations[0].traceParent);

    peer.advance((tracking?.visibleAt ?? 0) - peer.clock.now());
    await peer.whenQuiet(QUEUE);
    expect(invocations.map((i) => [i.action, traceIdOf(i.traceParent)])).toEqual([
      ['isolate', INTAKE_TRACE_ID],
      ['track', INTAKE_TRACE_ID],
    ]);
    expect(served.errors).toEqual([]);
  });
});
