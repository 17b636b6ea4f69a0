import { InvocationContext } from '@azure/functions';
import { worker } from '../../functions/worker';
import { isolateRequestFrom } from '../../shared/dispatch/request';
import { closeRuntime, createRuntime, installRuntime, type Runtime } from '../../shared/runtime';
import { type RunningSimulator, startSimulator } from '../../simulator';

describe('worker function (Service Bus trigger)', () => {
  let sim: RunningSimulator;
  let runtime: Runtime;
  const saved = { ...process.env };

  beforeAll(async () => {
    sim = await startSimulator();
    Object.assign(process.env, sim.env());
    // Messages the worker sends on (tracking) stay queued: this test looks at one delivery only.
    runtime = installRuntime(
      createRuntime({
        env: { ...sim.env(), ISOLATION_MODE: 'enforce' },
        startWorker: false,
        reporter: { outcome: () => undefined, note: () => undefined },
      }),
    );
  });
  afterAll(async () => {
    await closeRuntime();
    await sim.close();
    process.env = saved;
  });

  const context = (deliveryCount: number, messageId = 'msg-1') =>
    new InvocationContext({ triggerMetadata: { deliveryCount, messageId }, logHandler: () => undefined });

  it('posts the isolation of a request message and queues its tracking', async () => {
    const machine = sim.machines().find((m) => m.computerDnsName?.startsWith('ws-finance-01'));
    const alert = {
      source: 'manual' as const,
      alertId: 'manual-1',
      incidentId: null,
      incidentArmId: null,
      title: 'containment',
      severity: 'high' as const,
      firing: true,
      categories: [],
      mitreTechniques: [],
      devices: [{ mdeDeviceId: machine?.id }],
      manual: { comment: 'containment', requestedBy: 'analyst@contoso.com' },
    };
    const [decision] = runtime.policy.decideAlert(alert);
    expect(decision.action).toBe('isolate');
    const request = isolateRequestFrom(decision, {
      alert,
      receivedAt: new Date(),
      policyVersion: decision.policyVersion,
      comment: 'containment',
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
});
