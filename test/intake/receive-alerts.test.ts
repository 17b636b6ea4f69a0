import { MAX_DEVICES_PER_ALERT, type NormalizedAlert } from '../../shared/alerts/model';
import {
  type DecisionSink,
  INTAKE_SLICE,
  type IntakeLogLine,
  receiveAlerts,
  type SubmittedRequest,
} from '../../shared/intake/receive-alerts';
import { loadPolicy } from '../../shared/policy/load';
import type { BreakerState, Decision, IsolationPolicy } from '../../shared/policy/types';
import { StoreUnavailableError } from '../../shared/state/store';
import { fixture } from '../fixtures';
import { mdeAlert } from '../support/alert-payloads';

const policy = loadPolicy({ kind: 'default' }, 'enforce');

/**
 * A working in-memory queue: one request per isolate decision, duplicates by device + action, over a
 * shared breaker that is closed until opened.
 */
class MemorySink implements DecisionSink {
  readonly queued = new Map<string, { alert: NormalizedAlert; decision: Decision }>();
  breaker: BreakerState = { open: false, reason: null };
  async breakerState(): Promise<BreakerState> {
    return this.breaker;
  }
  async openBreaker(reason: string): Promise<void> {
    this.breaker = { open: true, reason };
  }
  async submit(alert: NormalizedAlert, decisions: Decision[]): Promise<SubmittedRequest[]> {
    return decisions.flatMap((decision, decisionIndex) => {
      if (decision.action !== 'isolate') return [];
      const deviceKey = `mde:${decision.device.mdeDeviceId ?? decision.device.fqdn}`;
      const duplicate = this.queued.has(deviceKey);
      if (!duplicate) this.queued.set(deviceKey, { alert, decision });
      return [{ requestId: `req-${deviceKey}`, deviceKey, decisionIndex, duplicate }];
    });
  }
}

function run(body: unknown, deps: { policy?: IsolationPolicy; sink?: DecisionSink } = {}) {
  const lines: IntakeLogLine[] = [];
  const result = receiveAlerts(body, {
    policy: deps.policy ?? policy,
    sink: deps.sink,
    log: (l) => lines.push(l),
  });
  return result.then((r) => ({ result: r, lines }));
}

describe('receiveAlerts', () => {
  it('lets the event loop run between slices of a large batch, so dispatch is not starved', async () => {
    const batch = Array.from({ length: 4 * INTAKE_SLICE }, (_, n) =>
      mdeAlert({ machineId: n.toString(16).padStart(40, '0') }),
    );
    const sink = new MemorySink();
    let queuedWhenLoopRan = -1;
    setImmediate(() => {
      queuedWhenLoopRan = sink.queued.size;
    });
    const { result } = await run(batch, { sink });
    expect(result.accepted).toBe(batch.length);
    // The loop ran after the first slice, long before the last alert was queued.
    expect(queuedWhenLoopRan).toBe(INTAKE_SLICE);
  });

  it("submits a slice's alerts together, and the next slice while one waits, never more than two", async () => {
    const sink = new MemorySink();
    const waiting: (() => void)[] = [];
    const slowSink: DecisionSink = {
      breakerState: () => sink.breakerState(),
      openBreaker: (reason) => sink.openBreaker(reason),
      // Each submit waits on the store until the test lets it answer.
      submit: async (alert, decisions) => {
        await new Promise<void>((resolve) => waiting.push(resolve));
        return sink.submit(alert, decisions);
      },
    };
    const batch = Array.from({ length: 3 * INTAKE_SLICE }, (_, n) =>
      mdeAlert({ machineId: n.toString(16).padStart(40, '0') }),
    );
    const received = run(batch, { sink: slowSink });
    const turns = async () => {
      for (let turn = 0; turn < 10; turn += 1) await new Promise((resolve) => setImmediate(resolve));
    };
    await turns();
    // Two whole slices wait at once; the third waits for the first.
    expect(waiting).toHaveLength(2 * INTAKE_SLICE);
    for (const answer of waiting.splice(0, INTAKE_SLICE)) answer();
    await turns();
    expect(waiting).toHaveLength(2 * INTAKE_SLICE);
    for (const answer of waiting.splice(0)) answer();
    const { result } = await received;
    expect(result.accepted).toBe(batch.length);
    expect(result.alerts.map((a) => a.path)).toEqual(batch.map((_, n) => `$[${n}]`));
  });

  it('decides a ransomware alert under the default policy and queues one isolation request', async () => {
    const sink = new MemorySink();
    const { result } = await run(fixture('11-graph-alert-v2-device-evidence.json'), { sink });
    expect(result).toMatchObject({ accepted: 1, rejected: 0, failed: 0 });
    const [report] = result.alerts;
    expect(report).toMatchObject({
      path: '$',
      status: 'accepted',
      source: 'graph-alert',
      alertId: 'da98ef15b6-f373-4725-a128-324c645dd198_1',
      severity: 'high',
      firing: true,
      requestIds: ['req-mde:41d31f1735beb60b6bf9b591ce42c615d3a2c9a5'],
    });
    if (report.status !== 'accepted') throw new Error('not accepted');
    expect(report.decisions).toHaveLength(1);
    expect(report.decisions[0]).toMatchObject({ action: 'isolate', isolationType: 'Full', mode: 'enforce' });
    expect(sink.queued.size).toBe(1);
  });

  it('queues nothing for a closed incident: the policy skips every device', async () => {
    const sink = new MemorySink();
    const { result } = await run(fixture('04-sentinel-incident-closed.json'), { sink });
    const [report] = result.alerts;
    expect(report).toMatchObject({ status: 'accepted', firing: false, requestIds: [] });
    expect(report.status === 'accepted' && report.decisions.map((d) => d.action)).toEqual(['skip']);
    expect(sink.queued.size).toBe(0);
  });

  it('reports each batch item on its own and marks a repeat request as a duplicate', async () => {
    const sink = new MemorySink();
    const manual = { machineId: '41d31f1735beb60b6bf9b591ce42c615d3a2c9a5', comment: 'contain now' };
    const { result } = await run(
      [fixture('11-graph-alert-v2-device-evidence.json'), { nope: true }, manual],
      { sink },
    );
    expect(result).toMatchObject({ accepted: 2, rejected: 1, failed: 0 });
    expect(result.alerts.map((a) => [a.path, a.status])).toEqual([
      ['$[0]', 'accepted'],
      ['$[1]', 'rejected'],
      ['$[2]', 'accepted'],
    ]);
    const last = result.alerts[2];
    expect(last.status === 'accepted' && last.requests).toEqual([
      expect.objectContaining({ decisionIndex: 0, duplicate: true }),
    ]);
  });

  it('logs one structured line per decision, naming the device and the rule', async () => {
    const { lines } = await run(fixture('08-azmon-legacy-searchresults-fired.json'));
    expect(lines).toEqual([
      expect.objectContaining({
        event: 'alert-decision',
        device: 'ab12cd34ef56ab12cd34ef56ab12cd34ef56ab12',
        action: 'skip',
        rule: 'default',
      }),
      expect.objectContaining({
        event: 'alert-decision',
        device: 'cd34ef56ab12cd34ef56ab12cd34ef56ab12cd34',
        action: 'skip',
      }),
    ]);
  });

  it('logs an alert without devices once, and a rejected item by path and code only', async () => {
    const { lines } = await run([fixture('12-graph-alert-v2-no-device-evidence.json'), 'junk']);
    expect(lines).toEqual([
      expect.objectContaining({ event: 'alert-received', devices: 0, decision: 'none' }),
      { event: 'alert-rejected', path: '$[1]', code: 'unrecognized-payload' },
    ]);
  });

  it('marks an alert failed, not accepted, when the queue refuses it, and keeps the other items', async () => {
    const sink: DecisionSink = {
      breakerState: async () => ({ open: false, reason: null }),
      openBreaker: async () => undefined,
      submit: async (alert) => {
        if (alert.source === 'relay-manual') throw new Error('Service Bus unavailable');
        return [];
      },
    };
    const manual = { hostname: 'web1', comment: 'contain' };
    const { result, lines } = await run([fixture('10-mde-api-alert-medium.json'), manual], { sink });
    expect(result).toMatchObject({ accepted: 1, failed: 1 });
    expect(result.alerts[1]).toMatchObject({ status: 'failed', error: { code: 'enqueue-failed' } });
    expect(lines).toContainEqual(expect.objectContaining({ event: 'alert-failed', stage: 'enqueue' }));
  });

  it('opens the shared breaker for an alert naming too many devices, and the next alert sees it open', async () => {
    const strict = loadPolicy(
      {
        kind: 'inline',
        text: JSON.stringify({
          version: 't',
          mode: 'enforce',
          rules: [{ name: 'isolate-high', minSeverity: 'high', action: 'isolate' }],
          blastRadius: { maxDevicesPerAlert: 1 },
        }),
      },
      null,
    );
    const sink = new MemorySink();
    const many = { hostname: 'web1', comment: 'x' };
    const alert = fixture('11-graph-alert-v2-device-evidence.json') as Record<string, unknown>;
    const storm = {
      ...alert,
      evidence: ['a', 'b'].map((n) => ({
        '@odata.type': '#microsoft.graph.security.deviceEvidence',
        deviceDnsName: `ws-${n}.corp.example`,
      })),
    };
    const { result, lines } = await run([storm, alert], { policy: strict, sink });
    expect(sink.breaker).toEqual({ open: true, reason: expect.stringMatching(/^blast-radius breaker open/) });
    // The record the breaker alert rule (infra/alert-rules.json) reads.
    expect(lines).toContainEqual(
      expect.objectContaining({
        event: 'breaker-opened',
        reason: sink.breaker.reason,
        alertId: expect.any(String),
      }),
    );
    const next = result.alerts[1];
    expect(next.status === 'accepted' && next.decisions.map((d) => d.rule)).toEqual(['blast-radius']);
    expect(sink.queued.size).toBe(0);
    // The manual shape relayed here is no person's request the breaker lets through: it is held too.
    const { result: relayed } = await run(many, { policy: strict, sink });
    const [held] = relayed.alerts;
    expect(held.status === 'accepted' && held.decisions.map((d) => [d.action, d.rule])).toEqual([
      ['escalate', 'blast-radius'],
    ]);
    expect(sink.queued.size).toBe(0);
  });

  it('marks an alert failed, not lost, when the shared breaker cannot be read', async () => {
    const sink = new MemorySink();
    sink.breakerState = async () => {
      throw new StoreUnavailableError('state store did not answer in time (read on mdeisolatorBreaker)');
    };
    const { result, lines } = await run(fixture('11-graph-alert-v2-device-evidence.json'), { sink });
    expect(result).toMatchObject({ accepted: 0, failed: 1 });
    expect(result.alerts[0]).toMatchObject({ status: 'failed', error: { code: 'state-unavailable' } });
    expect(lines).toContainEqual(expect.objectContaining({ event: 'alert-failed', stage: 'state' }));
    expect(sink.queued.size).toBe(0);
  });

  it('marks an alert failed when the policy throws', async () => {
    // A policy whose stage-1 decision has a bug; everything else is the real default policy.
    const broken: IsolationPolicy = Object.create(policy, {
      assessAlert: {
        value: () => {
          throw new Error('rule bug');
        },
      },
    });
    const { result } = await run(fixture('10-mde-api-alert-medium.json'), { policy: broken });
    expect(result.alerts[0]).toMatchObject({ status: 'failed', error: { code: 'decision-failed' } });
  });

  it('answers an alert naming 80,000 devices with one escalation: nothing queued, one log line, a bounded response', async () => {
    const body = structuredClone(fixture('11-graph-alert-v2-device-evidence.json')) as Record<
      string,
      unknown
    >;
    body.evidence = Array.from({ length: 80_000 }, (_, i) => ({
      '@odata.type': '#microsoft.graph.security.deviceEvidence',
      mdeDeviceId: i.toString(16).padStart(40, '0'),
      deviceDnsName: `ws-${i}.corp.example`,
    }));
    const sink = new MemorySink();
    const { result, lines } = await run(body, { sink });
    const [report] = result.alerts;
    if (report.status !== 'accepted') throw new Error('not accepted');
    expect(report.decisions).toEqual([expect.objectContaining({ action: 'escalate', rule: 'blast-radius' })]);
    expect(report.decisions[0].reason).toContain(`80000 devices, more than the ${MAX_DEVICES_PER_ALERT}`);
    expect(report.truncated).toEqual({ devices: 80_000 });
    expect(report.devices).toHaveLength(MAX_DEVICES_PER_ALERT);
    expect(report.requestIds).toEqual([]);
    expect(sink.queued.size).toBe(0);
    expect(lines).toEqual([
      expect.objectContaining({ event: 'alert-decision', device: 'whole alert', truncated: 'devices=80000' }),
    ]);
    // The 80,000 devices once came back as a 32 MB response: now the cap's 1,000 and one decision.
    expect(JSON.stringify(result).length).toBeLessThan(150_000);
  });
});
