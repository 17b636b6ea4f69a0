/**
 * The incident comment reporter against a loopback stand-in for Azure Resource Manager, with tokens
 * from the real @azure/identity managed identity code signing in at the MDE simulator's identity
 * endpoint (which issues a token for any audience, here ARM's).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TokenCredential } from '@azure/identity';
import type { NormalizedAlert } from '../../shared/alerts/model';
import { loadConfig } from '../../shared/config';
import { outcomeRecord } from '../../shared/dispatch/outcome';
import { type IsolationRequest, isolateRequestFrom, requesterFor } from '../../shared/dispatch/request';
import { compressTiming } from '../../shared/dispatch/timing';
import { createCredential } from '../../shared/mde/credential';
import { loadPolicy } from '../../shared/policy/load';
import {
  commentIdFor,
  commentMessage,
  INCIDENT_COMMENTS_API_VERSION,
  type IncidentCommentOptions,
  MAX_COMMENT_CHARS,
  withIncidentComments,
} from '../../shared/report/sentinel-comments';
import { createRuntime } from '../../shared/runtime';
import type { RunningSimulator } from '../../simulator';
import { RATE_LIMITS, TEST_POLICY } from '../integration/harness';
import { recordingReporter } from '../support/reporter';
import { startSimulatorWithIdentity } from '../support/simulator';
import { trackingRequest } from '../support/tracking-request';

const INCIDENT =
  '/subscriptions/0f1e2d3c-4b5a-4697-8877-665544332211/resourceGroups/soc-rg/providers/Microsoft.OperationalInsights/workspaces/soc-ws/providers/Microsoft.SecurityInsights/Incidents/7a1c9e52-3b1f-4c8e-9d2a-5e6f7a8b9c0d';
const ARM = 'https://management.azure.com';
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

interface ArmCall {
  method: string;
  path: string;
  query: URLSearchParams;
  audience: string | null;
  body: unknown;
}

type Answer = { status: number; headers?: Record<string, string> } | 'hang';

/** Answers PUTs from a script (then 201), records each call with the token's audience. */
class FakeArm {
  readonly calls: ArmCall[] = [];
  private script: Answer[] = [];
  private readonly hanging: ServerResponse[] = [];
  private readonly server: Server = createServer((request, response) => this.handle(request, response));
  url = '';

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  answer(...script: Answer[]): void {
    this.script = script;
    this.calls.length = 0;
  }

  async close(): Promise<void> {
    for (const response of this.hanging) response.destroy();
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }

  private handle(request: IncomingMessage, response: ServerResponse): void {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const url = new URL(request.url ?? '/', this.url);
      const token = /^Bearer (.+)$/.exec(request.headers.authorization ?? '')?.[1];
      const claims = token
        ? JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString('utf8'))
        : null;
      this.calls.push({
        method: request.method ?? '',
        path: url.pathname,
        query: url.searchParams,
        audience: claims?.aud ?? null,
        body: chunks.length ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : null,
      });
      const next = this.script.shift() ?? { status: 201 };
      if (next === 'hang') {
        this.hanging.push(response);
        return;
      }
      response.writeHead(next.status, { 'content-type': 'application/json', ...next.headers });
      response.end(next.status >= 400 ? JSON.stringify({ error: { code: `Code${next.status}` } }) : '{}');
    });
  }
}

let sim: RunningSimulator;
let arm: FakeArm;
let credential: TokenCredential;

// One simulator per test file: MSAL keeps managed-identity tokens in a process-wide cache.
beforeAll(async () => {
  sim = await startSimulatorWithIdentity({
    rateLimits: RATE_LIMITS,
    lifecycle: { pendingMs: 40, inProgressMs: 40 },
  });
  arm = new FakeArm();
  await arm.start();
  credential = createCredential(loadConfig(sim.env()));
});

afterAll(async () => {
  await arm.close();
  await sim.close();
});

function isolationRequest(alert: Partial<NormalizedAlert> = {}): IsolationRequest {
  return trackingRequest({
    requestId: 'b3f1c2d4-5e6f-4a7b-8c9d-0e1f2a3b4c5d',
    alert: {
      source: 'sentinel-incident',
      incidentId: '7a1c9e52-3b1f-4c8e-9d2a-5e6f7a8b9c0d',
      incidentArmId: INCIDENT,
      title: 'Ransomware on WS-042',
      categories: [],
      mitreTechniques: [],
      ...alert,
    },
    tracking: {
      actionId: 'c9a2f0e1-7d3b-4e5f-a6b7-c8d9e0f1a2b3',
      machineId: '1e5bc9d7e413ddd7902c2932e418702b84d0cc07',
      computerDnsName: 'ws-042.contoso.local',
      postedAt: '2026-11-29T01:00:02.000Z',
      polls: 3,
    },
  });
}

const succeeded = (alert?: Partial<NormalizedAlert>) =>
  outcomeRecord(
    isolationRequest(alert),
    { outcome: 'succeeded', actionStatus: 'Succeeded', reason: 'MDE reports the isolation done.' },
    Date.parse('2026-11-29T01:02:00.000Z'),
  );

function commentReporter(options: Partial<IncidentCommentOptions> = {}) {
  const inner = recordingReporter();
  const reporter = withIncidentComments(inner.reporter, {
    credential,
    armBaseUrl: ARM,
    endpointUrl: arm.url,
    // The fake ARM answers in this process: a loaded machine can hold an answer past 1 s. The test of
    // the deadline sets its own.
    timeoutMs: 10_000,
    ...options,
  });
  return { ...inner, reporter };
}

describe('Sentinel incident comments', () => {
  it('PUTs one comment on the incident with an ARM token, after handing the outcome on', async () => {
    arm.answer();
    const { reporter, outcomes, notes } = commentReporter();
    const record = succeeded();
    reporter.outcome(record);
    expect(outcomes).toEqual([record]);
    await reporter.idle();

    expect(arm.calls).toHaveLength(1);
    const [call] = arm.calls;
    const commentId = commentIdFor(record);
    expect(commentId).toMatch(GUID);
    expect(call.method).toBe('PUT');
    expect(call.path).toBe(`${INCIDENT}/comments/${commentId}`);
    expect(call.query.get('api-version')).toBe(INCIDENT_COMMENTS_API_VERSION);
    expect(call.audience).toBe(ARM);
    expect(call.body).toEqual({ properties: { message: commentMessage(record) } });
    const message = (call.body as { properties: { message: string } }).properties.message;
    expect(message).toBe(
      'mde-isolator: isolate of ws-042.contoso.local: succeeded. Reason: MDE reports the isolation done. ' +
        'MDE action c9a2f0e1-7d3b-4e5f-a6b7-c8d9e0f1a2b3. Rule isolate-high, requested by rule isolate-high. ' +
        'Policy policy-7, enforce mode. Request b3f1c2d4-5e6f-4a7b-8c9d-0e1f2a3b4c5d.',
    );
    expect(notes).toEqual([]);
  });

  it('PUTs the same comment id when the same outcome is reported again, another for another outcome', async () => {
    arm.answer();
    const { reporter } = commentReporter();
    reporter.outcome(succeeded());
    reporter.outcome(succeeded());
    reporter.outcome({ ...succeeded(), outcome: 'failed' });
    await reporter.idle();
    const paths = arm.calls.map((c) => c.path);
    expect(paths).toHaveLength(3);
    expect(paths[0]).toBe(paths[1]);
    expect(paths[2]).not.toBe(paths[0]);
  });

  it('posts nothing for an alert without a Sentinel incident', async () => {
    arm.answer();
    const { reporter, outcomes, notes } = commentReporter();
    reporter.outcome(succeeded({ source: 'mde-alert', incidentId: '42', incidentArmId: null }));
    await reporter.idle();
    expect(outcomes).toHaveLength(1);
    expect(arm.calls).toEqual([]);
    expect(notes).toEqual([]);
  });

  it('refuses an incident id that names another ARM resource', async () => {
    arm.answer();
    const { reporter, notes } = commentReporter();
    const forged = '/subscriptions/x/resourceGroups/y/providers/Microsoft.Storage/storageAccounts/z';
    reporter.outcome(succeeded({ incidentArmId: forged }));
    await reporter.idle();
    expect(arm.calls).toEqual([]);
    expect(notes).toEqual([
      expect.objectContaining({ level: 'warn', event: 'incident-comment-failed', incidentArmId: forged }),
    ]);
  });

  it.each([
    ['an incident named ..', `${INCIDENT.replace(/[^/]+$/, '')}..`],
    ['an incident named .', `${INCIDENT.replace(/[^/]+$/, '')}.`],
    ['a workspace named ..', INCIDENT.replace('/workspaces/soc-ws/', '/workspaces/../')],
    ['a resource group named .', INCIDENT.replace('/resourceGroups/soc-rg/', '/resourceGroups/./')],
    ['an encoded ..', INCIDENT.replace('/resourceGroups/soc-rg/', '/resourceGroups/%2e%2e/')],
    ['a backslash', INCIDENT.replace('/workspaces/soc-ws/', '/workspaces/soc-ws\\..\\x/')],
  ])('refuses an incident id with %s as a segment', async (_what, forged) => {
    arm.answer();
    const { reporter, notes } = commentReporter();
    reporter.outcome(succeeded({ incidentArmId: forged }));
    await reporter.idle();
    expect(arm.calls).toEqual([]);
    expect(notes).toEqual([
      expect.objectContaining({
        event: 'incident-comment-failed',
        why: 'not a Sentinel incident resource id',
      }),
    ]);
  });

  it('logs one warning, without token or headers, when ARM answers 500', async () => {
    arm.answer({ status: 500 });
    const { reporter, outcomes, notes } = commentReporter();
    expect(() => reporter.outcome(succeeded())).not.toThrow();
    await reporter.idle();
    expect(outcomes).toHaveLength(1);
    expect(arm.calls).toHaveLength(1);
    expect(notes).toEqual([
      expect.objectContaining({
        level: 'warn',
        event: 'incident-comment-failed',
        status: 500,
        why: 'ARM answered 500 Code500',
        incidentArmId: INCIDENT,
        requestId: 'b3f1c2d4-5e6f-4a7b-8c9d-0e1f2a3b4c5d',
      }),
    ]);
    expect(JSON.stringify(notes)).not.toMatch(/bearer|authorization|eyJ/i);
  });

  it('logs one warning when ARM does not answer in time', async () => {
    arm.answer('hang');
    const { reporter, notes } = commentReporter({ timeoutMs: 150 });
    reporter.outcome(succeeded());
    await reporter.idle();
    expect(notes).toEqual([
      expect.objectContaining({ event: 'incident-comment-failed', status: null, why: expect.any(String) }),
    ]);
    expect(JSON.stringify(notes)).not.toMatch(/bearer|authorization|eyJ/i);
  });

  it('retries once after a 429, waiting the Retry-After up to the cap', async () => {
    arm.answer({ status: 429, headers: { 'retry-after': '30' } });
    const { reporter, notes } = commentReporter({ maxRetryAfterMs: 20 });
    reporter.outcome(succeeded());
    await reporter.idle();
    expect(arm.calls).toHaveLength(2);
    expect(arm.calls[1].path).toBe(arm.calls[0].path);
    expect(notes).toEqual([]);
  });

  it('gives up with a warning after a second 429', async () => {
    arm.answer(
      { status: 429, headers: { 'retry-after': '0' } },
      { status: 429, headers: { 'retry-after': '0' } },
    );
    const { reporter, notes } = commentReporter();
    reporter.outcome(succeeded());
    await reporter.idle();
    expect(arm.calls).toHaveLength(2);
    expect(notes).toEqual([expect.objectContaining({ event: 'incident-comment-failed', status: 429 })]);
  });

  it('writes a message without control characters or markup, capped in length', () => {
    const record = {
      ...succeeded(),
      computerDnsName: 'ws-042\u0000\u001b[31m\u202e<script>alert(1)</script>',
      reason: `line one\r\nline two\ttabbed ${'x'.repeat(5_000)}`,
    };
    const message = commentMessage(record);
    expect(message.length).toBeLessThanOrEqual(MAX_COMMENT_CHARS);
    // biome-ignore lint/suspicious/noControlCharactersInRegex: asserting their absence
    expect(message).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u202e]/);
    expect(message).not.toMatch(/[<>]/);
    expect(message).toMatch(/^mde-isolator: isolate of ws-042 \[31m &lt;script&gt;/);
    expect(message.endsWith('…')).toBe(true);
  });

  it('never cuts an HTML entity in half at the length cap', () => {
    const prefix = commentMessage({ ...succeeded(), reason: '' }).indexOf('Reason: ') + 'Reason: '.length;
    for (let shift = 0; shift < 4; shift++) {
      const reason = `${'x'.repeat(MAX_COMMENT_CHARS - prefix - 2 - shift)}${'<'.repeat(20)}`;
      const message = commentMessage({ ...succeeded(), reason });
      expect(message.length).toBeLessThanOrEqual(MAX_COMMENT_CHARS);
      expect(message).toMatch(/(x|&lt;)…$/);
    }
  });
});

describe('runtime with SENTINEL_INCIDENT_COMMENTS', () => {
  async function isolateThroughRuntime(setting: string, dnsName: string) {
    arm.answer();
    const inner = recordingReporter();
    const runtime = createRuntime({
      env: { ...sim.env(), MDE_RATE_LIMITS: RATE_LIMITS, SENTINEL_INCIDENT_COMMENTS: setting },
      policy: loadPolicy({ kind: 'inline', text: JSON.stringify(TEST_POLICY) }, null),
      reporter: inner.reporter,
      timing: compressTiming(0.001),
      armUrl: arm.url,
    });
    const machine = sim.machines().find((m) => m.computerDnsName === dnsName);
    if (!machine) throw new Error(`no simulated machine ${dnsName}`);
    const alert: NormalizedAlert = {
      ...isolationRequest().alert,
      devices: [{ mdeDeviceId: machine.id }],
    };
    const [decision] = runtime.policy.decideAlert(alert);
    await runtime.handle(
      isolateRequestFrom(decision, {
        alert,
        receivedAt: new Date(),
        policyVersion: decision.policyVersion,
        requestedBy: requesterFor(alert, decision.rule),
      }),
      { deliveryCount: 1 },
    );
    await runtime.inline?.idle();
    await runtime.close();
    return { machine, outcomes: inner.outcomes, calls: [...arm.calls] };
  }

  it('comments the end of a real isolation on its incident when on', async () => {
    const { machine, outcomes, calls } = await isolateThroughRuntime('on', 'ws-finance-01.contoso.local');
    expect(outcomes).toHaveLength(1);
    const [record] = outcomes;
    expect(record.outcome).toBe('succeeded');
    expect(calls.map((c) => c.path)).toEqual([`${INCIDENT}/comments/${commentIdFor(record)}`]);
    expect(calls[0].audience).toBe(ARM);
    const message = (calls[0].body as { properties: { message: string } }).properties.message;
    expect(message).toContain(`isolate of ${machine.computerDnsName}: succeeded.`);
    expect(message).toContain(`MDE action ${record.actionId}`);
  });

  it('posts nothing when off', async () => {
    const { outcomes, calls } = await isolateThroughRuntime('off', 'ws-hr-02.contoso.local');
    expect(outcomes).toHaveLength(1);
    expect(calls).toEqual([]);
  });
});
