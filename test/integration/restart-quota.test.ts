/**
 * A restarted runtime starts from what the previous one spent of the quota windows: two runtimes one
 * after the other over the same Azurite (through the AzureWebJobsStorage setting, as deployed), the
 * second inside the same window as the first.
 */
import { createRuntime } from '../../shared/runtime';
import { type RunningAzurite, startAzurite } from '../../simulator/azurite';
import { silentReporter } from '../support/reporter';
import { startSimulatorWithIdentity } from '../support/simulator';

// A window long enough that both runtimes' calls fall in it however slow the machine.
const LIMITS = '10/60s';

let azurite: RunningAzurite;
beforeAll(async () => {
  azurite = await startAzurite();
}, 30_000);
afterAll(() => azurite?.stop());

it('keeps a restarted runtime inside the quota the first one spent part of: 0 x 429', async () => {
  const sim = await startSimulatorWithIdentity({ rateLimits: LIMITS });
  const machineId = sim.machines()[0].id;
  const env = {
    ...sim.env(),
    MDE_RATE_LIMITS: LIMITS,
    MDE_RATE_HEADROOM: '0',
    AzureWebJobsStorage: azurite.connectionString,
  };
  const lookUps = (runtime: ReturnType<typeof createRuntime>, count: number) =>
    Promise.all(Array.from({ length: count }, () => runtime.api.getMachine(machineId)));
  try {
    const first = createRuntime({ env, mode: 'inline', reporter: silentReporter });
    await lookUps(first, 7);
    await first.close();

    const second = createRuntime({ env, mode: 'inline', reporter: silentReporter });
    // Three fit in what the first left; a fourth would have to wait for the window to turn over.
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
