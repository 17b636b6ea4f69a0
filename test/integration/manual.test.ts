/**
 * The manual operations over HTTP, end to end: the function handlers, the runtime, the simulator and
 * the Table store on Azurite, whose register and action ledger the worker writes.
 */
import { HttpRequest, type HttpResponseInit, InvocationContext } from '@azure/functions';
import {
  action,
  cancelAction,
  isolate,
  isolation,
  isolations,
  machineIsolate,
  machineUnisolate,
  release,
} from '../../functions/manual';
import { closeRuntime, getRuntime, installRuntime, type Runtime } from '../../shared/runtime';
import { type StateStore, StoreUnavailableError } from '../../shared/state/store';
import { TableStateStore } from '../../shared/state/table';
import { type RunningAzurite, startAzurite } from '../../simulator/azurite';
import { mdeAlert } from '../support/alert-payloads';
import { type Harness, isolateRequest, startHarness, until, untilActionStatus } from './harness';

const DOMAIN = 'contoso.local';
type Handler = (request: HttpRequest, context: InvocationContext) => Promise<HttpResponseInit>;

let azurite: RunningAzurite;
let prefix = 0;
beforeAll(async () => {
  azurite = await startAzurite();
}, 30_000);
afterAll(() => azurite?.stop());

function freshStore(): StateStore {
  prefix += 1;
  return new TableStateStore(
    { kind: 'connection-string', connectionString: azurite.connectionString },
    { tablePrefix: `m${process.pid}x${prefix}` },
  );
}

async function startManual(env: Record<string, string> = {}): Promise<{ h: Harness; store: StateStore }> {
  const store = freshStore();
  const h = await startHarness({ store, env });
  installRuntime(h.runtime);
  return { h, store };
}

/** The installed runtime is the harness's: closing it closes the harness runtime. */
async function stop(h: Harness) {
  await closeRuntime();
  await h.sim.close();
}

interface Call {
  body?: unknown;
  raw?: string;
  headers?: Record<string, string>;
  params?: Record<string, string>;
  query?: string;
}

async function call(handler: Handler, { body, raw, headers, params, query }: Call = {}) {
  const text = raw ?? (body === undefined ? undefined : JSON.stringify(body));
  const request = new HttpRequest({
    url: `http://localhost/api/manual${query ? `?${query}` : ''}`,
    method: text === undefined ? 'GET' : 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    params,
    body: text === undefined ? undefined : { string: text },
  });
  const response = await handler(request, new InvocationContext({ logHandler: () => undefined }));
  // biome-ignore lint/suspicious/noExplicitAny: the tests read nested fields of the JSON answers
  return { status: response.status, body: response.jsonBody as Record<string, any> };
}

function principal(claims: Array<[string, string]>): string {
  return Buffer.from(
    JSON.stringify({
      auth_typ: 'aad',
      name_typ: 'name',
      role_typ: 'roles',
      claims: claims.map(([typ, val]) => ({ typ, val })),
    }),
  ).toString('base64');
}

function untilRegistered(store: StateStore, machineId: string, state: string): Promise<void> {
  return until(
    async () => (await store.register.get(machineId))?.state === state,
    `the register showing ${machineId} ${state}`,
  );
}

async function untilLedgered(store: StateStore, machineId: string) {
  await until(
    async () => (await store.actions.forMachine(machineId)).length > 0,
    `the ledger showing an action on ${machineId}`,
  );
  const [entry] = await store.actions.forMachine(machineId);
  return entry;
}

const commentOf = (h: Harness, actionId: string) =>
  String(h.sim.actions().find((a) => a.id === actionId)?.requestorComment);

describe('manual isolate and release, with the function key', () => {
  let h: Harness;
  let store: StateStore;
  beforeAll(async () => {
    ({ h, store } = await startManual());
  }, 30_000);
  afterAll(() => stop(h));

  it('isolates, adopts the pending action, reports already isolated, releases; the register shows each step', async () => {
    const machineId = h.machineId(`ws-finance-01.${DOMAIN}`);
    // Offline, the isolation stays pending until the device comes back: a second request meets it.
    h.sim.setMachine(machineId, { traits: { offline: true } });
    const posted = await call(isolate, {
      body: { hostname: 'ws-finance-01', comment: 'ransomware on finance' },
    });
    expect(posted.status).toBe(201);
    expect(posted.body).toMatchObject({
      status: 'posted',
      posted: true,
      action: { type: 'Isolate', machineId },
    });
    const actionId = posted.body.action.id;
    expect(commentOf(h, actionId)).toContain('ransomware on finance (by function key)');

    const again = await call(isolate, { body: { machineId, comment: 'second analyst' } });
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ status: 'adopted', adopted: true, action: { id: actionId } });

    h.sim.setMachine(machineId, { traits: { offline: false } });
    await untilActionStatus(h, actionId, 'Succeeded');
    // The tracker writes the register when it sees the action end.
    await untilRegistered(store, machineId, 'isolated');
    const done = await call(isolate, { body: { machineId, comment: 'third time' } });
    expect(done).toMatchObject({
      status: 200,
      body: { status: 'already-isolated', record: { state: 'isolated' } },
    });

    const listed = await call(isolations, { query: 'state=isolated' });
    expect(listed.status).toBe(200);
    expect(listed.body.items.map((r: { machineId: string }) => r.machineId)).toContain(machineId);

    const released = await call(release, { body: { machineId, comment: 'clean after reimage' } });
    expect(released.status).toBe(201);
    expect(released.body.action).toMatchObject({ type: 'Unisolate', machineId });

    const record = await call(isolation, { params: { machineId } });
    expect(record.status).toBe(200);
    // The simulator may already have completed the release: releasing, or released after it.
    expect(['releasing', 'released']).toContain(record.body.record.state);
    expect(record.body.record.history.map((t: { state: string }) => t.state).slice(-3)).toEqual([
      'releasing',
      'isolated',
      'isolating',
    ]);
    expect(record.body.actions.map((a: { actionId: string }) => a.actionId)).toContain(actionId);

    const read = await call(action, { params: { actionId } });
    expect(read).toMatchObject({
      status: 200,
      body: { action: { id: actionId }, recorded: { requestId: posted.body.requestId } },
    });
  }, 30_000);

  it('refuses to release an isolation another requestor made, unless forced with a reason', async () => {
    const machineId = h.machineId(`ws-hr-02.${DOMAIN}`);
    // An analyst in the portal, not this app.
    const theirs = h.sim.portalAction(machineId, 'Isolate', {
      requestor: 'analyst@contoso.com',
      comment: 'analyst: suspicious logon',
    });
    await untilActionStatus(h, theirs.id, 'Succeeded');
    const refused = await call(release, { body: { machineId, comment: 'not ours' } });
    expect(refused.status).toBe(409);
    expect(refused.body).toMatchObject({
      error: { code: 'isolated-by-someone-else' },
      isolatedBy: { actionId: theirs.id, requestor: theirs.requestor },
    });
    expect(h.actionsOn(machineId, 'Unisolate')).toHaveLength(0);

    expect((await call(release, { body: { machineId, comment: 'x', force: true } })).body.error.path).toBe(
      '$.reason',
    );
    const forced = await call(release, {
      body: {
        machineId,
        comment: 'incident closed',
        force: true,
        reason: 'analyst on leave, approved by SOC lead',
      },
    });
    expect(forced.status).toBe(201);
    expect(commentOf(h, forced.body.action.id)).toContain(
      '[release forced: analyst on leave, approved by SOC lead]',
    );
  }, 30_000);

  it('isolates again a device the register shows isolated once an analyst released it in the portal: the register is a belief', async () => {
    const machineId = h.machineId(`lnx-app-01.${DOMAIN}`);
    const posted = await call(isolate, { body: { machineId, comment: 'exfiltration' } });
    expect(posted.status).toBe(201);
    await untilActionStatus(h, posted.body.action.id, 'Succeeded');
    await untilRegistered(store, machineId, 'isolated');
    const released = h.sim.portalAction(machineId, 'Unisolate', {
      requestor: 'analyst@contoso.com',
      comment: 'analyst: false positive',
    });
    await untilActionStatus(h, released.id, 'Succeeded');
    expect(h.sim.machineState(machineId)?.isolated).toBe(false);
    // Nothing told the register yet (the reconciler has not run): it still says isolated.
    expect((await store.register.get(machineId))?.state).toBe('isolated');

    const again = await call(isolate, { body: { machineId, comment: 'exfiltration resumed' } });
    expect(again.status).toBe(201);
    expect(again.body).toMatchObject({ status: 'posted', action: { type: 'Isolate', machineId } });
    await untilActionStatus(h, again.body.action.id, 'Succeeded');
    expect(h.sim.machineState(machineId)?.isolated).toBe(true);
  }, 30_000);

  it('refuses a protected device without override; with override and a reason isolates it, recorded', async () => {
    const machineId = h.machineId(`dc01.${DOMAIN}`);
    const protectedOne = await call(isolate, { body: { fqdn: `dc01.${DOMAIN}`, comment: 'dc compromised' } });
    expect(protectedOne).toMatchObject({
      status: 422,
      body: { error: { code: 'protected' }, decision: { rule: 'domain-controllers' } },
    });
    expect((await call(isolate, { body: { machineId, comment: 'x', override: true } })).status).toBe(400);
    expect(h.actionsOn(machineId)).toHaveLength(0);

    // Watched from before the call: the register shows `isolated` before the outcome is reported.
    const outcomes = h.runtime.watchOutcomes();
    const overridden = await call(isolate, {
      body: { machineId, comment: 'dc compromised', override: true, reason: 'golden ticket seen' },
    });
    expect(overridden).toMatchObject({ status: 201, body: { status: 'posted', action: { machineId } } });
    const actionId = overridden.body.action.id;
    // The MDE comment names the waiver and who asked; the decision's rule says protections were overridden.
    expect(commentOf(h, actionId)).toContain('rule manual-override');
    expect(commentOf(h, actionId)).toContain('(protections overridden: golden ticket seen): dc compromised');
    await untilActionStatus(h, actionId, 'Succeeded');
    await untilRegistered(store, machineId, 'isolated');
    const record = await store.register.get(machineId);
    expect(record?.provenance.reason).toMatch(
      /protections overridden by function key \(golden ticket seen\): protected by domain-controllers/,
    );
    const outcome = await outcomes.of(overridden.body.requestId);
    outcomes.stop();
    expect(outcome.outcome).toBe('succeeded');
    expect(outcome.alert.title).toMatch(/^Manual request \(protections overridden: golden ticket seen\)/);
    // The breaker counts the manual isolation (it never blocks one).
    expect((await store.breaker.status({ limit: 100, windowMs: 3_600_000 })).count).toBeGreaterThanOrEqual(1);
  }, 30_000);

  it('contains (UnManagedDevice) only a device MDE lists as not onboarded; the breaker counts it', async () => {
    const old = h.machineId(`ws-old-1607.${DOMAIN}`);
    const onboarded = await call(isolate, {
      body: { hostname: 'ws-old-1607', comment: 'contain', isolationType: 'UnManagedDevice' },
    });
    expect(onboarded).toMatchObject({ status: 422, body: { error: { code: 'device-onboarded' } } });
    expect(h.actionsOn(old)).toHaveLength(0);

    const nas = h.machineId(`nas-01.${DOMAIN}`);
    // Full isolation cannot reach a device MDE does not manage: refused, naming the containment.
    const full = await call(isolate, { body: { fqdn: `nas-01.${DOMAIN}`, comment: 'isolate' } });
    expect(full).toMatchObject({ status: 422, body: { error: { code: 'not-isolatable' } } });
    expect(full.body.error.message).toMatch(/not onboarded .*UnManagedDevice/);

    const limits = { limit: 100, windowMs: 3_600_000 };
    const before = (await store.breaker.status(limits)).count;
    const contained = await call(isolate, {
      body: { fqdn: `nas-01.${DOMAIN}`, comment: 'NAS beaconing', isolationType: 'UnManagedDevice' },
    });
    expect(contained).toMatchObject({
      status: 201,
      body: { status: 'posted', action: { type: 'Isolate', scope: 'UnManagedDevice', machineId: nas } },
    });
    expect(commentOf(h, contained.body.action.id)).toContain('isolate UnManagedDevice');
    await untilActionStatus(h, contained.body.action.id, 'Succeeded');
    await untilRegistered(store, nas, 'isolated');
    expect((await store.breaker.status(limits)).count).toBe(before + 1);

    // Released like an isolation (MDE's "release from containment" is the same unisolate).
    const released = await call(release, { body: { machineId: nas, comment: 'NAS patched' } });
    expect(released).toMatchObject({ status: 201, body: { action: { type: 'Unisolate' } } });
  }, 30_000);

  it('answers 404 for an unknown device and 422 listing the candidates for an ambiguous name', async () => {
    expect((await call(isolate, { body: { hostname: 'no-such-host', comment: 'x' } })).status).toBe(404);
    const ambiguous = await call(isolate, { body: { hostname: 'kiosk-12', comment: 'x' } });
    expect(ambiguous.status).toBe(422);
    expect(ambiguous.body.error.code).toBe('ambiguous-device');
    expect(ambiguous.body.candidates).toHaveLength(2);
    expect(ambiguous.body.candidates[0]).toEqual({
      machineId: expect.stringMatching(/^[0-9a-f]{40}$/),
      computerDnsName: `kiosk-12.${DOMAIN}`,
      lastSeen: expect.any(String),
    });
  });

  it('refuses a device MDE cannot isolate with the platform reason: 422', async () => {
    const answer = await call(isolate, { body: { fqdn: `mac-old-02.${DOMAIN}`, comment: 'old client' } });
    expect(answer).toMatchObject({
      status: 422,
      body: { error: { code: 'not-isolatable' }, decision: { rule: 'platform' } },
    });
  });

  it('answers a dry run with the decision and posts nothing', async () => {
    const machineId = h.machineId(`web1.${DOMAIN}`);
    const dry = await call(isolate, { body: { machineId, comment: 'what would happen', dryRun: true } });
    expect(dry).toMatchObject({
      status: 200,
      body: { status: 'dry-run', posted: false, decision: { action: 'isolate', rule: 'manual' } },
    });
    expect(dry.body.would).toMatch(/^would isolate web1\.contoso\.local \(Full\)/);
    const dryRelease = (force = {}) =>
      call(release, { body: { machineId, comment: 'would it?', dryRun: true, ...force } });
    // Nothing on record: whose isolation may be in force is unknown, as enforce would answer; forced,
    // enforce would post the release and let MDE decide, and the answer says so.
    expect(await dryRelease()).toMatchObject({
      status: 409,
      body: { error: { code: 'provenance-unknown' } },
    });
    expect((await dryRelease({ force: true, reason: 'reimaged' })).body.would).toMatch(
      /^would release .*although MDE lists no isolation of it/,
    );
    expect(h.actionsOn(machineId)).toHaveLength(0);

    // An analyst isolated and released it since: no isolation is in force, nobody's to undo, and a
    // release would be skipped, which the dry run says instead of "would release".
    const theirs = await h.runtime.api.isolate(machineId, 'analyst: isolate', 'Full');
    await untilActionStatus(h, theirs.id, 'Succeeded');
    const released = await h.runtime.api.release(machineId, 'analyst: release');
    await untilActionStatus(h, released.id, 'Succeeded');
    const afterRelease = await dryRelease();
    expect(afterRelease).toMatchObject({ status: 200, body: { status: 'dry-run', actionId: released.id } });
    expect(afterRelease.body.would).toBe(
      `would not release web1.contoso.local: not isolated: released by action ${released.id}`,
    );
  }, 30_000);

  const releasingRecord = (machineId: string, requestId: string) =>
    store.register.record({
      machineId,
      state: 'releasing',
      requestId,
      reason: 'release posted',
      provenance: {
        requestedBy: { kind: 'caller', name: 'someone' },
        alertSource: 'manual',
        alertId: 'a',
        incidentId: null,
        incidentArmId: null,
        policyVersion: 'test',
        mode: 'enforce',
        reason: 'r',
      },
    });

  it('refuses an isolation while a release of the device is under way: 409', async () => {
    const machineId = h.sim.addMachine({ name: `ws-releasing-01.${DOMAIN}`, osPlatform: 'Windows11' }).id;
    // Offline, the release stays pending.
    h.sim.setMachine(machineId, { traits: { offline: true } });
    h.sim.portalAction(machineId, 'Unisolate', { requestor: 'analyst@contoso.com', comment: 'release' });
    await releasingRecord(machineId, 'req-release-ws-releasing-01');
    const answer = await call(isolate, { body: { machineId, comment: 'again' } });
    expect(answer).toMatchObject({ status: 409, body: { error: { code: 'opposite-pending' } } });
  });

  it('isolates a device the register shows releasing when MDE lists no release under way: the register is a belief', async () => {
    const machineId = h.machineId(`web10.${DOMAIN}`);
    // The release's tracking was lost: the register never heard that it ended.
    await releasingRecord(machineId, 'req-release-web10');
    const answer = await call(isolate, { body: { machineId, comment: 'again' } });
    expect(answer).toMatchObject({
      status: 201,
      body: { status: 'posted', action: { type: 'Isolate', machineId } },
    });
  });

  it('speaks MDE: /machines/{id}/isolate answers the MachineAction itself', async () => {
    const machineId = h.machineId(`mac-design-01.${DOMAIN}`);
    const answer = await call(machineIsolate, {
      params: { id: machineId },
      body: { Comment: 'script written for MDE', IsolationType: 'Selective' },
    });
    expect(answer.status).toBe(201);
    expect(answer.body).toMatchObject({ type: 'Isolate', machineId, scope: 'Selective' });
    const bad = await call(machineUnisolate, { params: { id: 'not-a-machine' }, body: { Comment: 'x' } });
    expect(bad).toMatchObject({ status: 400, body: { error: { path: '$.machineId' } } });
  }, 30_000);

  it('with Service Bus answers 202 with the request id, or with wait the action once the worker posted it', async () => {
    // The worker is this process's inline one; what changes with Service Bus is only whether the answer waits.
    const installed = getRuntime();
    installRuntime({ ...installed, mode: 'service-bus' });
    try {
      const queued = await call(isolate, { body: { hostname: 'wks-lab', comment: 'queued' } });
      expect(queued).toMatchObject({
        status: 202,
        body: { status: 'queued', requestId: expect.any(String) },
      });
      const machineId = h.machineId(`hv-host-01.${DOMAIN}`);
      const waited = await call(isolate, { body: { machineId, comment: 'waited', wait: true } });
      expect(waited).toMatchObject({ status: 201, body: { status: 'posted', action: { machineId } } });
    } finally {
      installRuntime(installed);
    }
  }, 30_000);

  it('refuses bad bodies with 400, 413 and 415, naming what and where', async () => {
    expect((await call(isolate, { raw: '{"comment":' })).body.error.code).toBe('invalid-json');
    const two = await call(isolate, { body: { hostname: 'a', machineId: 'b'.repeat(40), comment: 'x' } });
    // The second identifier given is the one that is too many.
    expect(two).toMatchObject({
      status: 400,
      body: { error: { code: 'invalid-order', path: '$.hostname' } },
    });
    expect(
      (await call(isolate, { body: { hostname: 'web1', comment: 'x', colour: 'red' } })).body.error.path,
    ).toBe('$.colour');
    expect((await call(isolate, { body: { hostname: 'web1' } })).body.error.path).toBe('$.comment');
    expect((await call(isolate, { body: { hostname: 'web1', comment: 'c'.repeat(20_000) } })).status).toBe(
      413,
    );
    expect(
      (await call(isolate, { raw: 'hostname=web1', headers: { 'content-type': 'text/plain' } })).status,
    ).toBe(415);
  });

  it("cancels this app's pending action, another's only with force, through the cancel quota", async () => {
    const posted = await call(isolate, {
      body: { hostname: 'laptop-offline-07', comment: 'wrong laptop' },
    });
    expect(posted.status).toBe(201);
    const ownId = posted.body.action.id;
    const noReason = await call(cancelAction, { params: { actionId: ownId }, body: {} });
    expect(noReason).toMatchObject({ status: 400, body: { error: { path: '$.reason' } } });
    const cancelled = await call(cancelAction, { params: { actionId: ownId }, body: { reason: 'typo' } });
    expect(cancelled).toMatchObject({
      status: 200,
      body: { status: 'cancelled', forced: false, action: { id: ownId, status: 'Cancelled' } },
    });
    expect(h.sim.actions().find((a) => a.id === ownId)?.cancellationComment).toBe(
      'mde-isolator: cancel requested by function key: typo',
    );
    const again = await call(cancelAction, { params: { actionId: ownId }, body: { reason: 'again' } });
    expect(again).toMatchObject({ status: 409, body: { error: { code: 'action-final' } } });

    // An analyst's pending action, posted in the portal.
    const lnx = h.machineId(`lnx-app-01.${DOMAIN}`);
    h.sim.setMachine(lnx, { traits: { offline: true } });
    const theirs = h.sim.portalAction(lnx, 'Isolate', {
      requestor: 'analyst@contoso.com',
      comment: 'analyst: contain the miner',
    });
    const refused = await call(cancelAction, { params: { actionId: theirs.id }, body: { reason: 'oops' } });
    expect(refused).toMatchObject({ status: 409, body: { error: { code: 'posted-by-someone-else' } } });
    const forced = await call(cancelAction, {
      params: { actionId: theirs.id },
      body: { reason: 'approved by SOC lead', force: true },
    });
    expect(forced).toMatchObject({ status: 200, body: { forced: true, action: { status: 'Cancelled' } } });
    expect(h.sim.actions().find((a) => a.id === theirs.id)?.cancellationComment).toBe(
      'mde-isolator: cancel (forced: not posted by this app) requested by function key: approved by SOC lead',
    );
    // Two cancels reached MDE, each counted by the throttle's own family.
    expect(h.sim.calls().filter((c) => c.api === 'cancel')).toHaveLength(2);
    const counted = h.runtime.throttle.checkpoint().find((c) => c.api === 'cancel');
    expect(counted?.stamps).toHaveLength(2);

    const unknown = '00000000-0000-4000-8000-000000000000';
    expect((await call(cancelAction, { params: { actionId: unknown }, body: { reason: 'x' } })).status).toBe(
      404,
    );
    expect((await call(cancelAction, { params: { actionId: 'nope' }, body: { reason: 'x' } })).status).toBe(
      400,
    );
  }, 30_000);

  it('reads: 400 for bad ids and states, 404 for unknown ones', async () => {
    expect((await call(isolations, { query: 'state=sleeping' })).status).toBe(400);
    expect((await call(isolation, { params: { machineId: 'xyz' } })).status).toBe(400);
    expect((await call(isolation, { params: { machineId: 'e'.repeat(40) } })).status).toBe(404);
    expect((await call(action, { params: { actionId: 'nope' } })).status).toBe(400);
    expect(
      (await call(action, { params: { actionId: '00000000-0000-4000-8000-000000000000' } })).status,
    ).toBe(404);
  });
});

describe('manual orders naming the device by its IP', () => {
  let h: Harness;
  beforeAll(async () => {
    ({ h } = await startManual());
  }, 30_000);
  afterAll(() => stop(h));

  const ipOf = (machineId: string) => String(h.sim.machines().find((m) => m.id === machineId)?.lastIpAddress);

  it('isolates and releases the one machine MDE saw on that IP', async () => {
    const machineId = h.machineId(`ws-finance-01.${DOMAIN}`);
    const posted = await call(isolate, { body: { ip: ipOf(machineId), comment: 'beaconing from this IP' } });
    expect(posted.status).toBe(201);
    expect(posted.body).toMatchObject({ status: 'posted', action: { type: 'Isolate', machineId } });
    await untilActionStatus(h, posted.body.action.id, 'Succeeded');

    const released = await call(release, { body: { ip: ipOf(machineId), comment: 'cleaned' } });
    expect(released.status).toBe(201);
    expect(released.body).toMatchObject({ status: 'posted', action: { type: 'Unisolate', machineId } });
  });

  it('escalates an IP two machines were seen on, listing both, and posts nothing', async () => {
    const hr = h.machineId(`ws-hr-02.${DOMAIN}`);
    const web = h.machineId(`web1.${DOMAIN}`);
    h.sim.setMachine(web, { entity: { lastIpAddress: ipOf(hr) } });
    const before = h.sim.actions().length;
    const shared = await call(isolate, { body: { ip: ipOf(hr), comment: 'x' } });
    expect(shared.status).toBe(422);
    expect(shared.body.error.code).toBe('ambiguous-device');
    expect(shared.body.candidates.map((c: { machineId: string }) => c.machineId).sort()).toEqual(
      [hr, web].sort(),
    );
    expect(h.sim.actions()).toHaveLength(before);
  });

  it('refuses a malformed IP with 400 naming the field', async () => {
    for (const ip of ['10.1.2', '10.1.2.300', 'ws-finance-01', 7]) {
      const refused = await call(isolate, { body: { ip, comment: 'x' } });
      expect(refused).toMatchObject({
        status: 400,
        body: { error: { code: 'invalid-order', path: '$.ip' } },
      });
    }
  });
});

describe('whose isolation it is: who posted it, never who followed it', () => {
  let h: Harness;
  let store: StateStore;
  beforeAll(async () => {
    ({ h, store } = await startManual());
  }, 30_000);
  afterAll(() => stop(h));

  let added = 0;
  const freshDevice = (): string => {
    added += 1;
    return h.sim.addMachine({ name: `ws-adopt-${added}.${DOMAIN}`, osPlatform: 'Windows11' }).id;
  };
  // An analyst in the portal, who may type this app's own comment prefix.
  const analyst = { requestor: 'analyst@contoso.com', comment: 'mde-isolator (enforce): looks like ours' };

  const expectRefusedAsTheirs = async (machineId: string, actionId: string) => {
    const refused = await call(release, { body: { machineId, comment: 'not ours' } });
    expect(refused).toMatchObject({
      status: 409,
      body: {
        error: { code: 'isolated-by-someone-else' },
        isolatedBy: { actionId, requestor: 'analyst@contoso.com' },
      },
    });
    expect(h.actionsOn(machineId, 'Unisolate')).toHaveLength(0);
  };

  it("an alert meeting an analyst's pending isolation skips it, never follows it, and cannot release it", async () => {
    const machineId = freshDevice();
    h.sim.setMachine(machineId, { traits: { offline: true } });
    const theirs = h.sim.portalAction(machineId, 'Isolate', analyst);
    await expectRefusedAsTheirs(machineId, theirs.id);

    await h.submit([mdeAlert({ machineId })]);
    await h.settle();
    // Someone else's isolation is theirs (issue 21, item 5): skipped with whose it is, not followed.
    expect(h.outcomes.filter((o) => o.machineId === machineId && o.outcome !== 'escalated')).toEqual([
      expect.objectContaining({
        outcome: 'skipped',
        actionId: theirs.id,
        reason: `already isolated by analyst@contoso.com (action ${theirs.id}, Pending)`,
      }),
    ]);
    expect(await store.actions.forMachine(machineId)).toEqual([]);
    // Cancelling it is not the app's to do either, whatever its comment says.
    expect(
      await call(cancelAction, { params: { actionId: theirs.id }, body: { reason: 'oops' } }),
    ).toMatchObject({ status: 409, body: { error: { code: 'posted-by-someone-else' } } });

    h.sim.setMachine(machineId, { traits: { offline: false } });
    await untilActionStatus(h, theirs.id, 'Succeeded');
    await expectRefusedAsTheirs(machineId, theirs.id);
  }, 30_000);

  it("stays the app's when its POST's answer was lost and a retry adopted it: MDE names the app as requestor", async () => {
    const machineId = freshDevice();
    h.sim.setFaults({ dropAfterExecuteRate: 1, apis: ['isolate'] });
    try {
      await h.submit([mdeAlert({ machineId })]);
      expect(await untilLedgered(store, machineId)).toMatchObject({ adopted: true });
    } finally {
      h.sim.setFaults({});
    }
    await untilRegistered(store, machineId, 'isolated');
    const released = await call(release, { body: { machineId, comment: 'clean' } });
    expect(released).toMatchObject({ status: 201, body: { action: { type: 'Unisolate', machineId } } });
  }, 30_000);

  it('refuses an isolation with nothing on record as unknown, never ours; forced with a reason it is released', async () => {
    const machineId = freshDevice();
    // Isolated by other means (the platform lifts an isolation long before it leaves the lookback).
    h.sim.setMachine(machineId, { traits: { isolation: 'Full' } });
    expect(h.sim.machineState(machineId)?.isolated).toBe(true);
    const refused = await call(release, { body: { machineId, comment: 'not ours' } });
    expect(refused).toMatchObject({ status: 409, body: { error: { code: 'provenance-unknown' } } });
    expect(refused.body.error.message).toMatch(
      /no isolate or release of this device in the last 30 days.*send force: true with a reason/,
    );
    expect(h.actionsOn(machineId, 'Unisolate')).toHaveLength(0);
    const forced = await call(release, {
      body: { machineId, comment: 'old case', force: true, reason: 'isolated in 2026-10, case closed' },
    });
    expect(forced.status).toBe(201);
    expect(commentOf(h, forced.body.action.id)).toContain(
      '[release forced: isolated in 2026-10, case closed]',
    );
  }, 30_000);

  it('lets a release through when the newest action on the device is a release: nothing is undone', async () => {
    const machineId = freshDevice();
    const theirs = h.sim.portalAction(machineId, 'Isolate', analyst);
    await untilActionStatus(h, theirs.id, 'Succeeded');
    const released = h.sim.portalAction(machineId, 'Unisolate', analyst);
    await untilActionStatus(h, released.id, 'Succeeded');
    // Queued without waiting (as with Service Bus): the worker then skips it, not isolated.
    const installed = getRuntime();
    installRuntime({ ...installed, mode: 'service-bus' });
    try {
      const answer = await call(release, { body: { machineId, comment: 'make sure' } });
      expect(answer).toMatchObject({ status: 202, body: { status: 'queued' } });
      await h.settle();
      expect(h.outcomes.find((o) => o.requestId === answer.body.requestId)).toMatchObject({
        outcome: 'skipped',
        reason: `not isolated: released by action ${released.id}`,
      });
    } finally {
      installRuntime(installed);
    }
    expect(h.actionsOn(machineId, 'Unisolate')).toHaveLength(1);
  }, 30_000);

  it("an alert answered by an analyst's isolation created after it came in is skipped, not made the app's", async () => {
    const machineId = freshDevice();
    const request = isolateRequest(h, { mdeDeviceId: machineId });
    const theirs = h.sim.portalAction(machineId, 'Isolate', analyst);
    await untilActionStatus(h, theirs.id, 'Succeeded');
    await h.runtime.handle(request, { deliveryCount: 1 });
    await h.settle();
    expect(h.outcomes.find((o) => o.requestId === request.requestId)).toMatchObject({
      outcome: 'skipped',
      actionId: theirs.id,
      reason: `already isolated by analyst@contoso.com (action ${theirs.id}, Succeeded)`,
    });
    expect(await store.actions.forMachine(machineId)).toEqual([]);
    await expectRefusedAsTheirs(machineId, theirs.id);
  }, 30_000);
});

describe('manual operations in a dry-run deployment', () => {
  it('follow the mode by default: 200 with the decision, posted: false, nothing posted', async () => {
    const { h } = await startManual({ ISOLATION_MODE: 'dry-run' });
    try {
      const machineId = h.machineId(`ws-finance-01.${DOMAIN}`);
      const answer = await call(isolate, { body: { machineId, comment: 'trying it out' } });
      expect(answer).toMatchObject({
        status: 200,
        body: { status: 'dry-run', posted: false, mode: 'dry-run (policy)', decision: { action: 'isolate' } },
      });
      expect(h.sim.calls().filter((c) => c.method === 'POST')).toEqual([]);
    } finally {
      await stop(h);
    }
  }, 30_000);

  it('with MANUAL_ISOLATION_MODE=enforce people isolate and release; alerts stay a dry run', async () => {
    const { h } = await startManual({ ISOLATION_MODE: 'dry-run', MANUAL_ISOLATION_MODE: 'enforce' });
    try {
      const machineId = h.machineId(`ws-finance-01.${DOMAIN}`);
      const posted = await call(isolate, { body: { machineId, comment: 'INC-1 confirmed' } });
      expect(posted).toMatchObject({ status: 201, body: { status: 'posted', action: { type: 'Isolate' } } });
      expect(commentOf(h, posted.body.action.id)).toMatch(/^mde-isolator \(enforce\): isolate Full/);
      await untilActionStatus(h, posted.body.action.id, 'Succeeded');
      const released = await call(release, { body: { machineId, comment: 'INC-1 closed' } });
      expect(released).toMatchObject({ status: 201, body: { action: { type: 'Unisolate' } } });

      const hr = h.machineId(`ws-hr-02.${DOMAIN}`);
      await h.submit([mdeAlert({ machineId: hr })]);
      await h.settle();
      expect(h.actionsOn(hr)).toHaveLength(0);
      expect(h.outcomes.find((o) => o.machineId === hr)).toMatchObject({ outcome: 'dry-run' });
    } finally {
      await stop(h);
    }
  }, 30_000);
});

describe('manual operations with the store down', () => {
  it('answers 503 and posts nothing', async () => {
    const { h } = await startManual();
    try {
      const down = new StoreUnavailableError('store down');
      const failing: StateStore = {
        ...h.runtime.store,
        ping: () => Promise.reject(down),
        register: {
          ...h.runtime.store.register,
          get: () => Promise.reject(down),
          list: () => Promise.reject(down),
        },
      };
      installRuntime({ ...h.runtime, store: failing } as Runtime);
      const machineId = h.machineId(`web1.${DOMAIN}`);
      const answer = await call(isolate, { body: { machineId, comment: 'x' } });
      expect(answer).toMatchObject({ status: 503, body: { error: { code: 'store-unavailable' } } });
      expect((await call(isolations)).status).toBe(503);
      expect(h.actionsOn(machineId)).toHaveLength(0);
    } finally {
      await stop(h);
    }
  }, 30_000);
});

describe('manual operations behind Easy Auth', () => {
  let h: Harness;
  beforeAll(async () => {
    ({ h } = await startManual({ MANUAL_EASY_AUTH: 'on' }));
  }, 30_000);
  afterAll(() => stop(h));

  it('records the principal of x-ms-client-principal in the MDE comment', async () => {
    const header = principal([
      ['name', 'alice@contoso.com'],
      [
        'http://schemas.microsoft.com/identity/claims/objectidentifier',
        '7d2c0f1e-0000-4000-8000-00000000a11c',
      ],
      ['roles', 'Isolation.Operator'],
    ]);
    const answer = await call(isolate, {
      body: { hostname: 'lnx-app-01', comment: 'miner' },
      headers: { 'x-ms-client-principal': header },
    });
    expect(answer.status).toBe(201);
    expect(commentOf(h, answer.body.action.id)).toContain(
      '(by alice@contoso.com, oid 7d2c0f1e-0000-4000-8000-00000000a11c)',
    );
  }, 30_000);

  it('answers 401 without a principal and 403 without the operator role', async () => {
    expect((await call(isolations)).status).toBe(401);
    const reader = principal([
      ['name', 'bob@contoso.com'],
      ['roles', 'Reader'],
    ]);
    const refused = await call(isolate, {
      body: { hostname: 'web1', comment: 'x' },
      headers: { 'x-ms-client-principal': reader },
    });
    expect(refused).toMatchObject({ status: 403, body: { error: { code: 'forbidden' } } });
  });
});
