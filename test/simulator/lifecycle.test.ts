import { DEFAULT_RATE_LIMITS } from '../../shared/config';
import { type RunningSimulator, startSimulator } from '../../simulator/index';
import { callApi, fetchToken } from '../support/simulator-http';

const PENDING_MS = 1_000;
const IN_PROGRESS_MS = 2_000;
const OFFLINE_TIMEOUT_MS = 60_000;

let sim: RunningSimulator;
let token: string;

const idOf = (name: string) => {
  const machine = sim.machines().find((m) => m.computerDnsName === name);
  if (!machine) throw new Error(`no seeded machine ${name}`);
  return machine.id;
};
const isolate = (name: string) =>
  callApi(sim, token, 'POST', `/api/machines/${idOf(name)}/isolate`, {
    Comment: 'test',
    IsolationType: 'Full',
  });
const release = (name: string) =>
  callApi(sim, token, 'POST', `/api/machines/${idOf(name)}/unisolate`, { Comment: 'clean' });
const statusOf = async (actionId: string) =>
  (await callApi(sim, token, 'GET', `/api/machineactions/${actionId}`)).body.status;

beforeAll(async () => {
  sim = await startSimulator({
    lifecycle: { pendingMs: PENDING_MS, inProgressMs: IN_PROGRESS_MS, offlineTimeoutMs: OFFLINE_TIMEOUT_MS },
  });
  token = await fetchToken(sim);
});
afterAll(() => sim.close());

describe('machine action lifecycle', () => {
  it('goes Pending → InProgress → Succeeded and isolates the device', async () => {
    const created = await isolate('ws-hr-02.contoso.local');
    expect(created.status).toBe(201);
    expect(await statusOf(created.body.id)).toBe('Pending');
    sim.advanceTime(PENDING_MS);
    expect(await statusOf(created.body.id)).toBe('InProgress');
    expect(sim.machineState(idOf('ws-hr-02.contoso.local'))?.isolated).toBe(false);
    sim.advanceTime(IN_PROGRESS_MS);
    const done = await callApi(sim, token, 'GET', `/api/machineactions/${created.body.id}`);
    expect(done.body.status).toBe('Succeeded');
    expect(Date.parse(done.body.lastUpdateDateTimeUtc)).toBeGreaterThan(
      Date.parse(done.body.creationDateTimeUtc),
    );
    expect(sim.machineState(idOf('ws-hr-02.contoso.local'))).toMatchObject({
      isolated: true,
      isolationType: 'Full',
    });
  });

  it('refuses a second isolate or a release while one is pending (ActiveRequestAlreadyExists)', async () => {
    const first = await isolate('web1.contoso.local');
    expect(first.status).toBe(201);
    for (const duplicate of [await isolate('web1.contoso.local'), await release('web1.contoso.local')]) {
      expect(duplicate.status).toBe(400);
      expect(duplicate.body.error).toMatchObject({
        code: 'ActiveRequestAlreadyExists',
        message: 'Action is already in progress',
      });
    }
    sim.advanceTime(PENDING_MS + IN_PROGRESS_MS);
    const released = await release('web1.contoso.local');
    expect(released.status).toBe(201);
    expect(released.body).toMatchObject({ type: 'Unisolate', scope: null });
    sim.advanceTime(PENDING_MS + IN_PROGRESS_MS);
    expect(sim.machineState(idOf('web1.contoso.local'))?.isolated).toBe(false);
  });

  it('still refuses a duplicate once the action is InProgress', async () => {
    const first = await isolate('hv-host-01.contoso.local');
    sim.advanceTime(PENDING_MS);
    expect(await statusOf(first.body.id)).toBe('InProgress');
    const duplicate = await isolate('hv-host-01.contoso.local');
    expect(duplicate.status).toBe(400);
    expect(duplicate.body.error.code).toBe('ActiveRequestAlreadyExists');
    sim.advanceTime(IN_PROGRESS_MS);
    expect(await statusOf(first.body.id)).toBe('Succeeded');
  });

  it('ends Failed on a device configured to fail, leaving it connected', async () => {
    const created = await isolate('ws-fail-13.contoso.local');
    sim.advanceTime(PENDING_MS + IN_PROGRESS_MS);
    expect(await statusOf(created.body.id)).toBe('Failed');
    expect(sim.machineState(idOf('ws-fail-13.contoso.local'))?.isolated).toBe(false);
  });

  it('keeps an offline device Pending until the timeout, then TimeOut', async () => {
    const created = await isolate('laptop-offline-07.contoso.local');
    sim.advanceTime(OFFLINE_TIMEOUT_MS - 5_000);
    expect(await statusOf(created.body.id)).toBe('Pending');
    expect((await isolate('laptop-offline-07.contoso.local')).body.error.code).toBe(
      'ActiveRequestAlreadyExists',
    );
    sim.advanceTime(5_000);
    expect(await statusOf(created.body.id)).toBe('TimeOut');
    expect(sim.machineState(idOf('laptop-offline-07.contoso.local'))?.isolated).toBe(false);
    expect((await isolate('laptop-offline-07.contoso.local')).status).toBe(201);
  });

  it('times out a Pending action whose device goes offline before picking it up', async () => {
    const id = idOf('ws-old-1607.contoso.local');
    sim.setMachine(id, { entity: { version: '22H2' } });
    const created = await isolate('ws-old-1607.contoso.local');
    sim.setMachine(id, { traits: { offline: true } });
    sim.advanceTime(PENDING_MS + IN_PROGRESS_MS);
    expect(await statusOf(created.body.id)).toBe('Pending');
    sim.advanceTime(OFFLINE_TIMEOUT_MS);
    expect(await statusOf(created.body.id)).toBe('TimeOut');
    expect(sim.machineState(id)?.isolated).toBe(false);
  });

  it('runs a waiting action to the end when the device comes back online', async () => {
    // The stale record of kiosk-12 (first in the fleet) is offline.
    const created = await isolate('kiosk-12.contoso.local');
    const kioskId = created.body.machineId;
    expect(sim.machineState(kioskId)?.offline).toBe(true);
    sim.advanceTime(OFFLINE_TIMEOUT_MS / 2);
    expect(await statusOf(created.body.id)).toBe('Pending');
    sim.setMachine(kioskId, { traits: { offline: false } });
    sim.advanceTime(PENDING_MS + IN_PROGRESS_MS);
    expect(await statusOf(created.body.id)).toBe('Succeeded');
    expect(sim.machineState(kioskId)?.isolated).toBe(true);
  });

  it('fails a waiting action on a failing device that comes back online', async () => {
    const id = idOf('ws-fail-13.contoso.local');
    sim.setMachine(id, { traits: { offline: true } });
    const created = await isolate('ws-fail-13.contoso.local');
    sim.advanceTime(OFFLINE_TIMEOUT_MS / 2);
    sim.setMachine(id, { traits: { offline: false } });
    sim.advanceTime(PENDING_MS + IN_PROGRESS_MS);
    expect(await statusOf(created.body.id)).toBe('Failed');
    expect(sim.machineState(id)?.isolated).toBe(false);
  });

  it('lists actions newest first with $filter (and, or) and $top', async () => {
    const ws = idOf('ws-finance-01.contoso.local');
    const first = await isolate('ws-finance-01.contoso.local');
    sim.advanceTime(PENDING_MS + IN_PROGRESS_MS);
    const second = await release('ws-finance-01.contoso.local');
    const filter = encodeURIComponent(
      `machineId eq '${ws}' and (status eq 'Pending' or status eq 'Succeeded')`,
    );
    const listed = await callApi(sim, token, 'GET', `/api/machineactions?$filter=${filter}`);
    expect(listed.body.value.map((a: { id: string }) => a.id)).toEqual([second.body.id, first.body.id]);
    const top = await callApi(
      sim,
      token,
      'GET',
      `/api/machineactions?$filter=${encodeURIComponent(`machineId eq '${ws}'`)}&$top=1`,
    );
    expect(top.body.value.map((a: { id: string }) => a.id)).toEqual([second.body.id]);
    const byType = encodeURIComponent(`machineId eq '${ws}' and type eq 'Isolate'`);
    expect(
      (await callApi(sim, token, 'GET', `/api/machineactions?$filter=${byType}`)).body.value,
    ).toHaveLength(1);
    const skipped = await callApi(
      sim,
      token,
      'GET',
      `/api/machineactions?$filter=${encodeURIComponent(`machineId eq '${ws}'`)}&$skip=1&$top=5`,
    );
    expect(skipped.body.value.map((a: { id: string }) => a.id)).toEqual([first.body.id]);
    const since = encodeURIComponent(
      `machineId eq '${ws}' and creationDateTimeUtc gt ${first.body.creationDateTimeUtc}`,
    );
    expect(
      (await callApi(sim, token, 'GET', `/api/machineactions?$filter=${since}`)).body.value.map(
        (a: { id: string }) => a.id,
      ),
    ).toEqual([second.body.id]);
    const unknown = await callApi(
      sim,
      token,
      'GET',
      `/api/machineactions/${'0'.repeat(8)}-0000-4000-8000-${'0'.repeat(12)}`,
    );
    expect(unknown.status).toBe(404);
  });
});

describe('quotas', () => {
  afterEach(() => sim.setRateLimits(DEFAULT_RATE_LIMITS));

  it('answers 429 TooManyRequests with Retry-After once a family is over its window', async () => {
    sim.setRateLimits('3/10s');
    for (let i = 0; i < 3; i++)
      expect((await callApi(sim, token, 'GET', '/api/machineactions')).status).toBe(200);
    const refused = await callApi(sim, token, 'GET', '/api/machineactions');
    expect(refused.status).toBe(429);
    expect(refused.body.error.code).toBe('TooManyRequests');
    expect(refused.headers.get('retry-after')).toBe('10');
    expect(Number(refused.headers.get('x-retry-after-ms'))).toBeLessThanOrEqual(10_000);
    // Families count separately.
    expect((await callApi(sim, token, 'GET', '/api/machines?$top=1')).status).toBe(200);
    sim.advanceTime(10_000);
    expect((await callApi(sim, token, 'GET', '/api/machineactions')).status).toBe(200);
  });

  it('rounds Retry-After up to whole seconds', async () => {
    sim.setRateLimits('1/10s');
    expect((await callApi(sim, token, 'GET', '/api/machineactions')).status).toBe(200);
    sim.advanceTime(2_500);
    const refused = await callApi(sim, token, 'GET', '/api/machineactions');
    const waitMs = Number(refused.headers.get('x-retry-after-ms'));
    expect(waitMs).toBeGreaterThan(7_000);
    expect(waitMs).toBeLessThanOrEqual(7_500);
    expect(refused.headers.get('retry-after')).toBe('8');
  });

  it('slides the window: the wait ends when the oldest admitted call leaves it', async () => {
    sim.setRateLimits('2/10s,3/60s');
    await callApi(sim, token, 'GET', '/api/machineactions');
    sim.advanceTime(6_000);
    await callApi(sim, token, 'GET', '/api/machineactions');
    const refused = await callApi(sim, token, 'GET', '/api/machineactions');
    expect(refused.status).toBe(429);
    const waitMs = Number(refused.headers.get('x-retry-after-ms'));
    expect(waitMs).toBeGreaterThan(3_000);
    expect(waitMs).toBeLessThanOrEqual(4_000);
    sim.advanceTime(4_000);
    expect((await callApi(sim, token, 'GET', '/api/machineactions')).status).toBe(200);
    // Now the hourly window (3/60s) is full until the first call is 60 s old.
    const hourly = await callApi(sim, token, 'GET', '/api/machineactions');
    expect(hourly.status).toBe(429);
    expect(Number(hourly.headers.get('retry-after'))).toBe(50);
  });
});

describe('fault injection', () => {
  afterEach(() => sim.setFaults({}));

  it('injects 5xx deterministically from the seed', async () => {
    const statuses = async () => {
      sim.setFaults({ seed: 7, serverErrorRate: 0.5 });
      const seen: number[] = [];
      for (let i = 0; i < 12; i++)
        seen.push((await callApi(sim, token, 'GET', '/api/machines?$top=1')).status);
      return seen;
    };
    const first = await statuses();
    expect(first).toContain(503);
    expect(first).toContain(200);
    expect(await statuses()).toEqual(first);
  });

  it('drops the same calls on every run with the same seed', async () => {
    const outcomes = async () => {
      sim.setFaults({ seed: 11, dropRate: 0.5, apis: ['machines'] });
      const seen: string[] = [];
      for (let i = 0; i < 12; i++)
        seen.push(
          await callApi(sim, token, 'GET', '/api/machines?$top=1').then(
            (answer) => String(answer.status),
            () => 'dropped',
          ),
        );
      return seen;
    };
    const first = await outcomes();
    expect(first).toContain('dropped');
    expect(first).toContain('200');
    expect(await outcomes()).toEqual(first);
  });

  it('drops connections, only for the chosen families', async () => {
    sim.setFaults({ dropRate: 1, apis: ['isolate'] });
    await expect(isolate('ws-isolated-09.contoso.local')).rejects.toThrow();
    expect(sim.machineState(idOf('ws-isolated-09.contoso.local'))?.openAction).toBeNull();
    expect((await callApi(sim, token, 'GET', '/api/machines?$top=1')).status).toBe(200);
    expect(sim.calls().some((c) => c.api === 'isolate' && c.status === null)).toBe(true);
  });

  it('can execute a POST and then drop the answer', async () => {
    sim.setFaults({ dropAfterExecuteRate: 1 });
    await expect(release('ws-isolated-09.contoso.local')).rejects.toThrow();
    expect(sim.machineState(idOf('ws-isolated-09.contoso.local'))?.openAction?.type).toBe('Unisolate');
  });
});

describe('fleet', () => {
  it('generates a large deterministic fleet from a seed', async () => {
    const options = { fleet: { seed: 42, generate: 2_000 } };
    const [a, b, c] = await Promise.all([
      startSimulator(options),
      startSimulator(options),
      startSimulator({ fleet: { seed: 43, generate: 2_000 } }),
    ]);
    try {
      const ids = (s: RunningSimulator) => s.machines().map((m) => m.id);
      expect(ids(a)).toHaveLength(2_018);
      expect(new Set(ids(a)).size).toBe(2_018);
      expect(ids(b)).toEqual(ids(a));
      expect(ids(c)).not.toEqual(ids(a));
      expect(a.machines().filter((m) => m.healthStatus === 'Inactive').length).toBeGreaterThan(10);
    } finally {
      await Promise.all([a.close(), b.close(), c.close()]);
    }
  });
});
