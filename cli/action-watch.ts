/**
 * Watches the MDE client of a CLI session: every action posted (isolate, release) or followed (an
 * action the worker adopted, announced by its `action-adopted` note or first read by its tracking)
 * is reported the moment it is seen, so the operator has its id even when the run times out or is
 * interrupted; a 401 that the client's fresh-token resend did not cure is reported too.
 */
import type { MdeApi } from '../shared/mde/api';
import { UnauthorizedError } from '../shared/mde/errors';
import type { MachineAction } from '../shared/mde/types';

/** What a session knows of an MDE action: enough to say it and to follow it. */
export type ActionView = Pick<
  MachineAction,
  'id' | 'type' | 'status' | 'machineId' | 'computerDnsName' | 'requestor' | 'creationDateTimeUtc'
>;

export interface SeenAction {
  actionId: string;
  type: string;
  machineId: string;
  computerDnsName: string | null;
  /** `posted` by this run, or `followed`: an action someone else (or an earlier run) posted, adopted. */
  how: 'posted' | 'followed';
  /** The newest status this run read. */
  status: string;
  /** Who posted it (MDE's `requestor`). */
  requestor: string | null;
  /** When MDE created it (UTC ISO time). */
  createdAt: string | null;
}

/** Every action a session saw, by id; `note` reports an action the first time only. */
export class ActionLog {
  readonly actions = new Map<string, SeenAction>();

  constructor(private readonly seen: (action: SeenAction) => void) {}

  note(action: ActionView, how: SeenAction['how']): void {
    const known = this.actions.get(action.id);
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
      requestor: action.requestor ?? null,
      createdAt: action.creationDateTimeUtc ?? null,
    };
    this.actions.set(action.id, seen);
    this.seen(seen);
  }
}

/** `api` reporting to `log` every action it posts or reads, and calling `refused` on a lasting 401. */
export function watchActions(api: MdeApi, log: ActionLog, refused: () => void): MdeApi {
  const guarded = async <T>(call: () => Promise<T>): Promise<T> => {
    try {
      return await call();
    } catch (error) {
      if (error instanceof UnauthorizedError) refused();
      throw error;
    }
  };
  return new Proxy(api, {
    get(target, key, receiver) {
      const member = Reflect.get(target, key, receiver);
      if (typeof member !== 'function') return member;
      return (...args: unknown[]) =>
        guarded(async () => {
          const result = await member.apply(target, args);
          if (key === 'isolate' || key === 'release') log.note(result as MachineAction, 'posted');
          // Tracking reads the action it follows: an adopted action is at the latest seen here.
          if (key === 'getMachineAction') log.note(result as MachineAction, 'followed');
          return result;
        });
    },
  });
}
