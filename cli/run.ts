/**
 * `run [--policy FILE] [--dry-run] [--json] [--wait SECONDS] FILE...`: the whole pipeline in this
 * process against the configured API (a real tenant or the simulator): intake, decisions, queue,
 * worker, tracking, then one summary row per device.
 */
import type { Command } from 'commander';
import type { AlertReport } from '../shared/intake/receive-alerts';
import type { RuntimeOptions } from '../shared/runtime';
import { readJsonFile } from './alert-files';
import { type CliContext, type CliIo, EXIT } from './context';
import {
  DEFAULT_WAIT_SECONDS,
  deviceLabel,
  exitCodeFor,
  outcomeRow,
  renderSummary,
  type SessionFlags,
  type SummaryRow,
  startSession,
  timeScaleOption,
  writeNotes,
} from './dispatch-session';

export interface RunOptions extends SessionFlags {
  json?: boolean;
}

/** Rows for the decisions that never became requests (skip, escalate at intake). */
function intakeRows(alert: AlertReport): SummaryRow[] {
  if (alert.status !== 'accepted') return [];
  return alert.decisions
    .filter((d) => d.action !== 'isolate')
    .map((d) => ({
      device: deviceLabel(d.device),
      decision: `${d.action} (${d.rule})`,
      actionId: '-',
      status: d.action === 'skip' ? 'skipped' : 'escalated',
      timeMs: null,
      reason: d.reason,
    }));
}

export async function runPipeline(
  files: string[],
  options: RunOptions,
  io: CliIo,
  overrides: RuntimeOptions = {},
): Promise<number> {
  const started = startSession('run', io, options, overrides);
  if (!started) return EXIT.badInput;
  const { session, maxWaitMs } = started;
  try {
    const { runtime } = session;
    let complete = true;
    const reports: AlertReport[] = [];
    const decisionOf = new Map<string, string>();
    for (const file of files) {
      const read = readJsonFile(file, io);
      if (!read) {
        complete = false;
        continue;
      }
      const result = await runtime.receiveAlerts(read.value);
      for (const alert of result.alerts) {
        reports.push(alert);
        if (alert.status !== 'accepted') {
          io.stderr.write(`${file}: ${'error' in alert ? alert.error.message : 'not accepted'}\n`);
          complete = false;
          continue;
        }
        for (const request of alert.requests) {
          const decision = alert.decisions[request.decisionIndex];
          if (decision)
            decisionOf.set(request.requestId, `isolate ${decision.isolationType} (${decision.rule})`);
        }
      }
    }
    const queued = reports.flatMap((a) =>
      a.status === 'accepted' ? a.requests.filter((r) => !r.duplicate) : [],
    );
    const duplicates = reports.flatMap((a) =>
      a.status === 'accepted' ? a.requests.filter((r) => r.duplicate) : [],
    );
    session.startProgress(queued.length);
    const ended = await session.finish(maxWaitMs);
    const outcomes = session.outcomes;
    const unfinished = queued.filter((r) => !outcomes.some((o) => o.requestId === r.requestId));
    if (options.json) {
      io.stdout.write(
        `${JSON.stringify({ alerts: reports, outcomes, unfinished, duplicates: duplicates.length }, null, 2)}\n`,
      );
    } else {
      const rows = [
        ...reports.flatMap(intakeRows),
        ...outcomes.map((o) => outcomeRow(o, decisionOf.get(o.requestId) ?? o.action)),
        ...unfinished.map((r) => ({
          device: r.deviceKey,
          decision: decisionOf.get(r.requestId) ?? 'isolate',
          actionId: '-',
          status: 'still running',
          timeMs: null,
          reason: `did not end within --wait ${maxWaitMs / 1000} s; follow it with \`mde-isolator status ACTION_ID\` or in the portal`,
        })),
      ];
      if (rows.length > 0) io.stdout.write(renderSummary(rows));
      io.stdout.write(
        `${reports.length} alert(s), ${queued.length} isolation request(s), ${duplicates.length} duplicate(s) collapsed; ` +
          `policy ${runtime.policy.version} (${runtime.policy.mode})${ended ? '' : '; stopped waiting'}\n`,
      );
    }
    writeNotes(io, session.notes);
    const code = exitCodeFor(outcomes, unfinished.length);
    return code !== EXIT.ok ? code : complete ? EXIT.ok : EXIT.badInput;
  } finally {
    await session.close();
  }
}

export function registerRun(program: Command, cli: CliContext): void {
  program
    .command('run')
    .description('run alert payload files through the whole pipeline against the configured MDE API')
    .argument('<files...>', 'alert payload files: any accepted shape, or a JSON array batch')
    .option('--policy <file>', 'policy file (default: ISOLATION_POLICY, else the shipped default)')
    .option('--dry-run', 'decide and resolve devices, post nothing')
    .option('--json', 'print intake reports and outcome records as JSON')
    .option('--wait <seconds>', `longest wait for every request to end (default ${DEFAULT_WAIT_SECONDS})`)
    .addOption(timeScaleOption())
    .action(async (files: string[], options: RunOptions) => {
      cli.exitWith(await runPipeline(files, options, cli.io));
    });
}
