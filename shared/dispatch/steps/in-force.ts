/**
 * What is in force on a machine, given its isolate and release actions in MDE's list (any order: MDE
 * documents none): the newest action that took effect or still may. One judgement, asked by the
 * worker's idempotency check (idempotency.ts and "answered since"), the dry run and release
 * provenance, so none of them can call a device isolated while the newest action on it is a release.
 *
 * Actions are ordered by MDE's own `creationDateTimeUtc` only, one clock against itself; never against
 * this app's clock, which may differ from MDE's. An action that failed, timed out or was cancelled
 * changed nothing.
 *
 * An isolation ends at the platform lift (expiry.ts) without any action saying so: past it, the newest
 * Isolate is reported `lifted`, never in force, so an alert after the lift is decided like any alert on
 * a device that is not isolated. That one comparison is made against this app's clock (`asOf.now`).
 */
import type { MachineAction } from '../../mde/types';
import { type AsOf, platformLiftAt } from './expiry';

const EFFECTIVE = new Set(['Pending', 'InProgress', 'Succeeded']);

export type InForce =
  /** The newest effective action is an Isolate: succeeded, or still under way. */
  | { kind: 'isolation'; action: MachineAction }
  /** The newest effective action is a release: succeeded, or still under way. */
  | { kind: 'release'; action: MachineAction }
  /** The newest effective action is an Isolate the platform has lifted since (at `liftedAt`, epoch ms). */
  | { kind: 'lifted'; action: MachineAction; liftedAt: number }
  /** No isolate or release took effect in the list: nothing says whether the device is isolated. */
  | { kind: 'none-on-record' };

/** Isolate and release actions, newest first by MDE's creation time. */
export function newestFirst(actions: readonly MachineAction[]): MachineAction[] {
  return actions
    .filter((a) => a.type === 'Isolate' || a.type === 'Unisolate')
    .sort((a, b) => Date.parse(b.creationDateTimeUtc) - Date.parse(a.creationDateTimeUtc));
}

export function inForce(actions: readonly MachineAction[], asOf: AsOf): InForce {
  const newest = newestFirst(actions).find((a) => EFFECTIVE.has(a.status));
  if (!newest) return { kind: 'none-on-record' };
  if (newest.type !== 'Isolate') return { kind: 'release', action: newest };
  const liftedAt = platformLiftAt(newest, asOf.platformLiftMs);
  return liftedAt !== null && liftedAt <= asOf.now
    ? { kind: 'lifted', action: newest, liftedAt }
    : { kind: 'isolation', action: newest };
}

/** The action in force (an isolation or a release); none when nothing is, or the isolation was lifted. */
export function actionInForce(current: InForce): MachineAction | undefined {
  return current.kind === 'isolation' || current.kind === 'release' ? current.action : undefined;
}

/** Why a lifted isolation is not in force, for outcome reasons and refusals. */
export function liftedReason(current: Extract<InForce, { kind: 'lifted' }>): string {
  return `isolation ${current.action.id} was lifted by the platform at ${new Date(current.liftedAt).toISOString()} (MDE ends every isolation PLATFORM_LIFT_DAYS after it took effect)`;
}
