/**
 * Machine actions and their lifecycle, computed lazily from the simulator clock rather than with
 * timers: Pending → InProgress → Succeeded (or Failed on a device configured to fail), and for an
 * offline device Pending until the offline timeout, then TimeOut (docs/mde-api.md §7, §9.2). Effects on
 * the device (isolated or released) apply in the order actions complete, not the order they came.
 * An isolation ends by itself at the platform lift, seven days after it took effect, as MDE's does
 * (docs/mde-api.md §7.6): the device's state flips and no action is written.
 */
import { randomUUID } from 'node:crypto';
import { DAY_MS } from '../shared/kernel/clock';
import type { MachineActionStatus } from '../shared/mde/types';
import type { SimIsolationType, SimMachine } from './fleet';

export interface LifecycleOptions {
  /** Time an action stays Pending on an online device (ms, before timeScale). */
  pendingMs?: number;
  /** Time it then stays InProgress. */
  inProgressMs?: number;
  /** How long an offline device's action stays Pending before TimeOut (MDE: three days). */
  offlineTimeoutMs?: number;
  /**
   * How long an isolation lasts before the platform lifts it (MDE: seven days after it took effect).
   * A later isolation that succeeds starts the count again.
   */
  platformLiftMs?: number;
  /** Multiplies the durations above; 0.001 turns three days into about four minutes. */
  timeScale?: number;
  /**
   * Order of `GET /api/machineactions` answers. MDE documents none (its examples suggest newest first),
   * so tests also run the product against the oldest first.
   */
  listOrder?: 'newest-first' | 'oldest-first';
}

export type ActionEntity = Record<string, unknown> & {
  id: string;
  type: 'Isolate' | 'Unisolate';
  status: MachineActionStatus;
  machineId: string;
};

interface SimAction {
  entity: ActionEntity;
  /** Start of the current lifecycle run (creation, or when an offline device came back). */
  runStartMs: number;
  fate: 'succeed' | 'fail' | 'timeout';
  isolationType: SimIsolationType | null;
  settled: boolean;
}

const THREE_DAYS_MS = 3 * DAY_MS;
const SEVEN_DAYS_MS = 7 * DAY_MS;

/** MDE's timestamp style: seven fractional digits. */
function mdeTimestamp(ms: number): string {
  return new Date(ms).toISOString().replace('Z', '0000Z');
}

export class ActionStore {
  private readonly actions: SimAction[] = [];
  private readonly pendingMs: number;
  private readonly inProgressMs: number;
  private readonly offlineTimeoutMs: number;
  private readonly platformLiftMs: number;
  /** When the platform lifts each isolated device's isolation, by machine id. */
  private readonly liftAt = new Map<string, number>();
  private readonly listOrder: 'newest-first' | 'oldest-first';

  constructor(
    options: LifecycleOptions,
    private readonly machineById: (id: string) => SimMachine | undefined,
  ) {
    const scale = options.timeScale ?? 1;
    this.pendingMs = (options.pendingMs ?? 2_000) * scale;
    this.inProgressMs = (options.inProgressMs ?? 3_000) * scale;
    this.offlineTimeoutMs = (options.offlineTimeoutMs ?? THREE_DAYS_MS) * scale;
    this.platformLiftMs = (options.platformLiftMs ?? SEVEN_DAYS_MS) * scale;
    this.listOrder = options.listOrder ?? 'newest-first';
  }

  create(
    machine: SimMachine,
    type: 'Isolate' | 'Unisolate',
    isolationType: SimIsolationType | null,
    requestor: string,
    comment: string,
    nowMs: number,
    requestSource = 'PublicApi',
  ): ActionEntity {
    const entity: ActionEntity = {
      id: randomUUID(),
      type,
      title: null,
      requestor,
      requestorComment: comment,
      status: 'Pending',
      machineId: machine.entity.id,
      computerDnsName: machine.entity.computerDnsName,
      creationDateTimeUtc: mdeTimestamp(nowMs),
      lastUpdateDateTimeUtc: mdeTimestamp(nowMs),
      cancellationRequestor: null,
      cancellationComment: null,
      cancellationDateTimeUtc: null,
      errorHResult: 0,
      scope: isolationType,
      externalId: null,
      requestSource,
      relatedFileInfo: null,
      commands: [],
      troubleshootInfo: null,
    };
    // A containment (and its release) is carried out by the onboarded devices, which block the
    // contained one (docs/mde-api.md §9.4): it does not wait for that device to come online.
    const containment = isolationType === 'UnManagedDevice' || machine.traits.isolation === 'UnManagedDevice';
    const waitsForDevice = machine.traits.offline && !containment;
    const fate = waitsForDevice ? 'timeout' : machine.traits.failActions ? 'fail' : 'succeed';
    this.actions.push({ entity, runStartMs: nowMs, fate, isolationType, settled: false });
    return entity;
  }

  /** Brings every open action up to `nowMs`, applying completed isolations to their devices. */
  advance(nowMs: number): void {
    const completed: { action: SimAction; atMs: number }[] = [];
    for (const action of this.actions) {
      if (action.settled) continue;
      const elapsed = nowMs - action.runStartMs;
      if (action.fate === 'timeout') {
        if (elapsed >= this.offlineTimeoutMs)
          completed.push({ action, atMs: action.runStartMs + this.offlineTimeoutMs });
      } else if (elapsed >= this.pendingMs + this.inProgressMs) {
        completed.push({ action, atMs: action.runStartMs + this.pendingMs + this.inProgressMs });
      } else if (elapsed >= this.pendingMs && action.entity.status === 'Pending') {
        action.entity.status = 'InProgress';
        action.entity.lastUpdateDateTimeUtc = mdeTimestamp(action.runStartMs + this.pendingMs);
      }
    }
    completed.sort((a, b) => a.atMs - b.atMs);
    for (const { action, atMs } of completed) {
      this.liftDue(atMs);
      this.settle(action, atMs);
    }
    this.liftDue(nowMs);
  }

  /** The platform lifts every isolation whose time came by `untilMs`: the device only, no action. */
  private liftDue(untilMs: number): void {
    for (const [machineId, atMs] of this.liftAt) {
      if (atMs > untilMs) continue;
      this.liftAt.delete(machineId);
      const machine = this.machineById(machineId);
      if (machine) machine.traits.isolation = null;
    }
  }

  private settle(action: SimAction, atMs: number): void {
    action.settled = true;
    action.entity.lastUpdateDateTimeUtc = mdeTimestamp(atMs);
    if (action.fate === 'timeout') {
      action.entity.status = 'TimeOut';
      return;
    }
    if (action.fate === 'fail') {
      action.entity.status = 'Failed';
      action.entity.errorHResult = -2147467259;
      action.entity.troubleshootInfo = 'The device could not apply the network isolation policy';
      return;
    }
    action.entity.status = 'Succeeded';
    const { machineId, type } = action.entity;
    const machine = this.machineById(machineId);
    if (machine) machine.traits.isolation = type === 'Isolate' ? action.isolationType : null;
    if (type === 'Isolate') this.liftAt.set(machineId, atMs + this.platformLiftMs);
    else this.liftAt.delete(machineId);
  }

  /**
   * A device dropped off before picking up its Pending actions: they now wait for it, and time out
   * counted from their creation. An action already InProgress was picked up and still finishes.
   */
  deviceOffline(machineId: string): void {
    for (const action of this.actions) {
      if (action.settled || action.entity.machineId !== machineId || action.entity.status !== 'Pending')
        continue;
      action.fate = 'timeout';
    }
  }

  /** An offline device came back: its waiting actions start their normal run now, to their device's fate. */
  deviceOnline(machineId: string, nowMs: number): void {
    const failing = this.machineById(machineId)?.traits.failActions ?? false;
    for (const action of this.actions) {
      if (action.settled || action.entity.machineId !== machineId || action.fate !== 'timeout') continue;
      action.fate = failing ? 'fail' : 'succeed';
      action.runStartMs = nowMs;
    }
  }

  /** The open isolate/unisolate action on a device, if any (what makes MDE answer ActiveRequestAlreadyExists). */
  openIsolationAction(machineId: string): ActionEntity | undefined {
    return this.actions.find(
      (a) =>
        !a.settled &&
        a.entity.machineId === machineId &&
        (a.entity.status === 'Pending' || a.entity.status === 'InProgress'),
    )?.entity;
  }

  /**
   * Cancels an open action: it never completes. Null when it is final already (MDE documents no
   * answer for that case; the simulator answers 400, docs/mde-api.md §7.4).
   */
  cancel(id: string, requestor: string, comment: string, nowMs: number): ActionEntity | null {
    this.advance(nowMs);
    const action = this.actions.find((a) => a.entity.id === id.toLowerCase());
    if (!action || action.settled) return null;
    action.settled = true;
    Object.assign(action.entity, {
      status: 'Cancelled',
      cancellationRequestor: requestor,
      cancellationComment: comment,
      cancellationDateTimeUtc: mdeTimestamp(nowMs),
      lastUpdateDateTimeUtc: mdeTimestamp(nowMs),
    });
    return action.entity;
  }

  get(id: string): ActionEntity | undefined {
    return this.actions.find((a) => a.entity.id === id.toLowerCase())?.entity;
  }

  /** In the configured list order (newest first, as MDE's examples suggest, by default). */
  all(): ActionEntity[] {
    const entities = this.actions.map((a) => a.entity);
    return this.listOrder === 'newest-first' ? entities.reverse() : entities;
  }
}
