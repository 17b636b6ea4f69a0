/**
 * `release --machine ID | --host NAME --comment TEXT [--force --reason TEXT]`: release one device from
 * isolation; an isolation this app did not make (as far as its state store knows) only with --force,
 * which the worker checks before posting (dispatch/steps/provenance.ts).
 */
import type { Command } from 'commander';
import type { CliContext } from './context';
import { type ManualOptions, manualCommand, runManualOrder } from './isolate';

export function registerRelease(program: Command, cli: CliContext): void {
  manualCommand(program, 'release', 'release one device from isolation (skipped when it is not isolated)')
    .option(
      '--force',
      "release an isolation this app did not make (an analyst's, or a run's without shared storage)",
    )
    .option('--reason <text>', 'why it is forced: recorded in the MDE comment (required with --force)')
    .action(async (options: ManualOptions) => {
      cli.exitWith(await runManualOrder('release', options, cli.io));
    });
}
