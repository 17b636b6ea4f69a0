import { InvocationContext } from '@azure/functions';
import { registerWorker, worker } from '../../functions/worker';
import { isolateRequestFrom } from '../../shared/dispatch/request';
import { closeRuntime, createRuntime, installRuntime, type Runtime } from '../../shared/runtime';
import type { RunningSimulator } from '../../simulator';
import { alertOf } from '../support/alerts';
import { NAMESPACE, useServiceBusRegistrationSpy } from '../support/registration';
import { silentReporter } from '../support/reporter';
import { startSimulatorWithIdentity } from '../support/simulator';

describe('worker function (Service Bus trigger)', () => {
  let sim: RunningSimulator;
  let runtime: Runtime;

  beforeAll(async () => {
    sim = await startSimulatorWithIdentity();
    // Messages the worker sends on (tracking) stay queued: this test looks at one delivery only.
    runtime = installRuntime(
      createRuntime({
        env: { ...sim.env(), ISOLATION_MODE: 'enforce' },
        startWorker: false,
        reporter: silentReporter,
      }),
    );
  });
  afterAll(async () => {
    await closeRuntime();
    await sim.close();
  });

  const context = (deliveryCount: number, messageId = 'msg-1') =>
    new InvocationContext({ triggerMetadata: { deliveryCount, messageId }, logHandler: () => undefined });

  it('posts the isolation of a request message and queues its tracking', async () => {
    const machine = sim.machines().find((m) => m.computerDnsName?.startsWith('ws-finance-01'));
    const alert = alertOf({
      source: 'manual',
      alertId: 'manual-1',
      incidentId: null,
      title: 'containment',
      categories: [],
      mitreTechniques: [],
      devices: [{ mdeDeviceId: machine?.id }],
      manual: { comment: 'containment', requestedBy: 'analyst@contoso.com' },
    });
    const [decision] = runtime.policy.decideAlert(alert);
    expect(decision.action).toBe('isolate');
    const request = isolateRequestFrom(decision, {
      alert,
      receivedAt: new Date(),
      policyVersion: decision.policyVersion,
      requestedBy: { kind: 'caller', name: 'analyst@contoso.com' },
    });
    // The binding may hand over the JSON body as text.
    await worker(JSON.stringify(request), context(1));
    expect(sim.actions().filter((a) => a.machineId === machine?.id && a.type === 'Isolate')).toHaveLength(1);
    expect(runtime.inline?.pending()).toBe(1);
  });

  it('completes a malformed message after writing a dead-letter record, instead of retrying it forever', async () => {
    await expect(worker({ action: 'wipe' }, context(1, 'bad-1'))).resolves.toBeUndefined();
    expect(runtime.inline?.deadLetters).toEqual([
      expect.objectContaining({
        reason: 'InvalidMessage',
        messageId: 'bad-1',
        description: expect.stringMatching(/action/),
      }),
    ]);
  });

  it("never acts on a request of a listed tenant with the deployment's own client: it records it for an operator", async () => {
    const machine = sim.machines().find((m) => m.computerDnsName?.startsWith('ws-finance-01'));
    const alert = alertOf({
      devices: [{ mdeDeviceId: machine?.id }],
      tenantId: '8d1b6e3f-2a4c-4b5d-8e9f-0a1b2c3d4e5f',
    });
    const decision = runtime.policy.decideAlert(alert).find((d) => d.action === 'isolate');
    expect(decision).toBeDefined();
    const request = isolateRequestFrom(decision as NonNullable<typeof decision>, {
      alert,
      receivedAt: new Date(),
      policyVersion: 'v',
      requestedBy: { kind: 'rule', name: 'r' },
    });
    sim.resetCalls();
    await expect(worker(request, context(1, 'tenant-1'))).resolves.toBeUndefined();
    expect(sim.calls()).toEqual([]);
    expect(runtime.inline?.deadLetters).toContainEqual(
      expect.objectContaining({
        reason: 'TenantNotServed',
        messageId: 'tenant-1',
        description: expect.stringContaining('8d1b6e3f-2a4c-4b5d-8e9f-0a1b2c3d4e5f'),
      }),
    );
  });
});

describe('worker trigger registration', () => {
  const registered = useServiceBusRegistrationSpy();

  it('registers the trigger with a namespace and a valid configuration', () => {
    expect(registerWorker(NAMESPACE)).toBe(true);
    expect(registered()).toHaveBeenCalledWith(
      'worker',
      expect.objectContaining({ queueName: '%ISOLATION_QUEUE%', isSessionsEnabled: false }),
    );
  });

  it('reads a session-enabled queue with a session receiver, one tenant per receiver', () => {
    expect(registerWorker({ ...NAMESPACE, ISOLATION_QUEUE_SESSIONS: 'on' })).toBe(true);
    expect(registered()).toHaveBeenCalledWith('worker', expect.objectContaining({ isSessionsEnabled: true }));
  });

  it('consumes no delivery when a setting or the policy is invalid: the trigger is not registered', () => {
    expect(registerWorker({ ...NAMESPACE, MDE_RATE_LIMITS: 'lots' })).toBe(false);
    expect(
      registerWorker({ ...NAMESPACE, ISOLATION_POLICY: '{"version": "v", "rules": [{"name": "x"}]}' }),
    ).toBe(false);
    expect(registered()).not.toHaveBeenCalled();
  });

  it('registers nothing without a namespace (inline worker)', () => {
    expect(registerWorker({})).toBe(false);
    expect(registered()).not.toHaveBeenCalled();
  });
});
