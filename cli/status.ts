/** `status ACTION_ID [--json]`: where one MDE machine action stands (e.g. after `run` stopped waiting). */
import type { Command } from 'commander';
import { ConfigError } from '../shared/config';
import { isMdeApiError } from '../shared/mde/errors';
import { isTerminal, type MachineAction } from '../shared/mde/types';
import { openReadOnly, type ReadOnlyRuntime } from '../shared/runtime';
import { type CliContext, type CliIo, EXIT } from './context';

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

export async function runStatus(actionId: string, options: { json?: boolean }, io: CliIo): Promise<number> {
  let runtime: ReadOnlyRuntime;
  try {
    // No policy or queue needed: one read, still counted against the machineactions quota.
    runtime = openReadOnly({ env: io.env });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    io.stderr.write(`status: ${error.message}\n`);
    return EXIT.badInput;
  }
  try {
    const action = await runtime.api.getMachineAction(actionId.trim());
    if (options.json) io.stdout.write(`${JSON.stringify(action, null, 2)}\n`);
    else
      for (const field of FIELDS)
        if (action[field] !== undefined && action[field] !== null)
          io.stdout.write(`${field.padEnd(22)} ${String(action[field])}\n`);
    return isTerminal(action.status) && action.status !== 'Succeeded' ? EXIT.failure : EXIT.ok;
  } catch (error) {
    if (!isMdeApiError(error)) throw error;
    io.stderr.write(`status: ${error.message}\n`);
    return error.kind === 'refused-before-sending' || error.kind === 'not-found'
      ? EXIT.badInput
      : EXIT.failure;
  } finally {
    await runtime.close();
  }
}

export function registerStatus(program: Command, cli: CliContext): void {
  program
    .command('status')
    .description('show an MDE machine action (status, device, comment, times)')
    .argument('<actionId>', 'MachineAction id, as printed by run, isolate or release')
    .option('--json', 'print the action as JSON')
    .action(async (actionId: string, options: { json?: boolean }) => {
      cli.exitWith(await runStatus(actionId, options, cli.io));
    });
}
