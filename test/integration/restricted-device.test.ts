/**
 * A device MDE refuses response actions on (onboarded with restricted response actions, or excluded)
 * is escalated on the first refusal with MDE's answer: never retried, never dead-lettered
 * (docs/mde-api.md §15).
 */
import { type Harness, isolateRequest, releaseRequest, startHarness } from './harness';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(() => h.close());

it.each([
  ['restricted', 'onboarded with restricted response actions'],
  ['excluded', 'excluded from response actions'],
] as const)('escalates an isolation of a %s device on the first refusal', async (refusesActions, why) => {
  const machine = h.sim.addMachine({
    name: `hva-${refusesActions}.contoso.local`,
    osPlatform: 'WindowsServer2022',
    version: '21H2',
    osBuild: 20348,
    traits: { refusesActions },
  });
  const request = isolateRequest(h, { mdeDeviceId: machine.id });
  h.sim.resetCalls();
  await h.runtime.handle(request, { deliveryCount: 1 });
  await h.settle();

  expect(h.outcomes.filter((o) => o.requestId === request.requestId)).toEqual([
    expect.objectContaining({
      outcome: 'escalated',
      rule: 'restricted-device',
      machineId: machine.id,
      reason: expect.stringContaining(why),
    }),
  ]);
  // One POST, refused: no retry, no dead-letter record.
  expect(
    h.sim
      .calls()
      .filter((c) => c.api === 'isolate')
      .map((c) => c.status),
  ).toEqual([403]);
  expect(h.runtime.inline?.deadLetters).toEqual([]);
  expect(h.sim.machineState(machine.id)?.isolated).toBe(false);
});

it('escalates a forced release of a restricted device the same way', async () => {
  const machine = h.sim.addMachine({
    name: 'hva-release.contoso.local',
    osPlatform: 'WindowsServer2022',
    version: '21H2',
    osBuild: 20348,
    traits: { refusesActions: 'restricted' },
  });
  const request = releaseRequest(h, { mdeDeviceId: machine.id }, 'clean-up drill');
  h.sim.resetCalls();
  await h.runtime.handle(request, { deliveryCount: 1 });
  await h.settle();
  expect(h.outcomes.filter((o) => o.requestId === request.requestId)).toEqual([
    expect.objectContaining({ outcome: 'escalated', rule: 'restricted-device' }),
  ]);
  expect(h.sim.calls().filter((c) => c.api === 'unisolate')).toHaveLength(1);
});
