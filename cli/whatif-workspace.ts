/**
 * `whatif --workspace ID [--since 30d] [--max-alerts N] [--policy FILE] [--compare FILE]`: the
 * policy rehearsed on the workspace's own alert history (shared/dispatch/rehearsal.ts), read through
 * the Logs query API with the caller's sign-in (shared/logs/alert-history.ts). What would have been
 * isolated and escalated, device by device, how often the breaker would have opened and how long the
 * quota would have held isolations back; with `--compare`, the devices two policies treat
 * differently. Nothing is posted.
 */
import { loadConfig } from '../shared/config';
import {
  compareRehearsals,
  type DeviceDifference,
  type Rehearsal,
  rehearse,
} from '../shared/dispatch/rehearsal';
import { type Clock, systemClock } from '../shared/kernel/clock';
import { parseDuration } from '../shared/kernel/duration';
import { GUID } from '../shared/kernel/ids';
import {
  type AlertHistory,
  LOGS_API_MAX_ROWS,
  LogsQueryError,
  type LogsQueryRefusal,
  readAlertHistory,
} from '../shared/logs/alert-history';
import { LOGS_QUERY_URL, logsEndpointOf } from '../shared/logs/endpoint';
import { createCredential } from '../shared/mde/credential';
import { type CliIo, EXIT } from './context';
import {
  type Column,
  durationText,
  endOnBadInput,
  endVerb,
  fitLine,
  formatOf,
  localTime,
  type OutputFlags,
  type OutputFormat,
  rowsText,
  writeJson,
} from './output';
import { type PolicyRead, readPolicy } from './whatif-policy';

export interface WorkspaceOptions extends OutputFlags {
  workspace: string;
  policy?: string;
  since?: string;
  maxAlerts?: string;
  compare?: string;
}

export const DEFAULT_SINCE = '30d';
export const DEFAULT_MAX_ALERTS = 100_000;
/** Unreadable rows named one by one; past this, counted. */
const UNREADABLE_NAMED = 10;

const WORKSPACE_HOWTO =
  "copy the Workspace ID from the workspace's Overview page, or run `az monitor log-analytics workspace show -g GROUP -n NAME --query customerId -o tsv`";

/** The refusal in one line: what failed, the service's words, and the fix. */
function refusalLine(refusal: LogsQueryRefusal, workspace: string): string {
  const { detail } = refusal;
  switch (refusal.kind) {
    case 'forbidden':
      return `workspace ${workspace} refused the query (${detail}): the signed-in identity needs the Log Analytics Reader role (or Microsoft Sentinel Reader) on the workspace`;
    case 'not-found':
      return `no workspace ${workspace} answered (${detail}): check the id (${WORKSPACE_HOWTO}) and MDE_CLOUD`;
    case 'unauthorized':
      return `the Logs query API refused the token (${detail}): sign in to the workspace's tenant (az login --tenant TENANT)`;
    case 'sign-in':
      return `no token for the Logs query API (${detail}): run \`az login\`, or set AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET for an app registration`;
    case 'bad-query':
      return `the Logs query API refused the query (${detail}): is Microsoft Sentinel (the SecurityAlert table) on workspace ${workspace}?`;
    case 'unavailable':
      return `the Logs query API did not answer (${detail}): check the network or proxy and try again`;
  }
}

interface Span {
  sinceText: string;
  from: Date;
  to: Date;
  maxAlerts: number;
}

/** The span and cap asked for, or what is wrong with them. */
function spanOf(options: WorkspaceOptions, clock: Clock): Span | string {
  if (!GUID.test(options.workspace))
    return `--workspace "${options.workspace.slice(0, 100)}" is not a Log Analytics workspace id (a GUID): ${WORKSPACE_HOWTO}`;
  const sinceText = options.since ?? DEFAULT_SINCE;
  const sinceMs = parseDuration(sinceText);
  if (sinceMs === null) return `--since "${sinceText.slice(0, 40)}" is not a duration: 30d, 72h, 90m`;
  const maxText = options.maxAlerts ?? String(DEFAULT_MAX_ALERTS);
  const maxAlerts = /^[1-9][0-9]{0,5}$/.test(maxText) ? Number(maxText) : Number.NaN;
  if (!(maxAlerts <= LOGS_API_MAX_ROWS))
    return `--max-alerts "${maxText.slice(0, 40)}" is not a whole number from 1 to ${LOGS_API_MAX_ROWS} (the Logs query API's own limit)`;
  const now = clock.now();
  return { sinceText, from: new Date(now - sinceMs), to: new Date(now), maxAlerts };
}

/** What the reading left out, on stderr: a rehearsal on part of the history must say so. */
function reportGaps(io: CliIo, history: AlertHistory, span: Span): void {
  for (const line of history.unreadable.slice(0, UNREADABLE_NAMED)) io.stderr.write(`whatif: ${line}\n`);
  const more = history.unreadable.length - UNREADABLE_NAMED;
  if (more > 0) io.stderr.write(`whatif: ${more} more rows could not be read\n`);
  if (history.truncated)
    io.stderr.write(
      `whatif: more than ${span.maxAlerts} alerts since ${span.from.toISOString()}; the newest were left out: narrow --since or raise --max-alerts (at most ${LOGS_API_MAX_ROWS})\n`,
    );
  if (history.partial)
    io.stderr.write(
      `whatif: the Logs query API answered part of the query (${history.partial}); narrow --since or lower --max-alerts\n`,
    );
}

function outcomeText(outcome: Pick<Rehearsal['devices'][number], 'action' | 'isolationType'>): string {
  return outcome.action === 'isolate' ? `isolate (${outcome.isolationType})` : outcome.action;
}

function tally(rehearsal: Rehearsal): string {
  const count = (action: string) => rehearsal.devices.filter((d) => d.action === action).length;
  const unnamed = rehearsal.alertsWithoutDevice;
  const none = unnamed > 0 ? `; ${unnamed} alert${unnamed === 1 ? '' : 's'} named no device` : '';
  return `${count('isolate')} isolated, ${count('escalate')} escalated, ${count('skip')} skipped${none}`;
}

/** The summary lines of one rehearsal: devices, breaker, quota. */
function summaryLines(rehearsal: Rehearsal, label: string): string[] {
  const { breaker, quota } = rehearsal;
  const first = breaker.first[0];
  return [
    `${label}devices: ${tally(rehearsal)}`,
    `${label}breaker: opened ${breaker.openings} time${breaker.openings === 1 ? '' : 's'}${first ? `, first ${localTime(first.at)}` : ''}`,
    `${label}quota: ${quota.isolateCalls} isolate calls, longest wait ${durationText(quota.longestWaitMs)}, all at once ${durationText(quota.allAtOnceMs)}`,
  ];
}

const DEVICE_COLUMNS: Column[] = [
  { head: 'Device', min: 12 },
  { head: 'Decision', min: 9 },
  { head: 'Rule', min: 10 },
  { head: 'Alerts', min: 6 },
  { head: 'First', min: 10, kind: 'time' },
];

function compareColumns(base: PolicyRead, other: PolicyRead): Column[] {
  const [a, b] =
    base.policy.version === other.policy.version
      ? ['--policy', '--compare']
      : [base.policy.version, other.policy.version];
  return [
    { head: 'Device', min: 12 },
    { head: a, min: 10 },
    { head: b, min: 10 },
  ];
}

function differenceRow(difference: DeviceDifference): string[] {
  const side = (outcome: DeviceDifference['base']) => `${outcomeText(outcome)}, ${outcome.rule}`;
  return [difference.name, side(difference.base), side(difference.other)];
}

/** Lines a person reads go above a table, to stderr beside data: stdout stays the data alone. */
function writeLines(io: CliIo, options: OutputFlags, format: OutputFormat, lines: string[]): void {
  for (const line of lines)
    if (format === 'table') io.stdout.write(fitLine(io, options, line, 2));
    else io.stderr.write(`${line}\n`);
}

interface Reading {
  workspace: string;
  from: string;
  to: string;
  alerts: number;
  truncated: boolean;
  unreadableRows: number;
}

/** One policy: its summary, and the devices it would isolate or escalate (JSON: every device). */
function writeRehearsal(io: CliIo, options: OutputFlags, reading: Reading, rehearsal: Rehearsal): void {
  const format = formatOf(options, io);
  writeLines(io, options, format, summaryLines(rehearsal, ''));
  if (format === 'json') {
    writeJson(io, options, { ...reading, ...rehearsal });
    return;
  }
  const held = rehearsal.devices.filter((d) => d.action !== 'skip');
  const rows = held.map((d) => [d.name, outcomeText(d), d.rule, String(d.alerts), d.at]);
  const none = 'no device would have been isolated or escalated';
  io.stdout.write(rowsText(io, options, format, DEVICE_COLUMNS, rows, none));
}

/** Two policies: both summaries, and the devices they decide differently. */
function writeComparison(
  io: CliIo,
  options: OutputFlags,
  reading: Reading,
  reads: [PolicyRead, PolicyRead],
  rehearsals: [Rehearsal, Rehearsal],
): void {
  const format = formatOf(options, io);
  const [base, other] = rehearsals;
  const differences = compareRehearsals(base, other);
  writeLines(io, options, format, [
    ...summaryLines(base, `${base.policyVersion}: `),
    ...summaryLines(other, `${other.policyVersion}: `),
    `${differences.length} of ${base.devices.length} devices decided differently`,
  ]);
  const summary = ({ devices: _devices, ...rest }: Rehearsal) => rest;
  if (format === 'json') {
    writeJson(io, options, { ...reading, base: summary(base), other: summary(other), differences });
    return;
  }
  const same = 'the two policies decide every device alike';
  io.stdout.write(
    rowsText(io, options, format, compareColumns(...reads), differences.map(differenceRow), same),
  );
}

export async function runWhatifWorkspace(
  options: WorkspaceOptions,
  io: CliIo,
  clock: Clock = systemClock,
): Promise<number> {
  const format = formatOf(options, io);
  const span = spanOf(options, clock);
  if (typeof span === 'string') return endOnBadInput(io, format, 'whatif', span);
  const reads = [readPolicy(options.policy, io)];
  if (options.compare) reads.push(readPolicy(options.compare, io, '--compare'));
  const unreadable = reads.find((read): read is string => typeof read === 'string');
  if (unreadable !== undefined) return endOnBadInput(io, format, 'whatif', unreadable);
  const policies = reads.filter((read): read is PolicyRead => typeof read !== 'string');
  const config = loadConfig(io.env);
  const endpoint = logsEndpointOf(config.cloud, io.env[LOGS_QUERY_URL]);
  if (typeof endpoint === 'string') return endOnBadInput(io, format, 'whatif', endpoint);

  let history: AlertHistory;
  try {
    history = await readAlertHistory(createCredential(config), endpoint, {
      workspaceId: options.workspace,
      from: span.from,
      to: span.to,
      maxAlerts: span.maxAlerts,
      abortSignal: io.interrupt,
    });
  } catch (error) {
    if (!(error instanceof LogsQueryError)) throw error;
    if (io.interrupt?.aborted) {
      io.stderr.write('whatif: interrupted before the history was read; nothing was rehearsed\n');
      return EXIT.interrupted;
    }
    const message = refusalLine(error.refusal, options.workspace);
    return endVerb(io, format, 'whatif', EXIT.failure, { stage: 'run', kind: error.refusal.kind, message });
  }
  reportGaps(io, history, span);

  const reading: Reading = {
    workspace: options.workspace,
    from: span.from.toISOString(),
    to: span.to.toISOString(),
    alerts: history.alerts.length,
    truncated: history.truncated,
    unreadableRows: history.unreadable.length,
  };
  writeLines(io, options, format, [
    ...policies.map((read) => read.line),
    `${reading.alerts} alerts from workspace ${options.workspace} since ${localTime(reading.from)} (${span.sinceText}); rehearsed as if enforced`,
  ]);
  const settings = { rateLimits: config.rateLimits, platformLiftMs: config.platformLiftMs };
  const [base, other] = policies;
  const rehearsalOf = (read: PolicyRead) => rehearse(read.policy, history.alerts, settings);
  if (!other) writeRehearsal(io, options, reading, rehearsalOf(base));
  else writeComparison(io, options, reading, [base, other], [rehearsalOf(base), rehearsalOf(other)]);
  return EXIT.ok;
}
