import { mdeAlert } from '../support/alert-payloads';
import {
  type Harness,
  outcomesPerRequest,
  queuedRequestIds,
  startHarness,
  submittedRequestIds,
} from './harness';

const DOMAIN = 'contoso.local';

describe('alert storm through intake, queue, worker and tracker', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(() => h.close());

  it('isolates each device once, refuses protected and ambiguous devices, and follows offline ones to TimeOut', async () => {
    const finance = h.machineId(`ws-finance-01.${DOMAIN}`);
    const hr = h.machineId(`ws-hr-02.${DOMAIN}`);
    const dc = h.machineId(`dc01.${DOMAIN}`);
    const offline = h.machineId(`laptop-offline-07.${DOMAIN}`);
    const alerts = [];
    // The same devices named many times, by id and by name: a storm of duplicates.
    for (let i = 0; i < 10; i += 1) {
      alerts.push(mdeAlert({ machineId: finance, dnsName: `ws-finance-01.${DOMAIN}` }));
      alerts.push(mdeAlert({ dnsName: `ws-hr-02.${DOMAIN}` }));
      alerts.push(mdeAlert({ machineId: dc, dnsName: `dc01.${DOMAIN}` }));
    }
    alerts.push(mdeAlert({ machineId: hr }));
    alerts.push(mdeAlert({ dnsName: `kiosk-12.${DOMAIN}` }));
    alerts.push(mdeAlert({ machineId: offline }));
    const result = await h.submit(alerts);
    expect(result.accepted).toBe(alerts.length);
    await h.settle();

    expect(h.actionsOn(finance, 'Isolate')).toHaveLength(1);
    expect(h.actionsOn(hr, 'Isolate')).toHaveLength(1);
    expect(h.actionsOn(dc)).toHaveLength(0);
    expect(h.actionsOn(offline, 'Isolate')).toHaveLength(1);
    expect(h.sim.machineState(finance)?.isolated).toBe(true);
    expect(h.sim.machineState(hr)?.isolated).toBe(true);

    const succeeded = h.outcomes.filter((o) => o.outcome === 'succeeded');
    expect(new Set(succeeded.map((o) => o.machineId))).toEqual(new Set([finance, hr]));
    for (const record of succeeded) {
      expect(record).toMatchObject({
        actionStatus: 'Succeeded',
        policyVersion: 'integration-1',
        rule: 'isolate-high',
      });
      expect(record.timings.postedAt).not.toBeNull();
      expect(record.alert.alertId).toMatch(/^da/);
    }
    const dcOutcomes = h.outcomes.filter((o) => o.machineId === dc);
    expect(dcOutcomes.length).toBeGreaterThan(0);
    expect(dcOutcomes.every((o) => o.outcome === 'escalated' && o.rule === 'domain-controllers')).toBe(true);
    const kiosk = h.outcomeFor((d) => d.fqdn === `kiosk-12.${DOMAIN}`);
    expect(kiosk).toEqual([expect.objectContaining({ outcome: 'escalated', rule: 'ambiguous-device' })]);
    expect(kiosk[0].reason).toMatch(/matches 2 MDE machines/);
    expect(h.outcomes.filter((o) => o.machineId === offline)).toEqual([
      expect.objectContaining({ outcome: 'timed-out', actionStatus: 'TimeOut' }),
    ]);
    expect(h.runtime.inline?.deadLetters).toEqual([]);
    // The storm is coalesced on the store: fewer requests queued than alerts, yet every request
    // intake accepted, absorbed ones included, ends with exactly one outcome record.
    const queued = queuedRequestIds(result);
    expect(queued.length).toBeLessThan(alerts.length);
    const submitted = submittedRequestIds(result);
    expect(outcomesPerRequest(h, submitted).every((count) => count === 1)).toBe(true);
    expect(h.outcomes).toHaveLength(submitted.length);
    // Absorbed at intake: reported as duplicates naming the request that carries them, which was queued.
    const absorbed = result.alerts.flatMap((a) =>
      a.status === 'accepted' ? a.requests.filter((r) => r.duplicate) : [],
    );
    expect(absorbed.length).toBe(submitted.length - queued.length);
    for (const request of absorbed) {
      expect(queued).toContain(request.carriedBy);
      expect(h.outcomes.find((o) => o.requestId === request.requestId)).toMatchObject({
        outcome: 'coalesced',
        carriedBy: request.carriedBy,
      });
    }
  });
});
