import { type RunningSimulator, startSimulator } from '../../simulator/index';
import { tenantToken } from '../support/loopback-authority';
import { callApi, fetchToken } from '../support/simulator-http';

const READ_ONLY = '0f7c9a1e-3b9d-4f55-9c1a-7d2e8b6a4c10';

let sim: RunningSimulator;
let token: string;

function machineNamed(name: string) {
  const machine = sim.machines().find((m) => m.computerDnsName === name);
  if (!machine) throw new Error(`no seeded machine ${name}`);
  return machine;
}

const machinesWhere = (filter: string) =>
  callApi(sim, token, 'GET', `/api/machines?$filter=${encodeURIComponent(filter)}`);
const names = (answer: { body: { value: { computerDnsName: string }[] } }) =>
  answer.body.value.map((m) => m.computerDnsName).sort();

beforeAll(async () => {
  sim = await startSimulator({ userAssignedIdentities: { [READ_ONLY]: ['Machine.Read.All'] } });
  token = await fetchToken(sim);
});
afterAll(() => sim.close());

describe('identity endpoint', () => {
  it('refuses a request without the secret header', async () => {
    const answer = await fetchToken({ ...sim, identityHeader: 'wrong' }).catch((e: Error) => e.message);
    expect(answer).toBe('token endpoint answered 401');
  });

  it('refuses an unknown user-assigned client id', async () => {
    const answer = await fetchToken(sim, { clientId: '99999999-9999-4999-8999-999999999999' }).catch(
      (e: Error) => e.message,
    );
    expect(answer).toBe('token endpoint answered 400');
  });

  it.each(['mi_res_id', 'object_id'])(
    'refuses a user-assigned identity named by %s rather than handing out the system identity',
    async (selector) => {
      const url = new URL(sim.identityEndpoint);
      url.searchParams.set('api-version', '2019-08-01');
      url.searchParams.set('resource', 'https://api.securitycenter.microsoft.com');
      url.searchParams.set(selector, 'unknown-identity');
      const response = await fetch(url, { headers: { 'X-IDENTITY-HEADER': sim.identityHeader } });
      expect(response.status).toBe(400);
      expect(await response.json()).not.toHaveProperty('access_token');
    },
  );

  it('issues a JWT with the requested audience and the identity roles', async () => {
    const claims = JSON.parse(
      Buffer.from((await fetchToken(sim, { clientId: READ_ONLY })).split('.')[1], 'base64url').toString(),
    );
    expect(claims).toMatchObject({
      aud: 'https://api.securitycenter.microsoft.com',
      roles: ['Machine.Read.All'],
      appid: READ_ONLY,
    });
    expect(claims.exp).toBeGreaterThan(claims.iat);
  });
});

describe('authorization', () => {
  it('answers 401 without a token or with a forged one', async () => {
    expect((await callApi(sim, null, 'GET', '/api/machines')).status).toBe(401);
    const forged = `${token.split('.').slice(0, 2).join('.')}.AAAA`;
    const answer = await callApi(sim, forged, 'GET', '/api/machines');
    expect(answer.status).toBe(401);
    expect(answer.body.error.code).toBe('Unauthorized');
  });

  it("plays one tenant: a token of its tenant passes, another tenant's (even the same app's) is a 401", async () => {
    const contoso = '2f4a9c1e-7b3d-4e8a-9c21-5d6e7f8a9b0c';
    const fabrikam = '8d1b6e3f-2a4c-4b5d-8e9f-0a1b2c3d4e5f';
    const playing = await startSimulator({ tenantId: contoso });
    try {
      const scope = 'https://api.securitycenter.microsoft.com/.default';
      const app = '6a1f0e2d-3c4b-4a59-8e7f-90a1b2c3d4e5';
      expect((await callApi(playing, tenantToken(contoso, app, scope), 'GET', '/api/machines')).status).toBe(
        200,
      );
      const other = await callApi(playing, tenantToken(fabrikam, app, scope), 'GET', '/api/machines');
      expect(other.status).toBe(401);
      expect(other.body.error.code).toBe('Unauthorized');
      // Its own identity endpoint issues its tenant's tokens; the default simulator's are another's.
      expect((await callApi(playing, await fetchToken(playing), 'GET', '/api/machines')).status).toBe(200);
      expect((await callApi(playing, token, 'GET', '/api/machines')).status).toBe(401);
      expect((await callApi(sim, await fetchToken(playing), 'GET', '/api/machines')).status).toBe(401);
    } finally {
      await playing.close();
    }
  });

  it('answers 403 for a token of another audience', async () => {
    const graph = await fetchToken(sim, { resource: 'https://graph.microsoft.com' });
    const answer = await callApi(sim, graph, 'GET', '/api/machines');
    expect(answer.status).toBe(403);
  });

  it('answers 403 with the documented message when a role is missing', async () => {
    const readOnly = await fetchToken(sim, { clientId: READ_ONLY });
    const id = machineNamed('ws-hr-02.contoso.local').id;
    const answer = await callApi(sim, readOnly, 'POST', `/api/machines/${id}/isolate`, {
      Comment: 'c',
      IsolationType: 'Full',
    });
    expect(answer.status).toBe(403);
    expect(answer.body.error).toMatchObject({
      code: 'Forbidden',
      message:
        'Missing application roles. API required roles: Machine.Isolate, application roles: Machine.Read.All.',
    });
  });
});

describe('isolate request body', () => {
  const post = (body: unknown, contentType?: string) =>
    callApi(
      sim,
      token,
      'POST',
      `/api/machines/${machineNamed('ws-hr-02.contoso.local').id}/isolate`,
      body,
      contentType,
    );

  it.each([
    [{ IsolationType: 'Full' }, 'MissingRequiredParameter'],
    [{ comment: 'lower-case name', IsolationType: 'Full' }, 'MissingRequiredParameter'],
    [{ Comment: 'x', isolationType: 'Full' }, 'InvalidRequestBody'],
    [{ Comment: 'x', IsolationType: 'full' }, 'InvalidRequestBody'],
    [{ Comment: 'x', IsolationType: 'Partial' }, 'InvalidRequestBody'],
    [{ Comment: '', IsolationType: 'Full' }, 'InvalidRequestBody'],
    [['Comment'], 'InvalidRequestBody'],
    ['{"Comment": ', 'InvalidRequestBody'],
  ])('refuses %j with %s', async (body, code) => {
    const answer = await post(body);
    expect(answer.status).toBe(400);
    expect(answer.body.error.code).toBe(code);
    expect(sim.machineState(machineNamed('ws-hr-02.contoso.local').id)?.openAction).toBeNull();
  });

  it.each([
    [{ comment: 'lower-case name' }, 'MissingRequiredParameter'],
    [{ Comment: 'x', IsolationType: 'Full' }, 'InvalidRequestBody'],
    [{ Comment: '   ' }, 'InvalidRequestBody'],
  ])('refuses the release body %j with %s', async (body, code) => {
    const id = machineNamed('ws-isolated-09.contoso.local').id;
    const answer = await callApi(sim, token, 'POST', `/api/machines/${id}/unisolate`, body);
    expect(answer.status).toBe(400);
    expect(answer.body.error.code).toBe(code);
    expect(sim.machineState(id)?.openAction).toBeNull();
  });

  it('refuses a body that is not sent as JSON', async () => {
    const answer = await post('{"Comment":"x"}', 'text/plain');
    expect(answer.body.error.code).toBe('InvalidRequestBody');
  });

  it('answers 404 ResourceNotFound with a pipe-prefixed target for an unknown machine', async () => {
    const answer = await callApi(sim, token, 'POST', `/api/machines/${'a'.repeat(40)}/isolate`, {
      Comment: 'x',
    });
    expect(answer.status).toBe(404);
    expect(answer.body.error.code).toBe('ResourceNotFound');
    expect(answer.body.error.message).toBe(`Machine ${'a'.repeat(40)} was not found`);
    expect(answer.body.error.target).toMatch(/^\|/);
  });

  it('creates a full MachineAction, Full by default', async () => {
    const machine = machineNamed('ws-finance-01.contoso.local');
    const answer = await callApi(sim, token, 'POST', `/api/machines/${machine.id}/isolate`, {
      Comment: 'alert 42',
    });
    expect(answer.status).toBe(201);
    expect(Object.keys(answer.body).sort()).toEqual(
      [
        '@odata.context',
        'id',
        'type',
        'title',
        'requestor',
        'requestorComment',
        'status',
        'machineId',
        'computerDnsName',
        'creationDateTimeUtc',
        'lastUpdateDateTimeUtc',
        'cancellationRequestor',
        'cancellationComment',
        'cancellationDateTimeUtc',
        'errorHResult',
        'scope',
        'externalId',
        'requestSource',
        'relatedFileInfo',
        'commands',
        'troubleshootInfo',
      ].sort(),
    );
    expect(answer.body).toMatchObject({
      '@odata.context': `${sim.baseUrl}/api/$metadata#MachineActions/$entity`,
      type: 'Isolate',
      scope: 'Full',
      status: 'Pending',
      machineId: machine.id,
      requestorComment: 'alert 42',
      requestSource: 'PublicApi',
    });
    expect(answer.body.creationDateTimeUtc).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}Z$/);
  });

  it('answers OsPlatformNotSupported / ClientVersionNotSupported by platform', async () => {
    const isolate = (name: string, type: string) =>
      callApi(sim, token, 'POST', `/api/machines/${machineNamed(name).id}/isolate`, {
        Comment: 'x',
        IsolationType: type,
      });
    expect((await isolate('legacy-pos-03.contoso.local', 'Full')).body.error.code).toBe(
      'OsPlatformNotSupported',
    );
    expect((await isolate('lnx-app-01.contoso.local', 'Selective')).body.error.code).toBe(
      'OsPlatformNotSupported',
    );
    expect((await isolate('ws-old-1607.contoso.local', 'Full')).body.error.code).toBe(
      'OsPlatformNotSupported',
    );
    expect((await isolate('mac-old-02.contoso.local', 'Full')).body.error.code).toBe(
      'ClientVersionNotSupported',
    );
    expect((await isolate('nas-01.contoso.local', 'Full')).status).toBe(400);
    expect((await isolate('ws-hr-02.contoso.local', 'UnManagedDevice')).body.error.message).toMatch(
      /applies to unmanaged devices only/,
    );
    const contained = await isolate('nas-01.contoso.local', 'UnManagedDevice');
    expect(contained).toMatchObject({ status: 201, body: { type: 'Isolate', scope: 'UnManagedDevice' } });
  });
});

describe('machine lookups', () => {
  it('gets a machine by id, upper-cased id, computer name and versioned path', async () => {
    const dc = machineNamed('dc01.contoso.local');
    for (const key of [dc.id, dc.id.toUpperCase(), 'dc01.contoso.local', 'DC01']) {
      const answer = await callApi(sim, token, 'GET', `/api/machines/${key}`);
      expect(answer.body.id).toBe(dc.id);
    }
    expect((await callApi(sim, token, 'GET', `/api/v1.0/machines/${dc.id}`)).body.machineTags).toContain(
      'DomainController',
    );
  });

  it('filters on computerDnsName eq / startswith, case-insensitively', async () => {
    expect(names(await machinesWhere("computerDnsName eq 'WEB1.CONTOSO.LOCAL'"))).toEqual([
      'web1.contoso.local',
    ]);
    expect(names(await machinesWhere("startswith(computerDnsName,'web1.')"))).toEqual(['web1.contoso.local']);
    expect(names(await machinesWhere("startswith(computerDnsName,'web1')"))).toEqual([
      'web1.contoso.local',
      'web10.contoso.local',
    ]);
    expect(names(await machinesWhere("computerDnsName eq 'kiosk-12.contoso.local'"))).toHaveLength(2);
  });

  it('filters on tags, ids, health, platform and Entra device id', async () => {
    const dc = machineNamed('dc01.contoso.local');
    expect(names(await machinesWhere("machineTags/any(tag: tag eq 'domaincontroller')"))).toEqual([
      'dc01.contoso.local',
    ]);
    expect(names(await machinesWhere(`id eq '${dc.id}'`))).toEqual(['dc01.contoso.local']);
    expect(names(await machinesWhere(`aadDeviceId eq '${dc.aadDeviceId}'`))).toEqual(['dc01.contoso.local']);
    expect(names(await machinesWhere("healthStatus eq 'Inactive'"))).toEqual([
      'kiosk-12.contoso.local',
      'laptop-offline-07.contoso.local',
    ]);
    expect(names(await machinesWhere("osPlatform eq 'macOS' and not (healthStatus ne 'Active')"))).toEqual([
      'mac-design-01.contoso.local',
      'mac-old-02.contoso.local',
    ]);
  });

  it('keeps a doubled quote inside the literal, so an injection matches nothing', async () => {
    const answer = await machinesWhere("computerDnsName eq 'nosuch'' or ''a'' eq ''a'");
    expect(answer.status).toBe(404);
    expect(answer.body.error.code).toBe('NotFound');
    // The value x' or computerDnsName eq 'web1.contoso.local, escaped: one literal, no second clause.
    const escaped = await machinesWhere(
      "computerDnsName eq 'x'' or computerDnsName eq ''web1.contoso.local'",
    );
    expect(escaped.status).toBe(404);
    // The same value pasted in raw does add the clause; that is what the escaping prevents.
    const raw = await machinesWhere("computerDnsName eq 'x' or computerDnsName eq 'web1.contoso.local'");
    expect(names(raw)).toEqual(['web1.contoso.local']);
  });

  it.each([
    "computerDnsName eq 'open",
    "riskLevel eq 'High'",
    "computerDnsName eq 'a' or",
    "machineTags eq 'x'",
    "substringof('a', computerDnsName)",
  ])('answers 400 ODataError for %s', async (filter) => {
    const answer = await machinesWhere(filter);
    expect(answer.status).toBe(400);
    expect(answer.body.error.code).toBe('ODataError');
  });

  it('refuses $top over 10,000 and unsupported options', async () => {
    expect((await callApi(sim, token, 'GET', '/api/machines?$top=10001')).body.error.code).toBe('ODataError');
    expect((await callApi(sim, token, 'GET', '/api/machines?$orderby=lastSeen')).body.error.code).toBe(
      'ODataError',
    );
    expect((await callApi(sim, token, 'GET', '/api/machines?$top=2')).body.value).toHaveLength(2);
  });

  it('finds by internal IP within the 30-day rule and the ±15 minute window', async () => {
    const ws = machineNamed('ws-finance-01.contoso.local');
    const offline = machineNamed('laptop-offline-07.contoso.local');
    const findByIp = (ip: string, at: number) =>
      callApi(
        sim,
        token,
        'GET',
        `/api/machines/findbyip(ip='${ip}',timestamp=${new Date(at).toISOString()})`,
      );
    expect(
      (await findByIp(ws.lastIpAddress as string, sim.now())).body.value.map((m: { id: string }) => m.id),
    ).toEqual([ws.id]);
    expect((await findByIp(offline.lastIpAddress as string, sim.now())).body.value).toEqual([]);
    const seen = Date.parse(offline.lastSeen);
    expect((await findByIp(offline.lastIpAddress as string, seen)).body.value).toHaveLength(1);
    // ±15 minutes around the last time the offline device was seen with that address.
    const minute = 60_000;
    expect((await findByIp(offline.lastIpAddress as string, seen + 14 * minute)).body.value).toHaveLength(1);
    expect((await findByIp(offline.lastIpAddress as string, seen + 16 * minute)).body.value).toEqual([]);
    // The loopback address every device reports identifies none of them.
    expect((await findByIp('127.0.0.1', sim.now())).body.value).toEqual([]);
    const future = await findByIp(ws.lastIpAddress as string, sim.now() + 60 * minute);
    expect(future.status).toBe(400);
    const old = await findByIp(ws.lastIpAddress as string, sim.now() - 31 * 86_400_000);
    expect(old.status).toBe(400);
    expect((await findByIp('10.0.0.300', sim.now())).body.error.code).toBe('InvalidIpAddress');
  });

  it('finds by tag, exactly or by prefix', async () => {
    const byTag = (query: string) => callApi(sim, token, 'GET', `/api/machines/findbytag?${query}`);
    expect(names(await byTag('tag=Tier0'))).toEqual(['dc01.contoso.local']);
    expect(names(await byTag('tag=Tier'))).toEqual([]);
    expect(names(await byTag('tag=Tier&useStartsWithFilter=true'))).toEqual(['dc01.contoso.local']);
    expect((await byTag('useStartsWithFilter=true')).body.error.code).toBe('MissingRequiredParameter');
  });

  it('serves machines added at run time, with an id given in any case', async () => {
    const added = sim.addMachine(
      { name: 'new-01.contoso.local', osPlatform: 'Windows11', version: '23H2', tags: ['Added'] },
      { id: 'ABCDEF0123456789ABCDEF0123456789ABCDEF01' },
    );
    expect(added.id).toBe('abcdef0123456789abcdef0123456789abcdef01');
    expect((await callApi(sim, token, 'GET', `/api/machines/${added.id}`)).body.computerDnsName).toBe(
      'new-01.contoso.local',
    );
    sim.setMachine(added.id, { entity: { machineTags: ['Changed'] } });
    expect(names(await machinesWhere("machineTags/any(t: t eq 'changed')"))).toEqual([
      'new-01.contoso.local',
    ]);
  });

  it('records every call with its family and status', async () => {
    sim.resetCalls();
    await callApi(sim, token, 'GET', '/api/machineactions');
    await callApi(sim, token, 'GET', '/api/nothing');
    expect(sim.calls().map((c) => [c.method, c.path, c.api, c.status])).toEqual([
      ['GET', '/api/machineactions', 'machineactions', 200],
      ['GET', '/api/nothing', null, 404],
    ]);
  });
});

describe('paging', () => {
  let paged: RunningSimulator;
  let pagedToken: string;
  beforeAll(async () => {
    paged = await startSimulator({ listPageSize: 3 });
    pagedToken = await fetchToken(paged);
  });
  afterAll(() => paged.close());

  it('cuts a list at the page size with an @odata.nextLink that repeats the query past the page', async () => {
    const filter = "healthStatus eq 'Active'";
    const first = await callApi(
      paged,
      pagedToken,
      'GET',
      `/api/machines?$filter=${encodeURIComponent(filter)}&$top=5`,
    );
    expect(first.body.value).toHaveLength(3);
    const next = new URL(first.body['@odata.nextLink']);
    expect(`${next.origin}`).toBe(paged.baseUrl.replace(/\/$/, ''));
    expect(Object.fromEntries(next.searchParams)).toEqual({ $filter: filter, $top: '2', $skip: '3' });
    const second = await callApi(paged, pagedToken, 'GET', `${next.pathname}${next.search}`);
    expect(second.body.value).toHaveLength(2);
    expect(second.body).not.toHaveProperty(['@odata.nextLink']);
  });

  it('refuses a $top above the 10,000 a page may hold', async () => {
    const answer = await callApi(paged, pagedToken, 'GET', '/api/machineactions?$top=10001');
    expect(answer.status).toBe(400);
    expect(answer.body.error.code).toBe('ODataError');
  });
});
