/**
 * A process that starts after others stopped counts the calls of every one of them, not only those of
 * the last to stop (docs/decisions/0014-one-budget-across-processes.md). The quota's window is a minute
 * on the simulator and in the app, longer than the test runs.
 */
import { ThrottleStoppedError } from '../../shared/dispatch/quota/throttle';
import { createRuntime, type Runtime } from '../../shared/runtime';
import { InMemoryStateStore } from '../../shared/state/memory';
import type { RunningSimulator } from '../../simulator';
import { recordingReporter } from '../support/reporter';
import { startSimulatorWithIdentity } from '../support/simulator';
import { timerTurns } from '../support/timer-turns';

const RATE_LIMITS = '20/60s';

let sim: RunningSimulator;
beforeEach(async () => {
  sim = await startSimulatorWithIdentity({ rateLimits: RATE_LIMITS });
});
afterEach(() => sim.close());

it('counts, in a process started after two that ran side by side, the calls of both', async () => {
  const store = new InMemoryStateStore();
  const open = (): Runtime =>
    createRuntime({
      env: { ...sim.env(), MDE_RATE_LIMITS: RATE_LIMITS, MDE_RATE_HEADROOM: '0' },
      mode: 'inline',
      startWorker: false,
      store,
      reporter: recordingReporter().reporter,
    });
  const machineId = sim.machines()[0].id;
  const lookups = () => sim.calls().filter((c) => c.api === 'machines');
  // Two processes at once, as the worker and an HTTP instance are.
  const both = [open(), open()];
  await Promise.all(
    both.map(async (runtime) => {
      for (let i = 0; i < 8; i += 1) await runtime.api.getMachine(machineId);
    }),
  );
  for (const runtime of both) await runtime.close();

  // 16 of the minute's 20 are spent: four more calls go, the fifth waits for the minute to pass.
  const next = open();
  const five = Promise.allSettled(Array.from({ length: 5 }, () => next.api.getMachine(machineId)));
  for (let turn = 0; lookups().length < 20 && turn < 10_000; turn += 1) await timerTurns(1);
  await timerTurns(50);
  await next.close();
  const settled = await five;
  expect(lookups().filter((c) => c.status === 429)).toEqual([]);
  expect(lookups()).toHaveLength(20);
  expect(settled.filter((s) => s.status === 'rejected')).toEqual([
    { status: 'rejected', reason: expect.any(ThrottleStoppedError) },
  ]);
}, 60_000);
