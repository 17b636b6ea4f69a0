/**
 * Who posted an isolate or release that this app did not (ownership.ts answers whether it did): a
 * person, another application, or Defender itself (automatic attack disruption, a custom detection
 * rule, other automation). MDE documents `requestor` only as "the ID of the user/application that
 * submitted the action" (docs/mde-api.md §7.1, §16): a GUID is an application, an address with `@` a
 * person, and anything else Defender's own automation, named by what its requestor, source or title say.
 */
import { GUID } from '../../kernel/ids';
import type { MachineAction } from '../../mde/types';

export type ForeignRequestor =
  | 'person'
  | 'application'
  | 'attack-disruption'
  | 'custom-detection'
  | 'defender';

const DISRUPTION = /attack\s*disruption/i;
const CUSTOM_DETECTION = /custom\s*detection/i;

export function foreignRequestor(
  action: Pick<MachineAction, 'requestor' | 'requestSource' | 'title'>,
): ForeignRequestor {
  const requestor = (action.requestor ?? '').trim();
  const said = [requestor, action.requestSource ?? '', action.title ?? ''].join(' ');
  if (DISRUPTION.test(said)) return 'attack-disruption';
  if (CUSTOM_DETECTION.test(said)) return 'custom-detection';
  if (GUID.test(requestor)) return 'application';
  if (requestor.includes('@')) return 'person';
  return 'defender';
}

/** Whose isolation or release it is, as a reason says it: "Defender (action X by Y, Pending)", "analyst@… (action X, Succeeded)". */
export function byWhom(
  action: Pick<MachineAction, 'id' | 'requestor' | 'requestSource' | 'title' | 'status'>,
): string {
  const kind = foreignRequestor(action);
  const requestor = action.requestor || 'an unnamed requestor';
  switch (kind) {
    case 'person':
      return `${requestor} (action ${action.id}, ${action.status})`;
    case 'application':
      return `application ${requestor} (action ${action.id}, ${action.status})`;
    default:
      return `Defender (action ${action.id} by ${requestor}, ${action.status})`;
  }
}
