/**
 * What the dispatching CLI verbs (`run`, `isolate`, `release`, `replay`) share: an inline runtime
 * against the configured API (a real tenant or the simulator), the header line (mode and its source,
 * policy, store), the pre-flight check, live action ids, waiting (until every request ended, `--wait`
 * passed, or the operator interrupted) and the summary table.
 */
import { MultiBar, type SingleBar } from 'cli-progress';
import { Option } from 'commander';
import type { DeviceRef } from '../shared/alerts/model';
import { ConfigError, loadConfig } from '../shared/config';
import type { OutcomeRecord } from '../shared/dispatch/outcome';
import { compressTiming, DEFAULT_TIMING } from '../shared/dispatch/timing';
import { deviceDisplayName } from '../shared/kernel/device-label';
import { loadPolicy } from '../shared/policy/load';
import { PolicyError } from '../shared/policy/validate';
import { createRuntime, type Runtime, type RuntimeOptions } from '../shared/runtime';
import { ActionLog, type ActionView, type SeenAction, watchActions } from './action-watch';
import { type CliIo, EXIT, FatalCliError } from './context';
import { headerLine, type ModeFlags, modeChoice, policyOrigin } from './mode';
import {
  type CliFailure,
  type Column,
  durationText,
  endOnBadInput,
  endVerb,
  formatOf,
  localTime,
  type OutputFlags,
  type OutputFormat,
  renderTable,
  renderTsv,
  tableWidth,
  wrapText,
  writeJson,
  writeJsonError,
} from './output';
import { loadPolicyFile, PolicyFileError } from './policy-file';
import { preflight, sayRetries } from './preflight';

/** How a wait ended. */
export type WaitEnd = 'ended' | 'timed-out' | 'interrupted';

export interface DispatchSession {
  runtime: Runtime;
  outcomes: OutcomeRecord[];
  /** Every action posted or followed, by id, as soon as seen. */
  actions: Map<string, SeenAction>;
  /** Warnings and errors (retries, dead letters), printed after the run so they do not break the bar. */
  notes: Record<string, unknown>[];
  format: OutputFormat;
  wide: boolean;
  /** `--query`'s field paths for the JSON document. */
  query?: string[][];
  maxWaitMs: number;
  /** Shows progress over `total` requests (only on a terminal, on stderr) until the wait ends. */
  startProgress(total: number, doing: string): void;
  /**
   * Resolves when every request ended, `maxWaitMs` passed, or the operator interrupted. Rejects with
   * a FatalCliError as soon as MDE refuses the identity's token after the client's fresh-token resend.
   */
  finish(): Promise<WaitEnd>;
  close(): Promise<void>;
}

/** Why the session could not start (bad settings, policy or flag): one message, exit code 2. */
class SessionError extends Error {}

const REFUSED_IDENTITY =
  "MDE refused this identity's token (401), also a token fetched anew: the identity (AZURE_CLIENT_ID, " +
  'or your sign-in) is not valid for Defender for Endpoint in this tenant, or MDE_CLOUD does not match it';

/**
 * `--time-scale`: multiplies every dispatch delay (tracking polls, retry backoff, the 3-day give-up),
 * so a run against the simulator's compressed lifecycle ends in seconds. Hidden from help: against a
 * real tenant it only makes tracking poll faster and spend more of the machineactions quota.
 */
export function timeScaleOption(): Option {
  return new Option('--time-scale <factor>', 'multiply every dispatch delay (simulator runs)').hideHelp();
}

function timeScaleOverride(value: string | undefined): RuntimeOptions {
  if (value === undefined) return {};
  const factor = Number(value);
  if (!Number.isFinite(factor) || factor <= 0 || factor > 1)
    throw new SessionError(`--time-scale must be a number in (0, 1], not "${value}"`);
  return { timing: compressTiming(factor) };
}

/** How long `run`, `isolate` and `release` wait for requests to end unless told (offline devices take days). */
export const DEFAULT_WAIT_SECONDS = 900;

/** `--wait` in ms, or null when it is not a positive number of seconds. */
function waitMs(value: string | undefined): number | null {
  const seconds = value === undefined ? DEFAULT_WAIT_SECONDS : Number(value);
  return Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : null;
}

/** The flags every dispatching verb takes besides its own. */
export interface SessionFlags extends ModeFlags, OutputFlags {
  policy?: string;
  wait?: string;
  timeScale?: string;
  yes?: boolean;
}

export interface SessionRules {
  /**
   * Ask on a terminal before enforcing when neither `--enforce` nor `--yes` was given (`run`: a
   * batch of alert files under a policy file is where enforce is easiest to trip).
   */
  confirmEnforce?: boolean;
}

/**
 * Checks the flags, opens the runtime, prints the header line, runs the pre-flight check and (for
 * `run`) asks before enforcing. The session, or the exit code once why it cannot start is reported
 * on stderr as `VERB: why`.
 */
export async function startSession(
  verb: string,
  io: CliIo,
  flags: SessionFlags,
  overrides: RuntimeOptions = {},
  rules: SessionRules = {},
): Promise<DispatchSession | number> {
  const format = formatOf(flags, io);
  const fail = (code: number, error: CliFailure, line?: string) =>
    endVerb(io, format, verb, code, error, line);
  const badInput = (message: string) => endOnBadInput(io, format, verb, message);
  const maxWaitMs = waitMs(flags.wait);
  if (maxWaitMs === null) return badInput(`--wait must be a positive number of seconds, not "${flags.wait}"`);
  let session: DispatchSession;
  let header: string;
  let runtimeOptions: RuntimeOptions;
  try {
    runtimeOptions = { ...timeScaleOverride(flags.timeScale), ...overrides };
    ({ session, header } = openSession(io, flags, maxWaitMs, runtimeOptions));
  } catch (error) {
    if (!(error instanceof SessionError)) throw error;
    return badInput(error.message);
  }
  io.stderr.write(header);
  const { runtime } = session;
  const failure = await preflight(runtime.api, io.env, runtime.config, {
    timing: runtimeOptions.timing ?? DEFAULT_TIMING,
    retrying: sayRetries(io.stderr, verb),
    interrupt: io.interrupt,
  });
  if (failure) {
    await session.close();
    return fail(
      failure.kind === 'interrupted' ? EXIT.interrupted : EXIT.failure,
      { stage: 'pre-flight', ...failure },
      `pre-flight ${failure.kind}: ${failure.message}`,
    );
  }
  const asked =
    rules.confirmEnforce && runtime.policy.mode === 'enforce' && !flags.enforce && !flags.yes && io.confirm;
  if (asked && !(await asked(`${verb}: post isolations in ENFORCE mode? [y/N] `))) {
    io.stderr.write(`${verb}: not confirmed; nothing posted (--enforce or --yes skips this question)\n`);
    await session.close();
    return EXIT.notCarriedOut;
  }
  return session;
}

/**
 * Opens an inline runtime, whatever the Service Bus setting says: a CLI run is a whole pipeline in
 * this process, and its requests must not land in a queue that a deployed worker drains.
 */
function openSession(
  io: CliIo,
  flags: SessionFlags,
  maxWaitMs: number,
  overrides: RuntimeOptions,
): { session: DispatchSession; header: string } {
  const { env } = io;
  try {
    const config = loadConfig(env);
    const choice = modeChoice(flags, config.modeOverride);
    if (typeof choice === 'string') throw new SessionError(choice);
    const policy = flags.policy
      ? loadPolicyFile(io, flags.policy, choice.override)
      : loadPolicy(config.policySource, choice.override);
    const outcomes: OutcomeRecord[] = [];
    const notes: Record<string, unknown>[] = [];
    let bars: MultiBar | null = null;
    let bar: SingleBar | null = null;
    // Above the bar, at once: cli-progress holds a logged line until its next redraw, and its stop()
    // drops what it still holds, so a run ending right after a POST lost the "posted" line.
    const say = (line: string): void => {
      if (!bars) {
        io.stderr.write(line);
        return;
      }
      bars.log(line);
      bars.update();
    };
    let refuse: () => void = () => undefined;
    const refusal = new Promise<never>((_resolve, reject) => {
      refuse = () => reject(new FatalCliError(REFUSED_IDENTITY));
    });
    // Only ever awaited in a race with the end of the run.
    refusal.catch(() => undefined);
    const log = new ActionLog((action) => say(`${seenLine(action)}\n`));
    const runtime = createRuntime({
      ...overrides,
      decorateApi: (api) => watchActions(overrides.decorateApi?.(api) ?? api, log, () => refuse()),
      env,
      mode: 'inline',
      policy,
      reporter: {
        outcome(record) {
          outcomes.push(record);
          bar?.increment();
        },
        note(level, record) {
          if (record.event === 'action-adopted') log.note(record.action as ActionView, 'followed');
          if (level !== 'info') notes.push({ level, ...record });
        },
      },
    });
    const origin = policyOrigin(flags.policy, config.policySource);
    const header = headerLine(
      runtime.policy.mode,
      choice,
      { version: policy.version, origin },
      runtime.storage,
    );
    const session: DispatchSession = {
      runtime,
      outcomes,
      actions: log.actions,
      notes,
      format: formatOf(flags, io),
      wide: flags.wide ?? false,
      query: flags.query,
      maxWaitMs,
      startProgress(total, doing) {
        const stream = io.stderr as NodeJS.WriteStream;
        if (!stream.isTTY || total === 0 || session.format !== 'table') return;
        const format = `${doing} {bar} {value}/{total} requests ended | {duration_formatted}`;
        bars = new MultiBar({
          stream,
          format,
          // The bar's own line fits the terminal, so lines printed above it may wrap: cli-progress
          // turns the terminal's wrapping off unless told, which cut "posted …" lines at the edge.
          barsize: Math.max(10, Math.min(40, (stream.columns || 80) - 1 - widestText(format, total))),
          linewrap: true,
          hideCursor: true,
        });
        bar = bars.create(total, 0);
      },
      async finish() {
        const interrupted = new Promise<WaitEnd>((done) => {
          if (io.interrupt?.aborted) done('interrupted');
          io.interrupt?.addEventListener('abort', () => done('interrupted'), { once: true });
        });
        try {
          return await Promise.race([
            runtime.waitForIdle(maxWaitMs).then((idle): WaitEnd => (idle ? 'ended' : 'timed-out')),
            refusal,
            interrupted,
          ]);
        } catch (error) {
          if (error instanceof FatalCliError)
            writeJsonError(io, session.format, {
              stage: 'run',
              kind: 'token-rejected',
              message: error.message,
            });
          throw error;
        } finally {
          bars?.stop();
          bars = null;
          bar = null;
        }
      },
      close: () => runtime.close(),
    };
    return { session, header };
  } catch (error) {
    if (error instanceof ConfigError || error instanceof PolicyError || error instanceof PolicyFileError)
      throw new SessionError(error.message);
    throw error;
  }
}

/** The line that reports an action as soon as it is seen: posted by this run, or followed (adopted). */
export function seenLine(action: SeenAction): string {
  const on = `${action.type} action ${action.actionId} on ${action.computerDnsName ?? action.machineId}`;
  if (action.how === 'posted') return `posted ${on} (${action.status})`;
  const since = action.createdAt ? ` since ${localTime(action.createdAt)}` : '';
  return `following ${on} by ${action.requestor ?? 'someone else'}, ${action.status}${since}`;
}

/** The bar line's width without the bar, at its widest (every request ended, a long wait). */
function widestText(format: string, total: number): number {
  return format
    .replace('{bar}', '')
    .replace('{value}/{total}', `${total}/${total}`)
    .replace('{duration_formatted}', '59m59s').length;
}

export function deviceLabel(device: DeviceRef, computerDnsName?: string | null): string {
  return deviceDisplayName(device, { computerDnsName }) ?? '?';
}

export interface SummaryRow {
  device: string;
  /** What was asked, e.g. `isolate Full (rule critical)`, `release (manual)`. */
  asked: string;
  /** How it ended, e.g. `succeeded`, `succeeded (adopted)`, `escalated: server-protection`, `dry-run`. */
  outcome: string;
  actionId: string;
  timeMs: number | null;
  reason: string;
}

/** `escalated` and `skipped` name the rule or protection that stopped the request. */
function outcomeText(record: OutcomeRecord): string {
  if (record.outcome === 'escalated' || record.outcome === 'skipped')
    return `${record.outcome}: ${record.rule}`;
  return record.adopted ? `${record.outcome} (adopted)` : record.outcome;
}

export function outcomeRow(record: OutcomeRecord, asked: string): SummaryRow {
  return {
    device: deviceLabel(record.device, record.computerDnsName),
    asked,
    outcome: outcomeText(record),
    actionId: record.actionId ?? '-',
    timeMs: record.timings.receivedToTerminalMs,
    reason: record.reason,
  };
}

const SUMMARY_COLUMNS: Column[] = [
  { head: 'Device', min: 10 },
  { head: 'Asked', min: 10 },
  { head: 'Outcome', min: 9 },
  { head: 'Action', min: 9, kind: 'id' },
  { head: 'Time', min: 6 },
  { head: 'Reason', min: 15, flex: true },
];

export const SUMMARY_LEGEND =
  'Asked: what the policy rule or the operator asked. Outcome: how it ended; after ":" the rule or protection ' +
  'that stopped it. Action: the MDE action id (--wide or --output tsv for full ids).';

/** The summary as a table that fits the terminal, or TSV with full values. */
export function renderSummary(
  rows: SummaryRow[],
  io: CliIo,
  session: Pick<DispatchSession, 'format' | 'wide'>,
): string {
  const cells = rows.map((row) => [
    row.device,
    row.asked,
    row.outcome,
    row.actionId,
    durationText(row.timeMs),
    row.reason,
  ]);
  if (session.format === 'tsv') return renderTsv(SUMMARY_COLUMNS, cells);
  const width = tableWidth(io, session.wide);
  return `${renderTable(SUMMARY_COLUMNS, cells, width, session.wide)}${wrapText(SUMMARY_LEGEND, width)}\n`;
}

/** Actions posted or followed that no ended request accounts for: what still runs in MDE. */
export function openActions(session: Pick<DispatchSession, 'actions' | 'outcomes'>): SeenAction[] {
  const ended = new Set(session.outcomes.map((o) => o.actionId));
  return [...session.actions.values()].filter((a) => !ended.has(a.actionId));
}

/**
 * After a wait that did not end: each action still running, with its full id, so the operator can
 * follow it (`mde-isolator status ID`, `cancel ID`) without the portal.
 */
export function writeOpenActions(
  io: CliIo,
  session: DispatchSession,
  end: WaitEnd,
  unfinished: number,
): void {
  if (end === 'ended') return;
  const open = openActions(session);
  const why =
    end === 'interrupted' ? 'interrupted' : `still running after --wait ${session.maxWaitMs / 1000} s`;
  io.stderr.write(
    `${why}: ${unfinished} request(s) not ended; ${open.length} action(s) posted or followed and not ended in MDE\n`,
  );
  for (const action of open) {
    const followed = action.how === 'followed' ? `, followed (by ${action.requestor ?? 'someone else'})` : '';
    io.stderr.write(
      `  ${action.type} ${action.actionId} on ${action.computerDnsName ?? action.machineId}${followed}: mde-isolator status ${action.actionId}\n`,
    );
  }
}

/** Writes the JSON document of a dispatching verb: its own fields plus every action seen and how the wait ended. */
export function writeJsonResult(
  io: CliIo,
  session: DispatchSession,
  end: WaitEnd,
  fields: Record<string, unknown>,
): void {
  writeJson(io, session, { ...fields, actions: [...session.actions.values()], wait: end });
}

export function writeNotes(io: CliIo, notes: Record<string, unknown>[]): void {
  for (const note of notes)
    io.stderr.write(
      `${String(note.level)}: ${String(note.event)}: ${String(note.why ?? note.description ?? '')}\n`,
    );
}
