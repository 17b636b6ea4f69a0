/**
 * The whole pipeline on loopback: the MDE simulator (with its managed identity endpoint, so the real
 * @azure/identity code signs in), the real client, intake, the in-memory queue, worker and tracker,
 * all with compressed time. Tests submit raw alert payloads and read outcomes and simulator state.
 */
import type { Meter } from '@opentelemetry/api';
import type { DeviceRef, NormalizedAlert } from '../../shared/alerts/model';
import type { ApprovalEvents } from '../../shared/approvals/events';
import type { OutcomeRecord } from '../../shared/dispatch/outcome';
import {
  type IsolationRequest,
  isolateRequestFrom,
  manualRequest,
  requesterFor,
} from '../../shared/dispatch/request';
import { compressTiming } from '../../shared/dispatch/timing';
import type { IntakeResult, SubmittedRequest } from '../../shared/intake/receive-alerts';
import type { Clock } from '../../shared/kernel/clock';
import type { ManualMode } from '../../shared/kernel/vocabulary';
import type { MdeApi } from '../../shared/mde/api';
import type { Timers } from '../../shared/notify/timers';
import { loadPolicy } from '../../shared/policy/load';
import { createRuntime, type Runtime } from '../../shared/runtime';
import type { StateStore } from '../../shared/state/store';
import type { RecordedCall, RunningSimulator, SimulatorOptions } from '../../simulator';
import { alertOf } from '../support/alerts';
import { recordingReporter } from '../support/reporter';
import { startSimulatorWithIdentity } from '../support/simulator';

export const RATE_LIMITS = '40/400ms,300/4s';

const LIFECYCLE = { pendingMs: 40, inProgressMs: 40, offlineTimeoutMs: 1_500 };
/** How long an action stays Pending on a simulator started with HELD_ACTIONS, on its clock. */
const HOLD_MS = 3_600_000;

/**
 * Simulator options whose actions stay Pending until the test moves the simulator clock
 * (`endHeldActions`): a concurrent case then sees an action under way however slowly a loaded machine
 * runs it, instead of one that may end after a few milliseconds of wall time.
 */
export const HELD_ACTIONS: SimulatorOptions = { lifecycle: { ...LIFECYCLE, pendingMs: HOLD_MS } };

/** Lets the actions of a harness started with HELD_ACTIONS run to their end (through InProgress too). */
export function endHeldActions(h: Harness): void {
  h.sim.advanceTime(HOLD_MS + LIFECYCLE.inProgressMs);
}

export const TEST_POLICY = {
  version: 'integration-1',
  mode: 'enforce',
  protections: [{ name: 'domain-controllers', tags: ['DomainController'] }],
  rules: [{ name: 'isolate-high', minSeverity: 'high', action: 'isolate', isolationType: 'Full' }],
  defaultAction: 'skip',
  blastRadius: { maxDevicesPerAlert: 50, maxIsolations: 10_000, windowMinutes: 60 },
};

export interface HarnessOptions {
  simulator?: SimulatorOptions;
  /** Settings on top of the simulator's env. */
  env?: Record<string, string>;
  policy?: object;
  decorateApi?: (api: MdeApi) => MdeApi;
  /** The state store instead of the one the settings name (embedded by default). */
  store?: StateStore;
  /** The runtime's time, e.g. the simulator's (`sim.now`), so moving one moves both; wall time by default. */
  clock?: (sim: RunningSimulator) => Clock;
  /** Where dispatch's metrics go. */
  meter?: Meter;
  /** The notifications' timers (shared/notify/timers.ts), moved by the test. */
  notifyTimers?: Timers;
  /** Where approval events go (notifications). */
  approvalEvents?: ApprovalEvents;
}

export interface Harness {
  sim: RunningSimulator;
  runtime: Runtime;
  outcomes: OutcomeRecord[];
  notes: Record<string, unknown>[];
  /** Raw alert payload(s) through intake into the queue. */
  submit(body: unknown): Promise<IntakeResult>;
  /** Waits until every request reached its end. */
  settle(): Promise<void>;
  machineId(dnsName: string): string;
  /** Isolate (or release) actions MDE holds for a machine. */
  actionsOn(machineId: string, type?: 'Isolate' | 'Unisolate'): Record<string, unknown>[];
  outcomeFor(device: (d: DeviceRef) => boolean): OutcomeRecord[];
  close(): Promise<void>;
}

export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const sim = await startSimulatorWithIdentity({
    rateLimits: RATE_LIMITS,
    lifecycle: LIFECYCLE,
    ...options.simulator,
  });
  const env: Record<string, string> = {
    ...sim.env(),
    MDE_RATE_LIMITS: RATE_LIMITS,
    MDE_RATE_HEADROOM: '0',
    // The simulator answers in this process: a loaded machine can hold an answer past 1 s (a POST that
    // timed out then looks uncertain and is adopted later), and no test here waits for the deadline.
    MDE_REQUEST_TIMEOUT_MS: '10000',
    ...options.env,
  };
  const { reporter, outcomes, notes } = recordingReporter();
  const policy = loadPolicy(
    { kind: 'inline', text: JSON.stringify(options.policy ?? TEST_POLICY) },
    (env.ISOLATION_MODE as 'enforce' | 'dry-run' | undefined) ?? null,
    (env.MANUAL_ISOLATION_MODE as ManualMode | undefined) ?? 'follow',
  );
  const runtime = createRuntime({
    env,
    policy,
    reporter,
    timing: compressTiming(0.001),
    concurrency: 4,
    decorateApi: options.decorateApi,
    store: options.store,
    clock: options.clock?.(sim),
    meter: options.meter,
    notifyTimers: options.notifyTimers,
    // Sentinel incidents are read from the simulator's ARM stand-in.
    armUrl: sim.baseUrl,
    approvalEvents: options.approvalEvents,
  });
  const inline = runtime.inline;
  if (!inline) throw new Error('the harness runs inline');
  return {
    sim,
    runtime,
    outcomes,
    notes,
    submit: (body) => runtime.receiveAlerts(body),
    settle: () => inline.idle(),
    machineId(dnsName) {
      const machine = sim.machines().find((m) => m.computerDnsName === dnsName);
      if (!machine) throw new Error(`no simulated machine ${dnsName}`);
      return machine.id;
    },
    actionsOn: (machineId, type) =>
      sim.actions().filter((a) => a.machineId === machineId && (type === undefined || a.type === type)),
    outcomeFor: (match) => outcomes.filter((o) => match(o.device)),
    async close() {
      await runtime.close();
      await sim.close();
    },
  };
}

/** The requests intake queued: those no open request of their device absorbed. */
export function queuedRequestIds(result: IntakeResult): string[] {
  return submittedRequestIds(result, (r) => !r.duplicate);
}

/** Every request intake accepted, queued or absorbed (`duplicate`): each ends with one outcome record. */
export function submittedRequestIds(
  result: IntakeResult,
  which: (request: SubmittedRequest) => boolean = () => true,
): string[] {
  return result.alerts
    .flatMap((a) => (a.status === 'accepted' ? a.requests.filter(which) : []))
    .map((r) => r.requestId);
}

export function outcomesPerRequest(h: Harness, requestIds: string[]): number[] {
  return requestIds.map((id) => h.outcomes.filter((o) => o.requestId === id).length);
}

/** POSTs MDE received for the machine (answered or refused), `isolate` or `unisolate` ones when named. */
export function postsOn(h: Harness, machineId: string, verb?: 'isolate' | 'unisolate'): RecordedCall[] {
  return h.sim
    .calls()
    .filter(
      (c) => c.method === 'POST' && c.path.includes(machineId) && (!verb || c.path.endsWith(`/${verb}`)),
    );
}

/**
 * Two requests naming one machine differently: one succeeded, the other ended `coalesced`, adopting
 * its action rather than posting.
 */
export function expectOneCarriesTheOther(a: OutcomeRecord, b: OutcomeRecord): void {
  const [carrier, carried] = a.outcome === 'succeeded' ? [a, b] : [b, a];
  expect(carrier.outcome).toBe('succeeded');
  expect(carried).toMatchObject({
    outcome: 'coalesced',
    carriedBy: carrier.requestId,
    actionId: carrier.actionId,
  });
}

let directSequence = 0;

/**
 * The isolation request intake queues for `device` (decided by the harness policy), built directly so
 * a test can deliver it itself, e.g. twice, concurrently, or after changing the mode.
 */
export function isolateRequest(
  h: Harness,
  device: DeviceRef,
  alert: Partial<NormalizedAlert> = {},
): IsolationRequest {
  directSequence += 1;
  const full = alertOf({
    alertId: `direct-${directSequence}`,
    incidentId: null,
    title: 'Ransomware',
    categories: [],
    mitreTechniques: [],
    devices: [device],
    ...alert,
  });
  const [decision] = h.runtime.policy.decideAlert(full);
  if (decision?.action !== 'isolate') throw new Error(`the harness policy does not isolate ${full.alertId}`);
  return isolateRequestFrom(decision, {
    alert: full,
    receivedAt: new Date(h.runtime.throttle.clock.now()),
    policyVersion: decision.policyVersion,
    requestedBy: requesterFor(full, decision.rule),
  });
}

/**
 * A person's release of `device`, as `mde-isolator release` queues it; with `forceReason`, as the
 * manual API queues a release forced past someone else's isolation.
 */
export function releaseRequest(h: Harness, device: DeviceRef, forceReason?: string): IsolationRequest {
  directSequence += 1;
  const alert = alertOf({
    source: 'manual',
    alertId: `manual-release-${directSequence}`,
    incidentId: null,
    title: 'cleaned',
    categories: [],
    mitreTechniques: [],
    devices: [device],
    manual: { comment: 'cleaned', requestedBy: 'analyst@contoso.com', ...(forceReason && { forceReason }) },
  });
  return manualRequest('release', device, 'Full', h.runtime.policy.mode, {
    alert,
    receivedAt: new Date(h.runtime.throttle.clock.now()),
    policyVersion: h.runtime.policy.version,
    requestedBy: requesterFor(alert, 'manual'),
  });
}

/**
 * Reproduces MDE's action list lagging behind a new action, which the simulator does not: the next
 * list naming a machine marked with `lagOnce` comes back without that machine's actions.
 */
export function laggingActionList(): {
  decorate: (api: MdeApi) => MdeApi;
  lagOnce: (machineId: string) => void;
} {
  const lagging = new Set<string>();
  return {
    decorate: (api) =>
      Object.assign(Object.create(api) as MdeApi, {
        listMachineActions: async (filter: Parameters<MdeApi['listMachineActions']>[0]) => {
          const named = filter.machineId === undefined ? [] : [filter.machineId].flat();
          const hidden = new Set(named.filter((id) => lagging.delete(id)));
          return (await api.listMachineActions(filter)).filter((a) => !hidden.has(a.machineId));
        },
      }),
    lagOnce: (machineId) => lagging.add(machineId),
  };
}

/**
 * Polls `check` every 10 ms until it holds, and fails naming `what` after 1,000 polls: a bound in
 * polls, which a loaded machine stretches (10 s at the least), where a few seconds of wall time ran
 * out under load before a simulated action had ended.
 */
export async function until(check: () => boolean | Promise<boolean>, what = 'the condition'): Promise<void> {
  for (let poll = 0; poll < 1_000; poll += 1) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`${what} was not reached`);
}

/** Waits until the simulator shows MDE action `actionId` in `status`. */
export function untilActionStatus(h: Harness, actionId: string, status: string): Promise<void> {
  return until(
    () => h.sim.actions().find((a) => a.id === actionId)?.status === status,
    `action ${actionId} ${status}`,
  );
}
