import { SETTINGS } from '../shared/config';
import type { OutcomeRecord } from '../shared/dispatch/outcome';
import { createRuntime, openReadOnly, type Runtime } from '../shared/runtime';
import { startSimulator } from '../simulator';
import { pointIdentityAt } from './support/identity';

const SILENT = { outcome: () => undefined, note: () => undefined };
const NAMESPACE = 'example.servicebus.windows.net';

describe('the composition root', () => {
  const opened: Runtime[] = [];
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((r) => r.close()));
  });
  const open = (options: Parameters<typeof createRuntime>[0]) => {
    const runtime = createRuntime({ reporter: SILENT, ...options });
    opened.push(runtime);
    return runtime;
  };

  it('uses Service Bus when a namespace is configured', () => {
    const runtime = open({ env: { [SETTINGS.serviceBusNamespace]: NAMESPACE } });
    expect(runtime.mode).toBe('service-bus');
    expect(runtime.inline).toBeNull();
  });

  it('runs inline when told to, whatever the Service Bus setting says', () => {
    const runtime = open({ env: { [SETTINGS.serviceBusNamespace]: NAMESPACE }, mode: 'inline' });
    expect(runtime.mode).toBe('inline');
    expect(runtime.inline).not.toBeNull();
  });

  it('refuses service-bus mode without a namespace', () => {
    expect(() => createRuntime({ env: {}, mode: 'service-bus', reporter: SILENT })).toThrow(/namespace/);
  });

  it('says when requests are still running at the end of the wait', async () => {
    const runtime = open({ env: {}, startWorker: false });
    const request = await runtime.submitManual({
      action: 'isolate',
      device: { mdeDeviceId: 'a'.repeat(40) },
      comment: 'IR-1',
      isolationType: 'Full',
      requestedBy: 'analyst@example.com',
    });
    expect(request.action).toBe('isolate');
    await expect(runtime.waitForIdle(20)).resolves.toBe(false);
    expect(runtime.inline?.pending()).toBe(1);
  });

  it('ends a wait still running when the runtime closes, so no timer outlives it', async () => {
    const runtime = createRuntime({ env: {}, startWorker: false, reporter: SILENT });
    await runtime.submitManual({
      action: 'release',
      device: { mdeDeviceId: 'b'.repeat(40) },
      comment: 'IR-2',
      isolationType: 'Full',
      requestedBy: 'analyst@example.com',
    });
    const waiting = runtime.waitForIdle(3_600_000);
    await runtime.close();
    await expect(waiting).resolves.toBe(false);
  });

  it('carries alerts from intake to an outcome, and says when every request ended', async () => {
    const sim = await startSimulator({ lifecycle: { pendingMs: 5, inProgressMs: 5, offlineTimeoutMs: 500 } });
    const restore = pointIdentityAt(sim);
    try {
      const outcomes: OutcomeRecord[] = [];
      const machine = sim.machines()[0];
      const runtime = open({
        env: { ...sim.env(), MDE_RATE_HEADROOM: '0' },
        reporter: { outcome: (record) => outcomes.push(record), note: () => undefined },
        mode: 'inline',
      });
      const result = await runtime.receiveAlerts({
        id: 'da000000000001_1',
        severity: 'High',
        status: 'New',
        title: 'Ransomware activity',
        category: 'Ransomware',
        detectionSource: 'WindowsDefenderAtp',
        machineId: machine.id,
        computerDnsName: machine.computerDnsName,
        evidence: [],
      });
      expect(result.accepted).toBe(1);
      await expect(runtime.waitForIdle(30_000)).resolves.toBe(true);
      expect(outcomes.map((o) => o.machineId)).toEqual([machine.id]);
    } finally {
      restore();
      await sim.close();
    }
  });

  it('opens a read-only runtime with no policy and no queue', async () => {
    const sim = await startSimulator();
    const restore = pointIdentityAt(sim);
    try {
      const reader = openReadOnly({ env: sim.env() });
      const known = sim.machines()[0];
      const machine = await reader.api.getMachine(known.id);
      expect(machine.computerDnsName).toBe(known.computerDnsName);
      await reader.close();
    } finally {
      restore();
      await sim.close();
    }
  });
});
