/**
 * `cancel ACTION_ID --reason TEXT [--force]`: cancels a pending MDE action (docs/mde-api.md §7.4),
 * through the throttle's own `cancel` quota family; the rules are shared/manual/cancel.ts's, which
 * `POST /api/actions/{id}/cancel` follows too.
 */
import type { Command } from 'commander';
import { cancelPendingAction } from '../shared/manual/cancel';
import { isMdeApiError } from '../shared/mde/errors';
import { resolveActionId } from './action-id';
import { type CliContext, type CliIo, EXIT } from './context';
import { withExamples } from './help';
import { mdeErrorText } from './mde-error-text';
import { fitLine, formatOf, type OutputFlags, withOutputOptions, writeJson } from './output';
import { openReads, operatorName } from './read-session';
import { type TenantFlags, tenantOfFlags, withTenantOption } from './tenant-flag';

export interface CancelOptions extends OutputFlags, TenantFlags {
  reason?: string;
  force?: boolean;
  by?: string;
}

/**
 * Exit 0 once MDE cancelled it; 3 when it is final already or not this app's (without --force);
 * 2 on bad input; 1 when a call failed.
 */
export async function runCancel(actionId: string, options: CancelOptions, io: CliIo): Promise<number> {
  const reason = options.reason?.trim();
  if (!reason) {
    io.stderr.write('cancel: --reason is required; it goes into the MDE cancellation comment\n');
    return EXIT.badInput;
  }
  const tenant = tenantOfFlags('cancel', io, options);
  if (typeof tenant === 'number') return tenant;
  const runtime = openReads('cancel', io, false, tenant);
  if (typeof runtime === 'number') return runtime;
  try {
    const resolved = await resolveActionId(actionId, runtime.store.register, runtime.storage);
    if ('error' in resolved) {
      io.stderr.write(`cancel: ${resolved.error}\n`);
      return EXIT.badInput;
    }
    const result = await cancelPendingAction(runtime, {
      actionId: resolved.id,
      reason,
      force: options.force === true,
      by: operatorName(io, options.by),
    });
    const { action } = result;
    if (result.kind === 'final') {
      io.stderr.write(`cancel: action ${action.id} is ${action.status} already; nothing to cancel\n`);
      return EXIT.notCarriedOut;
    }
    if (result.kind === 'not-ours') {
      io.stderr.write(
        `cancel: action ${action.id} was posted by ${action.requestor ?? 'someone else'}, not by this app; ` +
          'give --force with --reason to cancel it anyway\n',
      );
      return EXIT.notCarriedOut;
    }
    if (formatOf(options, io) === 'json') writeJson(io, options, action);
    else
      io.stdout.write(
        fitLine(
          io,
          options,
          `${action.type} action ${action.id} on ${action.computerDnsName ?? action.machineId}: ${action.status}`,
          2,
        ),
      );
    return EXIT.ok;
  } catch (error) {
    if (!isMdeApiError(error)) throw error;
    io.stderr.write(`cancel: ${mdeErrorText(error)}\n`);
    return error.kind === 'refused-before-sending' || error.kind === 'not-found'
      ? EXIT.badInput
      : EXIT.failure;
  } finally {
    await runtime.close();
  }
}

export function registerCancel(program: Command, cli: CliContext): void {
  const command = program
    .command('cancel')
    .description('cancel a pending MDE action this app posted (--force for any other)')
    .argument(
      '<actionId>',
      'MachineAction id as printed (a unique prefix, such as the 8 characters a table shows, will do)',
    )
    .option('--reason <text>', 'why: recorded in the MDE cancellation comment (required)')
    .option('--force', 'cancel an action this app did not post')
    .option('--by <name>', 'who asks (default: the login name)');
  withExamples(withOutputOptions(withTenantOption(command)), [
    "mde-isolator cancel 6f1c2b3a --reason 'wrong device'",
    "mde-isolator cancel 6f1c2b3a --reason 'not ours, storm' --force",
  ]).action(async (actionId: string, options: CancelOptions) => {
    cli.exitWith(await runCancel(actionId, options, cli.io));
  });
}
