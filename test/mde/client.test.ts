import Bottleneck from 'bottleneck';
import { DEFAULT_RATE_LIMITS, loadConfig } from '../../shared/config';
import type { MdeApiName } from '../../shared/mde/api';
import { createMdeClient, type MdeClient } from '../../shared/mde/client';
import { type AppCredential, createCredential } from '../../shared/mde/credential';
import {
  ActionAlreadyInProgressError,
  BadRequestError,
  ForbiddenError,
  isRetryable,
  NotFoundError,
  RateLimitedError,
  RefusedBeforeSendingError,
  TransientError,
  UnsupportedError,
} from '../../shared/mde/errors';
import { type RunningSimulator, SYSTEM_IDENTITY_CLIENT_ID, startSimulator } from '../../simulator/index';
import { startSimulatorWithIdentity } from '../support/simulator';
import { failure } from './failure';

const ISOLATE_ONLY = '3c1f5b7e-8a2d-4e6f-9b0c-1d2e3f4a5b6c';
const READ_ONLY = '7a8b9c0d-1e2f-4a3b-8c4d-5e6f7a8b9c0d';
const STEP_MS = 1_000;

let sim: RunningSimulator;
let credential: AppCredential;
let client: MdeClient;

function configFor(env: Record<string, string> = {}) {
  return loadConfig({ MDE_API_URL: sim.baseUrl, MDE_REQUEST_TIMEOUT_MS: '5000', ...env });
}

function idOf(name: string): string {
  const machine = sim.machines().find((m) => m.computerDnsName === name);
  if (!machine) throw new Error(`no seeded machine ${name}`);
  return machine.id;
}

beforeAll(async () => {
  sim = await startSimulatorWithIdentity({
    userAssignedIdentities: { [ISOLATE_ONLY]: ['Machine.Isolate'], [READ_ONLY]: ['Machine.Read.All'] },
    lifecycle: { pendingMs: STEP_MS, inProgressMs: STEP_MS, offlineTimeoutMs: 100 * STEP_MS },
  });
  // No AZURE_CLIENT_ID: the system-assigned identity, found by its App Service endpoint.
  credential = createCredential(configFor());
  client = createMdeClient(configFor(), { credential });
});
afterAll(() => sim.close());
afterEach(() => {
  sim.setFaults({});
  sim.setRateLimits(DEFAULT_RATE_LIMITS);
});

describe('lookups through the managed identity endpoint', () => {
  it('gets a machine by id, accepting an upper-case id', async () => {
    const id = idOf('dc01.contoso.local');
    const machine = await client.getMachine(id.toUpperCase());
    expect(machine).toMatchObject({
      id,
      computerDnsName: 'dc01.contoso.local',
      machineTags: ['DomainController', 'Tier0'],
    });
    expect(machine).not.toHaveProperty('@odata.context');
    expect(
      sim
        .calls()
        .filter((c) => c.api === 'token')
        .every((c) => c.status === 200),
    ).toBe(true);
  });

  it('refuses an invalid id without any HTTP call', async () => {
    const before = sim.calls().length;
    for (const bad of ['dc01', `${'a'.repeat(39)}g`, `${'a'.repeat(40)}/isolate`]) {
      const error = await failure(client.getMachine(bad));
      expect(error).toBeInstanceOf(RefusedBeforeSendingError);
      expect(error).toMatchObject({
        kind: 'refused-before-sending',
        field: 'machineId',
        operation: 'getMachine',
      });
    }
    expect(await failure(client.isolate('not-an-id', 'c', 'Full'))).toBeInstanceOf(RefusedBeforeSendingError);
    expect(await failure(client.getMachineAction('123'))).toBeInstanceOf(RefusedBeforeSendingError);
    expect(await failure(client.getMachine(undefined as unknown as string))).toBeInstanceOf(
      RefusedBeforeSendingError,
    );
    expect(await failure(client.findMachinesByHostname(null as unknown as string))).toBeInstanceOf(
      RefusedBeforeSendingError,
    );
    expect(sim.calls()).toHaveLength(before);
  });

  it('raises NotFoundError with the MDE code and tracking id for an unknown machine', async () => {
    const error = await failure(client.getMachine('f'.repeat(40)));
    expect(error).toBeInstanceOf(NotFoundError);
    expect(error).toMatchObject({ status: 404, code: 'ResourceNotFound', api: 'machines' });
    expect((error as NotFoundError).target).toMatch(/^\|/);
  });

  it('finds by exact DNS name, case-insensitively, and returns every record of a shared name', async () => {
    expect((await client.findMachinesByDnsName('WEB1.contoso.local')).map((m) => m.computerDnsName)).toEqual([
      'web1.contoso.local',
    ]);
    expect(await client.findMachinesByDnsName('kiosk-12.contoso.local')).toHaveLength(2);
    expect(await client.findMachinesByDnsName('nosuch.contoso.local')).toEqual([]);
  });

  it('finds by short host name without substring matches', async () => {
    expect((await client.findMachinesByHostname('web1')).map((m) => m.computerDnsName)).toEqual([
      'web1.contoso.local',
    ]);
    expect((await client.findMachinesByHostname('WKS-LAB')).map((m) => m.computerDnsName)).toEqual([
      'wks-lab',
    ]);
    expect(await client.findMachinesByHostname('web')).toEqual([]);
    expect(await failure(client.findMachinesByHostname('web1.contoso.local'))).toBeInstanceOf(
      RefusedBeforeSendingError,
    );
  });

  it('keeps an OData injection attempt inside its string literal', async () => {
    const attempt = "web1.contoso.local'or'a'eq'a";
    expect(await client.findMachinesByDnsName(attempt)).toEqual([]);
    expect(await client.findMachinesByHostname("x')or(startswith(computerDnsName,'")).toEqual([]);
    const calls = sim
      .calls()
      .filter((c) => c.api === 'machines')
      .slice(-2);
    // The server parsed both queries (404 = valid query, nothing matched), it did not reject them as malformed.
    expect(calls.map((c) => c.status)).toEqual([404, 404]);
  });

  it('does not widen a lookup when the value tries to close its literal and add a clause', async () => {
    sim.resetCalls();
    // With spaces, a crafted name is not a DNS name at all and never leaves the process.
    const spaced = "x' or computerDnsName eq 'web1.contoso.local";
    expect(await failure(client.findMachinesByDnsName(spaced))).toBeInstanceOf(RefusedBeforeSendingError);
    expect(sim.calls()).toEqual([]);
    // Without spaces it is sent, as one literal with its quotes doubled, and matches nothing.
    const compact = "x'or(startswith(computerDnsName,'web1'))or'a'eq'a";
    expect(await client.findMachinesByDnsName(compact)).toEqual([]);
    const [call] = sim.calls().filter((c) => c.api === 'machines');
    expect(call.status).toBe(404);
    expect(new URL(call.path, sim.baseUrl).searchParams.get('$filter')).toBe(
      "computerDnsName eq 'x''or(startswith(computerdnsname,''web1''))or''a''eq''a'",
    );
  });

  it('refuses an IPv6 address with a zone before any call', async () => {
    const before = sim.calls().length;
    expect(await failure(client.findMachinesByIp('fe80::1%eth0'))).toMatchObject({
      kind: 'refused-before-sending',
      field: 'ip',
    });
    expect(sim.calls()).toHaveLength(before);
  });

  it('finds by Entra device id, IP and tag', async () => {
    const dc = sim.machines().find((m) => m.computerDnsName === 'dc01.contoso.local');
    if (!dc?.aadDeviceId || !dc.lastIpAddress) throw new Error('seed changed');
    expect((await client.findMachinesByAadDeviceId(dc.aadDeviceId.toUpperCase())).map((m) => m.id)).toEqual([
      dc.id,
    ]);
    expect((await client.findMachinesByIp(dc.lastIpAddress)).map((m) => m.id)).toEqual([dc.id]);
    expect((await client.findMachinesByTag('domaincontroller')).map((m) => m.id)).toEqual([dc.id]);
    expect((await client.findMachinesByTag('Tier', { startsWith: true })).map((m) => m.id)).toEqual([dc.id]);
    expect(await client.findMachinesByTag('Tier')).toEqual([]);
    expect(await failure(client.findMachinesByAadDeviceId("x' or 1 eq 1"))).toBeInstanceOf(
      RefusedBeforeSendingError,
    );
    expect(await failure(client.findMachinesByIp('10.0.0.999'))).toBeInstanceOf(RefusedBeforeSendingError);
  });

  it('raises BadRequestError for an IP lookup older than 30 days', async () => {
    const error = await failure(client.findMachinesByIp('10.1.2.3', new Date(Date.now() - 40 * 86_400_000)));
    expect(error).toBeInstanceOf(BadRequestError);
    expect(error).toMatchObject({ status: 400, kind: 'bad-request' });
  });
});

describe('isolation', () => {
  it('isolates, follows the action and releases', async () => {
    const id = idOf('ws-hr-02.contoso.local');
    const action = await client.isolate(id.toUpperCase(), 'mde-isolator: rule high-sev, alert 42', 'Full');
    expect(action).toMatchObject({
      type: 'Isolate',
      scope: 'Full',
      status: 'Pending',
      machineId: id,
      requestor: SYSTEM_IDENTITY_CLIENT_ID,
      requestorComment: 'mde-isolator: rule high-sev, alert 42',
    });
    const duplicate = await failure(client.isolate(id, 'again', 'Full'));
    expect(duplicate).toBeInstanceOf(ActionAlreadyInProgressError);
    expect(isRetryable(duplicate)).toBe(false);
    sim.advanceTime(2 * STEP_MS);
    expect((await client.getMachineAction(action.id.toUpperCase())).status).toBe('Succeeded');
    expect(sim.machineState(id)?.isolated).toBe(true);

    const release = await client.release(id, 'mde-isolator: released after triage');
    expect(release).toMatchObject({ type: 'Unisolate', status: 'Pending' });
    sim.advanceTime(2 * STEP_MS);
    expect(sim.machineState(id)?.isolated).toBe(false);

    const listed = await client.listMachineActions({
      machineId: id,
      type: ['Isolate', 'Unisolate'],
      top: 10,
    });
    expect(listed.map((a) => a.id)).toEqual([release.id, action.id]);
    expect(await client.listMachineActions({ machineId: id, status: ['Pending', 'InProgress'] })).toEqual([]);
    expect(await failure(client.listMachineActions({ status: 'Done' as never }))).toBeInstanceOf(
      RefusedBeforeSendingError,
    );
  });

  it('isolates selectively where the platform allows it', async () => {
    const action = await client.isolate(idOf('mac-design-01.contoso.local'), 'selective', 'Selective');
    expect(action.scope).toBe('Selective');
  });

  it('raises UnsupportedError for unsupported platforms and client versions', async () => {
    const linux = await failure(client.isolate(idOf('lnx-app-01.contoso.local'), 'c', 'Selective'));
    expect(linux).toBeInstanceOf(UnsupportedError);
    expect(linux).toMatchObject({ code: 'OsPlatformNotSupported' });
    const mac = await failure(client.isolate(idOf('mac-old-02.contoso.local'), 'c', 'Full'));
    expect(mac).toMatchObject({ kind: 'unsupported', code: 'ClientVersionNotSupported' });
    expect(isRetryable(mac)).toBe(false);
  });

  it('refuses an empty comment or an unknown isolation type before calling MDE', async () => {
    const before = sim.calls().length;
    expect(await failure(client.isolate(idOf('web10.contoso.local'), '  ', 'Full'))).toMatchObject({
      field: 'comment',
    });
    expect(await failure(client.release(idOf('web10.contoso.local'), ''))).toMatchObject({
      field: 'comment',
    });
    expect(
      await failure(client.isolate(idOf('web10.contoso.local'), 'c', 'full' as unknown as 'Full')),
    ).toMatchObject({ field: 'isolationType' });
    expect(sim.calls()).toHaveLength(before);
  });
});

describe('permissions', () => {
  it('names Machine.Read.All when a user-assigned identity can only isolate', async () => {
    const isolateOnly = createMdeClient(configFor(), {
      credential: createCredential(configFor({ AZURE_CLIENT_ID: ISOLATE_ONLY })),
    });
    const error = await failure(isolateOnly.findMachinesByHostname('web1'));
    expect(error).toBeInstanceOf(ForbiddenError);
    expect((error as ForbiddenError).requiredPermission).toBe('Machine.Read.All');
    expect((error as Error).message).toContain('Machine.Read.All');
    expect(sim.calls().some((c) => c.api === 'token' && c.path.includes(`client_id=${ISOLATE_ONLY}`))).toBe(
      true,
    );
    expect((error as ForbiddenError).apiMessage).toBe(
      'Missing application roles. API required roles: Machine.Read.All,Machine.ReadWrite.All, application roles: Machine.Isolate.',
    );
  });

  it('names Machine.Isolate when the identity can only read', async () => {
    const readOnly = createMdeClient(configFor(), {
      credential: createCredential(configFor({ AZURE_CLIENT_ID: READ_ONLY })),
    });
    const error = await failure(readOnly.isolate(idOf('web10.contoso.local'), 'c', 'Full'));
    expect(error).toMatchObject({ kind: 'forbidden', status: 403, requiredPermission: 'Machine.Isolate' });
    expect(sim.machineState(idOf('web10.contoso.local'))?.openAction).toBeNull();
  });

  it('is refused with 403 when the cloud scope does not match the API audience', async () => {
    const gcc = configFor({ MDE_CLOUD: 'gcc' });
    const error = await failure(createMdeClient(gcc, { credential }).getMachine(idOf('web1.contoso.local')));
    expect(error).toBeInstanceOf(ForbiddenError);
  });
});

describe('throttling and transient failures', () => {
  it('raises RateLimitedError with Retry-After in ms', async () => {
    sim.setRateLimits('2/60s');
    await client.listMachineActions({ top: 1 });
    await client.listMachineActions({ top: 1 });
    const error = await failure(client.listMachineActions({ top: 1 }));
    expect(error).toBeInstanceOf(RateLimitedError);
    const retryAfterMs = (error as RateLimitedError).retryAfterMs ?? Number.NaN;
    expect(retryAfterMs).toBeGreaterThan(50_000);
    expect(retryAfterMs).toBeLessThanOrEqual(60_000);
    expect(retryAfterMs % 1000).toBe(0);
    expect(isRetryable(error)).toBe(true);
  });

  it('raises TransientError for a 5xx, marking a POST as possibly executed', async () => {
    sim.setFaults({ serverErrorRate: 1 });
    sim.resetCalls();
    const get = await failure(client.getMachine(idOf('web1.contoso.local')));
    expect(get).toMatchObject({
      kind: 'transient',
      transientCause: 'server-error',
      status: 503,
      mayHaveExecuted: false,
    });
    const post = await failure(client.isolate(idOf('web10.contoso.local'), 'c', 'Full'));
    expect(post).toMatchObject({ kind: 'transient', mayHaveExecuted: true });
    expect(isRetryable(post)).toBe(true);
    // No retry of its own: one request each.
    expect(sim.calls().map((c) => `${c.api} ${c.status}`)).toEqual(['machines 503', 'isolate 503']);
  });

  it('sends a POST once when MDE executes it and the answer is lost', async () => {
    const id = idOf('ws-finance-01.contoso.local');
    sim.setFaults({ dropAfterExecuteRate: 1, apis: ['isolate'] });
    sim.resetCalls();
    const error = await failure(client.isolate(id, 'answer lost', 'Full'));
    expect(error).toMatchObject({
      kind: 'transient',
      transientCause: 'connection-reset',
      mayHaveExecuted: true,
    });
    expect(sim.calls().filter((c) => c.api === 'isolate')).toHaveLength(1);
    // The action exists although the client never heard of it: dispatch must look before posting again.
    expect(sim.machineState(id)?.openAction).toMatchObject({
      type: 'Isolate',
      requestorComment: 'answer lost',
    });
  });

  it('raises TransientError(timeout) when MDE is slower than the request timeout', async () => {
    sim.setFaults({ latencyMs: 2_000, apis: ['machines'] });
    const impatient = createMdeClient({ ...configFor(), requestTimeoutMs: 200 }, { credential });
    const error = await failure(impatient.getMachine(idOf('web1.contoso.local')));
    expect(error).toBeInstanceOf(TransientError);
    expect(error).toMatchObject({ transientCause: 'timeout', mayHaveExecuted: false });
  });

  it('raises TransientError(connection-reset) when the connection drops', async () => {
    sim.setFaults({ dropRate: 1 });
    const error = await failure(client.release(idOf('ws-isolated-09.contoso.local'), 'c'));
    expect(error).toMatchObject({
      kind: 'transient',
      transientCause: 'connection-reset',
      mayHaveExecuted: true,
    });
  });

  it('raises TransientError(connection-refused) when nothing listens', async () => {
    const gone = await startSimulator({ fleet: { generate: 0 } });
    const url = gone.baseUrl;
    await gone.close();
    const error = await failure(
      createMdeClient({ ...configFor(), apiBaseUrl: url }, { credential }).getMachine('a'.repeat(40)),
    );
    expect(error).toMatchObject({
      kind: 'transient',
      transientCause: 'connection-refused',
      mayHaveExecuted: false,
    });
  });
});

describe('quota hook', () => {
  it('passes every request through the scheduler tagged with its quota family', async () => {
    const limiters = new Map<MdeApiName, Bottleneck>();
    const scheduled: string[] = [];
    const limited = createMdeClient(configFor(), {
      credential,
      schedule: (call, send) => {
        scheduled.push(`${call.api}/${call.method}`);
        let limiter = limiters.get(call.api);
        if (!limiter) {
          limiter = new Bottleneck({ maxConcurrent: 1 });
          limiters.set(call.api, limiter);
        }
        return limiter.schedule(send);
      },
    });
    const id = idOf('web10.contoso.local');
    await limited.getMachine(id);
    const action = await limited.isolate(id, 'via limiter', 'Full');
    sim.advanceTime(2 * STEP_MS);
    expect((await limited.getMachineAction(action.id)).status).toBe('Succeeded');
    await limited.release(id, 'via limiter');
    expect(scheduled).toEqual(['machines/GET', 'isolate/POST', 'machineactions/GET', 'unisolate/POST']);
    await Promise.all([...limiters.values()].map((l) => l.stop()));
  });
});
