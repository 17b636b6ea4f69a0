/**
 * `isolations [--state STATE]`: the isolation register (docs/architecture.md §7): one record per device
 * this app isolated or released, its state, who asked and why. With AzureWebJobsStorage it is the
 * deployed app's register; without it, this process's own (empty at start).
 */
import type { Command } from 'commander';
import { ISOLATION_STATES, type IsolationRecord, type IsolationState } from '../shared/state/store';
import { type CliContext, type CliIo, EXIT } from './context';
import { withExamples } from './help';
import {
  type Column,
  endOnStoreError,
  formatOf,
  type OutputFlags,
  ROW_FORMATS,
  rowsText,
  withOutputOptions,
  writeJson,
} from './output';
import { openReads } from './read-session';
import { type TenantFlags, tenantOfFlags, withTenantOption } from './tenant-flag';

export interface IsolationsOptions extends OutputFlags, TenantFlags {
  state?: string;
}

/** Below 100 columns the reason gives way: `isolations -o tsv`, `--wide` or `-o json` carry it. */
const COLUMNS: Column[] = [
  { head: 'Device', min: 12 },
  { head: 'State', min: 9 },
  { head: 'Since', min: 16, kind: 'time' },
  { head: 'Requested by', min: 12 },
  { head: 'Action', min: 9, kind: 'id' },
  { head: 'Reason', min: 15, flex: true, dropBelow: 100 },
];

/**
 * With a tenant list, which tenant the rows are of, so lists of several tenants can be put together.
 * It fits at 80 columns only if a time may break between its date and its hour.
 */
const TENANT_COLUMNS: Column[] = [
  { head: 'Tenant', min: 8 },
  ...COLUMNS.map((column) => (column.kind === 'time' ? { ...column, min: 10 } : column)),
];

function rowOf(record: IsolationRecord): string[] {
  const { requestedBy, reason } = record.provenance;
  return [
    record.computerDnsName ?? record.machineId,
    record.state,
    record.completedAt ?? record.postedAt ?? record.requestedAt,
    `${requestedBy.name} (${requestedBy.kind})`,
    record.actions[0]?.actionId ?? '-',
    reason,
  ];
}

/** Exit 0 with the records (none is an answer too), 2 on an unknown state, 1 when the store failed. */
export async function runIsolations(options: IsolationsOptions, io: CliIo): Promise<number> {
  const state = options.state as IsolationState | undefined;
  if (state !== undefined && !ISOLATION_STATES.includes(state)) {
    io.stderr.write(
      `isolations: --state must be one of ${ISOLATION_STATES.join(', ')}, not "${options.state}"\n`,
    );
    return EXIT.badInput;
  }
  const tenant = tenantOfFlags('isolations', io, options);
  if (typeof tenant === 'number') return tenant;
  const runtime = openReads('isolations', io, true, tenant);
  if (typeof runtime === 'number') return runtime;
  try {
    const records = await runtime.store.register.list({ state });
    const format = formatOf(options, io);
    const of = tenant && { tenantId: tenant.tenantId, displayName: tenant.displayName };
    if (format === 'json')
      writeJson(
        io,
        options,
        records.map((record) => (of ? { ...record, tenant: of } : record)),
      );
    else
      io.stdout.write(
        rowsText(
          io,
          options,
          format,
          of ? TENANT_COLUMNS : COLUMNS,
          records.map((record) => (of ? [of.displayName, ...rowOf(record)] : rowOf(record))),
          `no device in the register${state ? ` in state ${state}` : ''}`,
        ),
      );
    return EXIT.ok;
  } catch (error) {
    return endOnStoreError(io, formatOf(options, io), 'isolations', error);
  } finally {
    await runtime.close();
  }
}

export function registerIsolations(program: Command, cli: CliContext): void {
  const command = program
    .command('isolations')
    .description('list the isolation register: devices this app isolated or released, state, who and why')
    .option('--state <state>', `only records in this state (${ISOLATION_STATES.join(', ')})`);
  withExamples(withOutputOptions(withTenantOption(command), ROW_FORMATS), [
    'mde-isolator isolations --state isolated',
    'mde-isolator isolations -o tsv | cut -f1,5',
  ]).action(async (options: IsolationsOptions) => {
    cli.exitWith(await runIsolations(options, cli.io));
  });
}
