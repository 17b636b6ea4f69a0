/**
 * The Sentinel incident's status decides what an isolation made for it does at its end: a renewal at
 * MDE's seven-day lift goes on only while the incident is New or Active, and a TimeOut's
 * retry-when-seen posts again only while it is open. The status is read from the simulator's ARM
 * stand-in with an ARM token from the real managed identity code; an incident the app may not read
 * stops both, for a person, naming the role to grant.
 */
import type { OutcomeRecord } from '../../shared/dispatch/outcome';
import { renewalRequestId } from '../../shared/dispatch/steps/renewal';
import { compressTiming } from '../../shared/dispatch/timing';
import { DAY_MS } from '../../shared/kernel/clock';
import { SENTINEL_INCIDENTS_API_VERSION } from '../../shared/sentinel/incidents';
import type { SimIncidentStatus } from '../../simulator';
import { alertOf } from '../support/alerts';
import { type Harness, startHarness, TEST_POLICY, until } from './harness';

const HOUR = 3_600_000;
const OFFLINE_MS = 3 * DAY_MS;

function policyWith(rule: Record<string, unknown>) {
  return {
    ...TEST_POLICY,
    rules: [{ name: 'isolate-high', minSeverity: 'high', action: 'isolate', isolationType: 'Full', ...rule }],
  };
}

let added = 0;
function newDevice(h: Harness, offline = false): string {
  added += 1;
  return h.sim.addMachine({
    name: `ws-incident-${added}.contoso.local`,
    osPlatform: 'Windows11',
    traits: { offline },
  }).id;
}

/** Decides and queues, as intake does, an isolation of `machineId` for a new Sentinel incident in `status`. */
async function isolateForIncident(h: Harness, machineId: string, status: SimIncidentStatus) {
  const incidentArmId = h.sim.addIncident(status, 'Ransomware on a workstation');
  const alert = alertOf({
    source: 'sentinel-incident',
    alertId: `incident-alert-${added}`,
    incidentId: incidentArmId.split('/').pop() ?? null,
    incidentArmId,
    devices: [{ mdeDeviceId: machineId }],
  });
  const [submitted] = await h.runtime.submit(alert, h.runtime.policy.decideAlert(alert));
  if (!submitted) throw new Error('the policy did not isolate');
  return { requestId: submitted.requestId, incidentArmId };
}

async function outcomeOf(h: Harness, requestId: string): Promise<OutcomeRecord> {
  await until(() => h.outcomes.some((o) => o.requestId === requestId), `the outcome of ${requestId}`);
  return h.outcomes.find((o) => o.requestId === requestId) as OutcomeRecord;
}

/** The incident reads the app made on the ARM stand-in, with their answers. */
function incidentReads(h: Harness, incidentArmId: string) {
  return h.sim
    .calls()
    .filter((c) => c.api === 'arm' && c.path.startsWith(incidentArmId))
    .map((c) => ({ method: c.method, path: c.path, status: c.status }));
}

describe('onLift: renew for a Sentinel incident', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({
      simulator: { lifecycle: { pendingMs: 5, inProgressMs: 5, offlineTimeoutMs: 1_500 } },
      policy: policyWith({ onLift: 'renew' }),
      clock: (sim) => ({ now: () => sim.now() }),
    });
  });
  afterAll(() => h.close());

  /** Isolates a new device for an incident, then brings MDE's lift due; answers the renewal's outcome. */
  async function atTheLift(status: SimIncidentStatus, atDaySeven: (incidentArmId: string) => void) {
    const machineId = newDevice(h);
    const { requestId, incidentArmId } = await isolateForIncident(h, machineId, status);
    expect(await outcomeOf(h, requestId)).toMatchObject({ outcome: 'succeeded' });
    const [first] = h.actionsOn(machineId, 'Isolate');
    atDaySeven(incidentArmId);
    h.sim.advanceTime(7 * 24 * HOUR + HOUR);
    h.runtime.inline?.wake();
    const renewal = await outcomeOf(h, renewalRequestId(String(first.id)));
    return { machineId, incidentArmId, first, renewal };
  }

  it('renews at day 7 while the incident is Active, having read it with an ARM token', async () => {
    const { machineId, incidentArmId, first, renewal } = await atTheLift('New', (id) =>
      h.sim.setIncidentStatus(id, 'Active'),
    );
    expect(renewal).toMatchObject({ outcome: 'succeeded' });
    const isolations = h.actionsOn(machineId, 'Isolate');
    expect(isolations).toHaveLength(2);
    expect(isolations.find((a) => a.id !== first.id)?.requestorComment).toContain(
      `[renewal at the platform lift of isolation ${first.id}]`,
    );
    // The stand-in answers 200 only to a token for ARM's audience.
    expect(incidentReads(h, incidentArmId)).toEqual([
      { method: 'GET', path: `${incidentArmId}?api-version=${SENTINEL_INCIDENTS_API_VERSION}`, status: 200 },
    ]);
  });

  it('lets the isolation lift when the incident is Closed, and says so in the outcome', async () => {
    const { machineId, renewal } = await atTheLift('Active', (id) => h.sim.setIncidentStatus(id, 'Closed'));
    expect(renewal).toMatchObject({
      outcome: 'skipped',
      reason: expect.stringMatching(/not renewing isolation .* Sentinel incident .* is Closed; MDE lifts/),
    });
    expect(h.actionsOn(machineId, 'Isolate')).toHaveLength(1);
  });

  it('escalates, naming the role to grant, when the incident cannot be read (403)', async () => {
    const { machineId, incidentArmId, renewal } = await atTheLift('Active', () =>
      h.sim.setIncidentReads('forbidden'),
    );
    h.sim.setIncidentReads('allowed');
    const workspace = incidentArmId.replace(/\/providers\/Microsoft\.SecurityInsights\/.*$/, '');
    expect(renewal).toMatchObject({
      outcome: 'escalated',
      reason: expect.stringContaining(
        `ARM answered 403 AuthorizationFailed reading the incident; grant the app's identity Microsoft Sentinel Reader on workspace ${workspace}`,
      ),
    });
    expect(h.actionsOn(machineId, 'Isolate')).toHaveLength(1);
  });

  it('retries the read while ARM is unavailable, and renews once it answers Active', async () => {
    const { incidentArmId, machineId, renewal } = await atTheLift('Active', () =>
      h.sim.setIncidentReads('unavailable', 2),
    );
    expect(renewal).toMatchObject({ outcome: 'succeeded' });
    expect(incidentReads(h, incidentArmId).map((r) => r.status)).toEqual([503, 503, 200]);
    expect(h.actionsOn(machineId, 'Isolate')).toHaveLength(2);
  });

  it('escalates after the bounded retries, saying why, and posts nothing', async () => {
    const { incidentArmId, machineId, renewal } = await atTheLift('Active', () =>
      h.sim.setIncidentReads('unavailable'),
    );
    h.sim.setIncidentReads('allowed');
    const attempts = compressTiming(0.001).transientMaxAttempts;
    expect(renewal).toMatchObject({
      outcome: 'escalated',
      reason: expect.stringContaining(
        `could not be read: ARM answered 503 ServiceUnavailable reading the incident, on ${attempts} attempts`,
      ),
    });
    expect(incidentReads(h, incidentArmId)).toHaveLength(attempts);
    expect(h.actionsOn(machineId, 'Isolate')).toHaveLength(1);
  });
});

describe('onTimeout: retry-when-seen for a Sentinel incident', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({
      policy: policyWith({ onTimeout: 'retry-when-seen' }),
      simulator: { lifecycle: { pendingMs: 5, inProgressMs: 5, offlineTimeoutMs: OFFLINE_MS } },
    });
  });
  afterAll(() => h.close());

  /** Isolates an offline device for an incident and lets MDE's three days pass; answers the first outcome. */
  async function timedOut(status: SimIncidentStatus, beforeTimeOut: (incidentArmId: string) => void) {
    const machineId = newDevice(h, true);
    const { requestId, incidentArmId } = await isolateForIncident(h, machineId, status);
    await until(() => h.actionsOn(machineId, 'Isolate').length > 0, 'the isolate POST');
    beforeTimeOut(incidentArmId);
    h.sim.advanceTime(OFFLINE_MS + 60_000);
    return { machineId, incidentArmId, first: await outcomeOf(h, requestId) };
  }

  it('posts the isolation again while the incident is open', async () => {
    const { machineId, incidentArmId, first } = await timedOut('Active', () => undefined);
    expect(first).toMatchObject({
      outcome: 'timed-out',
      reason: expect.stringContaining('posted again for when the device is next seen (retry 1 of 2'),
    });
    await until(() => h.actionsOn(machineId, 'Isolate').length === 2, 'the isolate posted again');
    expect(incidentReads(h, incidentArmId).map((r) => r.status)).toEqual([200]);
    h.sim.setMachine(machineId, { traits: { offline: false } });
    await until(() => h.sim.machineState(machineId)?.isolated === true, 'the device isolated');
    await h.settle();
  });

  it('asks ARM again when it does not answer, then posts again', async () => {
    const { machineId, incidentArmId, first } = await timedOut('Active', () =>
      h.sim.setIncidentReads('unavailable', 2),
    );
    expect(first).toMatchObject({
      outcome: 'timed-out',
      reason: expect.stringContaining('posted again for when the device is next seen'),
    });
    expect(incidentReads(h, incidentArmId).map((r) => r.status)).toEqual([503, 503, 200]);
    await until(() => h.actionsOn(machineId, 'Isolate').length === 2, 'the isolate posted again');
    h.sim.setMachine(machineId, { traits: { offline: false } });
    await until(() => h.sim.machineState(machineId)?.isolated === true, 'the device isolated');
    await h.settle();
  });

  it('posts nothing again once the incident is Closed', async () => {
    const { machineId, first } = await timedOut('Active', (id) => h.sim.setIncidentStatus(id, 'Closed'));
    expect(first).toMatchObject({
      outcome: 'timed-out',
      reason: expect.stringMatching(/ended TimeOut; not posted again: Sentinel incident .* is Closed$/),
    });
    await h.settle();
    expect(h.actionsOn(machineId, 'Isolate')).toHaveLength(1);
    expect((await h.runtime.store.register.get(machineId))?.state).toBe('timed-out');
  });
});
