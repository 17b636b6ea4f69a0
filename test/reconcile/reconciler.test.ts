/**
 * The reconciler against the simulator and the real store: each kind of drift found, classified,
 * corrected in the register and reported, with one machineactions list call for the whole register
 * and nothing posted (docs/decisions/0017-reconciler-and-drift.md).
 */
import { DAY_MS } from '../../shared/kernel/clock';
import { ACTION_BEFORE_RECORD_MS, Reconciler, sinceOf } from '../../shared/reconcile/reconciler';
import { parseReport } from '../../shared/reconcile/report';
import type { IsolationRecord, IsolationState, RegisterAction } from '../../shared/state/store';
import { SYSTEM_IDENTITY_CLIENT_ID } from '../../simulator';
import { type Harness, startHarness, untilActionStatus } from '../integration/harness';
import { isolationsInForce } from '../support/isolations-in-force';
import { recordingReporter } from '../support/reporter';

const DAY = DAY_MS;
let h: Harness;
let added = 0;

beforeAll(async () => {
  h = await startHarness();
});
afterAll(() => h.close());

function device(traits: { offline?: boolean; failActions?: boolean } = {}): string {
  added += 1;
  return h.sim.addMachine({ name: `ws-recon-${added}.contoso.local`, osPlatform: 'Windows11', traits }).id;
}

/** The register's belief, written as the worker would have after following `actionId`. */
async function believe(
  machineId: string,
  state: IsolationState,
  action: Pick<RegisterAction, 'actionId' | 'type'>,
) {
  await h.runtime.store.register.record({
    machineId,
    state,
    requestId: `req-${machineId.slice(0, 8)}`,
    reason: 'test',
    provenance: {
      requestedBy: { kind: 'rule', name: 'isolate-high' },
      alertSource: 'mde-alert',
      alertId: `alert-${machineId.slice(0, 8)}`,
      incidentId: null,
      incidentArmId: null,
      policyVersion: 'integration-1',
      mode: 'enforce',
      reason: 'test',
    },
    action: {
      ...action,
      status: 'Succeeded',
      requestor: SYSTEM_IDENTITY_CLIENT_ID,
      requestSource: 'PublicApi',
    },
  });
}

/** This app's isolation of a fresh device, ended as `end` says, and the register believing it isolated. */
async function ourIsolation(traits: { offline?: boolean; failActions?: boolean } = {}) {
  const machineId = device(traits);
  const action = await h.runtime.api.isolate(machineId, 'mde-isolator: test', 'Full');
  await believe(machineId, 'isolated', { actionId: action.id, type: 'Isolate' });
  return { machineId, action };
}

function reconcilerAt(offsetMs: number) {
  const { reporter, notes } = recordingReporter();
  const expiring: { machineId: string; expiresAt: string | null | undefined }[] = [];
  const inline = h.runtime.inline;
  if (!inline) throw new Error('inline harness');
  const reconciler = new Reconciler({
    api: h.runtime.api,
    store: h.runtime.store,
    throttle: h.runtime.throttle,
    queue: inline,
    reporter,
    identity: h.runtime.identity,
    clock: { now: () => h.sim.now() + offsetMs },
    expiringSoon: (record) => expiring.push({ machineId: record.machineId, expiresAt: record.expiresAt }),
  });
  const order = {
    action: 'reconcile' as const,
    requestId: `recon-${offsetMs}`,
    requestedBy: 'test',
    requestedAt: new Date().toISOString(),
    deferrals: 0,
  };
  return { run: () => reconciler.run(order), notes, expiring };
}

const stateOf = async (machineId: string) => (await h.runtime.store.register.get(machineId))?.state;

it('finds, classifies and corrects each kind of drift with one list call, posting nothing', async () => {
  const confirmed = await ourIsolation();
  const released = await ourIsolation();
  const superseded = await ourIsolation();
  const failed = await ourIsolation({ failActions: true });
  const cancelled = await ourIsolation({ offline: true });
  await h.runtime.api.cancelMachineAction(cancelled.action.id, 'test: changed my mind');
  for (const { action } of [confirmed, released, superseded, failed])
    await untilActionStatus(h, action.id, action === failed.action ? 'Failed' : 'Succeeded');
  h.sim.portalAction(released.machineId, 'Unisolate', {
    requestor: 'analyst@contoso.com',
    comment: 'false positive',
  });
  h.sim.portalAction(superseded.machineId, 'Isolate', {
    requestor: 'analyst@contoso.com',
    comment: 'keep it',
  });
  // A device the register holds as released, which Defender's attack disruption isolates.
  const disrupted = device();
  await believe(disrupted, 'released', {
    actionId: '00000000-0000-4000-8000-000000000001',
    type: 'Unisolate',
  });
  const theirs = h.sim.defenderAction(disrupted, 'attack-disruption');
  // An offline device's isolation that ends TimeOut after three days.
  const offline = await ourIsolation({ offline: true });
  h.sim.advanceTime(3 * DAY + 60_000);

  const confirmedBefore = await h.runtime.store.register.get(confirmed.machineId);
  expect(confirmedBefore?.confirmedAt).toBeNull();

  h.sim.resetCalls();
  const { run, notes } = reconcilerAt(0);
  const report = await run();

  expect(h.sim.calls().filter((c) => c.api === 'machineactions')).toHaveLength(1);
  expect(h.sim.calls().filter((c) => c.method === 'POST')).toEqual([]);
  const kinds = Object.fromEntries(
    (report?.drifts ?? []).map((d) => [d.machineId, [d.kind, d.actor, d.correctedTo]]),
  );
  expect(kinds).toEqual({
    [released.machineId]: ['released', 'person', 'released'],
    [superseded.machineId]: ['superseded', 'person', 'isolated'],
    [failed.machineId]: ['failed', 'this-app', 'failed'],
    [cancelled.machineId]: ['cancelled', 'this-app', 'cancelled'],
    [offline.machineId]: ['timed-out', 'this-app', 'timed-out'],
    [disrupted]: ['isolated-by-someone-else', 'attack-disruption', 'isolated'],
  });
  expect(report?.drifts.find((d) => d.machineId === disrupted)?.reason).toBe(
    `isolated by Defender (action ${theirs.id} by Automatic attack disruption, Succeeded)`,
  );
  expect(report?.drifts.find((d) => d.machineId === released.machineId)).toMatchObject({
    by: 'analyst@contoso.com',
  });
  expect(report?.confirmed).toBeGreaterThanOrEqual(1);
  // The register says what MDE says; a person's release stays a release.
  expect(await stateOf(released.machineId)).toBe('released');
  expect(await stateOf(confirmed.machineId)).toBe('isolated');
  // The isolation MDE still lists in force is confirmed by this run, with no step in its history.
  expect(await h.runtime.store.register.get(confirmed.machineId)).toMatchObject({
    confirmedAt: report?.startedAt,
    history: confirmedBefore?.history,
  });
  // A corrected record is not confirmed.
  expect((await h.runtime.store.register.get(released.machineId))?.confirmedAt).toBeNull();
  expect(await stateOf(offline.machineId)).toBe('timed-out');
  expect((await h.runtime.store.register.get(superseded.machineId))?.actions[0]).toMatchObject({
    requestor: 'analyst@contoso.com',
  });
  // Each drift an event; the report kept for GET /api/drift and the CLI.
  expect(notes.filter((n) => n.event === 'isolation-drift')).toHaveLength(6);
  const stored = parseReport(await h.runtime.store.drift.latest());
  expect(stored).toMatchObject({
    driftCount: 6,
    byKind: {
      released: 1,
      superseded: 1,
      failed: 1,
      cancelled: 1,
      'timed-out': 1,
      'isolated-by-someone-else': 1,
    },
  });

  // Run again: corrected, nothing drifts twice.
  expect((await reconcilerAt(0).run())?.drifts).toEqual([]);

  // Seven days after it took effect, with no release, MDE has lifted this app's isolation.
  const later = await reconcilerAt(8 * DAY).run();
  expect(later?.drifts.find((d) => d.machineId === confirmed.machineId)).toMatchObject({
    kind: 'lifted-by-platform',
    actionId: confirmed.action.id,
    correctedTo: 'lifted',
  });
  expect(await stateOf(confirmed.machineId)).toBe('lifted');
});

it('runs on the worker for an order the runtime queues, and keeps its report', async () => {
  await h.runtime.requestReconciliation('timer');
  await h.settle();
  expect(parseReport(await h.runtime.store.drift.latest())).toMatchObject({ requestedBy: 'timer' });
});

describe('1,000 isolations in force', () => {
  let big: Harness;
  beforeAll(async () => {
    // Pages of 400 actions, so the read needs several: they are followed, never one call per device.
    big = await startHarness({
      simulator: { listPageSize: 400, fleet: { curated: false, generate: 1_000, offlineShare: 0 } },
    });
  });
  afterAll(() => big.close());

  it('reads them all in a few list calls, whatever the page size, and confirms them', async () => {
    const machines = big.sim.machines().map((m) => m.id);
    await isolationsInForce(big.sim, big.runtime.store, machines);
    big.sim.portalAction(machines[0], 'Unisolate', { requestor: 'analyst@contoso.com', comment: 'done' });
    big.sim.advanceTime(60_000);
    big.sim.resetCalls();
    await big.runtime.requestReconciliation('test');
    await big.settle();
    const report = parseReport(await big.runtime.store.drift.latest());
    expect(report).toMatchObject({
      devices: 1_000,
      inForce: 1_000,
      actionsRead: 1_001,
      confirmed: 999,
      driftCount: 1,
    });
    // ceil(1,001 / 400) pages: one call per page, none per device.
    expect(big.sim.calls().filter((c) => c.api === 'machineactions')).toHaveLength(3);
    expect(big.sim.calls().filter((c) => c.api !== 'machineactions' && c.api !== 'token')).toEqual([]);
  });
});

it('tells the isolations in force that end within a day, not those that end later or drifted', async () => {
  const soon = await ourIsolation();
  const later = await ourIsolation();
  const released = await ourIsolation();
  for (const { action } of [soon, later, released]) await untilActionStatus(h, action.id, 'Succeeded');
  const endsAt = (ms: number) => new Date(h.sim.now() + ms).toISOString();
  for (const [{ machineId }, ms] of [
    [soon, 6 * 60 * 60_000],
    [later, 3 * DAY],
    [released, 6 * 60 * 60_000],
  ] as const)
    await h.runtime.store.register.record({
      machineId,
      state: 'isolated',
      requestId: `req-${machineId.slice(0, 8)}`,
      reason: 'time box',
      expiresAt: endsAt(ms),
      expiresBy: 'time-box',
    });
  h.sim.portalAction(released.machineId, 'Unisolate', { requestor: 'analyst@contoso.com', comment: 'done' });
  const { run, expiring } = reconcilerAt(0);
  await run();
  expect(expiring.map((e) => e.machineId)).toEqual([soon.machineId]);
});

it("reads from before the oldest isolation's record, so the action its request posted is in the read", () => {
  // The record is written once MDE answered the POST: its action was created a moment before it.
  const requestedAt = Date.parse('2026-12-01T10:00:05.000Z');
  const actionCreated = Date.parse('2026-12-01T10:00:04.300Z');
  const record = { state: 'isolated', requestedAt: new Date(requestedAt).toISOString() } as IsolationRecord;
  const since = sinceOf([record], requestedAt + 3 * DAY);
  expect(since).toBeLessThanOrEqual(actionCreated);
  expect(since).toBe(requestedAt - ACTION_BEFORE_RECORD_MS);
});
