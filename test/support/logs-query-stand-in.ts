/**
 * A stand-in for the Azure Monitor Logs query API on loopback (docs/logs-query-api.md), for the real
 * @azure/monitor-query-logs client: `POST /v1/workspaces/{id}/query` answers recorded rows in the API's
 * shape (`tables[].columns` + `rows`), those inside the request's `timespan` and as many as its
 * `| take N`, which is all of KQL it reads. It wants a bearer token whose audience is the Logs API's,
 * answers 403 for a workspace the caller may not read and 404 for one it does not know, with the
 * error bodies of docs/logs-query-api.md §2. TLS with the loopback certificate: the client sends no token over http.
 */
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { loopbackKeyPair } from './loopback-authority';
import type { RecordedTable } from './security-alert-history';

export interface ReceivedQuery {
  workspace: string;
  query: string;
  timespan: string;
  /** The `aud` claim of the bearer token. */
  audience: unknown;
}

export interface LogsQueryStandIn {
  /** https://127.0.0.1:<port>, for LOGS_QUERY_URL. */
  url: string;
  queries: ReceivedQuery[];
  close(): Promise<void>;
}

export interface StandInWorkspaces {
  /** Rows by workspace id. */
  readable: Record<string, RecordedTable>;
  /** Workspaces the caller has no role on. */
  forbidden?: string[];
  /** Workspaces whose answer is cut by the API's size limit: the rows, and an error beside them. */
  cut?: string[];
}

/** What the API puts beside the rows of an answer it had to cut (docs/logs-query-api.md §2). */
const RESULT_TOO_LARGE = {
  code: 'PartialError',
  message: 'There were some errors when processing your query.',
  details: [
    {
      code: 'EngineError',
      message:
        'Query result set has exceeded the internal data size limit 67108864 bytes (E_QUERY_RESULT_SET_TOO_LARGE).',
    },
  ],
};

export const LOGS_AUDIENCE = 'https://api.loganalytics.io';
const QUERY_PATH = /^\/v1\/workspaces\/([^/]+)\/query$/;

function audienceOf(authorization: string | undefined): unknown {
  const payload = authorization?.match(/^Bearer [^.]+\.([^.]+)\./)?.[1];
  if (!payload) return undefined;
  try {
    return JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')).aud;
  } catch {
    return undefined;
  }
}

/** The rows inside `start/end` (ISO 8601 interval) and the first `take` of them. */
function answer(table: RecordedTable, timespan: string, query: string): RecordedTable {
  const [start, end] = timespan.split('/').map((t) => Date.parse(t));
  const time = table.columns.findIndex((c) => c.name === 'TimeGenerated');
  const take = Number(query.match(/\|\s*take\s+(\d+)/)?.[1] ?? Number.POSITIVE_INFINITY);
  const rows = table.rows
    .filter((row) => {
      const at = Date.parse(String(row[time]));
      return at >= start && at < end;
    })
    .slice(0, take);
  return { columns: table.columns, rows };
}

function apiError(status: number, code: string, message: string): { status: number; body: unknown } {
  return {
    status,
    body: { error: { code, message, correlationId: '00000000-0000-4000-8000-000000000000' } },
  };
}

export async function startLogsQueryStandIn(workspaces: StandInWorkspaces): Promise<LogsQueryStandIn> {
  const queries: ReceivedQuery[] = [];
  const reply = (
    request: { url?: string; method?: string; headers: Record<string, unknown> },
    body: string,
  ) => {
    const workspace = QUERY_PATH.exec(new URL(request.url ?? '/', 'https://127.0.0.1').pathname)?.[1];
    if (request.method !== 'POST' || !workspace)
      return apiError(404, 'PathNotFoundError', 'The requested path does not exist');
    const authorization = request.headers.authorization as string | undefined;
    if (!authorization)
      return apiError(
        401,
        'AuthenticationFailed',
        "Authentication failed. The 'Authorization' header is missing.",
      );
    const audience = audienceOf(authorization);
    if (audience !== LOGS_AUDIENCE)
      return apiError(
        403,
        'InvalidAuthenticationTokenAudience',
        `The access token has been obtained from wrong audience or resource '${String(audience)}'.`,
      );
    const { query, timespan } = JSON.parse(body) as { query: string; timespan: string };
    queries.push({ workspace, query, timespan, audience });
    if (workspaces.forbidden?.includes(workspace))
      return apiError(
        403,
        'InsufficientAccessError',
        'The provided credentials have insufficient access to perform the requested operation',
      );
    const table = workspaces.readable[workspace];
    if (!table) return apiError(404, 'WorkspaceNotFoundError', `Workspace ${workspace} could not be found`);
    const tables = [{ name: 'PrimaryResult', ...answer(table, timespan, query) }];
    const cut = workspaces.cut?.includes(workspace);
    return { status: 200, body: cut ? { tables, error: RESULT_TOO_LARGE } : { tables } };
  };
  const server: Server = createServer(loopbackKeyPair(), (request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const { status, body } = reply(request, Buffer.concat(chunks).toString('utf8'));
      response.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
      response.end(JSON.stringify(body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `https://127.0.0.1:${(server.address() as AddressInfo).port}`,
    queries,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
