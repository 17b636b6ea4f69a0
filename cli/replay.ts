/**
 * `replay [--dry-run] [--output FORMAT] [--wait SECONDS] FILE...`: sends the requests of dead-letter records through the
 * pipeline again, in this process against the configured API, once an operator fixed what made the
 * worker give up. A record is what the `<queue>-deadletter` queue holds (and the `isolation-dead-letter`
 * log line says): one JSON object, an array of them, or one per line (JSON lines).
 *
 * The request is replayed as it was decided: same request id, same mode (a dry-run request stays a
 * dry run; `--dry-run` makes every one a dry run), same alert; only its attempt count starts over. The worker checks MDE's actions first,
 * as for any retry, so a device isolated meanwhile is not isolated twice.
 */
import { readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { decodeRequest, type IsolationRequest } from '../shared/dispatch/request';
import { fileErrorReason } from '../shared/kernel/errors';
import type { RuntimeOptions } from '../shared/runtime';
import { type CliContext, type CliIo, EXIT } from './context';
import {
  DEFAULT_WAIT_SECONDS,
  outcomeRow,
  renderSummary,
  type SessionFlags,
  startSession,
  timeScaleOption,
  writeJsonResult,
  writeNotes,
  writeOpenActions,
} from './dispatch-session';
import { withExamples } from './help';
import { dispatchExitCode } from './outcome-exit';
import { endOnBadInput, fitLine, formatOf, withOutputOptions } from './output';

/** Records per command: a replay is an operator's deliberate act, not a bulk import. */
export const MAX_REPLAY_RECORDS = 1_000;
/** A dead-letter record is at most a Service Bus message (256 KB); this leaves room for a thousand. */
const MAX_FILE_BYTES = 256 * 1024 * 1024;

export type ReplayOptions = SessionFlags;

/** The JSON values of a file holding one value, an array, or one value per line. */
function valuesIn(text: string): { values: unknown[]; problems: string[] } {
  try {
    const whole: unknown = JSON.parse(text);
    return { values: Array.isArray(whole) ? whole : [whole], problems: [] };
  } catch {
    const values: unknown[] = [];
    const problems: string[] = [];
    for (const [index, line] of text.split('\n').entries()) {
      if (!line.trim()) continue;
      try {
        values.push(JSON.parse(line));
      } catch {
        problems.push(`line ${index + 1}: not JSON (give one record, an array, or one record per line)`);
      }
    }
    return { values, problems };
  }
}

/** The request of a dead-letter record, or why it cannot be replayed. */
function replayableRequest(value: unknown): IsolationRequest | string {
  const record = value as { event?: unknown; request?: unknown } | null;
  if (typeof record !== 'object' || record === null || record.event !== 'isolation-dead-letter')
    return 'not a dead-letter record (an object with "event": "isolation-dead-letter")';
  const decoded = decodeRequest(record.request);
  return 'problem' in decoded ? `its request cannot be replayed: ${decoded.problem}` : decoded.request;
}

/** The requests of every file, in order; each unusable file or record reported as `FILE: why`. */
export function readDeadLetterFiles(
  files: string[],
  io: CliIo,
): { requests: IsolationRequest[]; complete: boolean } {
  const requests: IsolationRequest[] = [];
  let complete = true;
  const report = (file: string, why: string) => {
    io.stderr.write(`${file}: ${why}\n`);
    complete = false;
  };
  for (const file of files) {
    const path = resolve(io.cwd, file);
    let text: string;
    try {
      const stat = statSync(path);
      if (!stat.isFile()) {
        report(file, 'not a regular file');
        continue;
      }
      if (stat.size > MAX_FILE_BYTES) {
        report(file, `larger than ${MAX_FILE_BYTES} bytes`);
        continue;
      }
      text = readFileSync(path, 'utf8');
    } catch (error) {
      report(file, `cannot read (${fileErrorReason(error)})`);
      continue;
    }
    const { values, problems } = valuesIn(text);
    for (const problem of problems) report(file, problem);
    for (const [index, value] of values.entries()) {
      const request = replayableRequest(value);
      if (typeof request === 'string') report(file, `record ${index + 1}: ${request}`);
      else requests.push(request);
    }
  }
  return { requests, complete };
}

export async function runReplay(
  files: string[],
  options: ReplayOptions,
  io: CliIo,
  overrides: RuntimeOptions = {},
): Promise<number> {
  const { requests, complete } = readDeadLetterFiles(files, io);
  if (requests.length > MAX_REPLAY_RECORDS)
    return endOnBadInput(
      io,
      formatOf(options, io),
      'replay',
      `${requests.length} records; at most ${MAX_REPLAY_RECORDS} per command`,
    );
  if (requests.length === 0)
    return endOnBadInput(io, formatOf(options, io), 'replay', 'no dead-letter record to replay');
  const started = await startSession('replay', io, options, overrides);
  if (typeof started === 'number') return started;
  const session = started;
  try {
    const queued: IsolationRequest[] = [];
    let duplicates = 0;
    for (const recorded of requests) {
      // A tracking request only reads the action it follows: it has no mode to lower.
      const request: IsolationRequest =
        options.dryRun && recorded.action !== 'track' ? { ...recorded, mode: 'dry-run' } : recorded;
      const { duplicate } = await session.runtime.resubmit(request);
      if (duplicate) duplicates += 1;
      else queued.push(request);
    }
    session.startProgress(queued.length, 'replaying');
    const end = await session.finish();
    const outcomes = session.outcomes.filter((o) => queued.some((r) => r.requestId === o.requestId));
    const unfinished = queued.length - outcomes.length;
    if (session.format === 'json') writeJsonResult(io, session, end, { outcomes, unfinished, duplicates });
    else {
      if (outcomes.length > 0)
        io.stdout.write(
          renderSummary(
            outcomes.map((o) => outcomeRow(o, `replay ${o.action}`)),
            io,
            session,
          ),
        );
      if (session.format === 'table')
        io.stdout.write(
          fitLine(
            io,
            session,
            `${requests.length} record(s), ${queued.length} replayed, ${duplicates} duplicate(s) collapsed` +
              `${unfinished > 0 ? `; ${unfinished} still running after ${session.maxWaitMs / 1000} s` : ''}`,
          ),
        );
    }
    writeOpenActions(io, session, end, unfinished);
    writeNotes(io, session.notes);
    if (end === 'interrupted') return EXIT.interrupted;
    return dispatchExitCode({ outcomes, unfinished, incomplete: !complete });
  } finally {
    await session.close();
  }
}

export function registerReplay(program: Command, cli: CliContext): void {
  const command = program
    .command('replay')
    .description('send the requests of dead-letter records through the pipeline again')
    .argument('<files...>', 'dead-letter records: one JSON object, an array, or JSON lines')
    .option('--dry-run', 'resolve and decide every request again, post nothing')
    .option('--wait <seconds>', `longest wait for every request to end (default ${DEFAULT_WAIT_SECONDS})`)
    .addOption(timeScaleOption());
  withExamples(withOutputOptions(command), [
    'mde-isolator replay dead-letters.jsonl --dry-run',
    'mde-isolator replay dead-letters.jsonl --wait 120',
  ]).action(async (files: string[], options: ReplayOptions) => {
    cli.exitWith(await runReplay(files, options, cli.io));
  });
}
