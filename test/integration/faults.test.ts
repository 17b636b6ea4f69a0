import { mdeAlert } from '../support/alert-payloads';
import { type Harness, outcomesPerRequest, queuedRequestIds, startHarness } from './harness';

const DEVICES = 30;

/** Three alerts per generated device, by id, by DNS name and by both, shuffled. */
function stormFor(h: Harness) {
  const machines = h.sim.machines().filter((m) => m.computerDnsName?.startsWith('gen-'));
  const alerts = machines.flatMap((m) => [
    mdeAlert({ machineId: m.id }),
    mdeAlert({ dnsName: m.computerDnsName ?? undefined }),
    mdeAlert({ machineId: m.id, dnsName: m.computerDnsName ?? undefined }),
  ]);
  return { machines, alerts: alerts.sort((a, b) => a.id.localeCompare(b.id) * ((a.incidentId % 3) - 1)) };
}

/** What every storm must end with: each request ended once, no device isolated twice, every success real. */
function expectNothingLostNorDoubled(
  h: Harness,
  machines: { id: string; computerDnsName: string | null }[],
  requestIds: string[],
) {
  expect(outcomesPerRequest(h, requestIds).every((count) => count === 1)).toBe(true);
  for (const machine of machines) {
    // A request dead-lettered before or while resolving names the device only as the alert did.
    const records = h.outcomes.filter(
      (o) =>
        o.machineId === machine.id ||
        o.device.mdeDeviceId === machine.id ||
        (machine.computerDnsName !== null && o.device.fqdn === machine.computerDnsName),
    );
    expect(records.length).toBeGreaterThan(0);
    expect(h.actionsOn(machine.id, 'Isolate').length).toBeLessThanOrEqual(1);
    if (records.some((o) => o.outcome === 'succeeded'))
      expect(h.sim.machineState(machine.id)?.isolated).toBe(true);
    // Every action posted was followed to its end (or its request dead-lettered with a reason).
    for (const action of h.actionsOn(machine.id, 'Isolate'))
      expect(h.outcomes.some((o) => o.actionId === action.id || o.outcome === 'dead-lettered')).toBe(true);
  }
  const deadLettered = h.outcomes.filter((o) => o.outcome === 'dead-lettered');
  expect(h.runtime.inline?.deadLetters.length).toBe(deadLettered.length);
}

describe('429 storm: MDE allows fewer calls than the app was told', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({
      simulator: {
        fleet: { curated: false, generate: DEVICES, offlineShare: 0 },
        // Fewer calls a window than the worker's four requests make at once when they start, however
        // slow the machine: the first four lookups meet a 429 before any ceiling is learned.
        rateLimits: '3/400ms,80/4s',
      },
    });
  });
  afterAll(() => h.close());

  it('honours Retry-After by rescheduling and still isolates every device once', async () => {
    const { machines, alerts } = stormFor(h);
    const queued = queuedRequestIds(await h.submit(alerts));
    await h.settle();
    expect(h.sim.calls().filter((c) => c.status === 429).length).toBeGreaterThan(0);
    expectNothingLostNorDoubled(h, machines, queued);
    expect(h.outcomes.filter((o) => o.outcome === 'dead-lettered')).toEqual([]);
    expect(h.notes.some((n) => String(n.why).includes('429'))).toBe(true);
  });

  it('reports in the outcome records the 429s each request met and the ceilings they taught', () => {
    const limited = h.outcomes.filter((o) => o.rateLimited > 0);
    expect(limited.length).toBeGreaterThan(0);
    const answered = h.sim.calls().filter((c) => c.status === 429).length;
    // One 429 may answer a read several requests shared (the batched pre-POST check): each met it.
    for (const outcome of limited) expect(outcome.rateLimited).toBeLessThanOrEqual(answered);
    const ceilings = h.outcomes.flatMap((o) => o.quotaCeilings ?? []);
    expect(ceilings.length).toBeGreaterThan(0);
    for (const ceiling of ceilings) {
      expect(ceiling.learned).toBeLessThan(ceiling.limit);
      expect(Number.isNaN(Date.parse(ceiling.until))).toBe(false);
    }
    expect(h.notes.filter((n) => n.event === 'quota-ceiling-learned').length).toBeGreaterThan(0);
  });
});

describe('injected 5xx, latency and dropped connections', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({
      simulator: {
        fleet: { curated: false, generate: DEVICES, offlineShare: 0 },
        faults: { seed: 11, serverErrorRate: 0.15, latencyMs: 5, dropRate: 0.05, dropAfterExecuteRate: 0.2 },
      },
    });
  });
  afterAll(() => h.close());

  it('retries with backoff, never posts twice after a lost answer, and loses nothing', async () => {
    const { machines, alerts } = stormFor(h);
    const queued = queuedRequestIds(await h.submit(alerts));
    await h.settle();
    const failures = h.sim.calls().filter((c) => c.status === null || (c.status ?? 0) >= 500);
    expect(failures.length).toBeGreaterThan(0);
    expect(h.notes.some((n) => n.event === 'isolation-retry')).toBe(true);
    expectNothingLostNorDoubled(h, machines, queued);
  });
});
