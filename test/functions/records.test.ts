/**
 * The record contract (shared/kernel/record-fields.ts, docs/records.md): every record kind, written
 * through a function's invocation, lands in that invocation's log and carries the contract's fields.
 */
import { readFileSync } from 'node:fs';
import { HttpRequest, InvocationContext, type LogLevel } from '@azure/functions';
import { alerts } from '../../functions/alerts';
import { worker } from '../../functions/worker';
import { jsonLinesReporter } from '../../shared/dispatch/outcome';
import { isolateRequestFrom } from '../../shared/dispatch/request';
import { messageFor, TRACE_PARENT_PROPERTY } from '../../shared/dispatch/transport/queue';
import { withinInvocation, writeRecord } from '../../shared/kernel/invocation-log';
import { contractProblems, RECORD_FIELDS, recordKind } from '../../shared/kernel/record-fields';
import { closeRuntime, createRuntime, installRuntime, type Runtime } from '../../shared/runtime';
import type { RunningSimulator } from '../../simulator';
import { fixture } from '../fixtures';
import { alertOf } from '../support/alerts';
import { startSimulatorWithIdentity } from '../support/simulator';

const TRACE_PARENT = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';

/** A real invocation context whose log is kept: each line parsed, with its level. */
function invocation(triggerMetadata: Record<string, unknown> = {}) {
  const lines: { level: LogLevel; record: Record<string, unknown> }[] = [];
  const context = new InvocationContext({
    triggerMetadata,
    traceContext: { traceParent: TRACE_PARENT },
    logHandler: (level, ...args) => lines.push({ level, record: JSON.parse(args.join(' ')) }),
  });
  return { context, lines };
}

describe('records through the invocation context', () => {
  let sim: RunningSimulator;
  let runtime: Runtime;
  const logged = jest.spyOn(console, 'log').mockImplementation(() => undefined);

  beforeAll(async () => {
    sim = await startSimulatorWithIdentity();
    // The default reporter: records go where the app writes them. Dry-run ends a request within
    // the delivery that decides it, so its outcome is written inside the worker's invocation.
    runtime = installRuntime(
      createRuntime({ env: { ...sim.env(), ISOLATION_MODE: 'dry-run' }, startWorker: false }),
    );
  });
  afterAll(async () => {
    await closeRuntime();
    await sim.close();
    logged.mockRestore();
  });

  it('writes a decision record to the log of the alerts invocation', async () => {
    const { context, lines } = invocation();
    const request = new HttpRequest({
      url: 'http://localhost/api/alerts',
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: { string: JSON.stringify(fixture('01-sentinel-incident-xdr-single-host.json')) },
    });
    await alerts(request, context);
    const decision = lines.find((line) => line.record.event === 'alert-decision');
    expect(decision && recordKind(decision.record)).toBe('decision');
    expect(contractProblems(decision?.record ?? {})).toEqual([]);
  });

  it('writes the outcome and the dead-letter record to the log of the worker invocation', async () => {
    const machine = sim.machines()[0];
    const alert = alertOf({ devices: [{ mdeDeviceId: machine.id }] });
    const [decision] = runtime.policy.decideAlert(alert);
    const request = isolateRequestFrom(
      { ...decision, action: 'isolate' },
      {
        alert,
        receivedAt: new Date(),
        policyVersion: decision.policyVersion,
        requestedBy: { kind: 'rule', name: decision.rule },
      },
    );
    const delivered = invocation({ deliveryCount: 1, messageId: 'msg-1' });
    await worker(JSON.stringify(request), delivered.context);
    const outcome = delivered.lines.find((line) => line.record.event === 'isolation-outcome');
    expect(outcome?.record).toMatchObject({ outcome: 'dry-run', requestId: request.requestId });
    expect(contractProblems(outcome?.record ?? {})).toEqual([]);

    const malformed = invocation({ deliveryCount: 1, messageId: 'bad-1' });
    await worker({ action: 'wipe' }, malformed.context);
    const deadLetter = malformed.lines.find((line) => line.record.event === 'isolation-dead-letter');
    expect(deadLetter?.level).toBe('error');
    expect(recordKind(deadLetter?.record ?? {})).toBe('dead-letter');
    expect(contractProblems(deadLetter?.record ?? {})).toEqual([]);
  });

  it('writes notes at their level, and reports a field the contract does not name', async () => {
    const { context, lines } = invocation();
    await withinInvocation({ writer: context }, async () => {
      jsonLinesReporter.note('warn', { event: 'isolation-retry', why: 'MDE answered 503', requestId: 'r-1' });
      jsonLinesReporter.note('info', { event: 'made-up', mood: 'curious' });
    });
    expect(lines.map((line) => line.level)).toEqual(['warning', 'information']);
    expect(contractProblems(lines[0].record)).toEqual([]);
    expect(contractProblems(lines[1].record)).toEqual(['unknown field mood']);
    expect(contractProblems({ event: 'isolation-outcome', level: 'info' })).toContain(
      'outcome record without requestId',
    );
  });

  it('writes to the console once the invocation has returned, never to a finished context', async () => {
    const { context, lines } = invocation();
    let open: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      open = resolve;
    });
    let written: Promise<void> = Promise.resolve();
    await withinInvocation({ writer: context }, async () => {
      // Work the invocation started and that outlives it (a timer of the process-wide runtime).
      written = gate.then(() => writeRecord('info', { event: 'quota-checkpoint-saved', level: 'info' }));
    });
    logged.mockClear();
    open();
    await written;
    expect(lines).toEqual([]);
    expect(logged).toHaveBeenCalledWith(expect.stringContaining('quota-checkpoint-saved'));
  });

  it('carries the sending invocation’s trace context on a queued message, and only a well-formed one', async () => {
    const alert = alertOf({ devices: [{ fqdn: 'ws-1.contoso.com' }] });
    const [decision] = runtime.policy.decideAlert(alert);
    const request = isolateRequestFrom(
      { ...decision, action: 'isolate' },
      { alert, receivedAt: new Date(), policyVersion: 'v', requestedBy: { kind: 'rule', name: 'r' } },
    );
    const { context } = invocation();
    const sent = await withinInvocation({ writer: context, traceParent: TRACE_PARENT }, async () =>
      messageFor(request),
    );
    expect(sent.applicationProperties[TRACE_PARENT_PROPERTY]).toBe(TRACE_PARENT);
    const forged = await withinInvocation({ writer: context, traceParent: 'x\r\nInjected: 1' }, async () =>
      messageFor(request),
    );
    expect(forged.applicationProperties).not.toHaveProperty(TRACE_PARENT_PROPERTY);
    expect(messageFor(request).applicationProperties).not.toHaveProperty(TRACE_PARENT_PROPERTY);
  });

  it('documents every field of the contract in docs/records.md, and no other', () => {
    const fields = readFileSync('docs/records.md', 'utf8')
      .split(/^## /m)
      .find((part) => part.startsWith('Fields'));
    const documented = [...(fields ?? '').matchAll(/^\| `([\w.]+)` \|/gm)].map((match) => match[1]);
    expect(documented.sort()).toEqual(Object.keys(RECORD_FIELDS).sort());
  });
});
