/**
 * `run [--policy FILE] [--enforce|--dry-run] [--yes] [--output FORMAT] [--wait SECONDS] FILE...`: the whole pipeline in this
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
  outcomeRow,
  renderSummary,
  type SessionFlags,
  type SummaryRow,
  startSession,
  timeScaleOption,
  writeJsonResult,
  writeNotes,
  writeOpenActions,
} from './dispatch-session';
import { withExamples } from './help';
import { dispatchExitCode } from './outcome-exit';
import { fitLine, withOutputOptions } from './output';

export type RunOptions = SessionFlags;

/** Rows for the decisions that never became requests (skip, escalate at intake). */
function intakeRows(alert: AlertReport): SummaryRow[] {
  if (alert.status !== 'accepted') return [];
  return alert.decisions
    .filter((d) => d.action !== 'isolate')
    .map((d) => ({
      device: deviceLabel(d.device),
      asked: `${d.action} (${d.rule})`,
      actionId: '-',
      outcome: d.action === 'skip' ? `skipped: ${d.rule}` : `escalated: ${d.rule}`,
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
  const started = await startSession('run', io, options, overrides, { confirmEnforce: true });
  if (typeof started === 'number') return started;
  const session = started;
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
    session.startProgress(queued.length, 'isolating');
    const end = await session.finish();
    const outcomes = [...session.outcomes];
    const unfinished = queued.filter((r) => !outcomes.some((o) => o.requestId === r.requestId));
    const intake = reports.flatMap(intakeRows);
    if (session.format === 'json') {
      writeJsonResult(io, session, end, {
        alerts: reports,
        outcomes,
        unfinished,
        duplicates: duplicates.length,
      });
    } else {
      const rows = [
        ...intake,
        ...outcomes.map((o) => outcomeRow(o, decisionOf.get(o.requestId) ?? o.action)),
        ...unfinished.map((r) => ({
          device: r.deviceKey,
          asked: decisionOf.get(r.requestId) ?? 'isolate',
          actionId: '-',
          outcome: 'still running',
          timeMs: null,
          reason: 'not ended when the wait did; its action id, once posted, is listed below the table',
        })),
      ];
      if (rows.length > 0) io.stdout.write(renderSummary(rows, io, session));
      if (session.format === 'table')
        io.stdout.write(
          fitLine(
            io,
            session,
            `${reports.length} alert(s), ${queued.length} isolation request(s), ${duplicates.length} duplicate(s) collapsed; ` +
              `policy ${runtime.policy.version} (${runtime.policy.mode})${end === 'ended' ? '' : '; stopped waiting'}`,
          ),
        );
    }
    writeOpenActions(io, session, end, unfinished.length);
    writeNotes(io, session.notes);
    if (end === 'interrupted') return EXIT.interrupted;
    return dispatchExitCode({
      outcomes,
      unfinished: unfinished.length,
      intake: intake.map((row) => (row.outcome.startsWith('escalated') ? EXIT.notCarriedOut : EXIT.ok)),
      incomplete: !complete,
    });
  } finally {
    await session.close();
  }
}

export function registerRun(program: Command, cli: CliContext): void {
  const command = program
    .command('run')
    .description('run alert payload files through the whole pipeline against the configured MDE API')
    .argument('<files...>', 'alert payload files: any accepted shape, or a JSON array batch')
    .option('--policy <file>', 'policy file (default: ISOLATION_POLICY, else the shipped default)')
    .option('--enforce', 'post isolations whatever the policy or ISOLATION_MODE says; no question asked')
    .option('--dry-run', 'decide and resolve devices, post nothing')
    .option('--yes', 'do not ask before enforcing on a terminal')
    .option('--wait <seconds>', `longest wait for every request to end (default ${DEFAULT_WAIT_SECONDS})`)
    .addOption(timeScaleOption());
  withExamples(withOutputOptions(command), [
    'mde-isolator run --dry-run alert.json',
    'mde-isolator run --enforce --wait 120 alerts/*.json -o json -q outcomes',
  ]).action(async (files: string[], options: RunOptions) => {
    cli.exitWith(await runPipeline(files, options, cli.io));
  });
}
