/**
 * `isolate --machine ID | --host NAME --comment TEXT [--selective]`: a person's isolation from a
 * terminal, through the same queue, checks and tracking as automatic ones (the policy's protections
 * and mode still apply; the blast-radius breaker counts it but never blocks it).
 */
import type { Command } from 'commander';
import type { DeviceRef } from '../shared/alerts/model';
import { DURATION_FORM, parseDuration } from '../shared/kernel/duration';
import { canonicalMachineId } from '../shared/mde/ids';
import type { Runtime, RuntimeOptions } from '../shared/runtime';
import { type CliContext, type CliIo, EXIT } from './context';
import {
  DEFAULT_WAIT_SECONDS,
  jsonResult,
  outcomeRow,
  renderSummary,
  type SessionFlags,
  startSession,
  timeScaleOption,
  writeNotes,
  writeOpenActions,
} from './dispatch-session';
import { dispatchExitCode } from './outcome-exit';
import { endOnBadInput, formatOf, withOutputOptions } from './output';
import { operatorName } from './read-session';

export interface ManualOptions extends SessionFlags {
  machine?: string;
  host?: string;
  comment: string;
  selective?: boolean;
  by?: string;
  /** `isolate --for 8h`: the time box (kernel/duration.ts). */
  for?: string;
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

/** What a verb submits: the device, the MDE comment, and a forced release's reason for the worker. */
export interface ManualSubmission {
  device: DeviceRef;
  comment: string;
  forceReason?: string;
}

/** A verb's own check once the session is open: what to submit, or the exit code that ends the verb. */
export type SubmissionCheck = (
  runtime: Runtime,
  order: ManualSubmission,
) => Promise<ManualSubmission | number>;

export async function runManualOrder(
  action: 'isolate' | 'release',
  options: ManualOptions,
  io: CliIo,
  overrides: RuntimeOptions = {},
  check?: SubmissionCheck,
): Promise<number> {
  const device = deviceFromOptions(options);
  if (typeof device === 'string') return endOnBadInput(io, formatOf(options), action, device);
  if (!options.comment?.trim())
    return endOnBadInput(
      io,
      formatOf(options),
      action,
      '--comment is required; it goes into the MDE action for the audit trail',
    );
  const isolateForMs = options.for === undefined ? null : parseDuration(options.for.trim());
  if (isolateForMs === null && options.for !== undefined)
    return endOnBadInput(io, formatOf(options), action, `--for "${options.for}" is not ${DURATION_FORM}`);
  // No --policy here: a manual order runs under the configured policy; --enforce/--dry-run set its mode.
  const started = await startSession(action, io, { ...options, policy: undefined }, overrides);
  if (typeof started === 'number') return started;
  const session = started;
  const isolationType = options.selective ? 'Selective' : 'Full';
  // The same label as `run` gives a manual request, so both tables read alike.
  const label = action === 'isolate' ? `isolate ${isolationType} (manual)` : 'release (manual)';
  try {
    const order: ManualSubmission = { device, comment: options.comment.trim() };
    const checked = check ? await check(session.runtime, order) : order;
    if (typeof checked === 'number') return checked;
    const request = await session.runtime.submitManual({
      action,
      device: checked.device,
      comment: checked.comment,
      forceReason: checked.forceReason,
      isolationType,
      requestedBy: operatorName(io, options.by),
      ...(isolateForMs !== null && { isolateForMs }),
    });
    session.startProgress(1, action === 'isolate' ? 'isolating' : 'releasing');
    const end = await session.finish();
    const outcomes = session.outcomes.filter((o) => o.requestId === request.requestId);
    if (session.format === 'json') io.stdout.write(jsonResult(session, end, { outcomes }));
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
        `${action}: an offline device stays Pending until it reports (up to 3 days); follow it with the command above\n`,
      );
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
  return withOutputOptions(command);
}

export function registerIsolate(program: Command, cli: CliContext): void {
  manualCommand(program, 'isolate', 'isolate one device now, through the same checks as automatic isolations')
    .option('--selective', 'selective isolation (Outlook, Teams stay reachable) instead of full')
    .option('--for <duration>', 'release it this long after it took effect: 30m, 8h, 2d (see extend)')
    .action(async (options: ManualOptions) => {
      cli.exitWith(await runManualOrder('isolate', options, cli.io));
    });
}
