/**
 * What enforce would do with a request, said by a dry run (the worker's, and the manual API's
 * `dryRun`): from the device's isolate and release actions in MDE, the same judgement the worker
 * enforces (idempotency.ts). It never says "would release" for a device MDE lists as released.
 */

import { HISTORY_LOOKBACK_DAYS } from '../../mde/api';
import { isTerminal, type MachineAction } from '../../mde/types';
import type { Decision } from '../../policy/types';
import type { AsOf } from './expiry';
import { judgeRequest, type PostedByThisApp } from './idempotency';

export interface DryRunVerdict {
  /** "would isolate …", "would not release …: not isolated: …", … */
  would: string;
  /** The action the verdict rests on (the one under way, or the last that settled it). */
  actionId: string | null;
}

export function dryRunVerdict(
  verb: 'isolate' | 'release',
  deviceName: string,
  decision: Pick<Decision, 'isolationType' | 'reason'> | null,
  history: MachineAction[],
  since: readonly MachineAction[],
  asOf: AsOf,
  ours?: PostedByThisApp,
): DryRunVerdict {
  const prior = judgeRequest(verb, history, since, asOf, ours);
  switch (prior.kind) {
    case 'adopt':
      return {
        would: `would not post a ${verb} for ${deviceName}: it would follow ${isTerminal(prior.action.status) ? 'the one that answered it since it came in' : 'the one under way'} (action ${prior.action.id}, ${prior.action.status})`,
        actionId: prior.action.id,
      };
    case 'conflict':
      return {
        would: `would not ${verb} ${deviceName} but escalate: ${prior.reason}`,
        actionId: prior.action.id,
      };
    case 'skip':
      return { would: `would not ${verb} ${deviceName}: ${prior.reason}`, actionId: prior.action.id };
    case 'post': {
      const why = decision ? ` (${decision.isolationType}): ${decision.reason}` : '';
      // A release with no isolation on record is posted all the same (MDE decides): the dry run says so.
      const unknown =
        verb === 'release' && !history.some((a) => a.type === 'Isolate' && a.status === 'Succeeded')
          ? `, although MDE lists no isolation of it in the last ${HISTORY_LOOKBACK_DAYS} days (it may not be isolated; enforce posts the release and MDE decides)`
          : '';
      return { would: `would ${verb} ${deviceName}${why}${unknown}`, actionId: null };
    }
  }
}
