/**
 * The audit trail (shared/manual/audit.ts) over a day of history written to the real in-memory store
 * on a hand clock, and `GET /api/audit` (functions/audit.ts) over the process runtime's store.
 */
import { HttpRequest, InvocationContext } from '@azure/functions';
import { audit } from '../../functions/audit';
import { type AuditEvent, isAuditProblem, parseAuditQuery, readAuditTrail } from '../../shared/manual/audit';
import { closeRuntime, createRuntime, installRuntime } from '../../shared/runtime';
import { InMemoryStateStore } from '../../shared/state/memory';
import type { StateStore } from '../../shared/state/store';
import { ACT_2, B, C, dayOfHistory as writeDay } from '../support/day-of-history';
import { silentReporter } from '../support/reporter';

const HOUR = 3_600_000;
const dayOfHistory = (start: number) => writeDay(start, (clock) => new InMemoryStateStore({ clock }));

const query = (input: Parameters<typeof parseAuditQuery>[0]) => {
  const parsed = parseAuditQuery(input, 90);
  if (isAuditProblem(parsed)) throw new Error(parsed.message);
  return parsed;
};
const steps = (events: AuditEvent[]) =>
  events.map((e) => `${e.machineId[0]} ${e.state} ${e.at.slice(11, 16)}`);

describe('the audit trail', () => {
  const start = Date.parse('2026-01-01T00:00:00Z');

  it('answers who isolated what, when, why, and who released it, newest first, over the last 24 h', async () => {
    const { store, now } = await dayOfHistory(start);
    const trail = await readAuditTrail(store, query({}), now);
    expect(steps(trail.events)).toEqual([
      'a released 20:03',
      'a releasing 20:00',
      'b isolated 10:06',
      'b isolating 10:00',
      'a isolated 02:01',
      'a isolating 02:00',
    ]);
    expect(trail).toMatchObject({
      since: '2026-01-01T00:00:00.000Z',
      until: '2026-01-02T00:00:00.000Z',
      count: 6,
      truncated: false,
    });
    const [released, , , , isolated] = trail.events;
    expect(released).toMatchObject({
      computerDnsName: 'ws-finance-01.contoso.local',
      requestedBy: { kind: 'caller', name: 'jo@contoso.com' },
      reason: 'MDE reports Succeeded',
      actionId: ACT_2,
      postedBy: 'jo@contoso.com',
      adopted: true,
    });
    // An earlier request of the device: the register keeps no provenance for it, MDE's word and the ledger remain.
    expect(isolated).toMatchObject({
      requestId: 'req-a1',
      requestedBy: null,
      postedBy: 'app-id',
      adopted: false,
    });
  });

  it('filters by window and by device (machine id, or the full name in any case), never by part of a name', async () => {
    const { store, now } = await dayOfHistory(start);
    expect(steps((await readAuditTrail(store, query({ since: '6h' }), now)).events)).toEqual([
      'a released 20:03',
      'a releasing 20:00',
    ]);
    expect((await readAuditTrail(store, query({ device: B }), now)).count).toBe(2);
    expect((await readAuditTrail(store, query({ device: 'WS-FINANCE-01.contoso.local' }), now)).count).toBe(
      4,
    );
    expect((await readAuditTrail(store, query({ device: 'ws-finance-01' }), now)).count).toBe(0);
    expect((await readAuditTrail(store, query({ device: C, since: '2d' }), now)).count).toBe(1);
  });

  it('cuts the page at its limit and says more matched', async () => {
    const { store, now } = await dayOfHistory(start);
    const trail = await readAuditTrail(store, query({ limit: '2' }), now);
    expect(trail).toMatchObject({ count: 2, truncated: true });
  });

  it.each([
    [{ since: '0h' }, 'since'],
    [{ since: '91d' }, 'since'],
    [{ since: '24' }, 'since'],
    [{ since: '9999999h' }, 'since'],
    [{ limit: '0' }, 'limit'],
    [{ limit: '1001' }, 'limit'],
    [{ limit: '2.5' }, 'limit'],
    [{ device: 'x'.repeat(257) }, 'device'],
  ])('refuses %j, naming %s', (input, path) => {
    expect(parseAuditQuery(input, 90)).toMatchObject({ path, message: expect.any(String) });
  });
});

describe('GET /api/audit', () => {
  const context = () => new InvocationContext({ logHandler: () => undefined });
  const get = (search: string) =>
    new HttpRequest({ url: `http://localhost/api/audit${search}`, method: 'GET' });
  let store: StateStore;

  beforeAll(async () => {
    // The function reads the time of the day it runs: the history is written from two hours before.
    ({ store } = await dayOfHistory(Date.now() - 22 * HOUR));
    installRuntime(createRuntime({ startWorker: false, reporter: silentReporter, store }));
  });
  afterAll(() => closeRuntime());

  it('answers the trail as JSON', async () => {
    const response = await audit(get('?since=48h&device=web1.contoso.local'), context());
    expect(response.status).toBe(200);
    expect(response.jsonBody).toMatchObject({
      count: 2,
      truncated: false,
      events: [{ state: 'isolated' }, { state: 'isolating' }],
    });
  });

  it('answers 400 with the parameter at fault', async () => {
    const response = await audit(get('?since=1y'), context());
    expect(response).toMatchObject({
      status: 400,
      jsonBody: { error: { code: 'invalid-query' }, path: 'since' },
    });
  });
});
