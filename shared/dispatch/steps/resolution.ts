/**
 * The request's device as one MDE machine (resolve.ts), or an escalation: none matches exactly, or
 * several do and the worker refuses to guess.
 */
import type { Machine } from '../../mde/types';
import type { ActionRequest } from '../request';
import { go, outcome, type Step } from './ending';
import type { Target } from './life';
import type { DeviceResolver } from './resolve';

/** Candidates named in an escalation; a lookup returns up to 100. */
const MAX_LISTED_MACHINES = 10;

export async function resolveDevice(resolver: DeviceResolver, request: ActionRequest): Promise<Step<Target>> {
  const resolution = await resolver.resolve(request.device);
  if (resolution.kind === 'not-found') {
    const namesakes = resolution.namesakes.length
      ? `; MDE machines with the same short name elsewhere, not taken for it: ${describeMachines(resolution.namesakes)}`
      : '';
    return outcome(request, {
      outcome: 'escalated',
      reason: `no MDE machine matches this device exactly (tried ${resolution.tried.join(', ')})${namesakes}; it may not be onboarded: contain it by other means`,
    });
  }
  if (resolution.kind === 'ambiguous')
    return outcome(request, {
      outcome: 'escalated',
      rule: 'ambiguous-device',
      reason: `${resolution.via} matches ${resolution.candidates.length} MDE machines seen recently: ${describeMachines(resolution.candidates)}; refusing to guess which one to isolate`,
    });
  return go({ request, verb: request.action, machine: resolution.machine });
}

function describeMachines(machines: Machine[]): string {
  return machines
    .slice(0, MAX_LISTED_MACHINES)
    .map((m) => `${m.id} (${m.computerDnsName ?? 'no name'}, last seen ${m.lastSeen})`)
    .join(', ')
    .concat(
      machines.length > MAX_LISTED_MACHINES ? `, and ${machines.length - MAX_LISTED_MACHINES} more` : '',
    );
}
