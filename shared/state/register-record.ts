/**
 * One device's register record after a change: the pure step the store applies under the record's
 * ETag. Every string that comes from an alert, a caller or MDE is cut to a bounded length and the
 * history to a bounded count and age, so a record always fits a Table Storage entity.
 */

import { truncate } from '../kernel/text';
import { canonicalMachineId } from '../mde/ids';
import { assertSafeKey } from './entities';
import {
  adoptedAgain,
  type ExpiryCause,
  type HistoryNote,
  ISOLATION_STATES,
  type IsolationChange,
  type IsolationRecord,
  OPEN_ISOLATION_STATES,
  type Provenance,
  type RegisterAction,
  type Transition,
} from './store';

export interface HistoryBounds {
  /** Transitions kept per device (at most HISTORY_CAP_MAX). */
  historyCap: number;
  /** Transitions older than this are dropped on the next write. */
  historyRetentionMs: number;
}

/** With TEXT_MAX, keeps the history property far below Table Storage's 32 K characters per string. */
export const HISTORY_CAP_MAX = 50;
const TEXT_MAX = 300;
const NAME_MAX = 256;
const ACTIONS_KEPT = 4;

/** The machine id in canonical form; throws on anything else (it becomes a storage key). */
export function machineKey(machineId: string): string {
  const id = canonicalMachineId(machineId);
  if (!id) throw new Error('machine id must be 40 hexadecimal characters');
  return id;
}

function boundProvenance(p: Provenance): Provenance {
  const name = (value: string | null) => (value === null ? null : truncate(value, NAME_MAX));
  return {
    requestedBy: { kind: p.requestedBy.kind, name: truncate(p.requestedBy.name, NAME_MAX) },
    alertSource: p.alertSource,
    alertId: truncate(p.alertId, NAME_MAX),
    incidentId: name(p.incidentId),
    incidentArmId: p.incidentArmId === null ? null : truncate(p.incidentArmId, 2 * NAME_MAX),
    policyVersion: truncate(p.policyVersion, NAME_MAX),
    mode: p.mode,
    reason: truncate(p.reason, TEXT_MAX),
    ...(p.comment !== undefined && { comment: truncate(p.comment, TEXT_MAX) }),
  };
}

function boundAction(a: RegisterAction): RegisterAction {
  assertSafeKey(a.actionId, 'action id');
  return {
    actionId: truncate(a.actionId, NAME_MAX),
    type: a.type,
    status: a.status,
    requestor: a.requestor === null ? null : truncate(a.requestor, NAME_MAX),
    requestSource: a.requestSource === null ? null : truncate(a.requestSource, NAME_MAX),
    ...(a.adopted !== undefined && { adopted: a.adopted }),
    ...(a.followedFor && {
      followedFor: {
        requestId: truncate(a.followedFor.requestId, NAME_MAX),
        alertId: truncate(a.followedFor.alertId, NAME_MAX),
      },
    }),
  };
}

/** The history, newest first, within its bounds of count and age. */
function boundedHistory(history: Transition[], now: number, bounds: HistoryBounds): Transition[] {
  const oldest = now - bounds.historyRetentionMs;
  return history.filter((t) => Date.parse(t.at) >= oldest).slice(0, bounds.historyCap);
}

/** The record with one more history entry, in its state as it is, and nothing else changed. */
function withNote(
  previous: IsolationRecord | null,
  note: HistoryNote,
  now: number,
  bounds: HistoryBounds,
): IsolationRecord {
  if (previous === null) throw new Error('a history note needs a record: write it with onlyFrom the states');
  assertSafeKey(note.requestId, 'request id');
  const entry: Transition = {
    at: new Date(now).toISOString(),
    state: previous.state,
    requestId: note.requestId,
    actionId: null,
    reason: truncate(note.note, TEXT_MAX),
  };
  return { ...previous, history: boundedHistory([entry, ...previous.history], now, bounds) };
}

export function applyChange(
  previous: IsolationRecord | null,
  change: IsolationChange | HistoryNote,
  now: number,
  bounds: HistoryBounds,
): IsolationRecord {
  if ('note' in change) return withNote(previous, change, now, bounds);
  if (!ISOLATION_STATES.includes(change.state)) throw new Error(`unknown isolation state "${change.state}"`);
  assertSafeKey(change.requestId, 'request id');
  const at = new Date(now).toISOString();
  const fresh = previous === null || previous.requestId !== change.requestId;
  const provenance = fresh ? change.provenance : previous.provenance;
  if (!provenance) throw new Error('a new request needs its provenance');
  const actions = previous?.actions ?? [];
  const known = change.action && actions.find((a) => a.actionId === change.action?.actionId);
  const action =
    change.action &&
    boundAction(
      change.action.adopted === undefined
        ? change.action
        : { ...change.action, adopted: adoptedAgain(known?.adopted, change.action.adopted) },
    );
  const open = OPEN_ISOLATION_STATES.includes(change.state);
  const postedBefore = fresh ? null : previous.postedAt;
  const completedBefore =
    fresh || OPEN_ISOLATION_STATES.includes(previous.state) ? null : previous.completedAt;
  const expiresAt = expiryAfter(previous, change, fresh);
  const step =
    fresh ||
    previous.state !== change.state ||
    (action !== undefined && known === undefined) ||
    expiresAt !== (previous.expiresAt ?? null);
  const transition: Transition = {
    at,
    state: change.state,
    requestId: change.requestId,
    actionId: action?.actionId ?? null,
    reason: truncate(change.reason, TEXT_MAX),
  };
  const history = boundedHistory([...(step ? [transition] : []), ...(previous?.history ?? [])], now, bounds);
  return {
    machineId: machineKey(change.machineId),
    computerDnsName:
      change.computerDnsName === undefined
        ? (previous?.computerDnsName ?? null)
        : change.computerDnsName && truncate(change.computerDnsName, NAME_MAX),
    state: change.state,
    requestId: transition.requestId,
    provenance: boundProvenance(provenance),
    actions: action
      ? [action, ...actions.filter((a) => a.actionId !== action.actionId)].slice(0, ACTIONS_KEPT)
      : actions,
    requestedAt: fresh ? at : previous.requestedAt,
    postedAt: postedBefore ?? (action ? at : null),
    completedAt: open ? null : (completedBefore ?? at),
    updatedAt: at,
    history,
    expiresAt,
    expiresBy: expiresAt === null ? null : expiryCause(previous, change),
    confirmedAt: change.confirmedAt ?? (fresh ? null : (previous.confirmedAt ?? null)),
  };
}

/** Why the record's end is what it is: the change's cause with its end, else the request's so far. */
function expiryCause(previous: IsolationRecord | null, change: IsolationChange): ExpiryCause | null {
  if (change.expiresAt !== undefined) return change.expiresBy ?? null;
  return previous?.expiresBy ?? null;
}

/**
 * An end is known only while the device is isolated: a change to another state clears it, one that
 * names none keeps the request's (an isolation's later steps, a reconciliation).
 */
function expiryAfter(
  previous: IsolationRecord | null,
  change: IsolationChange,
  fresh: boolean,
): string | null {
  if (change.state !== 'isolated') return null;
  if (change.expiresAt !== undefined) return change.expiresAt;
  return fresh || previous === null ? null : (previous.expiresAt ?? null);
}
