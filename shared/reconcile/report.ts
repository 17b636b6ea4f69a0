/**
 * The latest reconciliation's report as the store keeps it and `GET /api/drift` and
 * `mde-isolator reconcile` show it. Every drift is an event of its own (`isolation-drift`); the
 * report keeps the first DRIFTS_KEPT and counts them all per kind, so it always fits one stored
 * string (state/entities.ts MAX_STRING_UNITS).
 */
import { truncate } from '../kernel/text';
import { DRIFT_KINDS, type Drift, type DriftKind } from './drift';

/** With the bounds below, far under a stored string's 32 K characters. */
export const DRIFTS_KEPT = 20;
const BY_MAX = 256;
const REASON_MAX = 400;

export interface ReconciliationReport {
  reconciliationId: string;
  requestedBy: string;
  startedAt: string;
  finishedAt: string;
  /** MDE's actions were read from this creation time on. */
  since: string;
  actionsRead: number;
  /** Register records read, and of them held in force. */
  devices: number;
  inForce: number;
  confirmed: number;
  /** Records MDE's list held nothing about (their actions are older than the read). */
  unseen: number;
  drifts: Drift[];
  /** Time-boxed isolations released as their lost scheduled release would have; null: not built in. */
  dueReleases: number | null;
}

/** The report as stored and served: the drifts cut to DRIFTS_KEPT, counted per kind. */
export interface StoredReport extends Omit<ReconciliationReport, 'drifts'> {
  driftCount: number;
  byKind: Record<DriftKind, number>;
  drifts: Drift[];
}

export function storedReport(report: ReconciliationReport): StoredReport {
  const byKind = Object.fromEntries(DRIFT_KINDS.map((k) => [k, 0])) as Record<DriftKind, number>;
  for (const drift of report.drifts) byKind[drift.kind] += 1;
  const kept = report.drifts.slice(0, DRIFTS_KEPT).map((drift) => ({
    ...drift,
    by: drift.by === null ? null : truncate(drift.by, BY_MAX),
    reason: truncate(drift.reason, REASON_MAX),
  }));
  return { ...report, driftCount: report.drifts.length, byKind, drifts: kept };
}

export function reportDocument(report: ReconciliationReport): string {
  return JSON.stringify(storedReport(report));
}

/** The stored report, or null when there is none or it is not one this version wrote. */
export function parseReport(document: string | null): StoredReport | null {
  if (document === null) return null;
  try {
    const parsed = JSON.parse(document) as StoredReport;
    return typeof parsed?.reconciliationId === 'string' && Array.isArray(parsed.drifts) ? parsed : null;
  } catch {
    return null;
  }
}
