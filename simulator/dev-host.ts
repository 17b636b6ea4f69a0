/**
 * The development host: serves the app's HTTP functions (functions/*.ts as registered with app.http) on
 * their routes under /api, for `npm run dev` on a machine without Azure Functions Core Tools. Thin on
 * purpose: it adapts Node's http to the registered handlers and checks the function key as the host
 * does; the handlers hold all the logic. Loopback only. Timers, queues and Service Bus triggers are
 * not run: the worker runs inline in the process when no Service Bus namespace is set.
 */
import { timingSafeEqual } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import {
  type app,
  type HttpFunctionOptions,
  HttpRequest,
  HttpResponse,
  InvocationContext,
} from '@azure/functions';

export type HttpFunction = { name: string } & HttpFunctionOptions;

/** The key the host checks when none is given: public, like the loopback address it guards. */
export const DEV_FUNCTION_KEY = 'local-dev-key';

/** The host's own cap is 100 MB; the handlers refuse far less (MAX_ALERT_BYTES, 16 KiB orders). */
const MAX_BODY_BYTES = 16 * 1024 * 1024;

/** Every app.http registration made while `load` runs; the registry is restored after. */
export function captureHttpFunctions(registry: typeof app, load: () => void): HttpFunction[] {
  const captured: HttpFunction[] = [];
  const register = registry.http;
  registry.http = (name, options) => void captured.push({ name, ...options });
  try {
    load();
  } finally {
    registry.http = register;
  }
  return captured;
}

/** The function files of this build (compiled .js beside dist/simulator, or .ts under ts-jest). */
export function loadHttpFunctions(): HttpFunction[] {
  const dir = join(__dirname, '..', 'functions');
  const ext = __filename.endsWith('.ts') ? '.ts' : '.js';
  const { app: registry } = require('@azure/functions') as { app: typeof app };
  return captureHttpFunctions(registry, () => {
    for (const file of readdirSync(dir).filter((f) => f.endsWith(ext) && !f.endsWith(`.d${ext}`)))
      require(join(dir, file));
  });
}

interface Route {
  fn: HttpFunction;
  pattern: RegExp;
  names: string[];
}

/** `machines/{id}/isolate` → a pattern with one group per parameter; routes match case-insensitively. */
function routeOf(fn: HttpFunction): Route {
  const names: string[] = [];
  const source = (fn.route ?? fn.name)
    .split('/')
    .map((part) => {
      const param = /^\{(\w+)(?::\w+)?(\?)?\}$/.exec(part);
      if (!param) return `/${part.replace(/[.*+?^$()|[\]\\]/g, '\\$&')}`;
      names.push(param[1]);
      return param[2] ? '(?:/([^/]+))?' : '/([^/]+)';
    })
    .join('');
  return { fn, names, pattern: new RegExp(`^/api${source}/?$`, 'i') };
}

/** The route's parameters, decoded; null when one is not valid percent-encoding. */
function paramsOf(route: Route, match: RegExpExecArray): Record<string, string> | null {
  const params: Record<string, string> = {};
  try {
    route.names.forEach((name, index) => {
      const value = match[index + 1];
      if (value !== undefined) params[name] = decodeURIComponent(value);
    });
  } catch {
    return null;
  }
  return params;
}

function keyMatches(given: string | null, key: string): boolean {
  if (given === null) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(key);
  return a.length === b.length && timingSafeEqual(a, b);
}

function sendJson(res: ServerResponse, status: number, code: string, message: string): void {
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8' });
  res.end(JSON.stringify({ error: { code, message } }));
}

async function readBody(req: IncomingMessage): Promise<Buffer | null> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) return null;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

function headersOf(req: IncomingMessage): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers))
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
  return headers;
}

export interface DevHostOptions {
  functions: HttpFunction[];
  key?: string;
  port?: number;
  /** Where handlers' context.log lines go. */
  log?: (line: string) => void;
}

export interface RunningDevHost {
  baseUrl: string;
  key: string;
  close(): Promise<void>;
}

export async function startDevHost(options: DevHostOptions): Promise<RunningDevHost> {
  const key = options.key ?? DEV_FUNCTION_KEY;
  const log = options.log ?? ((line: string) => console.log(line));
  const routes = options.functions.map(routeOf);

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const method = (req.method ?? 'GET').toUpperCase();
    const matched = routes.flatMap((route) => {
      const match = route.pattern.exec(url.pathname);
      return match ? [{ route, match }] : [];
    });
    const found = matched.find(({ route }) =>
      (route.fn.methods ?? ['GET', 'POST']).some((m) => m.toUpperCase() === method),
    );
    if (!found) return sendJson(res, 404, 'not-found', `no function answers ${method} ${url.pathname}`);
    const { route, match } = found;
    if (route.fn.authLevel !== 'anonymous') {
      const given = req.headers['x-functions-key'] ?? url.searchParams.get('code');
      if (!keyMatches(typeof given === 'string' ? given : null, key))
        return sendJson(
          res,
          401,
          'unauthorized',
          'send the function key in x-functions-key (npm run dev printed it)',
        );
    }
    const body = method === 'GET' || method === 'HEAD' ? null : await readBody(req);
    if (body === null && method !== 'GET' && method !== 'HEAD')
      return sendJson(res, 413, 'body-too-large', `the dev host buffers at most ${MAX_BODY_BYTES} bytes`);
    const params = paramsOf(route, match);
    if (!params) return sendJson(res, 400, 'bad-path', `${url.pathname} is not a well-formed path`);
    const request = new HttpRequest({
      method,
      url: url.href,
      headers: headersOf(req),
      params,
      ...(body && body.length > 0 && { body: { bytes: body } }),
    });
    const context = new InvocationContext({
      functionName: route.fn.name,
      logHandler: (level, ...args) => log(`[${route.fn.name}] ${level}: ${args.map(String).join(' ')}`),
    });
    const response = new HttpResponse(await route.fn.handler(request, context));
    res.writeHead(response.status, Object.fromEntries(response.headers.entries()));
    res.end(Buffer.from(await response.arrayBuffer()));
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      // As the Functions host: a handler that throws is a 500, and the error goes to the log only.
      log(`[dev-host] ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
      if (!res.headersSent) sendJson(res, 500, 'internal', 'the function failed; see the dev host log');
      else res.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 7071, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    key,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
