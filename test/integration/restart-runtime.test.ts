/**
 * Restarts through the composition root: two runtimes created one after the other over the same
 * Azurite, found through the AzureWebJobsStorage setting as deployed. The second starts from what the
 * first left in the store: its quota spend and the actions it was still following.
 */
import { compressTiming } from '../../shared/dispatch/timing';
import { loadPolicy } from '../../shared/policy/load';
import { createRuntime } from '../../shared/runtime';
import { type RunningAzurite, startAzurite } from '../../simulator/azurite';
import { mdeAlert } from '../support/alert-payloads';
import { recordingReporter, silentReporter } from '../support/reporter';
import { startSimulatorWithIdentity } from '../support/simulator';
import { TEST_POLICY, until } from './harness';

// A storage account of its own per test, as two deployments would have.
let azurite: RunningAzurite;
beforeEach(async () => {
  azurite = await startAzurite();
}, 30_000);
afterEach(() => azurite?.stop());

const storageSetting = () => ({ AzureWebJobsStorage: azurite.connectionString });

it('(d) keeps a restarted runtime inside the quota the first one spent part of: 0 x 429', async () => {
  // A window long enough that both runtimes' calls fall in it however slow the machine.
  const limits = '10/60s';
  const sim = await startSimulatorWithIdentity({ rateLimits: limits });
  const machineId = sim.machines()[0].id;
  const env = { ...sim.env(), MDE_RATE_LIMITS: limits, MDE_RATE_HEADROOM: '0', ...storageSetting() };
  const lookUps = (runtime: ReturnType<typeof createRuntime>, count: number) =>
    Promise.all(Array.from({ length: count }, () => runtime.api.getMachine(machineId)));
  try {
    const first = createRuntime({ env, mode: 'inline', reporter: silentReporter });
    await lookUps(first, 7);
    await first.close();

    const second = createRuntime({ env, mode: 'inline', reporter: silentReporter });
    // Three fit in what the first left; a fourth has to wait for the window to turn over.
    await lookUps(second, 3);
    const fourth = second.api.getMachine(machineId).then(
      () => 'answered',
      (error: Error) => error.name,
    );
    await new Promise((done) => setTimeout(done, 1_500));
    expect(sim.calls().filter((c) => c.api === 'machines' && c.status === 429)).toHaveLength(0);
    expect(sim.calls().filter((c) => c.api === 'machines' && c.status === 200)).toHaveLength(10);
    // Closing refuses the call still waiting for the window instead of keeping the process alive.
    await second.close();
    await expect(fourth).resolves.toBe('ThrottleStoppedError');
  } finally {
    await sim.close();
  }
}, 60_000);

it('(b) a runtime stopped after the isolate POST: the next one resumes tracking and never posts again', async () => {
  const sim = await startSimulatorWithIdentity({
    lifecycle: { pendingMs: 20, inProgressMs: 20, offlineTimeoutMs: 600_000 },
  });
  const machine = sim.machines().find((m) => m.computerDnsName === 'ws-finance-01.contoso.local');
  if (!machine) throw new Error('the curated fleet has ws-finance-01');
  sim.setMachine(machine.id, { traits: { offline: true } });
  const env = { ...sim.env(), MDE_RATE_HEADROOM: '0', ...storageSetting() };
  const options = {
    env,
    mode: 'inline' as const,
    policy: loadPolicy({ kind: 'inline', text: JSON.stringify(TEST_POLICY) }, null),
    timing: compressTiming(0.001),
  };
  const isolatePosts = () =>
    sim.calls().filter((c) => c.api === 'isolate' && c.method === 'POST' && c.status === 201);
  try {
    const first = recordingReporter();
    const before = createRuntime({ ...options, reporter: first.reporter });
    const result = await before.receiveAlerts(mdeAlert({ machineId: machine.id }));
    expect(result.accepted).toBe(1);
    // Stops once the isolation is posted and tracking polled it, while the device is still offline.
    await until(() => {
      const calls = sim.calls();
      const posted = calls.findIndex((c) => c.api === 'isolate' && c.method === 'POST' && c.status === 201);
      return posted >= 0 && calls.slice(posted + 1).some((c) => c.api === 'machineactions');
    }, 'a tracking poll after the isolate POST');
    expect(before.inline?.pending()).toBeGreaterThan(0);
    expect(isolatePosts()).toHaveLength(1);
    await before.close();
    expect(first.outcomes).toEqual([]);

    const second = recordingReporter();
    const after = createRuntime({ ...options, reporter: second.reporter });
    sim.setMachine(machine.id, { traits: { offline: false } });
    await expect(after.waitForIdle(30_000)).resolves.toBe(true);
    await after.close();
    expect(isolatePosts()).toHaveLength(1);
    expect(second.outcomes).toEqual([
      expect.objectContaining({ machineId: machine.id, outcome: 'succeeded', adopted: false }),
    ]);
    expect(second.notes).toContainEqual(expect.objectContaining({ event: 'isolation-tracking-resumed' }));
  } finally {
    await sim.close();
  }
}, 60_000);
