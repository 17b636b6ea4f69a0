import { compressTiming } from '../../shared/dispatch/timing';
import { createRuntime } from '../../shared/runtime';
import { mdeAlert } from '../support/alert-payloads';
import { type Harness, isolateRequest, laggingActionList, startHarness, until } from './harness';

const DOMAIN = 'contoso.local';
const lag = laggingActionList();

describe('exactly once per device', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ decorateApi: lag.decorate });
  });
  afterAll(() => h.close());

  it('posts once when a message is delivered again, in this process or after a restart', async () => {
    const machine = h.machineId(`ws-finance-01.${DOMAIN}`);
    const request = isolateRequest(h, { mdeDeviceId: machine });
    await h.runtime.handle(structuredClone(request), { deliveryCount: 1 });
    await h.runtime.handle(structuredClone(request), { deliveryCount: 2 });
    // A new process (lost its record of posted actions) gets the same message once more.
    const restarted = createRuntime({
      env: { ...h.sim.env(), MDE_RATE_LIMITS: '40/400ms', MDE_RATE_HEADROOM: '0' },
      policy: h.runtime.policy,
      timing: compressTiming(0.001),
      reporter: { outcome: (record) => h.outcomes.push(record), note: () => undefined },
    });
    await restarted.handle(structuredClone(request), { deliveryCount: 3 });
    await restarted.inline?.idle();
    await restarted.close();
    await h.settle();
    expect(h.actionsOn(machine, 'Isolate')).toHaveLength(1);
    expect(
      h.outcomes.filter((o) => o.machineId === machine && o.outcome === 'succeeded').length,
    ).toBeGreaterThan(0);
  });

  it('adopts the pending action when MDE answers ActiveRequestAlreadyExists', async () => {
    const machine = h.machineId(`laptop-offline-07.${DOMAIN}`);
    const theirs = await h.runtime.api.isolate(machine, 'isolated by an analyst in the portal', 'Full');
    lag.lagOnce(machine);
    await h.submit(mdeAlert({ machineId: machine }));
    await h.settle();
    expect(h.sim.calls().filter((c) => c.api === 'isolate' && c.status === 400)).toHaveLength(1);
    expect(h.actionsOn(machine, 'Isolate')).toHaveLength(1);
    expect(h.outcomes.filter((o) => o.machineId === machine)).toEqual([
      expect.objectContaining({ outcome: 'timed-out', actionId: theirs.id, adopted: true }),
    ]);
  });

  it('never posts an isolate while a release is pending', async () => {
    const machine = h.machineId(`ws-hr-02.${DOMAIN}`);
    h.sim.setMachine(machine, { traits: { offline: true } });
    await h.runtime.api.release(machine, 'release asked by the help desk');
    await h.submit(mdeAlert({ dnsName: `ws-hr-02.${DOMAIN}` }));
    await h.settle();
    expect(h.actionsOn(machine, 'Isolate')).toHaveLength(0);
    expect(h.outcomes.filter((o) => o.machineId === machine)).toEqual([
      expect.objectContaining({
        outcome: 'escalated',
        rule: 'action-conflict',
        reason: expect.stringMatching(/a release/),
      }),
    ]);
  });

  it('skips a device that an earlier action already isolated', async () => {
    const machine = h.machineId('wks-lab');
    await h.runtime.api.isolate(machine, 'isolated earlier', 'Full');
    await until(() => h.sim.machineState(machine)?.isolated === true);
    await h.submit(mdeAlert({ machineId: machine }));
    await h.settle();
    expect(h.actionsOn(machine, 'Isolate')).toHaveLength(1);
    expect(h.outcomes.filter((o) => o.machineId === machine)).toEqual([
      expect.objectContaining({ outcome: 'skipped', reason: expect.stringMatching(/already isolated/) }),
    ]);
  });

  it('carries out a manual isolate and release through the same queue', async () => {
    const machine = h.machineId(`mac-design-01.${DOMAIN}`);
    const order = {
      device: { hostname: 'mac-design-01' },
      comment: 'IR-42 containment',
      isolationType: 'Full' as const,
      requestedBy: 'analyst@contoso.com',
    };
    await h.runtime.submitManual({ ...order, action: 'isolate' });
    await h.settle();
    expect(h.sim.machineState(machine)?.isolated).toBe(true);
    await h.runtime.submitManual({ ...order, action: 'release', comment: 'IR-42 cleaned' });
    await h.settle();
    expect(h.sim.machineState(machine)?.isolated).toBe(false);
    const records = h.outcomes.filter((o) => o.machineId === machine);
    expect(records.map((o) => [o.action, o.outcome])).toEqual([
      ['isolate', 'succeeded'],
      ['release', 'succeeded'],
    ]);
    expect(records[0].requestedBy).toEqual({ kind: 'caller', name: 'analyst@contoso.com' });
    const comments = h.actionsOn(machine).map((a) => String(a.requestorComment));
    expect(comments.every((c) => c.includes('analyst@contoso.com'))).toBe(true);
  });

  it('isolates a manual payload through intake as asked, its requester the relay naming nobody', async () => {
    const machine = h.machineId(`hv-host-01.${DOMAIN}`);
    await h.submit({ hostname: 'hv-host-01', comment: 'IR-9: contain the host' });
    await h.settle();
    expect(h.outcomes.filter((o) => o.machineId === machine)).toEqual([
      expect.objectContaining({
        outcome: 'succeeded',
        rule: 'manual',
        requestedBy: { kind: 'caller', name: '(claimed by the relay) nobody named' },
      }),
    ]);
  });
});
