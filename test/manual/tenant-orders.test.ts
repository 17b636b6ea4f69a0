/**
 * A manual order names its tenant in a multi-tenant deployment, and its caller must hold that tenant's
 * role (docs/decisions/0033-operator-authorization-per-tenant.md): the function handlers, a runtime
 * on the simulator, and nothing read or posted for a refused order.
 */
import { HttpRequest, type HttpResponseInit, InvocationContext } from '@azure/functions';
import { audit } from '../../functions/audit';
import { drift } from '../../functions/drift';
import { isolate, isolations, machineIsolate, release } from '../../functions/manual';
import type { ManualOrder } from '../../shared/dispatch/dispatcher';
import { FUNCTION_KEY_CALLER } from '../../shared/manual/caller';
import { carryOutManualOrder } from '../../shared/manual/operations';
import { isOrderProblem, parseOrder } from '../../shared/manual/order';
import { closeRuntime, createRuntime, installRuntime, type Runtime } from '../../shared/runtime';
import type { RunningSimulator } from '../../simulator';
import { USER_ASSIGNED_IDENTITY, USER_ASSIGNED_ROLES } from '../support/identity';
import { type LoopbackAuthority, startAuthority } from '../support/loopback-authority';
import { expectDocumentedAnswer } from '../support/openapi';
import { silentReporter } from '../support/reporter';
import { startSimulatorWithIdentity } from '../support/simulator';
import { trustLoopback } from '../support/trust-loopback';

const CONTOSO = '2f4a9c1e-7b3d-4e8a-9c21-5d6e7f8a9b0c';
const FABRIKAM = '8d1b6e3f-2a4c-4b5d-8e9f-0a1b2c3d4e5f';
const NOT_LISTED = 'e3cd9e40-8c4b-40e3-af56-36f8d3388362';
const HOST = 'ws-finance-01';

type Handler = (request: HttpRequest, context: InvocationContext) => Promise<HttpResponseInit>;

let sim: RunningSimulator;
let authority: LoopbackAuthority;
beforeAll(async () => {
  // The simulator plays Contoso: the tokens its authority gives for Contoso are the ones it accepts.
  sim = await startSimulatorWithIdentity({ userAssignedIdentities: USER_ASSIGNED_ROLES, tenantId: CONTOSO });
  authority = await startAuthority();
  trustLoopback(authority.certificate);
});
afterAll(async () => {
  jest.restoreAllMocks();
  await authority.close();
  await sim.close();
});

/** Contoso's API is the simulator's, so an order that gets through can be carried out. */
function tenantSettings(): Record<string, string> {
  return {
    AZURE_CLIENT_ID: USER_ASSIGNED_IDENTITY,
    MDE_TENANT_APP_CLIENT_ID: '6a1f0e2d-3c4b-4a59-8e7f-90a1b2c3d4e5',
    MDE_TENANTS: JSON.stringify([
      { tenantId: CONTOSO, displayName: 'Contoso', apiUrl: sim.baseUrl },
      { tenantId: FABRIKAM, displayName: 'Fabrikam' },
      { tenantId: '11111111-2222-4333-8444-555555555555', displayName: 'Tailspin' },
      { tenantId: '66666666-7777-4888-9999-000000000000', displayName: 'Tailspin' },
    ]),
  };
}

function open(env: Record<string, string>): Runtime {
  return installRuntime(
    createRuntime({ env: { ...sim.env(), ...env }, reporter: silentReporter, authorityHost: authority.host }),
  );
}

async function call(handler: Handler, body: unknown, headers: Record<string, string> = {}, id?: string) {
  const request = new HttpRequest({
    url: 'http://localhost/api/isolate',
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    params: id ? { id } : {},
    body: { string: JSON.stringify(body) },
  });
  const response = await handler(request, new InvocationContext({ logHandler: () => undefined }));
  // biome-ignore lint/suspicious/noExplicitAny: the tests read nested fields of the JSON answers
  return { status: response.status, body: response.jsonBody as Record<string, any> };
}

function principal(roles: string[]): Record<string, string> {
  const claims = [{ typ: 'name', val: 'alice@contoso.com' }, ...roles.map((val) => ({ typ: 'roles', val }))];
  return { 'x-ms-client-principal': Buffer.from(JSON.stringify({ claims })).toString('base64') };
}

afterEach(() => closeRuntime());
/** What the simulator holds before each case: an order that gets through isolates for real. */
let actionsBefore = 0;
beforeEach(() => {
  actionsBefore = sim.actions().length;
});

describe('a deployment without a tenant list', () => {
  it('refuses a tenant field with 422 rather than act in its own tenant', async () => {
    open({});
    const answer = await call(isolate, { hostname: HOST, comment: 'IR-1', tenant: CONTOSO });
    expect(answer).toEqual({
      status: 422,
      body: {
        error: {
          code: 'single-tenant',
          message: expect.stringContaining('this deployment serves one tenant'),
          path: '$.tenant',
        },
      },
    });
    expectDocumentedAnswer('/api/isolate', 'post', 422, answer.body);
    expect(sim.actions()).toHaveLength(actionsBefore);
  });
});

describe('a deployment with a tenant list, on the function key', () => {
  let runtime: Runtime;
  // Enforced: an order that gets through is handed on, not answered as a dry run.
  beforeEach(() => {
    runtime = open({ ...tenantSettings(), ISOLATION_MODE: 'enforce' });
  });

  it.each([
    ['names none', { hostname: HOST, comment: 'IR-2' }, 'tenant-not-named', /serves 4 tenants/],
    [
      'names one not listed',
      { hostname: HOST, comment: 'IR-2', tenant: NOT_LISTED },
      'tenant-not-configured',
      new RegExp(`tenant "${NOT_LISTED}" is neither the id nor the exact displayName`),
    ],
    [
      'names a listed name in another case',
      { hostname: HOST, comment: 'IR-2', tenant: 'contoso' },
      'tenant-not-configured',
      /exact displayName/,
    ],
    [
      'names a name two tenants share',
      { hostname: HOST, comment: 'IR-2', tenant: 'Tailspin' },
      'tenant-name-ambiguous',
      /name the tenant by its id/,
    ],
  ])('refuses an order that %s with 422 at $.tenant', async (_case, body, code, message) => {
    const answer = await call(isolate, body);
    expect(answer).toEqual({
      status: 422,
      body: { error: { code, message: expect.stringMatching(message), path: '$.tenant' } },
    });
    expect(sim.actions()).toHaveLength(actionsBefore);
  });

  it("refuses it in MDE's shape and on a release the same way", async () => {
    const machineId = String(sim.machines().find((m) => m.computerDnsName?.startsWith(`${HOST}.`))?.id);
    const mdeShaped = await call(machineIsolate, { Comment: 'IR-3' }, {}, machineId);
    expect(mdeShaped).toMatchObject({ status: 422, body: { error: { code: 'tenant-not-named' } } });
    const released = await call(release, { machineId, comment: 'IR-3', tenant: NOT_LISTED });
    expect(released).toMatchObject({ status: 422, body: { error: { code: 'tenant-not-configured' } } });
  });

  it('refuses a tenant that is not a bounded string with 400', async () => {
    const long = await call(isolate, { hostname: HOST, comment: 'IR-4', tenant: 'x'.repeat(101) });
    expect(long).toMatchObject({ status: 400, body: { error: { code: 'invalid-order', path: '$.tenant' } } });
    const number = await call(isolate, { hostname: HOST, comment: 'IR-4', tenant: 7 });
    expect(number).toMatchObject({ status: 400, body: { error: { path: '$.tenant' } } });
  });

  it('hands the order on with the canonical id, named by its id in any case or by its exact name', async () => {
    const orders: ManualOrder[] = [];
    const recording = {
      ...runtime,
      submitManual: (order: ManualOrder) => {
        orders.push(order);
        return runtime.submitManual(order);
      },
    };
    const caller = { label: FUNCTION_KEY_CALLER, name: null, objectId: null, tenants: 'every' as const };
    for (const tenant of [CONTOSO.toUpperCase(), 'Contoso']) {
      const command = parseOrder('isolate', { hostname: HOST, comment: 'IR-5', tenant });
      if (isOrderProblem(command)) throw new Error(command.message);
      // No wait: the answer is the queued request; what matters is the order handed on.
      const answer = await carryOutManualOrder(command, caller, recording, { waitMs: 0, pollMs: 0 });
      expect(answer.status).toBeLessThan(300);
    }
    expect(orders.map((o) => o.tenantId)).toEqual([CONTOSO, CONTOSO]);
    await runtime.waitForIdle(30_000);
  });
});

describe('a deployment with a tenant list behind Easy Auth', () => {
  beforeEach(() => open({ ...tenantSettings(), MANUAL_EASY_AUTH: 'on' }));
  const order = { hostname: HOST, comment: 'IR-6', tenant: 'Contoso', dryRun: true };

  it("refuses an operator without the tenant's role with 403 naming the tenant and the role", async () => {
    const answer = await call(
      isolate,
      order,
      principal(['Isolation.Operator', `Isolation.Tenant.${FABRIKAM}`]),
    );
    expect(answer).toEqual({
      status: 403,
      body: {
        error: {
          code: 'tenant-forbidden',
          message: `acting in tenant "Contoso" (${CONTOSO}) needs the app role Isolation.Tenant.${CONTOSO} or Isolation.Tenant.All: ask the app's owner to assign one to you`,
          path: '$.tenant',
        },
      },
    });
    expect(sim.actions()).toHaveLength(actionsBefore);
  });

  it("lets an operator with the tenant's role, or with every tenant's, act in it", async () => {
    for (const role of [`Isolation.Tenant.${CONTOSO.toUpperCase()}`, 'Isolation.Tenant.All']) {
      const answer = await call(isolate, order, principal(['Isolation.Operator', role]));
      expect(answer).toMatchObject({ status: 200, body: { status: 'dry-run', posted: false } });
    }
  });

  it('still needs the operator role: a tenant role alone is no operator', async () => {
    const answer = await call(isolate, order, principal([`Isolation.Tenant.${CONTOSO}`]));
    expect(answer).toMatchObject({ status: 403, body: { error: { code: 'forbidden' } } });
  });
});

describe("the register's reads and the action endpoints in a deployment with a tenant list", () => {
  const machineId = `42${'b'.repeat(38)}`;

  async function read(query: string, headers: Record<string, string> = {}) {
    const request = new HttpRequest({
      url: `http://localhost/api/isolations${query}`,
      method: 'GET',
      headers,
    });
    const response = await isolations(request, new InvocationContext({ logHandler: () => undefined }));
    // biome-ignore lint/suspicious/noExplicitAny: the tests read nested fields of the JSON answers
    return { status: response.status, body: response.jsonBody as Record<string, any> };
  }

  beforeEach(async () => {
    const runtime = open({ ...tenantSettings(), MANUAL_EASY_AUTH: 'on' });
    await runtime.tenant(CONTOSO).store.register.record({
      machineId,
      computerDnsName: 'lab-ws-0042.contoso.local',
      state: 'isolated',
      requestId: 'req-42',
      reason: 'MDE reports Succeeded',
      provenance: {
        requestedBy: { kind: 'rule', name: 'isolate-high' },
        alertSource: 'mde-alert',
        alertId: 'da-42',
        incidentId: null,
        incidentArmId: null,
        policyVersion: 'v1',
        mode: 'enforce',
        reason: 'high-severity alert',
      },
    });
  });

  const operator = (tenant: string) => principal(['Isolation.Operator', `Isolation.Tenant.${tenant}`]);

  it("reads the named tenant's own register, and no other tenant's", async () => {
    const contoso = await read('?tenant=Contoso', operator(CONTOSO));
    expect(contoso.status).toBe(200);
    expect(JSON.stringify(contoso.body)).toContain(machineId);
    const fabrikam = await read(`?tenant=${FABRIKAM}`, operator(FABRIKAM));
    expect(fabrikam.status).toBe(200);
    expect(JSON.stringify(fabrikam.body)).not.toContain(machineId);
  });

  it('needs the tenant named, and the caller allowed in it', async () => {
    expect(await read('', operator(CONTOSO))).toMatchObject({
      status: 422,
      body: { error: { code: 'tenant-not-named', path: 'tenant' } },
    });
    expect(await read('?tenant=Contoso', operator(FABRIKAM))).toMatchObject({
      status: 403,
      body: { error: { code: 'tenant-forbidden', path: 'tenant' } },
    });
    expect(await read(`?tenant=${'x'.repeat(101)}`, operator(CONTOSO))).toMatchObject({
      status: 400,
      body: { error: { code: 'invalid-tenant', path: 'tenant' } },
    });
  });

  it('reads the audit trail and the drift report of the named tenant only', async () => {
    const context = new InvocationContext({ logHandler: () => undefined });
    const get = (path: string, query: string, headers: Record<string, string>) =>
      new HttpRequest({ url: `http://localhost/api/${path}${query}`, method: 'GET', headers });
    const unnamed = await audit(get('audit', '', operator(CONTOSO)), context);
    expect(unnamed).toMatchObject({ status: 422, jsonBody: { error: { code: 'tenant-not-named' } } });
    const trail = await audit(get('audit', '?tenant=Contoso&since=7d', operator(CONTOSO)), context);
    expect(trail.status).toBe(200);
    expect(JSON.stringify(trail.jsonBody)).toContain('lab-ws-0042');
    const other = await audit(get('audit', `?tenant=${FABRIKAM}&since=7d`, operator(FABRIKAM)), context);
    expect(JSON.stringify(other.jsonBody)).not.toContain('lab-ws-0042');
    const report = await drift(get('drift', '?tenant=Contoso', operator(FABRIKAM)), context);
    expect(report).toMatchObject({ status: 403, jsonBody: { error: { code: 'tenant-forbidden' } } });
  });
});
