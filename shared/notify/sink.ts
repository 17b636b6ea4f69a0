/**
 * Intake's sink, with what intake decides told to the SOC once the sink accepted it: the escalations
 * (a person must decide; they never become a request, so no outcome record tells them) and the
 * breaker's opening, once the store holds it open.
 */
import type { NormalizedAlert } from '../alerts/model';
import type { DecisionSink } from '../dispatch/sink';
import type { Clock } from '../kernel/clock';
import { deviceDisplayName } from '../kernel/device-label';
import type { Decision } from '../policy/types';
import type { NotifyEvent } from './events';

/** An escalation decision as an event; the request id is the alert's, since no request exists. */
export function escalationEvent(alert: NormalizedAlert, decision: Decision, at: string): NotifyEvent {
  const { title, severity, alertId, incidentId } = alert;
  return {
    kind: 'escalated',
    at,
    device: {
      name: deviceDisplayName(decision.device) ?? 'every device of the alert',
      machineId: decision.device.mdeDeviceId ?? null,
    },
    alert: { title, severity, alertId, incidentId, incidentArmId: alert.incidentArmId ?? null },
    rule: decision.rule,
    reason: decision.reason,
    requestId: `alert:${alertId}`,
  };
}

export function notifyingSink(
  sink: DecisionSink,
  notify: (event: NotifyEvent) => void,
  clock: Clock,
): DecisionSink {
  const now = () => new Date(clock.now()).toISOString();
  return {
    breakerState: () => sink.breakerState(),
    async openBreaker(reason) {
      await sink.openBreaker(reason);
      notify({ kind: 'breaker-opened', at: now(), reason });
    },
    async submit(alert, decisions) {
      const submitted = await sink.submit(alert, decisions);
      for (const decision of decisions)
        if (decision.action === 'escalate') notify(escalationEvent(alert, decision, now()));
      return submitted;
    },
  };
}
