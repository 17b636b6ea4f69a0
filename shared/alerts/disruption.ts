/**
 * Defender XDR marks the alerts and incidents its automatic attack disruption raises with the title
 * suffix " (attack disruption)" (docs/alert-schemas.md §10). A title is alert content (a rule's dynamic
 * title may carry an attacker's process name), so it proves nothing by itself: only MDE's own list of
 * actions, read by the worker, says whether Defender isolated the device.
 */
import type { NormalizedAlert } from './model';

const DISRUPTION_SUFFIX = /\(attack disruption\)\s*$/i;

export function saysAttackDisruption(alert: Pick<NormalizedAlert, 'title'>): boolean {
  return DISRUPTION_SUFFIX.test(alert.title);
}
