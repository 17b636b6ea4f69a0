/**
 * Defender's own isolations (automatic attack disruption, custom detection rules) and a person's are
 * theirs: an isolate request meeting one, under way or in force, is skipped with whose it is, never
 * followed; a release of one is refused unless a person forces it with a reason.
 */
import {
  endHeldActions,
  type Harness,
  HELD_ACTIONS,
  isolateRequest,
  releaseRequest,
  startHarness,
} from './harness';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ simulator: HELD_ACTIONS });
});
afterAll(() => h.close());

const DOMAIN = 'contoso.local';

async function handled(request: Parameters<Harness['runtime']['handle']>[0]) {
  await h.runtime.handle(request, { deliveryCount: 1 });
  await h.settle();
  return h.outcomes.filter((o) => o.requestId === (request as { requestId: string }).requestId);
}

it("skips an attack disruption alert on a device Defender is isolating, naming Defender's action", async () => {
  const machine = h.machineId(`ws-finance-01.${DOMAIN}`);
  const theirs = h.sim.defenderAction(machine, 'attack-disruption');
  h.sim.resetCalls();
  const outcomes = await handled(
    isolateRequest(h, { mdeDeviceId: machine }, { title: 'Ransomware activity (attack disruption)' }),
  );
  expect(outcomes).toEqual([
    expect.objectContaining({
      outcome: 'skipped',
      actionId: theirs.id,
      reason: `already isolated by Defender (action ${theirs.id} by Automatic attack disruption, Pending)`,
    }),
  ]);
  expect(h.sim.calls().filter((c) => c.api === 'isolate')).toEqual([]);
  // Not followed: nothing of it in the action ledger.
  expect(await h.runtime.store.actions.forMachine(machine)).toEqual([]);
});

it('skips an isolate on a device a custom detection rule isolated, once it succeeded too', async () => {
  const machine = h.machineId(`ws-hr-02.${DOMAIN}`);
  const theirs = h.sim.defenderAction(machine, 'custom-detection', { rule: 'LSASS dump' });
  endHeldActions(h);
  const outcomes = await handled(isolateRequest(h, { mdeDeviceId: machine }));
  expect(outcomes).toEqual([
    expect.objectContaining({
      outcome: 'skipped',
      reason: `already isolated by Defender (action ${theirs.id} by Custom detection: LSASS dump, Succeeded)`,
    }),
  ]);
});

it("skips an isolate while an analyst's isolation is pending, naming the analyst", async () => {
  const machine = h.machineId(`web1.${DOMAIN}`);
  const theirs = h.sim.portalAction(machine, 'Isolate', {
    requestor: 'analyst@contoso.com',
    comment: 'triage',
  });
  const outcomes = await handled(isolateRequest(h, { mdeDeviceId: machine }));
  expect(outcomes).toEqual([
    expect.objectContaining({
      outcome: 'skipped',
      reason: `already isolated by analyst@contoso.com (action ${theirs.id}, Pending)`,
    }),
  ]);
  endHeldActions(h);
});

it("never releases Defender's isolation without force; a forced release with a reason does", async () => {
  const machine = h.machineId(`ws-finance-01.${DOMAIN}`);
  endHeldActions(h);
  expect(h.sim.machineState(machine)?.isolated).toBe(true);
  const refused = await handled(releaseRequest(h, { mdeDeviceId: machine }));
  expect(refused).toEqual([
    expect.objectContaining({
      outcome: 'escalated',
      rule: 'isolated-by-someone-else',
      reason: expect.stringContaining('Automatic attack disruption'),
    }),
  ]);
  expect(h.sim.machineState(machine)?.isolated).toBe(true);

  const forced = releaseRequest(h, { mdeDeviceId: machine }, 'disruption confirmed a false positive');
  await h.runtime.handle(forced, { deliveryCount: 1 });
  endHeldActions(h);
  await h.settle();
  expect(h.outcomes.filter((o) => o.requestId === forced.requestId)).toEqual([
    expect.objectContaining({ outcome: 'succeeded' }),
  ]);
  expect(h.sim.machineState(machine)?.isolated).toBe(false);
});

it('isolates a device the alert says attack disruption acted on when MDE lists no such isolation', async () => {
  const machine = h.machineId(`web10.${DOMAIN}`);
  const request = isolateRequest(h, { mdeDeviceId: machine }, { title: 'Forged (attack disruption)' });
  await h.runtime.handle(request, { deliveryCount: 1 });
  endHeldActions(h);
  await h.settle();
  expect(h.outcomes.filter((o) => o.requestId === request.requestId)).toEqual([
    expect.objectContaining({ outcome: 'succeeded' }),
  ]);
  expect((await h.runtime.store.register.get(machine))?.provenance.reason).toContain(
    'the alert says attack disruption acted, but MDE lists no isolation of this device by Defender',
  );
});
