/**
 * The exit code of a dispatching verb (`run`, `isolate`, `release`, `replay`) from how its requests
 * ended (docs/guide/cli.md "Exit codes"). The worst outcome wins: failed (1) over still running (4) over not
 * carried out (3) over bad input (2) over done (0); a dry run that decided is done.
 */
import { isFailure, type OutcomeRecord } from '../shared/dispatch/outcome';
import { EXIT } from './context';

/**
 * What an outcome means for the caller. A `skipped` request with an action found is a device already
 * in the asked state (or an action already followed): done. A `platform` skip is a device MDE cannot
 * isolate: not carried out. Any other skip is the policy choosing not to act on an alert: done.
 */
export function exitCodeOfOutcome(record: Pick<OutcomeRecord, 'outcome' | 'rule' | 'actionId'>): number {
  if (isFailure(record.outcome)) return EXIT.failure;
  switch (record.outcome) {
    // A person must act first: decide the escalation, approve the held isolation; or one said no.
    case 'escalated':
    case 'awaiting-approval':
    case 'denied':
      return EXIT.notCarriedOut;
    case 'skipped':
      return record.actionId === null && record.rule === 'platform' ? EXIT.notCarriedOut : EXIT.ok;
    default:
      return EXIT.ok;
  }
}

const PRECEDENCE: number[] = [EXIT.failure, EXIT.stillRunning, EXIT.notCarriedOut, EXIT.badInput, EXIT.ok];

/** The worst of several exit codes, by PRECEDENCE. */
export function worstExit(codes: number[]): number {
  for (const code of PRECEDENCE) if (codes.includes(code)) return code;
  return EXIT.ok;
}

export interface DispatchResult {
  outcomes: Pick<OutcomeRecord, 'outcome' | 'rule' | 'actionId'>[];
  /** Requests that had not ended when the wait did. */
  unfinished: number;
  /** Decisions that never became requests (escalated or skipped at intake), as exit codes. */
  intake?: number[];
  /** Some input could not be read or recognized. */
  incomplete?: boolean;
}

export function dispatchExitCode(result: DispatchResult): number {
  return worstExit([
    ...result.outcomes.map(exitCodeOfOutcome),
    ...(result.intake ?? []),
    ...(result.unfinished > 0 ? [EXIT.stillRunning] : []),
    ...(result.incomplete ? [EXIT.badInput] : []),
  ]);
}
