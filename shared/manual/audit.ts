/**
 * The audit trail: who isolated what, when, why, and who released it, read from the register's
 * history and the action ledger (docs/architecture.md §6), the same store the app writes. One
 * reading for `GET /api/audit` and `mde-isolator audit`.
 */
import { DAY_MS } from '../kernel/clock';
import { MDE_DEVICE_ID } from '../kernel/ids';
import {
  type IsolationRecord,
  type IsolationState,
  type LedgerRecord,
  LIST_MAX,
  type Provenance,
  type StateStore,
} from '../state/store';
import { type ManualAnswer, refusal } from './answer';
import { guarded } from './reads';

/** Events one answer carries by default; `limit` asks for up to LIST_MAX. */
export const AUDIT_DEFAULT_LIMIT = 100;
export const AUDIT_DEFAULT_SINCE = '24h';

/** What the audit is asked: a window back from now, one device or all, and a page size. */
export interface AuditQuery {
  sinceMs: number;
  /** A machine id (40 hex) or a full device name (case-insensitive), never a part of one. */
  device: string | null;
  limit: number;
}

/** A flag or parameter the audit cannot use: where, and why. */
export interface AuditProblem {
  path: 'since' | 'device' | 'limit';
  message: string;
}

const UNIT_MS: Record<string, number> = { m: 60_000, h: 3_600_000, d: DAY_MS };
const MAX_DEVICE_CHARS = 256;

/**
 * Reads `since` (`30m`, `24h`, `7d`), `device` and `limit` as given on the command line or the query
 * string. `since` reaches back at most as far as the register keeps history (`maxDays`).
 */
export function parseAuditQuery(
  input: { since?: string | null; device?: string | null; limit?: string | null },
  maxDays: number,
): AuditQuery | AuditProblem {
  const since = (input.since ?? AUDIT_DEFAULT_SINCE).trim();
  const match = /^([1-9][0-9]{0,5})([mhd])$/.exec(since);
  const sinceMs = match ? Number(match[1]) * UNIT_MS[match[2]] : Number.NaN;
  if (!(sinceMs <= maxDays * DAY_MS))
    return {
      path: 'since',
      message: `since must be a duration like 30m, 24h or 7d, at most ${maxDays}d (the register's history), not "${since.slice(0, 20)}"`,
    };
  const device = input.device?.trim() || null;
  if (device !== null && device.length > MAX_DEVICE_CHARS)
    return {
      path: 'device',
      message: `device must be a machine id or a device name of at most ${MAX_DEVICE_CHARS} characters`,
    };
  const limit = input.limit == null ? AUDIT_DEFAULT_LIMIT : Number(input.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > LIST_MAX)
    return { path: 'limit', message: `limit must be a whole number from 1 to ${LIST_MAX}` };
  return { sinceMs, device, limit };
}

export function isAuditProblem(value: AuditQuery | AuditProblem): value is AuditProblem {
  return 'path' in value;
}

/** One step of one device: what happened, when, for which request, on whose word and why. */
export interface AuditEvent {
  at: string;
  machineId: string;
  computerDnsName: string | null;
  state: IsolationState;
  requestId: string;
  actionId: string | null;
  reason: string;
  /**
   * The request's provenance (rule or caller, alert, policy): the register keeps it for a device's
   * latest request only, so null on the steps of an earlier one.
   */
  requestedBy: Provenance['requestedBy'] | null;
  alertSource: Provenance['alertSource'] | null;
  alertId: string | null;
  incidentId: string | null;
  policyVersion: string | null;
  mode: Provenance['mode'] | null;
  /** Who posted the action in MDE (its `requestor`), when the register or ledger knows the action. */
  postedBy: string | null;
  /** True when this app followed an action someone else posted; null when the action is unknown. */
  adopted: boolean | null;
}

export interface AuditTrail {
  since: string;
  until: string;
  /** Newest first, at most the query's limit. */
  events: AuditEvent[];
  count: number;
  /** True when more events matched than `limit`, or the register held more devices than one read covers. */
  truncated: boolean;
}

/** The devices the query names: one by id or exact name, or every device one register read returns. */
async function devicesOf(
  store: StateStore,
  device: string | null,
): Promise<{ records: IsolationRecord[]; partial: boolean }> {
  if (device && MDE_DEVICE_ID.test(device)) {
    const record = await store.register.get(device.toLowerCase());
    return { records: record ? [record] : [], partial: false };
  }
  const records = await store.register.list({ limit: LIST_MAX });
  const partial = records.length >= LIST_MAX;
  if (device === null) return { records, partial };
  const name = device.toLowerCase();
  return { records: records.filter((r) => r.computerDnsName?.toLowerCase() === name), partial };
}

function eventsOf(record: IsolationRecord, fromMs: number): AuditEvent[] {
  return record.history
    .filter((step) => Date.parse(step.at) >= fromMs)
    .map((step) => {
      const current = step.requestId === record.requestId ? record.provenance : null;
      const action = step.actionId ? record.actions.find((a) => a.actionId === step.actionId) : undefined;
      return {
        at: step.at,
        machineId: record.machineId,
        computerDnsName: record.computerDnsName,
        state: step.state,
        requestId: step.requestId,
        actionId: step.actionId,
        reason: step.reason,
        requestedBy: current?.requestedBy ?? null,
        alertSource: current?.alertSource ?? null,
        alertId: current?.alertId ?? null,
        incidentId: current?.incidentId ?? null,
        policyVersion: current?.policyVersion ?? null,
        mode: current?.mode ?? null,
        postedBy: action?.requestor ?? null,
        adopted: action?.adopted ?? null,
      };
    });
}

/** Fills what the register's few kept actions did not know from the ledger of the events' devices. */
async function withLedger(store: StateStore, events: AuditEvent[]): Promise<AuditEvent[]> {
  const machines = [
    ...new Set(events.filter((e) => e.actionId && e.adopted === null).map((e) => e.machineId)),
  ];
  const ledgers = new Map<string, LedgerRecord[]>();
  for (const machineId of machines) ledgers.set(machineId, await store.actions.forMachine(machineId));
  return events.map((event) => {
    const entry = ledgers.get(event.machineId)?.find((e) => e.actionId === event.actionId);
    return entry ? { ...event, adopted: entry.adopted } : event;
  });
}

export async function readAuditTrail(store: StateStore, query: AuditQuery, now: number): Promise<AuditTrail> {
  const fromMs = now - query.sinceMs;
  const { records, partial } = await devicesOf(store, query.device);
  const matched = records
    .flatMap((record) => eventsOf(record, fromMs))
    .sort((a, b) => b.at.localeCompare(a.at) || a.machineId.localeCompare(b.machineId));
  const events = await withLedger(store, matched.slice(0, query.limit));
  return {
    since: new Date(fromMs).toISOString(),
    until: new Date(now).toISOString(),
    events,
    count: events.length,
    truncated: partial || matched.length > query.limit,
  };
}

/** `GET /api/audit?since=24h&device=…&limit=…`. */
export function auditAnswer(
  store: StateStore,
  query: URLSearchParams,
  maxDays: number,
  now: number,
): Promise<ManualAnswer> {
  return guarded(async () => {
    const parsed = parseAuditQuery(
      { since: query.get('since'), device: query.get('device'), limit: query.get('limit') },
      maxDays,
    );
    if (isAuditProblem(parsed)) return refusal(400, 'invalid-query', parsed.message, { path: parsed.path });
    return { status: 200, body: { ...(await readAuditTrail(store, parsed, now)) } };
  });
}
