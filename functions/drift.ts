import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { httpRuntime, jsonProblem } from './http-runtime';

/**
 * `GET /api/drift`: the latest reconciliation's report (shared/reconcile/report.ts), keyed like every
 * function but health. 404 before the first reconciliation; 503 while the state store does not answer.
 */
export async function drift(_request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  const opened = await httpRuntime(context);
  if ('response' in opened) return opened.response;
  const { parseReport } = await import('../shared/reconcile/report');
  let document: string | null;
  try {
    document = await opened.runtime.store.drift.latest();
  } catch (error) {
    context.error(error instanceof Error ? error.message : String(error));
    return jsonProblem(503, 'unavailable', 'the state store does not answer; try again shortly');
  }
  const report = parseReport(document);
  if (report === null)
    return jsonProblem(
      404,
      'no-reconciliation',
      'no reconciliation has run yet: the reconcile timer queues one on RECONCILE_SCHEDULE (every 15 minutes by default), or run mde-isolator reconcile --now',
    );
  return { status: 200, jsonBody: report };
}

app.http('drift', { methods: ['GET'], authLevel: 'function', route: 'drift', handler: drift });
