import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { jsonProblem } from './http-runtime';
import { isSession, openTenantSession } from './manual';

/**
 * `GET /api/drift`: the latest reconciliation's report (shared/reconcile/report.ts). It names devices and
 * who released them, so it is guarded like the register it reports on: keyed, and with Easy Auth on the
 * caller needs the operator role (infra/main.bicep). 404 before the first reconciliation; 503 while the
 * state store does not answer.
 */
export async function drift(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  const opened = await openTenantSession(request, context);
  if (!isSession(opened)) return opened;
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

/** As registered: with Easy Auth on, it needs the sign-in the manual operations need (infra/main.bicep). */
export const DRIFT_FUNCTION = {
  methods: ['GET'],
  authLevel: 'function',
  route: 'drift',
  handler: drift,
} as const;

app.http('drift', { ...DRIFT_FUNCTION, methods: [...DRIFT_FUNCTION.methods] });
