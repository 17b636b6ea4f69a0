/**
 * Metrics of what dispatch reports, through the OpenTelemetry API: requests by outcome, time to
 * isolate, 429s met, retries, dead letters and drift found by reconciliations. Without a MeterProvider registered (the CLI, tests,
 * a deployment without telemetry set up) the API's meter records nothing and costs next to nothing.
 * Dimensions are low-cardinality only: outcome, action, mode, rule (bounded by the policy) and the
 * dead-letter reason code, the drift's kind; never a device, an alert or a request. The quota and
 * breaker gauges are in gauges.ts.
 */
import type { Meter } from '@opentelemetry/api';
import type { DispatchReporter } from './outcome';

/** The instruments, by name; the names are a contract like the record fields (docs/records.md). */
export const METRICS = {
  requests: 'mde_isolator.requests',
  timeToIsolate: 'mde_isolator.time_to_isolate',
  timeToPost: 'mde_isolator.time_to_post',
  rateLimited: 'mde_isolator.rate_limited',
  retries: 'mde_isolator.retries',
  deadLetters: 'mde_isolator.dead_letters',
  driftFound: 'mde_isolator.drift_found',
} as const;

/** `inner`, with every outcome and note also counted on `meter`. */
export function withMetrics(inner: DispatchReporter, meter: Meter): DispatchReporter {
  const requests = meter.createCounter(METRICS.requests, { description: 'Requests ended, by outcome' });
  const timeToIsolate = meter.createHistogram(METRICS.timeToIsolate, {
    description: 'Alert received to MDE reporting the isolation succeeded',
    unit: 'ms',
  });
  const timeToPost = meter.createHistogram(METRICS.timeToPost, {
    description: 'Alert received to the action posted to MDE',
    unit: 'ms',
  });
  const rateLimited = meter.createCounter(METRICS.rateLimited, { description: '429 answers requests met' });
  const retries = meter.createCounter(METRICS.retries, {
    description: 'Requests queued again after a failure',
  });
  const deadLetters = meter.createCounter(METRICS.deadLetters, {
    description: 'Dead-letter records written',
  });
  const driftFound = meter.createCounter(METRICS.driftFound, {
    description: 'Differences a reconciliation found between the register and MDE, by kind',
  });
  return {
    outcome(record) {
      const dimensions = {
        outcome: record.outcome,
        action: record.action,
        mode: record.mode,
        rule: record.rule,
      };
      requests.add(1, dimensions);
      if (record.rateLimited > 0) rateLimited.add(record.rateLimited, { action: record.action });
      const { receivedToPostedMs, receivedToTerminalMs } = record.timings;
      if (receivedToPostedMs !== null)
        timeToPost.record(receivedToPostedMs, { action: record.action, rule: record.rule });
      if (record.action === 'isolate' && record.outcome === 'succeeded')
        timeToIsolate.record(receivedToTerminalMs, { rule: record.rule });
      inner.outcome(record);
    },
    note(level, record) {
      if (record.event === 'isolation-retry') retries.add(1);
      if (record.event === 'isolation-dead-letter') deadLetters.add(1, { reason: String(record.reason) });
      if (record.event === 'isolation-drift') driftFound.add(1, { kind: String(record.kind) });
      inner.note(level, record);
    },
  };
}
