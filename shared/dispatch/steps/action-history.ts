/**
 * A machine's isolate and release actions as MDE lists them (docs/mde-api.md §7.3, §10): what the
 * worker decides from before posting, and what a dry run judges (the worker's and the manual API's).
 */
import { DAY_MS } from '../../kernel/clock';
import { HISTORY_LOOKBACK_DAYS, type MachineActionFilter, type MdeApi } from '../../mde/api';
import type { MachineAction } from '../../mde/types';

/** A page this full may hide the newest action; nobody decides from it. */
export const HISTORY_MAX = 1_000;

/** Why nothing is decided from a machine's list that `seenWhole` refused. */
export const TOO_MANY_ACTIONS = `MDE lists ${HISTORY_MAX} or more isolate/release actions of this device in the last ${HISTORY_LOOKBACK_DAYS} days`;

/** The list query for the isolate and release actions of `machineId` (one or several) in the lookback. */
export function historyFilter(machineId: string | string[], now: number): MachineActionFilter {
  return {
    machineId,
    type: ['Isolate', 'Unisolate'],
    createdSince: new Date(now - HISTORY_LOOKBACK_DAYS * DAY_MS),
  };
}

/** A machine's actions as read, or null when `max` or more: the newest may be among those unseen. */
export function seenWhole(actions: MachineAction[], max = HISTORY_MAX): MachineAction[] | null {
  return actions.length >= max ? null : actions;
}

/**
 * The machine's isolate and release actions of the lookback period, all of them: MDE promises no
 * order, so "the first page" is not "the newest". Null when there are too many to see them all.
 */
export async function actionHistory(
  api: MdeApi,
  machineId: string,
  now: number,
): Promise<MachineAction[] | null> {
  return seenWhole(await api.listMachineActions({ ...historyFilter(machineId, now), top: HISTORY_MAX }));
}
