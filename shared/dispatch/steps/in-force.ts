/**
 * What is in force on a machine, given its isolate and release actions in MDE's list (any order: MDE
 * documents none): the newest action that took effect or still may. One judgement, asked by the
 * worker's idempotency check (idempotency.ts and "answered since"), the dry run and release
 * provenance, so none of them can call a device isolated while the newest action on it is a release.
 *
 * Actions are ordered by MDE's own `creationDateTimeUtc` only, one clock against itself; never against
 * this app's clock, which may differ from MDE's. An action that failed, timed out or was cancelled
 * changed nothing.
 */
import type { MachineAction } from '../../mde/types';

const EFFECTIVE = new Set(['Pending', 'InProgress', 'Succeeded']);

export type InForce =
  /** The newest effective action is an Isolate: succeeded, or still under way. */
  | { kind: 'isolation'; action: MachineAction }
  /** The newest effective action is a release: succeeded, or still under way. */
  | { kind: 'release'; action: MachineAction }
  /** No isolate or release took effect in the list: nothing says whether the device is isolated. */
  | { kind: 'none-on-record' };

/** Isolate and release actions, newest first by MDE's creation time. */
export function newestFirst(actions: readonly MachineAction[]): MachineAction[] {
  return actions
    .filter((a) => a.type === 'Isolate' || a.type === 'Unisolate')
    .sort((a, b) => Date.parse(b.creationDateTimeUtc) - Date.parse(a.creationDateTimeUtc));
}

export function inForce(actions: readonly MachineAction[]): InForce {
  const newest = newestFirst(actions).find((a) => EFFECTIVE.has(a.status));
  if (!newest) return { kind: 'none-on-record' };
  return { kind: newest.type === 'Isolate' ? 'isolation' : 'release', action: newest };
}
