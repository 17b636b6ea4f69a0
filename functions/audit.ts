import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { isSession, openTenantSession } from './manual';

/**
 * `GET /api/audit?since=24h&device=…&limit=…`: who isolated what, when, why, and who released it
 * (shared/manual/audit.ts), the same reading as `mde-isolator audit`. Keyed, and with Easy Auth on
 * the caller needs the operator role, like the manual operations it audits.
 */
export async function audit(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  const session = await openTenantSession(request, context);
  if (!isSession(session)) return session;
  const { auditAnswer } = await import('../shared/manual/audit');
  const { runtime } = session;
  const answer = await auditAnswer(
    runtime.store,
    request.query,
    runtime.config.registerHistoryDays,
    Date.now(),
  );
  return { status: answer.status, jsonBody: answer.body, headers: answer.headers };
}

/** As registered: with Easy Auth on, it needs the sign-in the manual operations need (infra/main.bicep). */
export const AUDIT_FUNCTION = {
  methods: ['GET'],
  authLevel: 'function',
  route: 'audit',
  handler: audit,
} as const;

app.http('audit', { ...AUDIT_FUNCTION, methods: [...AUDIT_FUNCTION.methods] });
