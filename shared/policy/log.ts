/** Structured log fields of a decision, so App Insights queries can filter on rule, action and mode. */
import type { Decision } from './types';

export function decisionLogFields(decision: Decision): Record<string, string | boolean> {
  const { device } = decision;
  return {
    decisionAction: decision.action,
    isolationType: decision.isolationType,
    rule: decision.rule,
    reason: decision.reason,
    policyVersion: decision.policyVersion,
    mode: decision.mode,
    needsDeviceCheck: decision.needsDeviceCheck,
    device: device.mdeDeviceId ?? device.fqdn ?? device.hostname ?? device.aadDeviceId ?? 'unknown',
    ...(decision.trace && {
      trace: decision.trace.map((t) => `${t.rule}: ${t.matched ? 'matched' : 'no'} (${t.why})`).join(' | '),
    }),
  };
}
