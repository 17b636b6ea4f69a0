/**
 * Whose isolation a release would end. Before releasing, the isolation in force on the device is
 * judged by the one ownership rule (dispatch/steps/ownership.ts: who *posted* it, never who followed
 * it): releasing an analyst's or attack disruption's isolation, or one nobody can tell the owner of,
 * undoes a decision this app did not make, so it needs `force` and a reason. The manual API and the
 * CLI's `release` ask here (`releaseRefusal`) before queueing a release, each adding how to force it
 * in its own words, and the worker again before posting one, whoever queued it.
 */

import type { MdeApi } from '../../mde/api';
import { HISTORY_LOOKBACK_DAYS } from '../../mde/api';
import type { AppIdentity } from '../../mde/app-identity';
import type { StateStore } from '../../state/store';
import { actionHistory, TOO_MANY_ACTIONS } from './action-history';
import type { AsOf } from './expiry';
import { inForce, liftedReason } from './in-force';
import { postedByThisApp } from './ownership';

export interface IsolatedBy {
  actionId: string;
  requestor: string;
  requestSource: string | null;
  status: string;
  createdAt: string;
}

export type ReleaseProvenance =
  /** This app posted the isolation in force: release it. */
  | { kind: 'ours'; actionId: string }
  /** The newest action on the device is a release (done or under way): there is no isolation to undo. */
  | { kind: 'not-isolated'; actionId: string }
  /** The platform lifted the newest isolation (in-force.ts): there is no isolation to undo either. */
  | { kind: 'lifted'; actionId: string; reason: string }
  /** Someone else's isolation: refuse unless forced. */
  | { kind: 'foreign'; isolatedBy: IsolatedBy }
  /** Nothing tells whose isolation may be in force: refuse unless forced. */
  | { kind: 'unknown'; reason: string };

/** What provenance reads: MDE, the ledger, and who this app is to MDE. */
export interface ProvenanceAccess {
  api: MdeApi;
  store: StateStore;
  identity: Pick<AppIdentity, 'clientId'>;
}

/**
 * The isolation in force (in-force.ts) at `asOf`, and whose it is by the one ownership rule. No isolate
 * or release on record is unknown, never ours: the device may carry an isolation older than the
 * lookback, or one made by other means.
 */
export async function releaseProvenance(
  { api, store, identity }: ProvenanceAccess,
  machineId: string,
  asOf: AsOf,
): Promise<ReleaseProvenance> {
  const history = await actionHistory(api, machineId, asOf.now);
  if (history === null)
    return {
      kind: 'unknown',
      reason: `${TOO_MANY_ACTIONS}; refusing to judge whose isolation is in force`,
    };
  const current = inForce(history, asOf);
  if (current.kind === 'lifted')
    return { kind: 'lifted', actionId: current.action.id, reason: liftedReason(current) };
  if (current.kind === 'none-on-record')
    return {
      kind: 'unknown',
      reason: `MDE lists no isolate or release of this device in the last ${HISTORY_LOOKBACK_DAYS} days, so whose isolation may be in force is unknown`,
    };
  const { action } = current;
  if (current.kind === 'release') return { kind: 'not-isolated', actionId: action.id };
  const ledger = await store.actions.forMachine(machineId);
  if (postedByThisApp(action, ledger, await identity.clientId()))
    return { kind: 'ours', actionId: action.id };
  return {
    kind: 'foreign',
    isolatedBy: {
      actionId: action.id,
      requestor: action.requestor,
      requestSource: action.requestSource ?? null,
      status: action.status,
      createdAt: action.creationDateTimeUtc,
    },
  };
}

/** Why a release without force is refused (409), before the way in says how to force it; null: it may go on. */
export type ReleaseRefusal =
  | { code: 'isolated-by-someone-else'; cause: string; isolatedBy: IsolatedBy }
  | { code: 'provenance-unknown'; cause: string };

export function releaseRefusal(provenance: ReleaseProvenance, force: boolean): ReleaseRefusal | null {
  if (force) return null;
  switch (provenance.kind) {
    case 'ours':
    case 'not-isolated':
    case 'lifted':
      return null;
    case 'unknown':
      return { code: 'provenance-unknown', cause: provenance.reason };
    case 'foreign': {
      const { requestor, requestSource, actionId } = provenance.isolatedBy;
      return {
        code: 'isolated-by-someone-else',
        cause: `this app did not post the isolation in force: ${requestor}${requestSource ? ` (${requestSource})` : ''} did (action ${actionId})`,
        isolatedBy: provenance.isolatedBy,
      };
    }
  }
}

/** A forced release's MDE comment records the person's reason (the manual API and the CLI alike). */
export function forcedReleaseComment(comment: string, reason: string): string {
  return `${comment} [release forced: ${reason}]`;
}
