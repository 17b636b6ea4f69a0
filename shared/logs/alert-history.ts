/**
 * A workspace's alert history through the Azure Monitor Logs query API (docs/logs-query-api.md):
 * the first row of every `SecurityAlert` in a time span, oldest first, each read by the alert parsers
 * as the app would read it from a Sentinel playbook. The one module that loads
 * @azure/monitor-query-logs. What the caller can fix (the workspace, the role, the sign-in) comes back
 * as a `LogsQueryRefusal`, never as the SDK's error.
 */
import type { TokenCredential } from '@azure/identity';
import {
  LogsQueryClient,
  type LogsQueryResult,
  LogsQueryResultStatus,
  type LogsTable,
} from '@azure/monitor-query-logs';
import type { TimedAlert } from '../alerts/model';
import { parseAlertPayload } from '../alerts/parse';
import { errorMessage } from '../kernel/errors';
import { oneLine } from '../kernel/text';

/**
 * The API's own ceiling on one query's answer (docs/logs-query-api.md §3): past it the answer is cut,
 * so a history is never read in one piece beyond it.
 */
export const LOGS_API_MAX_ROWS = 500_000;

/** The columns read, as the SecurityAlert table names them (docs/logs-query-api.md §5). */
const COLUMNS = [
  'TimeGenerated',
  'SystemAlertId',
  'AlertName',
  'DisplayName',
  'AlertSeverity',
  'Status',
  'ProductName',
  'ProviderName',
  'VendorOriginalId',
  'Entities',
  'ExtendedProperties',
  'Tactics',
  'Techniques',
  'CompromisedEntity',
];

/**
 * An alert is written again on every status change; the playbook saw it first when it was created,
 * so each alert counts once, at its first row. `take` one past the cap tells a full history from a
 * cut one without reading more.
 */
export function alertHistoryQuery(maxAlerts: number): string {
  return [
    'SecurityAlert',
    '| summarize arg_min(TimeGenerated, *) by SystemAlertId',
    '| sort by TimeGenerated asc',
    `| take ${maxAlerts + 1}`,
    `| project ${COLUMNS.join(', ')}`,
  ].join('\n');
}

export interface LogsEndpoint {
  /** Base URL without the API version: https://api.loganalytics.io, or a stand-in on loopback. */
  baseUrl: string;
  /** The token scope: `<the cloud's Logs API>/.default`. */
  scope: string;
}

export interface AlertHistoryRequest {
  workspaceId: string;
  from: Date;
  to: Date;
  /** At most this many alerts are read; one more is asked for, to tell whether there were more. */
  maxAlerts: number;
  abortSignal?: AbortSignal;
}

export interface AlertHistory {
  /** Oldest first, each at its first row's TimeGenerated. */
  alerts: TimedAlert[];
  /** Rows no parser could read, each as `row N: why` (N counts from 1). */
  unreadable: string[];
  /** More alerts were in the span than `maxAlerts`: the newest were left out. */
  truncated: boolean;
  /** The API answered only part of the query (its size limits), with its reason. */
  partial: string | null;
}

/** Why the query was not answered, in words a person can act on (the CLI adds the fix). */
export type LogsQueryRefusal =
  | { kind: 'forbidden'; detail: string }
  | { kind: 'not-found'; detail: string }
  | { kind: 'unauthorized'; detail: string }
  | { kind: 'bad-query'; detail: string }
  | { kind: 'unavailable'; detail: string }
  | { kind: 'sign-in'; detail: string };

export class LogsQueryError extends Error {
  constructor(readonly refusal: LogsQueryRefusal) {
    super(refusal.detail);
    this.name = 'LogsQueryError';
  }
}

const DETAIL_MAX = 200;

/** What the SDK's RestError carries; its class is not exported by the package. */
interface RestErrorLike {
  name: string;
  statusCode?: number;
  code?: string;
  message: string;
}

function isRestError(error: unknown): error is RestErrorLike {
  return error instanceof Error && error.name === 'RestError';
}

/** @azure/identity's two failures: no credential here, or the authority refused it. */
function isSignInError(error: unknown): boolean {
  return (
    error instanceof Error &&
    (error.name === 'CredentialUnavailableError' || error.name === 'AuthenticationError')
  );
}

function refusalOf(error: unknown): LogsQueryRefusal {
  if (isSignInError(error)) return { kind: 'sign-in', detail: oneLine(errorMessage(error), DETAIL_MAX) };
  if (!isRestError(error)) return { kind: 'unavailable', detail: oneLine(errorMessage(error), DETAIL_MAX) };
  const detail = oneLine(
    `${error.statusCode ?? 'no answer'}${error.code ? ` ${error.code}` : ''}: ${error.message}`,
    DETAIL_MAX,
  );
  // A 403 is a missing role, unless the token itself was refused (docs/logs-query-api.md §2).
  if (error.statusCode === 403 && error.code?.startsWith('InvalidAuthenticationToken'))
    return { kind: 'unauthorized', detail };
  switch (error.statusCode) {
    case 403:
      return { kind: 'forbidden', detail };
    case 404:
      return { kind: 'not-found', detail };
    case 401:
      return { kind: 'unauthorized', detail };
    case 400:
      return { kind: 'bad-query', detail };
    default:
      return { kind: 'unavailable', detail };
  }
}

/** One row as the record the alert parsers read: column name to value, times back to ISO text. */
function rowRecord(table: LogsTable, row: LogsTable['rows'][number]): Record<string, unknown> {
  const record: Record<string, unknown> = {};
  table.columnDescriptors.forEach((column, index) => {
    const value = row[index];
    if (column.name) record[column.name] = value instanceof Date ? value.toISOString() : value;
  });
  return record;
}

/** Milliseconds since the epoch, NaN when the cell holds no time. */
function timeOf(value: unknown): number {
  return value instanceof Date ? value.getTime() : Date.parse(String(value));
}

/** The first `maxAlerts` rows of an answer as alerts, oldest first (exported for the whatif benchmark). */
export function readAlertRows(
  table: LogsTable | undefined,
  maxAlerts: number,
): Omit<AlertHistory, 'partial'> {
  const alerts: TimedAlert[] = [];
  const unreadable: string[] = [];
  if (!table) return { alerts, unreadable, truncated: false };
  const { rows } = table;
  const timeColumn = table.columnDescriptors.findIndex((c) => c.name === 'TimeGenerated');
  rows.slice(0, maxAlerts).forEach((row, index) => {
    const at = timeOf(row[timeColumn]);
    if (Number.isNaN(at)) {
      unreadable.push(`row ${index + 1}: no TimeGenerated`);
      return;
    }
    for (const outcome of parseAlertPayload(rowRecord(table, row))) {
      if ('alert' in outcome) alerts.push({ at, alert: outcome.alert });
      // The message may quote the row, which the workspace's writers control: one bounded line.
      else unreadable.push(`row ${index + 1}: ${oneLine(outcome.problem.message, DETAIL_MAX)}`);
    }
  });
  alerts.sort((a, b) => a.at - b.at);
  return { alerts, unreadable, truncated: rows.length > maxAlerts };
}

export async function readAlertHistory(
  credential: TokenCredential,
  endpoint: LogsEndpoint,
  request: AlertHistoryRequest,
): Promise<AlertHistory> {
  const client = new LogsQueryClient(credential, {
    endpoint: `${endpoint.baseUrl}/v1`,
    credentials: { scopes: [endpoint.scope] },
  });
  let result: LogsQueryResult;
  try {
    result = await client.queryWorkspace(
      request.workspaceId,
      alertHistoryQuery(request.maxAlerts),
      { startTime: request.from, endTime: request.to },
      { abortSignal: request.abortSignal },
    );
  } catch (error) {
    throw new LogsQueryError(refusalOf(error));
  }
  if (result.status === LogsQueryResultStatus.Success)
    return { ...readAlertRows(result.tables[0], request.maxAlerts), partial: null };
  // The top message is generic ("some errors"); the first detail says which limit was met.
  const { code, message, details } = result.partialError;
  return {
    ...readAlertRows(result.partialTables[0], request.maxAlerts),
    partial: oneLine(`${code}: ${details?.[0]?.message ?? message}`, DETAIL_MAX),
  };
}
