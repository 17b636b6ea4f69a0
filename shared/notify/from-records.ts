/**
 * The events dispatch's records stand for: an outcome record (written before this reads it), and the
 * notes of a drift and a dead letter. A record that is no event for a person (a dry run, a skip, a
 * coalesced request) is none.
 */
import type { OutcomeRecord } from '../dispatch/outcome';
import { deviceDisplayName } from '../kernel/device-label';
import type { IsolationRecord } from '../state/store';
import type { AlertSummary, DeviceSummary, NotifyEvent } from './events';

const FAILED_OUTCOMES: readonly string[] = ['failed', 'cancelled', 'error', 'tracking-expired'];

function deviceOf(record: OutcomeRecord): DeviceSummary {
  return {
    name: deviceDisplayName(record.device, record) ?? 'unknown device',
    machineId: record.machineId,
  };
}

function alertOf(record: OutcomeRecord): AlertSummary {
  const { title, severity, alertId, incidentId, incidentArmId } = record.alert;
  return { title, severity, alertId, incidentId, incidentArmId: incidentArmId ?? null };
}

type OutcomeKind =
  | 'escalated'
  | 'isolation-succeeded'
  | 'isolation-failed'
  | 'isolation-timed-out'
  | 'released';

function outcomeKind(record: OutcomeRecord): OutcomeKind | null {
  if (record.outcome === 'escalated') return 'escalated';
  if (record.outcome === 'timed-out') return 'isolation-timed-out';
  if (FAILED_OUTCOMES.includes(record.outcome)) return 'isolation-failed';
  if (record.outcome === 'succeeded') return record.action === 'release' ? 'released' : 'isolation-succeeded';
  return null;
}

/** The event of an outcome record; null for a dry run, a skip, a coalesced or dead-lettered request. */
export function eventOfOutcome(record: OutcomeRecord): NotifyEvent | null {
  const kind = outcomeKind(record);
  if (kind === null) return null;
  const decided = {
    at: record.timings.terminalAt,
    device: deviceOf(record),
    alert: alertOf(record),
    rule: record.rule,
    reason: record.reason,
    requestId: record.requestId,
  };
  if (kind === 'escalated') return { kind, ...decided };
  return { kind, ...decided, action: record.action, outcome: record.outcome, actionId: record.actionId };
}

const text = (value: unknown, fallback: string): string => (typeof value === 'string' ? value : fallback);

/**
 * The event of a note: a drift the reconciler recorded (`isolation-drift`, shared/reconcile/), a
 * request dead-lettered (`isolation-dead-letter`); null for every other note.
 */
export function eventOfNote(record: Record<string, unknown>, now: number): NotifyEvent | null {
  const at = new Date(now).toISOString();
  if (record.event === 'isolation-drift') {
    const machineId = text(record.machineId, 'unknown machine');
    return {
      kind: 'drift-found',
      at: text(record.at, at),
      device: { name: text(record.computerDnsName, machineId), machineId },
      drift: text(record.kind, 'unknown'),
      reason: text(record.reason, ''),
      by: typeof record.by === 'string' ? record.by : null,
    };
  }
  if (record.event === 'isolation-dead-letter') {
    // Only the reason code and the words: the request body may hold anything a sender put there.
    return {
      kind: 'dead-lettered',
      at: text(record.deadLetteredAt, at),
      reason: text(record.reason, 'unknown'),
      description: text(record.description, ''),
      messageId: text(record.messageId, 'unknown'),
    };
  }
  return null;
}

/** An isolation in force that ends soon (the reconciler finds it), by its time box or MDE's lift. */
export function eventOfExpiry(record: IsolationRecord, now: number): NotifyEvent {
  return {
    kind: 'expiring-soon',
    at: new Date(now).toISOString(),
    device: { name: record.computerDnsName ?? record.machineId, machineId: record.machineId },
    expiresAt: record.expiresAt ?? '',
    ending: record.expiresBy ?? 'platform-lift',
  };
}
