/**
 * `lookup NAME`: every MDE machine record for a host name or FQDN, with ids and last seen, so an
 * ambiguous name (a re-onboarded device, namesakes in two domains) can be resolved by id.
 */
import type { Command } from 'commander';
import { isMdeApiError } from '../shared/mde/errors';
import type { Machine } from '../shared/mde/types';
import { type CliContext, type CliIo, EXIT } from './context';
import { withExamples } from './help';
import { mdeErrorText } from './mde-error-text';
import {
  type Column,
  formatOf,
  type OutputFlags,
  ROW_FORMATS,
  rowsText,
  withOutputOptions,
  writeJson,
} from './output';
import { openReads } from './read-session';
import { type TenantFlags, tenantOfFlags, withTenantOption } from './tenant-flag';

/**
 * The machine id stays whole: it is what an operator copies into `--machine`. Below 100 columns
 * health and OS give way (`-o tsv`, `--wide` and `-o json` carry them).
 */
const COLUMNS: Column[] = [
  { head: 'Machine id', min: 40 },
  { head: 'Name', min: 12 },
  { head: 'Last seen', min: 16, kind: 'time' },
  { head: 'Health', min: 8, dropBelow: 100 },
  { head: 'OS', min: 8, flex: true, dropBelow: 100 },
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
export async function runLookup(
  name: string,
  options: OutputFlags & TenantFlags,
  io: CliIo,
): Promise<number> {
  const tenant = tenantOfFlags('lookup', io, options);
  if (typeof tenant === 'number') return tenant;
  const runtime = openReads('lookup', io, false, tenant);
  if (typeof runtime === 'number') return runtime;
  try {
    const wanted = name.trim();
    const machines = wanted.includes('.')
      ? await runtime.api.findMachinesByDnsName(wanted)
      : await runtime.api.findMachinesByHostname(wanted);
    // Newest report first: the record a person most likely means.
    machines.sort((a, b) => String(b.lastSeen ?? '').localeCompare(String(a.lastSeen ?? '')));
    const format = formatOf(options, io);
    if (format === 'json') writeJson(io, options, machines);
    else io.stdout.write(rowsText(io, options, format, COLUMNS, machines.map(rowOf)));
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
  withExamples(withOutputOptions(withTenantOption(command), ROW_FORMATS), [
    'mde-isolator lookup kiosk-12',
    'mde-isolator lookup web1.contoso.local -o json -q id,lastSeen',
  ]).action(async (name: string, options: OutputFlags & TenantFlags) => {
    cli.exitWith(await runLookup(name, options, cli.io));
  });
}
