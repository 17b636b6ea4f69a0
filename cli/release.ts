/** `release --machine ID | --host NAME --comment TEXT`: release one device from isolation. */
import type { Command } from 'commander';
import type { CliContext } from './context';
import { type ManualOptions, manualCommand, runManualOrder } from './isolate';

export function registerRelease(program: Command, cli: CliContext): void {
  manualCommand(
    program,
    'release',
    'release one device from isolation (skipped when it is not isolated)',
  ).action(async (options: ManualOptions) => {
    cli.exitWith(await runManualOrder('release', options, cli.io));
  });
}
