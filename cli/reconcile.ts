/**
 * `reconcile [--now]`: the latest reconciliation's report (shared/reconcile/): what drifted between
 * the register and MDE's actions, and how the register was corrected. With AzureWebJobsStorage it is
 * the deployed app's latest report; `--now` runs one in this process first (inline, like every
 * dispatching verb), spending one or a few machineactions calls.
 */
import type { Command } from 'commander';
import { ConfigError } from '../shared/config';
import { parseReport, type StoredReport } from '../shared/reconcile/report';
import { createRuntime } from '../shared/runtime';
import type { StateStore } from '../shared/state/store';
import { type CliContext, type CliIo, EXIT } from './context';
import {
  type Column,
  endOnStoreError,
  fitLine,
  formatOf,
  type OutputFlags,
  ROW_FORMATS,
  rowsText,
  withOutputOptions,
  writeJson,
} from './output';
import { openReads, operatorName } from './read-session';

export interface ReconcileOptions extends OutputFlags {
  now?: boolean;
}

/** How long `--now` waits for its reconciliation (it waits for budget behind nothing else in this process). */
const NOW_MAX_WAIT_MS = 120_000;

const COLUMNS: Column[] = [
  { head: 'Device', min: 12 },
  { head: 'Drift', min: 10 },
  { head: 'Now', min: 8 },
  { head: 'Reason', min: 15, flex: true },
];

function rowsOf(report: StoredReport): string[][] {
  // The reason says by whom; `-o json` has the requestor and its kind apart.
  return report.drifts.map((d) => [d.computerDnsName ?? d.machineId, d.kind, d.correctedTo, d.reason]);
}

const plural = (n: number, noun: string) => `${n} ${noun}${n === 1 ? '' : 's'}`;

function summaryOf(report: StoredReport): string {
  const kinds = Object.entries(report.byKind)
    .filter(([, n]) => n > 0)
    .map(([kind, n]) => `${kind} ${n}`)
    .join(', ');
  return (
    `reconciliation ${report.reconciliationId} (${report.requestedBy}) at ${report.finishedAt}: ` +
    `${plural(report.devices, 'device')} in the register (${report.inForce} held isolated), ` +
    `${plural(report.actionsRead, 'MDE action')} read since ${report.since}; ` +
    `${report.driftCount} drifted${kinds ? ` (${kinds})` : ''}, ${report.confirmed} confirmed, ${report.unseen} unseen` +
    (report.driftCount > report.drifts.length
      ? `; the first ${report.drifts.length} shown, every one is an isolation-drift event`
      : '')
  );
}

function write(io: CliIo, options: ReconcileOptions, report: StoredReport | null): void {
  const format = formatOf(options, io);
  if (format === 'json') {
    writeJson(io, options, report);
    return;
  }
  if (report === null) {
    io.stderr.write(
      'reconcile: no reconciliation has run yet: the app runs one on RECONCILE_SCHEDULE (every 15 minutes by default); run one here with --now\n',
    );
    return;
  }
  io.stderr.write(fitLine(io, options, summaryOf(report)));
  io.stdout.write(rowsText(io, options, format, COLUMNS, rowsOf(report)));
}

/** One reconciliation in this process, on the store the settings name; then `after` on that store. */
async function reconcileNow(io: CliIo, after: (store: StateStore) => Promise<number>): Promise<number> {
  let runtime: ReturnType<typeof createRuntime>;
  try {
    runtime = createRuntime({
      env: io.env,
      mode: 'inline',
      // The report shows every drift; only a failure is worth a line of its own.
      reporter: {
        outcome: () => undefined,
        note: (level, record) => {
          if (level === 'error')
            io.stderr.write(`reconcile: ${String(record.event)}: ${String(record.why ?? '')}\n`);
        },
      },
    });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    io.stderr.write(`reconcile: ${error.message}\n`);
    return EXIT.badInput;
  }
  try {
    await runtime.requestReconciliation(`cli: ${operatorName(io, undefined)}`);
    if (!(await runtime.waitForIdle(NOW_MAX_WAIT_MS))) {
      io.stderr.write(
        `reconcile: not done within ${NOW_MAX_WAIT_MS / 1000} s (waiting for MDE budget); try again later\n`,
      );
      return EXIT.stillRunning;
    }
    return await after(runtime.store);
  } finally {
    await runtime.close();
  }
}

/** Exit 0 with the report (none yet is an answer too), 1 when the store or the run failed, 2 on a bad setting. */
export async function runReconcile(options: ReconcileOptions, io: CliIo): Promise<number> {
  if (options.now) return reconcileNow(io, (store) => show(io, options, store));
  const runtime = openReads('reconcile', io, true);
  if (typeof runtime === 'number') return runtime;
  try {
    return await show(io, options, runtime.store);
  } finally {
    await runtime.close();
  }
}

async function show(io: CliIo, options: ReconcileOptions, store: StateStore): Promise<number> {
  try {
    write(io, options, parseReport(await store.drift.latest()));
    return EXIT.ok;
  } catch (error) {
    return endOnStoreError(io, formatOf(options, io), 'reconcile', error);
  }
}

export function registerReconcile(program: Command, cli: CliContext): void {
  const command = program
    .command('reconcile')
    .description(
      "show the latest reconciliation of the register with MDE's actions: what drifted and how it was corrected",
    )
    .option('--now', 'run a reconciliation in this process first (a few machineactions calls)');
  withOutputOptions(command, ROW_FORMATS).action(async (options: ReconcileOptions) => {
    cli.exitWith(await runReconcile(options, cli.io));
  });
}
