/**
 * `lookup NAME`: every MDE machine record for a host name or FQDN, with ids and last seen, so an
 * ambiguous name (a re-onboarded device, namesakes in two domains) can be resolved by id.
 */
import type { Command } from 'commander';
import { isMdeApiError } from '../shared/mde/errors';
import type { Machine } from '../shared/mde/types';
import { type CliContext, type CliIo, EXIT } from './context';
import { mdeErrorText } from './mde-error-text';
import {
  type Column,
  formatOf,
  type OutputFlags,
  renderTable,
  renderTsv,
  tableWidth,
  withOutputOptions,
} from './output';
import { openReads } from './read-session';

const COLUMNS: Column[] = [
  { head: 'Machine id', min: 40 },
  { head: 'Name', min: 12 },
  { head: 'Last seen', min: 10 },
  { head: 'Health', min: 8 },
  { head: 'OS', min: 8, flex: true },
];

function rowOf(machine: Machine): string[] {
  return [
    machine.id,
    machine.computerDnsName ?? '-',
    machine.lastSeen ?? '-',
    machine.healthStatus ?? '-',
    [machine.osPlatform, machine.version].filter(Boolean).join(' ') || '-',
  ];
}

/** Exit 0 when MDE knows the name, 3 when it does not, 2 on a bad name, 1 when the lookup failed. */
export async function runLookup(name: string, options: OutputFlags, io: CliIo): Promise<number> {
  const runtime = openReads('lookup', io);
  if (typeof runtime === 'number') return runtime;
  try {
    const wanted = name.trim();
    const machines = wanted.includes('.')
      ? await runtime.api.findMachinesByDnsName(wanted)
      : await runtime.api.findMachinesByHostname(wanted);
    // Newest report first: the record a person most likely means.
    machines.sort((a, b) => String(b.lastSeen ?? '').localeCompare(String(a.lastSeen ?? '')));
    const format = formatOf(options);
    if (format === 'json') io.stdout.write(`${JSON.stringify(machines, null, 2)}\n`);
    else if (format === 'tsv') io.stdout.write(renderTsv(COLUMNS, machines.map(rowOf)));
    else if (machines.length > 0)
      io.stdout.write(renderTable(COLUMNS, machines.map(rowOf), tableWidth(io, options.wide)));
    if (machines.length === 0) {
      io.stderr.write(`lookup: no MDE machine is named ${wanted}\n`);
      return EXIT.notCarriedOut;
    }
    if (machines.length > 1)
      io.stderr.write(
        `lookup: ${machines.length} records for ${wanted}; name the device by id: --machine ID\n`,
      );
    return EXIT.ok;
  } catch (error) {
    if (!isMdeApiError(error)) throw error;
    io.stderr.write(`lookup: ${mdeErrorText(error)}\n`);
    return error.kind === 'refused-before-sending' ? EXIT.badInput : EXIT.failure;
  } finally {
    await runtime.close();
  }
}

export function registerLookup(program: Command, cli: CliContext): void {
  const command = program
    .command('lookup')
    .description('list every MDE machine record for a host name or FQDN (ids, last seen), to pick one by id')
    .argument('<name>', 'host name (matches NAME and NAME.*) or FQDN (exact)');
  withOutputOptions(command).action(async (name: string, options: OutputFlags) => {
    cli.exitWith(await runLookup(name, options, cli.io));
  });
}
