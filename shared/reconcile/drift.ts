/**
 * What the register believes of one device against what MDE's isolate and release actions say: the
 * pure judgement of a reconciliation (docs/decisions/0017-reconciler-and-drift.md). The register is a
 * belief; MDE's list is the truth, read by its own clock only (dispatch/steps/in-force.ts). Nothing here
 * posts anything: a person's release stays a release, only a new alert can isolate that device again.
 */
import type { PostedByThisApp } from '../dispatch/steps/idempotency';
import { inForce, newestFirst } from '../dispatch/steps/in-force';
import { byWhom, type ForeignRequestor, foreignRequestor } from '../dispatch/steps/requestor';
import type { MachineAction } from '../mde/types';
import type { IsolationRecord, IsolationState, RegisterAction } from '../state/store';

export const DRIFT_KINDS = [
  /** The isolation in force was released, by someone else or by this app outside the register. */
  'released',
  /** This app's isolation took effect longer ago than the platform lift with no release since. */
  'lifted-by-platform',
  /** This app's isolation ended without effect. */
  'timed-out',
  'cancelled',
  'failed',
  /** A device the register does not hold as isolated was isolated by someone else. */
  'isolated-by-someone-else',
  /** A newer isolation replaced the one the register names. */
  'superseded',
] as const;
export type DriftKind = (typeof DRIFT_KINDS)[number];

/** Who posted the action that shows the drift. */
export type DriftActor = 'this-app' | ForeignRequestor;

export interface Drift {
  kind: DriftKind;
  machineId: string;
  computerDnsName: string | null;
  /** What the register said before it was corrected. */
  registerState: IsolationState;
  /** What it says now. */
  correctedTo: IsolationState;
  /** The action that shows the drift (none for the platform lift, which MDE records no action for). */
  actionId: string | null;
  /** MDE's `requestor` of that action. */
  by: string | null;
  actor: DriftActor | null;
  /** MDE's time of the change (the action's last update), or when the lift was due. */
  at: string;
  reason: string;
}

export type Judgement =
  | { kind: 'confirmed' }
  /** MDE's list holds nothing to judge the device by (its action is older than the read). */
  | { kind: 'unseen' }
  | { kind: 'drift'; drift: Drift; action?: RegisterAction };

const ENDED_WITHOUT_EFFECT: Partial<Record<MachineAction['status'], 'timed-out' | 'cancelled' | 'failed'>> = {
  TimeOut: 'timed-out',
  Cancelled: 'cancelled',
  Failed: 'failed',
};

/** Register states that hold the device isolated; `isolating`/`releasing` are tracking's to settle. */
export const IN_FORCE_STATES: readonly IsolationState[] = ['isolated'];
/** States whose device is not isolated as far as the register knows. */
const AT_REST_STATES: readonly IsolationState[] = ['released', 'lifted', 'failed', 'timed-out', 'cancelled'];

export interface JudgeContext {
  ours: PostedByThisApp;
  now: number;
  /** How long after it took effect MDE lifts an isolation (docs/mde-api.md §13). */
  platformLiftMs: number;
}

/** One device's record against its isolate and release actions in MDE's list (any order). */
export function judgeRecord(
  record: IsolationRecord,
  actions: readonly MachineAction[],
  context: JudgeContext,
): Judgement {
  if (IN_FORCE_STATES.includes(record.state)) return judgeInForce(record, actions, context);
  if (AT_REST_STATES.includes(record.state)) return judgeAtRest(record, actions, context);
  return { kind: 'confirmed' };
}

function judgeInForce(
  record: IsolationRecord,
  actions: readonly MachineAction[],
  context: JudgeContext,
): Judgement {
  const believed = record.actions.find((a) => a.type === 'Isolate');
  const own = believed && actions.find((a) => a.id === believed.actionId);
  const ended = own && ENDED_WITHOUT_EFFECT[own.status];
  if (own && ended)
    return drift(
      record,
      own,
      ended,
      ended,
      context,
      `isolation action ${own.id} ended ${own.status}: the device was never isolated by it`,
    );
  const current = inForce(actions, context);
  if (current.kind === 'release')
    return drift(
      record,
      current.action,
      'released',
      'released',
      context,
      `released by ${describe(current.action, context)}`,
    );
  if (!believed) return { kind: 'unseen' };
  if (current.kind === 'isolation' && current.action.id !== believed.actionId)
    return drift(
      record,
      current.action,
      'superseded',
      'isolated',
      context,
      `the isolation in force is now ${describe(current.action, context)}, not action ${believed.actionId}`,
    );
  if (current.kind === 'none-on-record' || !own) return { kind: 'unseen' };
  if (current.kind !== 'lifted') return { kind: 'confirmed' };
  const lifted = current.action;
  return {
    kind: 'drift',
    drift: {
      kind: 'lifted-by-platform',
      machineId: record.machineId,
      computerDnsName: record.computerDnsName,
      registerState: record.state,
      correctedTo: 'lifted',
      actionId: lifted.id,
      by: null,
      actor: null,
      at: new Date(current.liftedAt).toISOString(),
      reason: `lifted by the platform: isolation action ${lifted.id} took effect ${lifted.lastUpdateDateTimeUtc}, longer ago than MDE keeps a device isolated, with no release since`,
    },
  };
}

/**
 * A device the register holds as not isolated: someone else's isolation newer than anything the
 * register knows is drift; this app's own (another process, the CLI on a store of its own) is not
 * someone else's, and the next request for the device reads it from MDE anyway.
 */
function judgeAtRest(
  record: IsolationRecord,
  actions: readonly MachineAction[],
  context: JudgeContext,
): Judgement {
  const current = inForce(actions, context);
  if (current.kind !== 'isolation') return { kind: 'confirmed' };
  const { action } = current;
  if (record.actions.some((a) => a.actionId === action.id) || context.ours(action))
    return { kind: 'confirmed' };
  const known = newestFirst(actions).find((a) => record.actions.some((r) => r.actionId === a.id));
  if (known && Date.parse(known.creationDateTimeUtc) > Date.parse(action.creationDateTimeUtc))
    return { kind: 'confirmed' };
  return drift(
    record,
    action,
    'isolated-by-someone-else',
    'isolated',
    context,
    `isolated by ${byWhom(action)}`,
  );
}

function describe(action: MachineAction, context: JudgeContext): string {
  return context.ours(action) ? `this app (action ${action.id}, ${action.status})` : byWhom(action);
}

function drift(
  record: IsolationRecord,
  action: MachineAction,
  kind: DriftKind,
  correctedTo: IsolationState,
  context: JudgeContext,
  reason: string,
): Judgement {
  const ours = context.ours(action);
  return {
    kind: 'drift',
    drift: {
      kind,
      machineId: record.machineId,
      computerDnsName: record.computerDnsName,
      registerState: record.state,
      correctedTo,
      actionId: action.id,
      by: action.requestor ?? null,
      actor: ours ? 'this-app' : foreignRequestor(action),
      at: action.lastUpdateDateTimeUtc,
      reason,
    },
    action: {
      actionId: action.id,
      type: action.type === 'Isolate' ? 'Isolate' : 'Unisolate',
      status: action.status,
      requestor: action.requestor ?? null,
      requestSource: action.requestSource ?? null,
    },
  };
}
