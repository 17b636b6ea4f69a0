/**
 * `isolate --machine ID | --host NAME --comment TEXT [--selective | --contain] [--override --reason
 * TEXT]`: a person's isolation from a terminal, through the same queue, checks and tracking as
 * automatic ones (the policy's protections and mode still apply unless overridden with a reason, as
 * the manual API's `override`; the blast-radius breaker counts it but never blocks it).
 */
import type { Command } from 'commander';
import type { DeviceRef } from '../shared/alerts/model';
import type { OutcomeRecord } from '../shared/dispatch/outcome';
import { DURATION_FORM, parseDuration } from '../shared/kernel/duration';
import type { MdeIsolationType } from '../shared/kernel/vocabulary';
import { canonicalMachineId } from '../shared/mde/ids';
import type { Runtime, RuntimeOptions } from '../shared/runtime';
import { type CliContext, type CliIo, EXIT } from './context';
import {
  DEFAULT_WAIT_SECONDS,
  deviceLabel,
  openActions,
  outcomeRow,
  renderSummary,
  type SessionFlags,
  startSession,
  timeScaleOption,
  writeJsonResult,
  writeNotes,
  writeOpenActions,
} from './dispatch-session';
import { examplesText } from './help';
import { dispatchExitCode } from './outcome-exit';
import { endOnBadInput, formatOf, withOutputOptions } from './output';
import { operatorName } from './read-session';
import { type TenantFlags, tenantOfFlags, withTenantOption } from './tenant-flag';

export interface ManualOptions extends SessionFlags, TenantFlags {
  machine?: string;
  host?: string;
  comment: string;
  by?: string;
  /** `isolate --for 8h`: the time box (kernel/duration.ts). */
  for?: string;
}

export interface IsolateOptions extends ManualOptions {
  selective?: boolean;
  contain?: boolean;
  override?: boolean;
  reason?: string;
}

/** The device named on the command line, or why it cannot be used. */
export function deviceFromOptions(options: ManualOptions): DeviceRef | string {
  if (Boolean(options.machine) === Boolean(options.host))
    return 'give exactly one of --machine ID or --host NAME';
  if (options.machine) {
    const machineId = canonicalMachineId(options.machine);
    return machineId
      ? { mdeDeviceId: machineId }
      : `--machine "${options.machine}" is not an MDE device id (40 hex characters)`;
  }
  const host = (options.host as string).trim();
  if (!host || /\s/.test(host)) return `--host "${options.host}" is not a host name`;
  return host.includes('.') ? { fqdn: host } : { hostname: host };
}

/**
 * What a verb submits: the device, the MDE comment, the isolation type, and what a person waived with
 * a reason: the protections (`overrideReason`) or whose isolation a release ends (`forceReason`).
 */
export interface ManualSubmission {
  device: DeviceRef;
  comment: string;
  isolationType: MdeIsolationType;
  overrideReason?: string;
  forceReason?: string;
}

/** A verb's own check once the session is open: what to submit, or the exit code that ends the verb. */
export type SubmissionCheck = (
  runtime: Runtime,
  order: ManualSubmission,
) => Promise<ManualSubmission | number>;

/**
 * What to do about a request the worker escalated, for the operator: the flag that acts on it, or the
 * command that tells more. A policy protection is the one escalation a person may waive.
 */
export function escalationHint(record: Pick<OutcomeRecord, 'rule' | 'machineId' | 'action'>): string {
  if (record.rule === 'ambiguous-device')
    return 'name the device by id: --machine ID (mde-isolator lookup NAME lists them)';
  if (record.machineId === null) return 'mde-isolator lookup NAME lists what MDE knows of the name';
  if (record.rule === 'action-conflict') return 'wait for the action under way to end, then ask again';
  return record.action === 'isolate'
    ? 'give --override with --reason to isolate it anyway'
    : 'give --force with --reason to release it anyway';
}

export async function runManualOrder(
  action: 'isolate' | 'release',
  options: ManualOptions,
  io: CliIo,
  overrides: RuntimeOptions = {},
  check?: SubmissionCheck,
  isolationType: MdeIsolationType = 'Full',
): Promise<number> {
  const device = deviceFromOptions(options);
  if (typeof device === 'string') return endOnBadInput(io, formatOf(options, io), action, device);
  if (!options.comment?.trim())
    return endOnBadInput(
      io,
      formatOf(options, io),
      action,
      '--comment is required; it goes into the MDE action for the audit trail',
    );
  const isolateForMs = options.for === undefined ? null : parseDuration(options.for.trim());
  if (isolateForMs === null && options.for !== undefined)
    return endOnBadInput(io, formatOf(options, io), action, `--for "${options.for}" is not ${DURATION_FORM}`);
  const tenant = tenantOfFlags(action, io, options);
  if (typeof tenant === 'number') return tenant;
  // No --policy here: a manual order runs under the configured policy; --enforce/--dry-run set its mode.
  const started = await startSession(
    action,
    io,
    { ...options, policy: undefined },
    { ...overrides, ...(tenant && { tenantsAtStart: [tenant.tenantId] }) },
  );
  if (typeof started === 'number') return started;
  const session = started;
  // The same label as `run` gives a manual request, so both tables read alike.
  const label = action === 'isolate' ? `isolate ${isolationType} (manual)` : 'release (manual)';
  try {
    const order: ManualSubmission = { device, comment: options.comment.trim(), isolationType };
    // A release's provenance is asked of the tenant the order acts in.
    const inTenant = tenant
      ? { ...session.runtime, ...session.runtime.tenant(tenant.tenantId) }
      : session.runtime;
    const checked = check ? await check(inTenant, order) : order;
    if (typeof checked === 'number') return checked;
    const request = await session.runtime.submitManual({
      action,
      ...checked,
      requestedBy: operatorName(io, options.by),
      ...(isolateForMs !== null && { isolateForMs }),
      ...(tenant && { tenantId: tenant.tenantId }),
    });
    session.startProgress(1, action === 'isolate' ? 'isolating' : 'releasing');
    const end = await session.finish();
    const outcomes = session.outcomes.filter((o) => o.requestId === request.requestId);
    if (session.format === 'json') writeJsonResult(io, session, end, { outcomes });
    else if (outcomes.length > 0)
      io.stdout.write(
        renderSummary(
          outcomes.map((o) => outcomeRow(o, label)),
          io,
          session,
        ),
      );
    writeOpenActions(io, session, end, outcomes.length === 0 ? 1 : 0);
    if (outcomes.length === 0 && end === 'timed-out')
      io.stderr.write(
        openActions(session).length > 0
          ? `${action}: an offline device stays Pending until it reports (up to 3 days); follow it with the command above\n`
          : `${action}: nothing was posted or followed before the wait ended, and the request ends with this command: run it again with a longer --wait\n`,
      );
    for (const o of outcomes)
      if (o.outcome === 'escalated')
        io.stderr.write(`${action}: ${deviceLabel(o.device, o.computerDnsName)}: ${escalationHint(o)}\n`);
    writeNotes(io, session.notes);
    if (isolateForMs !== null && outcomes.some((o) => o.outcome === 'succeeded'))
      io.stderr.write(`${action}: the end is in the register; the app's reconciler releases it then\n`);
    if (end === 'interrupted') return EXIT.interrupted;
    return dispatchExitCode({ outcomes, unfinished: outcomes.length === 0 ? 1 : 0 });
  } finally {
    await session.close();
  }
}

/** Options shared by `isolate` and `release`. */
export function manualCommand(program: Command, name: string, description: string): Command {
  const command = program
    .command(name)
    .description(description)
    .option('--machine <id>', 'MDE device id')
    .option('--host <name>', 'host name or FQDN (looked up exactly; refused when ambiguous)')
    .requiredOption('--comment <text>', 'why: recorded in the MDE action comment')
    .option('--by <name>', 'who asks (default: the login name)')
    .option('--enforce', 'post the action even when the policy or ISOLATION_MODE says dry-run')
    .option('--dry-run', 'resolve the device and decide, post nothing')
    .option('--wait <seconds>', `longest wait for the action to end (default ${DEFAULT_WAIT_SECONDS})`)
    .addOption(timeScaleOption());
  return withOutputOptions(withTenantOption(command));
}

/** `isolate`'s own flags checked: the isolation type and the override, or why they cannot be used. */
function isolateFlags(options: IsolateOptions): { type: MdeIsolationType; overrideReason?: string } | string {
  if (options.selective && options.contain) return 'give at most one of --selective and --contain';
  const reason = options.reason?.trim();
  if (options.override && !reason)
    return '--override needs --reason; it goes into the decision and the MDE comment for the audit trail';
  if (reason && !options.override) return '--reason goes with --override (why the protections are waived)';
  const type = options.contain ? 'UnManagedDevice' : options.selective ? 'Selective' : 'Full';
  return options.override ? { type, overrideReason: reason } : { type };
}

export async function runIsolate(options: IsolateOptions, io: CliIo): Promise<number> {
  const flags = isolateFlags(options);
  if (typeof flags === 'string') return endOnBadInput(io, formatOf(options, io), 'isolate', flags);
  const waive = async (_runtime: Runtime, order: ManualSubmission) => ({
    ...order,
    overrideReason: flags.overrideReason,
  });
  return runManualOrder('isolate', options, io, {}, waive, flags.type);
}

export function registerIsolate(program: Command, cli: CliContext): void {
  manualCommand(program, 'isolate', 'isolate one device now, through the same checks as automatic isolations')
    .option('--selective', 'selective isolation (Outlook, Teams stay reachable) instead of full')
    .option('--for <duration>', 'release it this long after it took effect: 30m, 8h, 2d (see extend)')
    .option('--contain', 'contain a device MDE lists as not onboarded (IsolationType UnManagedDevice)')
    .option('--override', "waive the policy's protections for this device (needs --reason)")
    .option('--reason <text>', 'why the protections are waived: recorded in the decision and MDE comment')
    .addHelpText(
      'after',
      examplesText([
        "mde-isolator isolate --host ws-fin-01 --comment 'IR-1234: ransomware'",
        "mde-isolator isolate --host dc01 --comment IR-7 --override --reason 'IR-7'",
        'mde-isolator isolate --host nas-01.contoso.local --comment IR-8 --contain',
        'mde-isolator isolate --host web1 --comment IR-9 --dry-run -q outcomes',
        'mde-isolator isolate --host ws-fin-02 --comment IR-10 --for 8h',
      ]),
    )
    .action(async (options: IsolateOptions) => {
      cli.exitWith(await runIsolate(options, cli.io));
    });
}
