import type { NormalizedAlert } from '../../shared/alerts/model';
import { parseAlertPayload } from '../../shared/alerts/parse';
import { outcomeRecord } from '../../shared/dispatch/outcome';
import { decodeRequest, isolateRequestFrom } from '../../shared/dispatch/request';
import {
  type DecisionSink,
  type IntakeLogLine,
  receiveAlerts,
  type SubmittedRequest,
} from '../../shared/intake/receive-alerts';
import { contractProblems } from '../../shared/kernel/record-fields';
import { loadPolicy } from '../../shared/policy/load';
import type { Decision } from '../../shared/policy/types';
import { tenantDirectory } from '../../shared/tenants/lookup';
import { parseTenantList } from '../../shared/tenants/parse';
import { fixtureAlert } from '../alerts/helpers';
import { fixture } from '../fixtures';
import { graphAlert } from '../support/alert-payloads';

/** The tenant the Defender samples (10–14) name, and the workspace the Sentinel samples (01–06) come from. */
const SAMPLE_TENANT = 'e3cd9e40-8c4b-40e3-af56-36f8d3388362';
const SAMPLE_WORKSPACE = '4bbc8746-752f-443e-b97b-650654adf06e';
const OTHER_TENANT = '8d1b6e3f-2a4c-4b5d-8e9f-0a1b2c3d4e5f';

const policy = loadPolicy({ kind: 'default' }, 'enforce');

function directoryOf(...entries: unknown[]) {
  const { tenants, problems } = parseTenantList(JSON.stringify(entries));
  expect(problems).toEqual([]);
  return tenantDirectory(tenants);
}

const SAMPLE_DIRECTORY = () =>
  directoryOf(
    { tenantId: SAMPLE_TENANT, displayName: 'Northwind', workspaceIds: [SAMPLE_WORKSPACE] },
    { tenantId: OTHER_TENANT, displayName: 'Fabrikam' },
  );

/** Records what reaches dispatch: nothing of a refused alert may. */
class RecordingSink implements DecisionSink {
  readonly submitted: NormalizedAlert[] = [];
  async breakerState() {
    return { open: false, reason: null };
  }
  async openBreaker(): Promise<void> {}
  async submit(alert: NormalizedAlert, decisions: Decision[]): Promise<SubmittedRequest[]> {
    this.submitted.push(alert);
    return decisions.map((_, decisionIndex) => ({
      requestId: `req-${this.submitted.length}-${decisionIndex}`,
      deviceKey: 'mde:x',
      decisionIndex,
      duplicate: false,
    }));
  }
}

async function intake(body: unknown, tenants?: ReturnType<typeof tenantDirectory>) {
  const sink = new RecordingSink();
  const lines: IntakeLogLine[] = [];
  const result = await receiveAlerts(body, { policy, sink, log: (l) => lines.push(l), tenants });
  return { result, sink, lines };
}

describe('what an alert names of its tenant', () => {
  it.each([
    ['01-sentinel-incident-xdr-single-host.json', { workspaceId: SAMPLE_WORKSPACE }],
    ['05-sentinel-alert-trigger-entities-array.json', { workspaceId: SAMPLE_WORKSPACE }],
    // A SecurityAlert row's TenantId column holds the workspace id, never the Entra tenant.
    ['06-securityalert-row-entities-string-ref.json', { workspaceId: SAMPLE_WORKSPACE }],
    ['10-mde-api-alert-medium.json', { tenantId: SAMPLE_TENANT }],
    ['11-graph-alert-v2-device-evidence.json', { tenantId: SAMPLE_TENANT }],
  ])('%s', (name, origin) => {
    expect(fixtureAlert(name).origin).toEqual(origin);
  });

  it('14-xdr-stream-evidence-first.json: each alert of the records', () => {
    const outcomes = parseAlertPayload(fixture('14-xdr-stream-evidence-first.json'));
    expect(outcomes.map((o) => ('alert' in o ? o.alert.origin : o))).toEqual([
      { tenantId: SAMPLE_TENANT },
      { tenantId: SAMPLE_TENANT },
    ]);
  });

  it('reads nothing from an Azure Monitor alert or a manual request that names no tenant', () => {
    expect(fixtureAlert('07-azmon-logalert-v2-fired-dimensions.json').origin).toBeUndefined();
    expect(fixtureAlert('15-manual-fqdn.json').origin).toBeUndefined();
  });

  it('takes a tenant id only: a name, a URL or a case trick is no tenant', () => {
    expect(parseAlertPayload(graphAlert({ tenantId: 'contoso.onmicrosoft.com' }))[0]).not.toHaveProperty(
      'alert.origin',
    );
    expect(fixtureAlert('11-graph-alert-v2-device-evidence.json')).toBeDefined();
    const upper = parseAlertPayload(graphAlert({ tenantId: SAMPLE_TENANT.toUpperCase() }))[0];
    expect(upper).toHaveProperty('alert.origin', { tenantId: SAMPLE_TENANT });
  });

  it('names no tenant for XDR records of one alert that disagree', () => {
    const body = structuredClone(fixture('14-xdr-stream-evidence-first.json')) as {
      records: { tenantId: string }[];
    };
    body.records[1].tenantId = OTHER_TENANT;
    const [first, second] = parseAlertPayload(body);
    expect(first).toHaveProperty('alert.alertId', 'da0c1d2e3f-1111-4a2b-9c3d-4e5f6a7b8c14_1');
    expect(first).not.toHaveProperty('alert.origin');
    expect(second).toHaveProperty('alert.origin', { tenantId: SAMPLE_TENANT });
  });

  it("reads a manual request's tenant strictly, naming the field", () => {
    const manual = fixture('15-manual-fqdn.json') as Record<string, unknown>;
    expect(parseAlertPayload({ ...manual, tenant: OTHER_TENANT.toUpperCase() })[0]).toHaveProperty(
      'alert.origin',
      { tenantId: OTHER_TENANT },
    );
    expect(parseAlertPayload({ ...manual, tenant: 'fabrikam' })[0]).toMatchObject({
      problem: { code: 'invalid-field', path: '$.tenant' },
    });
  });
});

describe('intake in a multi-tenant deployment', () => {
  it('decides each alert in the tenant it names, by tenant id or by Sentinel workspace', async () => {
    const { result, sink } = await intake(
      [
        fixture('01-sentinel-incident-xdr-single-host.json'),
        fixture('11-graph-alert-v2-device-evidence.json'),
        { ...(fixture('15-manual-fqdn.json') as object), tenant: OTHER_TENANT },
      ],
      SAMPLE_DIRECTORY(),
    );
    expect(result).toMatchObject({ accepted: 3, rejected: 0 });
    expect(sink.submitted.map((a) => a.tenantId)).toEqual([SAMPLE_TENANT, SAMPLE_TENANT, OTHER_TENANT]);
  });

  it('refuses an alert of a tenant it does not serve, or naming none, saying what and where, and logs it', async () => {
    const stranger = '11111111-2222-4333-8444-555555555555';
    const { result, sink, lines } = await intake(
      [
        graphAlert({ tenantId: stranger, evidence: [] }),
        fixture('07-azmon-logalert-v2-fired-dimensions.json'),
        fixture('11-graph-alert-v2-device-evidence.json'),
      ],
      SAMPLE_DIRECTORY(),
    );
    expect(result).toMatchObject({ accepted: 1, rejected: 2 });
    expect(result.alerts.slice(0, 2)).toEqual([
      {
        path: '$[0]',
        status: 'rejected',
        error: {
          code: 'tenant-not-configured',
          path: '$[0]',
          message: expect.stringMatching(
            `^\\$\\[0\\]: tenant ${stranger} is not in this deployment's tenant list`,
          ),
        },
      },
      {
        path: '$[1]',
        status: 'rejected',
        error: { code: 'tenant-not-named', path: '$[1]', message: expect.stringMatching(/names no tenant/) },
      },
    ]);
    // Never decided, so never acted on in any tenant.
    expect(sink.submitted.map((a) => a.alertId)).toEqual([
      fixtureAlert('11-graph-alert-v2-device-evidence.json').alertId,
    ]);
    expect(lines.filter((l) => l.event === 'alert-rejected')).toEqual([
      expect.objectContaining({ path: '$[0]', code: 'tenant-not-configured', source: 'graph-alert' }),
      expect.objectContaining({ path: '$[1]', code: 'tenant-not-named', source: 'azure-monitor' }),
    ]);
  });

  it('puts the tenant on the decision records', async () => {
    const { lines } = await intake(fixture('11-graph-alert-v2-device-evidence.json'), SAMPLE_DIRECTORY());
    const decisions = lines.filter((l) => l.event === 'alert-decision');
    expect(decisions.length).toBeGreaterThan(0);
    for (const line of decisions) {
      expect(line.tenant).toBe(SAMPLE_TENANT);
      expect(contractProblems(line)).toEqual([]);
    }
  });
});

describe('intake in a single-tenant deployment (no tenant list)', () => {
  it('decides every alert as before, whatever tenant it names, and records no tenant', async () => {
    const { result, sink, lines } = await intake([
      graphAlert({ tenantId: OTHER_TENANT, evidence: [] }),
      fixture('11-graph-alert-v2-device-evidence.json'),
      fixture('07-azmon-logalert-v2-fired-dimensions.json'),
    ]);
    expect(result).toMatchObject({ accepted: 3, rejected: 0 });
    expect(sink.submitted.map((a) => a.tenantId)).toEqual([undefined, undefined, undefined]);
    expect(lines.some((l) => 'tenant' in l)).toBe(false);
  });
});

describe('the tenant on the request and its outcome', () => {
  const alert = { ...fixtureAlert('11-graph-alert-v2-device-evidence.json'), tenantId: SAMPLE_TENANT };
  const decision = policy.decideAlert(alert).find((d) => d.action === 'isolate') as Decision;
  const origin = {
    alert,
    receivedAt: new Date(0),
    policyVersion: 'v1',
    requestedBy: { kind: 'rule' as const, name: 'r' },
  };

  it('carries it through the queue and onto the outcome record', () => {
    const request = isolateRequestFrom(decision, origin);
    expect(request.tenantId).toBe(SAMPLE_TENANT);
    const decoded = decodeRequest(JSON.parse(JSON.stringify(request)));
    expect(decoded).toEqual({ request });
    const record = outcomeRecord(request, { outcome: 'dry-run', reason: 'test' }, 1000);
    expect(record.tenant).toBe(SAMPLE_TENANT);
    expect(contractProblems(record as unknown as Record<string, unknown>)).toEqual([]);
  });

  it('has none in a single-tenant deployment', () => {
    const request = isolateRequestFrom(decision, { ...origin, alert: { ...alert, tenantId: undefined } });
    expect(request).not.toHaveProperty('tenantId');
    expect(outcomeRecord(request, { outcome: 'dry-run', reason: 'test' }, 1000)).not.toHaveProperty('tenant');
  });

  it('refuses a queued request whose tenant is not a tenant id, never reading it as none', () => {
    const request = isolateRequestFrom(decision, origin);
    expect(decodeRequest({ ...request, tenantId: 'contoso' })).toEqual({
      problem: 'tenantId is not a tenant id (GUID)',
    });
  });
});
