/**
 * What a step of a request's life answers (worker.ts): carry on with a value, or an ending. An ending
 * is data; the lifecycle carries it out (`RequestLifecycle.end`), so the steps never move a request on
 * themselves and a reader sees every way a request can stop in one type.
 */
import type { OpenRequest } from '../../state/store';
import type { OutcomeDetails } from '../outcome';
import type { ActionRequest, IsolationRequest, TrackedAction } from '../request';

export type Ending =
  /** The request's one outcome record. */
  | { end: 'outcome'; request: IsolationRequest; details: OutcomeDetails }
  /** Asked again at `at`: waiting is no failure of the request. */
  | { end: 'deferred'; request: IsolationRequest; at: number; why: string }
  /** Another request holding the device key carries it (coalesce.ts). */
  | { end: 'absorbed'; request: IsolationRequest; carrier: OpenRequest }
  /** Its outcome is MDE's action's: tracking reports it when the action ends. */
  | { end: 'tracked'; request: ActionRequest; tracked: TrackedAction };

/** A step's answer: `{ go }` hands `go` to the next step; an ending stops the request here. */
export type Step<T> = { go: T } | Ending;

export function go<T>(value: T): { go: T } {
  return { go: value };
}

export function isEnding<T>(step: Step<T>): step is Ending {
  return 'end' in step;
}

export function outcome(request: IsolationRequest, details: OutcomeDetails): Ending {
  return { end: 'outcome', request, details };
}

export function deferred(request: IsolationRequest, at: number, why: string): Ending {
  return { end: 'deferred', request, at, why };
}
