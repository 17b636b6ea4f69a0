/**
 * What the dispatching CLI verbs (`run`, `isolate`, `release`) share: an inline runtime against the
 * configured API (a real tenant or the simulator), outcome collection, waiting until every request
 * reached its end, and the summary table.
 */
import { SingleBar } from 'cli-progress';
import Table from 'cli-table3';
import { Option } from 'commander';
import type { DeviceRef } from '../shared/alerts/model';
import { ConfigError, loadConfig } from '../shared/config';
import { isFailure, type OutcomeRecord } from '../shared/dispatch/outcome';
import { compressTiming } from '../shared/dispatch/timing';
import { deviceDisplayName } from '../shared/kernel/device-label';
import type { PolicyMode } from '../shared/kernel/vocabulary';
import type { MdeApi } from '../shared/mde/api';
import { UnauthorizedError } from '../shared/mde/errors';
import { loadPolicy } from '../shared/policy/load';
import { PolicyError } from '../shared/policy/validate';
import { createRuntime, type Runtime, type RuntimeOptions } from '../shared/runtime';
import { type CliIo, EXIT, FatalCliError } from './context';
import { loadPolicyFile, PolicyFileError } from './policy-file';

export interface SessionOptions {
  policy?: string;
  dryRun?: boolean;
}

export interface DispatchSession {
  runtime: Runtime;
  outcomes: OutcomeRecord[];
  /** Warnings and errors (retries, dead letters), printed after the run so they do not break the bar. */
  notes: Record<string, unknown>[];
  /** Shows progress over `total` requests (only on a terminal) until `finish`. */
  startProgress(total: number): void;
  /**
   * Resolves true when every request ended, false when `maxWaitMs` passed first. Rejects with a
   * FatalCliError as soon as MDE refuses the identity's token after the client's fresh-token resend:
   * the worker would back off for minutes, which helps nobody at a terminal.
   */
  finish(maxWaitMs: number): Promise<boolean>;
  close(): Promise<void>;
}

/** Why the session could not start (bad settings, policy or flag): one message, exit code 2. */
class SessionError extends Error {}

const REFUSED_IDENTITY =
  "MDE refused this identity's token (401), also a token fetched anew: the identity (AZURE_CLIENT_ID, " +
  'or your sign-in) is not valid for Defender for Endpoint in this tenant, or MDE_CLOUD does not match it';

/** `api`, calling `refused` whenever MDE answers a 401 that the client's resend did not cure. */
function watchingUnauthorized(api: MdeApi, refused: () => void): MdeApi {
  return new Proxy(api, {
    get(target, key, receiver) {
      const member = Reflect.get(target, key, receiver);
      if (typeof member !== 'function') return member;
      return async (...args: unknown[]) => {
        try {
          return await member.apply(target, args);
        } catch (error) {
          if (error instanceof UnauthorizedError) refused();
          throw error;
        }
      };
    },
  });
}

/**
 * Opens an inline runtime, whatever the Service Bus setting says: a CLI run is a whole pipeline in
 * this process, and its requests must not land in a queue that a deployed worker drains.
 */
function openSession(io: CliIo, options: SessionOptions, overrides: RuntimeOptions = {}): DispatchSession {
  const env = io.env;
  let runtime: Runtime;
  try {
    const config = loadConfig(env);
    const mode: PolicyMode | null = options.dryRun ? 'dry-run' : config.modeOverride;
    const policy = options.policy
      ? loadPolicyFile(io, options.policy, mode)
      : loadPolicy(config.policySource, mode);
    const outcomes: OutcomeRecord[] = [];
    const notes: Record<string, unknown>[] = [];
    let bar: SingleBar | null = null;
    let refuse: () => void = () => undefined;
    const refusal = new Promise<never>((_resolve, reject) => {
      refuse = () => reject(new FatalCliError(REFUSED_IDENTITY));
    });
    // Only ever awaited in a race with the end of the run.
    refusal.catch(() => undefined);
    runtime = createRuntime({
      ...overrides,
      decorateApi: (api) => watchingUnauthorized(overrides.decorateApi?.(api) ?? api, refuse),
      env,
      mode: 'inline',
      policy,
      reporter: {
        outcome(record) {
          outcomes.push(record);
          bar?.increment();
        },
        note(level, record) {
          if (level !== 'info') notes.push({ level, ...record });
        },
      },
    });
    return {
      runtime,
      outcomes,
      notes,
      startProgress(total) {
        const stream = io.stdout as NodeJS.WriteStream;
        if (!stream.isTTY || total === 0) return;
        bar = new SingleBar({
          stream,
          format: 'isolating {bar} {value}/{total} requests ended | {duration_formatted}',
          hideCursor: true,
        });
        bar.start(total, 0);
      },
      async finish(maxWaitMs) {
        try {
          return await Promise.race([runtime.waitForIdle(maxWaitMs), refusal]);
        } finally {
          bar?.stop();
          bar = null;
        }
      },
      close: () => runtime.close(),
    };
  } catch (error) {
    if (error instanceof ConfigError || error instanceof PolicyError || error instanceof PolicyFileError)
      throw new SessionError(error.message);
    throw error;
  }
}

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
export interface SessionFlags extends SessionOptions {
  wait?: string;
  timeScale?: string;
}

/**
 * Checks `--wait` and `--time-scale`, then opens the session; null once why it cannot start is
 * reported on stderr as `VERB: why` (exit code 2).
 */
export function startSession(
  verb: string,
  io: CliIo,
  flags: SessionFlags,
  overrides: RuntimeOptions = {},
): { session: DispatchSession; maxWaitMs: number } | null {
  const maxWaitMs = waitMs(flags.wait);
  if (maxWaitMs === null) {
    io.stderr.write(`${verb}: --wait must be a positive number of seconds, not "${flags.wait}"\n`);
    return null;
  }
  try {
    const session = openSession(io, flags, { ...timeScaleOverride(flags.timeScale), ...overrides });
    return { session, maxWaitMs };
  } catch (error) {
    if (!(error instanceof SessionError)) throw error;
    io.stderr.write(`${verb}: ${error.message}\n`);
    return null;
  }
}

export function deviceLabel(device: DeviceRef, computerDnsName?: string | null): string {
  return deviceDisplayName(device, { computerDnsName }) ?? '?';
}

function duration(ms: number | null): string {
  if (ms === null) return '-';
  if (ms < 1_000) return `${ms} ms`;
  if (ms < 120_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${(ms / 60_000).toFixed(1)} min`;
}

export interface SummaryRow {
  device: string;
  decision: string;
  actionId: string;
  /** The request's outcome, e.g. succeeded, timed-out, escalated, dry-run. */
  status: string;
  timeMs: number | null;
  reason: string;
}

export function outcomeRow(record: OutcomeRecord, decision: string): SummaryRow {
  return {
    device: deviceLabel(record.device, record.computerDnsName),
    decision,
    actionId: record.actionId ?? '-',
    status: record.adopted ? `${record.outcome} (adopted)` : record.outcome,
    timeMs: record.timings.receivedToTerminalMs,
    reason: record.reason,
  };
}

export function renderSummary(rows: SummaryRow[]): string {
  const table = new Table({
    head: ['Device', 'Decision', 'Action id', 'Final status', 'Time', 'Reason'],
    colWidths: [null, 28, 38, 14, 9, 56],
    wordWrap: true,
    style: { head: [], border: [] },
  });
  for (const row of rows)
    table.push([row.device, row.decision, row.actionId, row.status, duration(row.timeMs), row.reason]);
  return `${table.toString()}\n`;
}

/** 1 when any request failed or did not end in time; 0 otherwise. */
export function exitCodeFor(outcomes: OutcomeRecord[], unfinished: number): number {
  return unfinished > 0 || outcomes.some((o) => isFailure(o.outcome)) ? EXIT.failure : EXIT.ok;
}

export function writeNotes(io: CliIo, notes: Record<string, unknown>[]): void {
  for (const note of notes)
    io.stderr.write(
      `${String(note.level)}: ${String(note.event)}: ${String(note.why ?? note.description ?? '')}\n`,
    );
}
