/**
 * Whose action an MDE action is: the one rule every "is this ours?" question asks (release
 * provenance, cancel, the register). An action is this app's when this app *posted* it; following
 * (adopting) an action someone else posted never makes it ours (docs/architecture.md §4.6).
 *
 * Two proofs count, nothing else:
 * - the action ledger's entry for it with `adopted === false`: this app's own POST was answered with it;
 * - MDE's `requestor` equal to this app's client id, when the app knows it (the client id its own
 *   token names, mde/app-identity.ts): MDE records the calling app's client id there for an app token
 *   (docs/mde-api.md §7.1). That covers an isolation whose POST answer was lost and that a retry then
 *   adopted, and one posted by another process with its own store (the CLI with a local store).
 * The comment (`requestorComment`) proves nothing: anyone isolating in the portal can type ours.
 */
import type { MachineAction } from '../../mde/types';
import type { LedgerEntry } from '../../state/store';

export function postedByThisApp(
  action: Pick<MachineAction, 'id' | 'requestor'>,
  ledger: readonly Pick<LedgerEntry, 'actionId' | 'adopted'>[],
  appClientId: string | null,
): boolean {
  if (ledger.some((entry) => entry.actionId === action.id && !entry.adopted)) return true;
  return (
    appClientId !== null &&
    typeof action.requestor === 'string' &&
    action.requestor.toLowerCase() === appClientId.toLowerCase()
  );
}
