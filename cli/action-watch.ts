/**
 * Watches the MDE client of a CLI session: every action posted (isolate, release) or followed (an
 * action the worker adopted is read by its tracking) is reported the moment it is seen, so the
 * operator has its id even when the run times out or is interrupted; a 401 that the client's
 * fresh-token resend did not cure is reported too.
 */
import type { MdeApi } from '../shared/mde/api';
import { UnauthorizedError } from '../shared/mde/errors';
import type { MachineAction } from '../shared/mde/types';

export interface SeenAction {
  actionId: string;
  type: string;
  machineId: string;
  computerDnsName: string | null;
  /** `posted` by this run, or `followed`: an action someone else (or an earlier run) posted, adopted. */
  how: 'posted' | 'followed';
  /** The newest status this run read. */
  status: string;
}

export interface ActionWatch {
  /** A new action was seen (first time only). */
  seen(action: SeenAction): void;
  /** MDE refused the token even after a fresh one. */
  refused(): void;
}

export function watchActions(
  api: MdeApi,
  watch: ActionWatch,
): { api: MdeApi; actions: Map<string, SeenAction> } {
  const actions = new Map<string, SeenAction>();
  const note = (action: MachineAction, how: SeenAction['how']) => {
    const known = actions.get(action.id);
    if (known) {
      known.status = action.status;
      return;
    }
    const seen: SeenAction = {
      actionId: action.id,
      type: action.type,
      machineId: action.machineId,
      computerDnsName: action.computerDnsName ?? null,
      how,
      status: action.status,
    };
    actions.set(action.id, seen);
    watch.seen(seen);
  };
  const guarded = async <T>(call: () => Promise<T>): Promise<T> => {
    try {
      return await call();
    } catch (error) {
      if (error instanceof UnauthorizedError) watch.refused();
      throw error;
    }
  };
  const watched: MdeApi = new Proxy(api, {
    get(target, key, receiver) {
      const member = Reflect.get(target, key, receiver);
      if (typeof member !== 'function') return member;
      return (...args: unknown[]) =>
        guarded(async () => {
          const result = await member.apply(target, args);
          if (key === 'isolate' || key === 'release') note(result as MachineAction, 'posted');
          // Tracking reads the action it follows: an adopted action shows up here first.
          if (key === 'getMachineAction') note(result as MachineAction, 'followed');
          return result;
        });
    },
  });
  return { api: watched, actions };
}
