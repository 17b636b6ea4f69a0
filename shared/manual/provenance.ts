/**
 * Whose isolation a release would end. Before releasing, the device's latest Isolate action in MDE
 * is judged by the one ownership rule (dispatch/steps/ownership.ts: who *posted* it, never who
 * followed it): releasing an analyst's or attack disruption's isolation undoes a decision this app
 * did not make, so it needs `force` and a reason. The manual API and the CLI's `release` both ask here.
 */

import { actionHistory, TOO_MANY_ACTIONS } from '../dispatch/steps/action-history';
import { postedByThisApp } from '../dispatch/steps/ownership';
import type { MdeApi } from '../mde/api';
import type { AppIdentity } from '../mde/app-identity';
import type { MachineAction } from '../mde/types';
import type { StateStore } from '../state/store';

export interface IsolatedBy {
  actionId: string;
  requestor: string;
  requestSource: string | null;
  status: string;
  createdAt: string;
}

export type ReleaseProvenance =
  /** This app made the isolation in force (or none is): release it. */
  | { kind: 'ours'; actionId: string | null }
  /** Someone else's isolation: refuse unless forced. */
  | { kind: 'foreign'; isolatedBy: IsolatedBy }
  /** MDE lists too many to tell which is the latest. */
  | { kind: 'unknown'; reason: string };

/** An Isolate that failed or was cancelled isolates nothing: there is nobody's decision to undo. */
const IN_FORCE = ['Pending', 'InProgress', 'Succeeded'];

function newest(actions: MachineAction[]): MachineAction | null {
  return actions.reduce<MachineAction | null>(
    (latest, a) =>
      latest === null || Date.parse(a.creationDateTimeUtc) > Date.parse(latest.creationDateTimeUtc)
        ? a
        : latest,
    null,
  );
}

/** What provenance reads: MDE, the ledger, and who this app is to MDE. */
export interface ProvenanceAccess {
  api: MdeApi;
  store: StateStore;
  identity: Pick<AppIdentity, 'clientId'>;
}

export async function releaseProvenance(
  { api, store, identity }: ProvenanceAccess,
  machineId: string,
  now: number,
): Promise<ReleaseProvenance> {
  const history = await actionHistory(api, machineId, now);
  if (history === null)
    return {
      kind: 'unknown',
      reason: `${TOO_MANY_ACTIONS}; refusing to judge whose isolation is in force`,
    };
  const latest = newest(history.filter((a) => a.type === 'Isolate'));
  if (latest === null || !IN_FORCE.includes(latest.status)) return { kind: 'ours', actionId: null };
  // Released since (by anyone): no isolation is in force, so there is nobody's decision to undo.
  const releasedSince = history.some(
    (a) =>
      a.type === 'Unisolate' &&
      a.status === 'Succeeded' &&
      Date.parse(a.creationDateTimeUtc) > Date.parse(latest.creationDateTimeUtc),
  );
  if (releasedSince) return { kind: 'ours', actionId: null };
  const ledger = await store.actions.forMachine(machineId);
  if (postedByThisApp(latest, ledger, await identity.clientId()))
    return { kind: 'ours', actionId: latest.id };
  return {
    kind: 'foreign',
    isolatedBy: {
      actionId: latest.id,
      requestor: latest.requestor,
      requestSource: latest.requestSource ?? null,
      status: latest.status,
      createdAt: latest.creationDateTimeUtc,
    },
  };
}
