/**
 * `release --machine ID | --host NAME --comment TEXT [--force --reason TEXT]`: release one device
 * from isolation. Whose isolation it would end is asked first, by the same rule as the manual API
 * (shared/dispatch/steps/provenance.ts): someone else's, or one nobody can tell the owner of, needs
 * --force with a reason, which the MDE comment records.
 */
import type { Command } from 'commander';
import { asOfFor } from '../shared/dispatch/steps/expiry';
import { forcedReleaseComment, releaseProvenance, releaseRefusal } from '../shared/dispatch/steps/provenance';
import { DeviceResolver } from '../shared/dispatch/steps/resolve';
import { isMdeApiError } from '../shared/mde/errors';
import type { Runtime } from '../shared/runtime';
import { StoreUnavailableError } from '../shared/state/store';
import { type CliContext, type CliIo, EXIT } from './context';
import { examplesText } from './help';
import { type ManualOptions, type ManualSubmission, manualCommand, runManualOrder } from './isolate';
import { mdeErrorText } from './mde-error-text';
import { endOnBadInput, endVerb, formatOf } from './output';

export interface ReleaseOptions extends ManualOptions {
  force?: boolean;
  reason?: string;
}

/**
 * The release of the machine whose provenance was judged, or exit 3 when it is refused. A device
 * MDE cannot name exactly goes on: the worker escalates it with its reason, as any request.
 */
async function checkProvenance(
  runtime: Runtime,
  order: ManualSubmission,
  options: ReleaseOptions,
  io: CliIo,
): Promise<ManualSubmission | number> {
  const reason = options.reason?.trim();
  const format = formatOf(options, io);
  try {
    const resolution = await new DeviceResolver(runtime.api, runtime.throttle.clock, 0).resolve(order.device);
    if (resolution.kind !== 'machine') return order;
    const { machine } = resolution;
    const provenance = await releaseProvenance(runtime, machine.id, asOfFor(runtime));
    const refused = releaseRefusal(provenance, options.force === true);
    if (refused)
      return endVerb(io, format, 'release', EXIT.notCarriedOut, {
        stage: 'run',
        kind: refused.code,
        message: `${refused.cause}; give --force with --reason to release it anyway`,
      });
    const forceReason = options.force ? reason : undefined;
    return {
      ...order,
      device: { mdeDeviceId: machine.id },
      // The worker asks whose isolation it is again before posting; the reason lets it through there.
      comment: forceReason ? forcedReleaseComment(order.comment, forceReason) : order.comment,
      forceReason,
    };
  } catch (error) {
    if (error instanceof StoreUnavailableError)
      return endVerb(io, format, 'release', EXIT.failure, {
        stage: 'run',
        kind: 'store-unavailable',
        message: 'the state store cannot be reached; nothing was posted: try again shortly',
      });
    if (!isMdeApiError(error)) throw error;
    return endVerb(io, format, 'release', EXIT.failure, {
      stage: 'run',
      kind: 'mde-unavailable',
      message: `whose isolation it is could not be asked of MDE (${mdeErrorText(error)}); nothing was posted`,
    });
  }
}

export async function runRelease(options: ReleaseOptions, io: CliIo): Promise<number> {
  if (options.force && !options.reason?.trim())
    return endOnBadInput(
      io,
      formatOf(options, io),
      'release',
      '--force needs --reason; it goes into the MDE comment for the audit trail',
    );
  // A reason alone would be silently dropped: the person meant to force, or gave it by mistake.
  if (!options.force && options.reason !== undefined)
    return endOnBadInput(
      io,
      formatOf(options, io),
      'release',
      '--reason goes with --force (why it is forced)',
    );
  return runManualOrder('release', options, io, {}, (runtime, order) =>
    checkProvenance(runtime, order, options, io),
  );
}

export function registerRelease(program: Command, cli: CliContext): void {
  manualCommand(program, 'release', 'release one device from isolation (skipped when it is not isolated)')
    .option('--force', 'release an isolation this app did not post, or whose owner is unknown')
    .option('--reason <text>', 'why it is forced: recorded in the MDE comment (required with --force)')
    .addHelpText(
      'after',
      examplesText([
        "mde-isolator release --host ws-fin-01 --comment 'IR-1234: cleaned'",
        "mde-isolator release --host ws-hr-02 --comment IR-7 --force --reason 'lead'",
      ]),
    )
    .action(async (options: ReleaseOptions) => {
      cli.exitWith(await runRelease(options, cli.io));
    });
}
