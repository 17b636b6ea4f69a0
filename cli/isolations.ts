/**
 * `isolations [--state STATE]`: the isolation register (docs/architecture.md §7): one record per device
 * this app isolated or released, its state, who asked and why. With AzureWebJobsStorage it is the
 * deployed app's register; without it, this process's own (empty at start).
 */
import type { Command } from 'commander';
import { ISOLATION_STATES, type IsolationRecord, type IsolationState } from '../shared/state/store';
import { type CliContext, type CliIo, EXIT } from './context';
import {
  type Column,
  formatOf,
  type OutputFlags,
  renderTable,
  renderTsv,
  shortId,
  tableWidth,
  withOutputOptions,
} from './output';
import { openReads } from './read-session';

export interface IsolationsOptions extends OutputFlags {
  state?: string;
}

const COLUMNS: Column[] = [
  { head: 'Device', min: 12 },
  { head: 'State', min: 9 },
  { head: 'Since', min: 10 },
  { head: 'Requested by', min: 10 },
  { head: 'Action', min: 9 },
  { head: 'Reason', min: 15, flex: true },
];

/** To the minute in a table (UTC, as MDE reports times); full precision with --wide, TSV and JSON. */
function sinceText(at: string, wide: boolean): string {
  return wide ? at : `${at.slice(0, 10)} ${at.slice(11, 16)}`;
}

function rowOf(record: IsolationRecord, wide: boolean): string[] {
  const { requestedBy, reason } = record.provenance;
  const action = record.actions[0]?.actionId ?? '-';
  return [
    record.computerDnsName ?? record.machineId,
    record.state,
    sinceText(record.completedAt ?? record.postedAt ?? record.requestedAt, wide),
    `${requestedBy.name} (${requestedBy.kind})`,
    wide ? action : shortId(action, false),
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
  const runtime = openReads('isolations', io, true);
  if (typeof runtime === 'number') return runtime;
  try {
    const records = await runtime.store.register.list({ state });
    const format = formatOf(options);
    if (format === 'json') io.stdout.write(`${JSON.stringify(records, null, 2)}\n`);
    else if (format === 'tsv')
      io.stdout.write(
        renderTsv(
          COLUMNS,
          records.map((r) => rowOf(r, true)),
        ),
      );
    else if (records.length > 0)
      io.stdout.write(
        renderTable(
          COLUMNS,
          records.map((r) => rowOf(r, options.wide ?? false)),
          tableWidth(io, options.wide),
        ),
      );
    else io.stdout.write(`no device in the register${state ? ` in state ${state}` : ''}\n`);
    return EXIT.ok;
  } catch (error) {
    io.stderr.write(
      `isolations: the store did not answer: ${error instanceof Error ? error.message : String(error)}\n`,
    );
    return EXIT.failure;
  } finally {
    await runtime.close();
  }
}

export function registerIsolations(program: Command, cli: CliContext): void {
  const command = program
    .command('isolations')
    .description('list the isolation register: devices this app isolated or released, state, who and why')
    .option('--state <state>', `only records in this state (${ISOLATION_STATES.join(', ')})`);
  withOutputOptions(command).action(async (options: IsolationsOptions) => {
    cli.exitWith(await runIsolations(options, cli.io));
  });
}
