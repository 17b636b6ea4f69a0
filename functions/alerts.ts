import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import {
  checkItemCount,
  checkRequestHead,
  type HttpProblem,
  isHttpProblem,
  parseJsonBody,
  readBodyWithin,
} from '../shared/intake/http-body';
import type { IntakeResult } from '../shared/intake/receive-alerts';
import type { Runtime } from '../shared/runtime';

function problem(status: number, code: string, message: string, path?: string): HttpResponseInit {
  return { status, jsonBody: { error: path ? { code, message, path } : { code, message } } };
}

function fromHttpProblem(p: HttpProblem): HttpResponseInit {
  const response = problem(p.status, p.code, p.message, p.path);
  if (p.status === 405) response.headers = { Allow: 'POST' };
  return response;
}

/** 202 when anything was accepted; 503 (retry) when an alert was parsed but could not be carried through. */
function fromResult(result: IntakeResult): HttpResponseInit {
  if (result.failed > 0) return { status: 503, headers: { 'Retry-After': '30' }, jsonBody: result };
  if (result.accepted > 0) return { status: 202, jsonBody: result };
  const rejected = result.alerts.flatMap((a) => (a.status === 'rejected' ? [a.error] : []));
  const error =
    rejected.length === 1
      ? rejected[0]
      : {
          code: 'no-alert-accepted',
          message: `none of the ${rejected.length} items is an accepted alert; see alerts[]`,
          path: '$',
        };
  return { status: 422, jsonBody: { error, ...result } };
}

/** POST /api/alerts: any supported alert payload (or a batch) in, decisions and queued request ids out. */
export async function alerts(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  // Read from the process runtime on every call, not cached here: getRuntime() already creates it
  // once, and one installed later (tests) or recreated after closeRuntime() must be the one used.
  // Loaded on first use, not when the host imports this file: the pipeline's SDKs would otherwise
  // weigh on every cold start (docs/architecture.md §8).
  const { getRuntime, isMisconfiguration } = await import('../shared/runtime');
  let runtime: Runtime;
  try {
    runtime = getRuntime();
  } catch (error) {
    if (!isMisconfiguration(error)) throw error;
    // Details go to the log only: the caller of a function key learns nothing about settings or policy.
    context.error(error.message);
    return problem(
      503,
      'misconfigured',
      'the app settings or the isolation policy are invalid; see the logs',
    );
  }
  const head = checkRequestHead(request.method, request.headers, runtime.config.maxAlertBytes);
  if (head) return fromHttpProblem(head);
  const read = await readBodyWithin(request.body, runtime.config.maxAlertBytes);
  if (isHttpProblem(read)) return fromHttpProblem(read);
  const parsed = parseJsonBody(read.bytes);
  if (isHttpProblem(parsed)) return fromHttpProblem(parsed);
  const tooMany = checkItemCount(parsed.value);
  if (tooMany) return fromHttpProblem(tooMany);
  const result = await runtime.receiveAlerts(parsed.value, (line) => context.log(JSON.stringify(line)));
  return fromResult(result);
}

app.http('alerts', {
  // Every method is routed here so a GET gets a JSON 405, not the host's bare 404.
  methods: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'],
  authLevel: 'function',
  route: 'alerts',
  handler: alerts,
});
