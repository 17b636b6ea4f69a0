import { HttpRequest, type HttpResponseInit, InvocationContext } from '@azure/functions';
import { alerts } from '../../functions/alerts';
import { loadPolicy } from '../../shared/policy/load';
import { createRuntime, installRuntime } from '../../shared/runtime';
import { fixture } from '../fixtures';
import { useQueueOnlyRuntime } from '../setup/queue-only-runtime';
import { expectDocumentedAnswer } from '../support/openapi';
import { silentReporter } from '../support/reporter';

// Intake ends at the queue: requests are queued, never sent to MDE.
const installed = useQueueOnlyRuntime();

function post(
  body: string | Uint8Array,
  headers: Record<string, string> = { 'content-type': 'application/json' },
) {
  const init = typeof body === 'string' ? { string: body } : { bytes: body };
  return new HttpRequest({ url: 'http://localhost/api/alerts', method: 'POST', headers, body: init });
}

async function call(request: HttpRequest): Promise<{ response: HttpResponseInit; logs: string[] }> {
  const logs: string[] = [];
  const context = new InvocationContext({ logHandler: (_level, ...args) => logs.push(args.join(' ')) });
  return { response: await alerts(request, context), logs };
}

interface ResponseBody {
  error: { code: string; message: string; path?: string };
  alerts: Array<{ status: string } & Record<string, unknown>>;
  accepted: number;
}

const body = (response: HttpResponseInit) => response.jsonBody as ResponseBody;

describe('POST /api/alerts', () => {
  it('answers 202 with the alert, its devices and the policy decisions', async () => {
    const { response, logs } = await call(
      post(JSON.stringify(fixture('01-sentinel-incident-xdr-single-host.json'))),
    );
    expect(response.status).toBe(202);
    expect(body(response)).toMatchObject({ accepted: 1, rejected: 0, failed: 0 });
    expectDocumentedAnswer('/api/alerts', 'post', 202, response.jsonBody);
    expect(body(response).alerts[0]).toMatchObject({
      status: 'accepted',
      source: 'sentinel-incident',
      alertId: 'b8833ef0-e7fc-4866-832c-15a71722ba00',
      incidentId: '5ea509e5-5baf-4583-b891-85e08961ce29',
      severity: 'high',
      firing: true,
      devices: [{ mdeDeviceId: '716240a6127a2375ac877a23ed488ec786b9e4a4' }],
      decisions: [{ action: 'escalate', rule: 'high-severity-review', policyVersion: 'default-2026.11' }],
      requestIds: [],
    });
    expect(logs.map((line) => JSON.parse(line))).toContainEqual(
      expect.objectContaining({ event: 'alert-decision', action: 'escalate' }),
    );
  });

  it('logs neither request headers nor payload text, for accepted and rejected items alike', async () => {
    const secret = 'key-5f2a9c-do-not-log';
    // requestedBy is left out: who asked is audit data the decision's reason names on purpose.
    const manual = { hostname: 'web1', comment: 'comment-marker-4711' };
    const { response, logs } = await call(
      post(JSON.stringify([manual, { note: 'rejected-marker-0815' }]), {
        'content-type': 'application/json',
        'x-functions-key': secret,
        authorization: `Bearer ${secret}`,
      }),
    );
    expect(response.status).toBe(202);
    expect(logs.length).toBeGreaterThan(0);
    for (const line of logs) expect(line).not.toMatch(/key-5f2a9c|comment-marker|rejected-marker/);
  });

  it('accepts a batch with a bad item, reporting the item without sinking the others', async () => {
    const { response } = await call(post(JSON.stringify(fixture('17-batch-mixed-with-bad-item.json'))));
    expect(response.status).toBe(202);
    expect(body(response).alerts.map((a) => a.status)).toEqual(['accepted', 'rejected', 'accepted']);
  });

  it('answers 400 for a body that is not JSON', async () => {
    const { response } = await call(post('{"severity": "High",'));
    expect(response.status).toBe(400);
    expect(body(response).error).toMatchObject({ code: 'invalid-json' });
  });

  it('answers 400 for bytes that are not UTF-8 and for an empty body', async () => {
    expect((await call(post(new Uint8Array([0x7b, 0xff, 0xfe, 0x7d])))).response.status).toBe(400);
    expect((await call(post(''))).response.status).toBe(400);
  });

  it('answers 422 naming the closest shape and what it lacks', async () => {
    const { response } = await call(
      post(JSON.stringify({ schemaId: 'azureMonitorCommonAlertSchema', data: {} })),
    );
    expect(response.status).toBe(422);
    expect(body(response).error).toMatchObject({ code: 'unrecognized-payload', path: '$' });
    expectDocumentedAnswer('/api/alerts', 'post', 422, response.jsonBody);
    expect(body(response).error.message).toContain(
      'Closest: Azure Monitor common alert schema (action group webhook), missing data.essentials.alertId, data.essentials.monitorCondition.',
    );
  });

  it('answers 422 when no item of a batch is an alert', async () => {
    const { response } = await call(post('[1, {"a": 2}]'));
    expect(response.status).toBe(422);
    expect(body(response).error).toMatchObject({ code: 'no-alert-accepted', path: '$' });
    expect(body(response).alerts).toHaveLength(2);
    expectDocumentedAnswer('/api/alerts', 'post', 422, response.jsonBody);
  });

  it('answers 413 from Content-Length before reading', async () => {
    const { response } = await call(
      post('{}', { 'content-type': 'application/json', 'content-length': String(2 * 1024 * 1024) }),
    );
    expect(response.status).toBe(413);
    expect(body(response).error.code).toBe('body-too-large');
  });

  it('answers 413 from the bytes actually read when Content-Length is missing or lies', async () => {
    const big = JSON.stringify({ comment: 'x'.repeat(1024 * 1024 + 10), hostname: 'web1' });
    expect((await call(post(big))).response.status).toBe(413);
    expect(
      (await call(post(big, { 'content-type': 'application/json', 'content-length': '10' }))).response.status,
    ).toBe(413);
  });

  it('answers 413 for a batch of more items than one request may carry, however small they are', async () => {
    // 1 MiB of tiny items would otherwise become hundreds of MB of per-item error reports and log lines.
    const { response, logs } = await call(post(`[${Array(5000).fill('1').join(',')}]`));
    expect(response.status).toBe(413);
    expect(body(response).error).toMatchObject({ code: 'too-many-items', path: '$' });
    expect(body(response).error.message).toMatch(/5000 items; at most 1000/);
    expect(logs).toEqual([]);
    const list = await call(post(JSON.stringify({ value: Array(1001).fill({}) })));
    expect(list.response.status).toBe(413);
  });

  it('answers 405 with Allow for other methods, as JSON', async () => {
    const { response } = await call(new HttpRequest({ url: 'http://localhost/api/alerts', method: 'GET' }));
    expect(response.status).toBe(405);
    expect(response.headers).toEqual({ Allow: 'POST' });
    expect(body(response).error.code).toBe('method-not-allowed');
  });

  it('answers 415 for a body that is not declared as JSON, and accepts charset parameters', async () => {
    const form = await call(post('a=b', { 'content-type': 'application/x-www-form-urlencoded' }));
    expect(form.response.status).toBe(415);
    const manual = JSON.stringify({ hostname: 'web1', comment: 'test' });
    expect(
      (await call(post(manual, { 'content-type': 'application/json; charset=utf-8' }))).response.status,
    ).toBe(202);
  });

  it('answers 503 without details when the policy setting is invalid', async () => {
    const saved = process.env.ISOLATION_POLICY;
    process.env.ISOLATION_POLICY = '{"version": 3}';
    try {
      await jest.isolateModulesAsync(async () => {
        const fresh = (await import('../../functions/alerts')).alerts;
        const response = await fresh(post('{}'), new InvocationContext({ logHandler: () => undefined }));
        expect(response.status).toBe(503);
        expect(body(response).error).toEqual({
          code: 'misconfigured',
          message: 'the app settings or the isolation policy are invalid; see the logs',
        });
      });
    } finally {
      if (saved === undefined) delete process.env.ISOLATION_POLICY;
      else process.env.ISOLATION_POLICY = saved;
    }
  });

  it('uses the runtime installed now, not the one of its first call', async () => {
    await call(post(JSON.stringify(fixture('10-mde-api-alert-medium.json'))));
    const first = installed();
    const policy = loadPolicy(
      {
        kind: 'inline',
        text: JSON.stringify({ version: 'replaced-1', mode: 'dry-run', rules: [], defaultAction: 'skip' }),
      },
      null,
    );
    const replacement = installRuntime(
      createRuntime({
        policy,
        startWorker: false,
        reporter: silentReporter,
      }),
    );
    try {
      const { response } = await call(post(JSON.stringify(fixture('10-mde-api-alert-medium.json'))));
      expect(body(response).alerts[0]).toMatchObject({ decisions: [{ policyVersion: 'replaced-1' }] });
    } finally {
      await replacement.close();
      installRuntime(first);
    }
  });

  it('refuses with 422 an alert of a tenant the deployment does not list, naming the code and the path', async () => {
    const first = installed();
    const listed = installRuntime(
      createRuntime({
        env: {
          AZURE_CLIENT_ID: '0c0ffee0-1111-4222-8333-444444444444',
          MDE_TENANT_APP_CLIENT_ID: '6a1f0e2d-3c4b-4a59-8e7f-90a1b2c3d4e5',
          MDE_TENANTS: JSON.stringify([
            { tenantId: '2f4a9c1e-7b3d-4e8a-9c21-5d6e7f8a9b0c', displayName: 'Contoso' },
          ]),
        },
        startWorker: false,
        reporter: silentReporter,
      }),
    );
    try {
      // Sample 10 names tenant e3cd9e40-…, which this deployment does not serve.
      const { response, logs } = await call(post(JSON.stringify(fixture('10-mde-api-alert-medium.json'))));
      expect(response.status).toBe(422);
      expect(body(response).error).toMatchObject({
        code: 'tenant-not-configured',
        path: '$',
        message: expect.stringContaining('tenant e3cd9e40-8c4b-40e3-af56-36f8d3388362 is not in'),
      });
      expectDocumentedAnswer('/api/alerts', 'post', 422, response.jsonBody);
      expect(logs.map((line) => JSON.parse(line))).toContainEqual(
        expect.objectContaining({ event: 'alert-rejected', code: 'tenant-not-configured' }),
      );
    } finally {
      await listed.close();
      installRuntime(first);
    }
  });
});
