/**
 * A person's isolate or release over HTTP (docs/architecture.md §2.2). The request takes the path of
 * an alert-driven one (queue, worker: exact resolution, protections, platform checks, idempotency,
 * throttling, tracking); what is checked here first is what the caller must hear at once: an unknown
 * or ambiguous device, a protected one, a pending opposite action, someone else's isolation, a dry
 * run. Every MDE call goes through the runtime's throttled client, the one the worker counts.
 */
import { manualAlert } from '../alerts/manual';
import type { NormalizedAlert } from '../alerts/model';
import type { AppConfig } from '../config';
import type { ManualOrder } from '../dispatch/dispatcher';
import type { OutcomeRecord } from '../dispatch/outcome';
import type { OutcomeWatch } from '../dispatch/outcome-feed';
import type { IsolationRequest } from '../dispatch/request';
import { actionHistory, TOO_MANY_ACTIONS } from '../dispatch/steps/action-history';
import { dryRunVerdict } from '../dispatch/steps/dry-run';
import { type AsOf, asOfFor } from '../dispatch/steps/expiry';
import { judgePriorActions } from '../dispatch/steps/idempotency';
import { inForce } from '../dispatch/steps/in-force';
import { forcedReleaseComment, releaseProvenance, releaseRefusal } from '../dispatch/steps/provenance';
import { DeviceResolver, type Resolution } from '../dispatch/steps/resolve';
import type { Clock } from '../kernel/clock';
import { truncate } from '../kernel/text';
import type { MdeIsolationType } from '../kernel/vocabulary';
import type { MdeApi } from '../mde/api';
import type { AppIdentity } from '../mde/app-identity';
import { MdeApiError } from '../mde/errors';
import type { Machine, MachineAction } from '../mde/types';
import { listedAsUnmanaged } from '../policy/platform';
import type { Decision, IsolationPolicy } from '../policy/types';
import { type IsolationRecord, type StateStore, StoreUnavailableError } from '../state/store';
import type { TenantDirectory } from '../tenants/lookup';
import { type ManualAnswer, refusal, unavailable } from './answer';
import type { Caller } from './caller';
import type { ManualCommand } from './order';
import { orderTenant } from './tenant';

/** What the use case needs of the runtime (shared/runtime.ts satisfies it). */
export interface ManualRuntime {
  readonly mode: 'inline' | 'service-bus';
  readonly policy: IsolationPolicy;
  readonly api: MdeApi;
  readonly store: StateStore;
  readonly identity: Pick<AppIdentity, 'clientId'>;
  readonly throttle: { readonly clock: Clock };
  readonly config: Pick<AppConfig, 'platformLiftMs'>;
  /** The tenants the deployment serves: the order names one of them, or none without a list. */
  readonly tenants: TenantDirectory;
  /** A listed tenant's client, store and policy: what the checks before an order read in that tenant. */
  tenant(tenantId: string): Pick<ManualRuntime, 'api' | 'store' | 'policy' | 'identity' | 'throttle'>;
  submitManual(order: ManualOrder): Promise<IsolationRequest>;
  /** This process's outcome records from now on (dispatch/outcome-feed.ts). */
  watchOutcomes(): OutcomeWatch;
}

export interface ManualTiming {
  /** How long `wait` (and every inline request) waits for the action; well under the HTTP limit. */
  waitMs: number;
  pollMs: number;
}

/** 60 s: Azure's front end drops an HTTP request after 230 s; a caller gets 202 long before. */
export const DEFAULT_MANUAL_TIMING: ManualTiming = { waitMs: 60_000, pollMs: 500 };

const CANDIDATES_LISTED = 10;
const COMMENT_MAX = 1000;

type MachineSummary = ReturnType<typeof machineSummary>;

function machineSummary(m: Machine) {
  return { machineId: m.id, computerDnsName: m.computerDnsName, lastSeen: m.lastSeen };
}

function unresolved(resolution: Exclude<Resolution, { kind: 'machine' }>): ManualAnswer {
  if (resolution.kind === 'not-found')
    return refusal(
      404,
      'unknown-device',
      `no MDE machine matches this device exactly (tried ${resolution.tried.join(', ')})`,
      {
        namesakes: resolution.namesakes.slice(0, CANDIDATES_LISTED).map(machineSummary),
      },
    );
  return refusal(
    422,
    'ambiguous-device',
    `${resolution.via} matches ${resolution.candidates.length} MDE machines seen recently; name it by machineId`,
    { candidates: resolution.candidates.slice(0, CANDIDATES_LISTED).map(machineSummary) },
  );
}

/**
 * `UnManagedDevice` contains a device MDE lists as not onboarded (docs/mde-api.md §8.1, §9.4); for
 * any other it is refused here, before the policy (which would skip it) and before MDE (which refuses
 * it). Null when the containment may go on.
 */
function containmentRefusal(command: ManualCommand, machine: Machine): ManualAnswer | null {
  if (command.isolationType !== 'UnManagedDevice' || listedAsUnmanaged(machine)) return null;
  return refusal(
    422,
    'device-onboarded',
    `UnManagedDevice contains only devices MDE lists as not onboarded; ${machine.id} is ${machine.onboardingStatus ?? 'listed without an onboarding status'}: isolate it with Full or Selective`,
    { device: machineSummary(machine) },
  );
}

/**
 * The caller, and a force reason, in every record: the MDE comment carries them. An override's reason
 * goes with the request itself (`waiverOf`): the policy applies it and the alert's title names it.
 */
function commentOf(command: ManualCommand, caller: Caller): string {
  const comment =
    command.force && command.reason ? forcedReleaseComment(command.comment, command.reason) : command.comment;
  return truncate(`${comment} (by ${caller.label})`, COMMENT_MAX);
}

/** The manual alert the worker will decide, for the same decision ahead of it. */
function previewAlert(
  command: ManualCommand,
  isolationType: MdeIsolationType,
  machine: Machine,
  caller: Caller,
): NormalizedAlert {
  return manualAlert({
    device: { mdeDeviceId: machine.id },
    comment: command.comment,
    isolationType,
    requestedBy: caller.label,
    ...waiverOf(command),
  });
}

/**
 * What the person waived, with their reason, for the worker to apply: the protections (`override`),
 * or whose isolation a release ends (`force`).
 */
function waiverOf(command: ManualCommand): { overrideReason?: string; forceReason?: string } {
  if (!command.reason) return {};
  if (command.override) return { overrideReason: command.reason };
  return command.force ? { forceReason: command.reason } : {};
}

function decisionView(decision: Decision) {
  const { action, isolationType, rule, reason, mode } = decision;
  return { action, isolationType, rule, reason, mode };
}

/**
 * The register's current state against the order: done, pending the same, or pending the opposite.
 * Done and the opposite pending are answered only when MDE's actions agree (in-force.ts,
 * idempotency.ts): the register is a belief, and MDE lifts isolations after 7 days, analysts release
 * in the portal, and a lost tracking leaves a state nobody ends, all unseen until the reconciler runs.
 */
async function registerAnswer(
  command: ManualCommand,
  record: IsolationRecord | null,
  api: MdeApi,
  asOf: AsOf,
): Promise<ManualAnswer | null> {
  if (record === null) return null;
  const [done, pending, opposite] =
    command.verb === 'isolate'
      ? ['isolated', 'isolating', 'releasing']
      : ['released', 'releasing', 'isolating'];
  if (record.state === pending) {
    const [action] = record.actions;
    if (!action) return null;
    const current = await api.getMachineAction(action.actionId);
    return {
      status: 200,
      body: { status: 'adopted', posted: false, adopted: true, action: current, record },
    };
  }
  if (record.state !== done && record.state !== opposite) return null;
  const history = await actionHistory(api, record.machineId, asOf.now);
  if (history === null) return null;
  if (record.state === opposite)
    return judgePriorActions(command.verb, history, asOf).kind === 'conflict'
      ? refusal(
          409,
          'opposite-pending',
          `${opposite === 'releasing' ? 'a release' : 'an isolation'} of this device is under way (request ${record.requestId}); wait for it to end`,
          { record },
        )
      : null;
  return (inForce(history, asOf).kind === 'isolation') === (command.verb === 'isolate')
    ? { status: 200, body: { status: `already-${done}`, posted: false, record } }
    : null;
}

async function refusedRelease(
  command: ManualCommand,
  runtime: ManualRuntime,
  machine: Machine,
): Promise<ManualAnswer | null> {
  const provenance = await releaseProvenance(runtime, machine.id, asOfFor(runtime));
  const refused = releaseRefusal(provenance, command.force);
  if (!refused) return null;
  return refusal(
    409,
    refused.code,
    `${refused.cause}; send force: true with a reason to release it anyway`,
    refused.code === 'isolated-by-someone-else' ? { isolatedBy: refused.isolatedBy } : undefined,
  );
}

/**
 * The policy's answer for this device, refused here when the worker would not isolate it. With an
 * override no protection applies (the decision's rule is `manual-override`), so only a protection
 * without one, or what MDE cannot do, is refused.
 */
function policyRefusal(decision: Decision): ManualAnswer | null {
  if (decision.action === 'isolate') return null;
  const view = { decision: decisionView(decision) };
  if (decision.action === 'skip') return refusal(422, 'not-isolatable', decision.reason, view);
  return refusal(
    422,
    'protected',
    `${decision.reason}; send override: true with a reason to isolate it anyway`,
    view,
  );
}

/**
 * 200 with the decision and what enforce would do with the device's actions in MDE (dry-run.ts, the
 * worker's own judgement): never "would release" for a device MDE lists as released.
 */
async function dryRunAnswer(
  command: ManualCommand,
  runtime: ManualRuntime,
  machine: Machine,
  decision: ReturnType<typeof decisionView> | null,
): Promise<ManualAnswer> {
  const asOf = asOfFor(runtime);
  const history = await actionHistory(runtime.api, machine.id, asOf.now);
  const name = machine.computerDnsName ?? machine.id;
  const verdict = history
    ? dryRunVerdict(command.verb, name, decision, history, [], asOf)
    : {
        would: `would not ${command.verb} ${name} but escalate: ${TOO_MANY_ACTIONS}`,
        actionId: null,
      };
  return {
    status: 200,
    body: {
      status: 'dry-run',
      posted: false,
      mode: command.dryRun ? 'dry-run (asked)' : 'dry-run (policy)',
      device: machineSummary(machine),
      decision: decision ?? { action: 'release', reason: command.comment },
      would: verdict.would,
      ...(verdict.actionId && { actionId: verdict.actionId }),
    },
  };
}

type WaitEnd =
  | { kind: 'action'; adopted: boolean; action: MachineAction }
  | { kind: 'ended'; record: OutcomeRecord };

/** `ms` of sleep, cut short when `ended` settles first; no timer outlives it. */
async function pollPause(ended: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([ended, new Promise((done) => (timer = setTimeout(done, ms)))]);
  clearTimeout(timer);
}

/**
 * The action the worker posted or adopted for `requestId`, once the ledger has it; else the request's
 * outcome as soon as it ended without one (skipped, escalated, coalesced); null after `waitMs`.
 */
async function awaitEnd(
  runtime: ManualRuntime,
  requestId: string,
  ended: Promise<OutcomeRecord>,
  timing: ManualTiming,
): Promise<WaitEnd | null> {
  const outcome: { record?: OutcomeRecord } = {};
  const known = ended.then((record) => {
    outcome.record = record;
  });
  const deadline = Date.now() + timing.waitMs;
  for (;;) {
    // The ledger first: a request that posted is answered with its action, even once it has ended.
    const entry = await runtime.store.actions.forRequest(requestId);
    if (entry)
      return {
        kind: 'action',
        adopted: entry.adopted,
        action: await runtime.api.getMachineAction(entry.actionId),
      };
    if (outcome.record) return { kind: 'ended', record: outcome.record };
    if (Date.now() + timing.pollMs > deadline) return null;
    await pollPause(known, timing.pollMs);
  }
}

/** A request that ended without an action: its outcome, and why (nothing was posted for it). */
function endedAnswer(record: OutcomeRecord, device: MachineSummary): ManualAnswer {
  return {
    status: 200,
    body: {
      status: record.outcome,
      posted: false,
      requestId: record.requestId,
      device,
      reason: record.reason,
      outcome: record,
    },
  };
}

function queuedBody(request: IsolationRequest, device: MachineSummary) {
  return { status: 'queued', requestId: request.requestId, queuedAt: request.receivedAt, device };
}

function postedAnswer(
  request: IsolationRequest,
  device: MachineSummary,
  done: Extract<WaitEnd, { kind: 'action' }>,
): ManualAnswer {
  return {
    status: done.adopted ? 200 : 201,
    body: {
      status: done.adopted ? 'adopted' : 'posted',
      posted: !done.adopted,
      requestId: request.requestId,
      device,
      action: done.action,
    },
  };
}

async function decideAndSubmit(
  command: ManualCommand,
  caller: Caller,
  deployment: ManualRuntime,
  timing: ManualTiming,
): Promise<ManualAnswer> {
  const tenant = orderTenant(command.tenant, deployment.tenants, caller);
  if ('refused' in tenant) return tenant.refused;
  // Every check reads the tenant the order acts in: its devices, register and policy.
  const runtime: ManualRuntime =
    tenant.tenantId === undefined ? deployment : { ...deployment, ...deployment.tenant(tenant.tenantId) };
  await runtime.store.ping();
  const resolver = new DeviceResolver(runtime.api, runtime.throttle.clock, 0);
  const resolution = await resolver.resolve(command.device);
  if (resolution.kind !== 'machine') return unresolved(resolution);
  const { machine } = resolution;
  const contained = containmentRefusal(command, machine);
  if (contained) return contained;
  const { isolationType } = command;
  const known = await registerAnswer(
    command,
    await runtime.store.register.get(machine.id),
    runtime.api,
    asOfFor(runtime),
  );
  if (known) return known;
  let decision: ReturnType<typeof decisionView> | null = null;
  if (command.verb === 'isolate') {
    const full = runtime.policy.decideDevice(
      previewAlert(command, isolationType, machine, caller),
      { mdeDeviceId: machine.id },
      machine,
      {
        now: new Date(runtime.throttle.clock.now()),
      },
    );
    const refused = policyRefusal(full);
    if (refused) return refused;
    decision = decisionView(full);
  } else {
    const refused = await refusedRelease(command, runtime, machine);
    if (refused) return refused;
  }
  const device = machineSummary(machine);
  if (command.dryRun || runtime.policy.modeFor({ source: 'manual' }) === 'dry-run')
    return dryRunAnswer(command, runtime, machine, decision);
  const order = {
    action: command.verb,
    device: { mdeDeviceId: machine.id },
    comment: commentOf(command, caller),
    isolationType: decision?.isolationType ?? isolationType,
    requestedBy: caller.label,
    ...waiverOf(command),
    ...(command.isolateForMs !== null && { isolateForMs: command.isolateForMs }),
    onLift: command.onLift,
    ...tenant,
  };
  if (runtime.mode === 'service-bus' && !command.wait) {
    const request = await runtime.submitManual(order);
    return { status: 202, body: queuedBody(request, device) };
  }
  const outcomes = runtime.watchOutcomes();
  try {
    const request = await runtime.submitManual(order);
    const done = await awaitEnd(runtime, request.requestId, outcomes.of(request.requestId), timing);
    if (!done) return { status: 202, body: queuedBody(request, device) };
    if (done.kind === 'ended') return endedAnswer(done.record, device);
    return postedAnswer(request, device, done);
  } finally {
    outcomes.stop();
  }
}

/** Carries out a validated order for `caller`; never throws for the store or MDE being down. */
export async function carryOutManualOrder(
  command: ManualCommand,
  caller: Caller,
  runtime: ManualRuntime,
  timing: ManualTiming = DEFAULT_MANUAL_TIMING,
): Promise<ManualAnswer> {
  try {
    return await decideAndSubmit(command, caller, runtime, timing);
  } catch (error) {
    if (error instanceof StoreUnavailableError) return unavailable('store');
    if (error instanceof MdeApiError) return unavailable('mde');
    throw error;
  }
}
