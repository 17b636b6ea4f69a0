/**
 * `release --machine ID | --host NAME --comment TEXT [--force REASON]`: release one device from
 * isolation; an isolation this app did not make (as far as its state store knows) only with --force.
 */
import type { Command } from 'commander';
import type { CliContext } from './context';
import { type ManualOptions, manualCommand, runManualOrder } from './isolate';

export function registerRelease(program: Command, cli: CliContext): void {
  manualCommand(program, 'release', 'release one device from isolation (skipped when it is not isolated)')
    .option(
      '--force <reason>',
      "release an isolation this app did not make (an analyst's, or one made by a run without shared storage); the reason goes into the MDE comment",
    )
    .action(async (options: ManualOptions) => {
      cli.exitWith(await runManualOrder('release', options, cli.io));
    });
}
