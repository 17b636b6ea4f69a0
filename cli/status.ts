/** `status ACTION_ID [--output FORMAT]`: where one MDE machine action stands (e.g. after `run` stopped waiting). */
import type { Command } from 'commander';
import { isMdeApiError } from '../shared/mde/errors';
import { isTerminal, type MachineAction } from '../shared/mde/types';
import { resolveActionId } from './action-id';
import { type CliContext, type CliIo, EXIT } from './context';
import { mdeErrorText } from './mde-error-text';
import { formatOf, type OutputFlags, withOutputOptions } from './output';
import { openReads } from './read-session';

const FIELDS: (keyof MachineAction)[] = [
  'id',
  'type',
  'scope',
  'status',
  'machineId',
  'computerDnsName',
  'requestor',
  'requestorComment',
  'creationDateTimeUtc',
  'lastUpdateDateTimeUtc',
  'cancellationRequestor',
  'cancellationComment',
  'troubleshootInfo',
];

export async function runStatus(actionId: string, options: OutputFlags, io: CliIo): Promise<number> {
  // No policy or queue needed: one read, still counted against the machineactions quota.
  const runtime = openReads('status', io);
  if (typeof runtime === 'number') return runtime;
  try {
    const resolved = await resolveActionId(actionId, runtime.store.register, runtime.storage);
    if ('error' in resolved) {
      io.stderr.write(`status: ${resolved.error}\n`);
      return EXIT.badInput;
    }
    const action = await runtime.api.getMachineAction(resolved.id);
    const format = formatOf(options);
    if (format === 'json') io.stdout.write(`${JSON.stringify(action, null, 2)}\n`);
    else
      for (const field of FIELDS)
        if (action[field] !== undefined && action[field] !== null)
          io.stdout.write(
            format === 'tsv'
              ? `${field}\t${String(action[field]).replace(/[\t\r\n]+/g, ' ')}\n`
              : `${field.padEnd(22)} ${String(action[field])}\n`,
          );
    return isTerminal(action.status) && action.status !== 'Succeeded' ? EXIT.failure : EXIT.ok;
  } catch (error) {
    if (!isMdeApiError(error)) throw error;
    io.stderr.write(`status: ${mdeErrorText(error)}\n`);
    return error.kind === 'refused-before-sending' || error.kind === 'not-found'
      ? EXIT.badInput
      : EXIT.failure;
  } finally {
    await runtime.close();
  }
}

export function registerStatus(program: Command, cli: CliContext): void {
  const command = program
    .command('status')
    .description('show an MDE machine action (status, device, comment, times)')
    .argument(
      '<actionId>',
      'MachineAction id as printed (a unique prefix, such as the 8 characters a table shows, will do)',
    );
  withOutputOptions(command).action(async (actionId: string, options: OutputFlags) => {
    cli.exitWith(await runStatus(actionId, options, cli.io));
  });
}
