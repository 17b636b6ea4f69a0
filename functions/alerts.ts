import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import type { HttpProblem } from '../shared/intake/http-body';
import type { IntakeResult } from '../shared/intake/receive-alerts';
import { httpRuntime, jsonProblem } from './http-runtime';
import { inInvocation } from './invocation';

function fromHttpProblem(p: HttpProblem): HttpResponseInit {
  const response = jsonProblem(p.status, p.code, p.message, p.path);
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

/**
 * POST /api/alerts: any supported alert payload (or a batch) in, decisions and queued request ids out.
 * The body checks load on first call, like the pipeline (docs/architecture.md §8).
 */
export const alerts = inInvocation(async function alerts(
  request: HttpRequest,
  context: InvocationContext,
): Promise<HttpResponseInit> {
  const opened = await httpRuntime(context);
  if ('response' in opened) return opened.response;
  const { runtime } = opened;
  const { checkItemCount, checkRequestHead, isHttpProblem, parseJsonBody, readBodyWithin } = await import(
    '../shared/intake/http-body'
  );
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
});

app.http('alerts', {
  // Every method is routed here so a GET gets a JSON 405, not the host's bare 404.
  methods: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'],
  authLevel: 'function',
  route: 'alerts',
  handler: alerts,
});
