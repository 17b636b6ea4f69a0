import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { httpRuntime } from './http-runtime';
import { inInvocation } from './invocation';
import { bodyEndpoint, isSession, openSession, send } from './manual';

/**
 * Approvals (docs/decisions/0028-approvals-and-break-glass.md): the list, approve and deny on function
 * keys (and with Easy Auth the Isolation.Approver role), and the approval page people open from a card,
 * which needs Entra sign-in: it is anonymous to the Functions host, since a browser cannot send a
 * function key, and App Service authentication guards it (infra/main.bicep). Without Easy Auth the
 * page refuses to show anything: there would be nobody to record.
 */

/** A page form is a reason of a few hundred characters and a token. */
const MAX_FORM_BYTES = 4 * 1024;

async function approverSession(request: HttpRequest, context: InvocationContext) {
  const { APPROVER_ROLE } = await import('../shared/manual/caller');
  return openSession(request, context, APPROVER_ROLE);
}

export async function approvals(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  const session = await approverSession(request, context);
  if (!isSession(session)) return session;
  const { listApprovals } = await import('../shared/approvals/answers');
  return send(await listApprovals(session.runtime.store, request.query, session.runtime.tenants));
}

function voteEndpoint(verdict: 'approve' | 'deny') {
  return bodyEndpoint(
    async (body) => (await import('../shared/manual/order')).parseVoteBody(body),
    async ({ runtime, caller }, body, request) => {
      const { approvalIdProblem, voteGuarded, voteOf } = await import('../shared/approvals/answers');
      const id = request.params.id ?? '';
      const problem = approvalIdProblem(id);
      if (problem) return problem;
      return voteGuarded(() => runtime.voteOnApproval(voteOf(id, verdict, body.reason, caller)));
    },
    'Isolation.Approver',
  );
}

export const approveApproval = voteEndpoint('approve');
export const denyApproval = voteEndpoint('deny');

/** `GET|POST /api/approvals/{id}/page`: the page, and its form's Approve / Deny. */
export const approvalPage = inInvocation(
  async (request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> => {
    const { APPROVAL_PAGE_HEADERS, messagePage } = await import('../shared/approvals/page');
    const html = (status: number, body: string): HttpResponseInit => ({
      status,
      body,
      headers: APPROVAL_PAGE_HEADERS,
    });
    const opened = await httpRuntime(context);
    if ('response' in opened) return opened.response;
    const { runtime } = opened;
    if (!runtime.config.manualEasyAuth)
      return html(
        403,
        messagePage(
          'Sign-in is not set up',
          'The approval page needs Entra sign-in (App Service authentication). Use mde-isolator approvals, or POST /api/approvals/{id}/approve with the function key.',
        ),
      );
    const { APPROVER_ROLE, identifyCaller } = await import('../shared/manual/caller');
    const check = identifyCaller(request.headers, true, APPROVER_ROLE);
    if (!check.ok) return html(check.status, messagePage('Not allowed', check.message));
    const id = request.params.id ?? '';
    const { GUID } = await import('../shared/kernel/ids');
    if (!GUID.test(id))
      return html(400, messagePage('No such approval', 'The approval id in the link is not a GUID.'));
    const pages = await import('../shared/approvals/page-post');
    if (request.method !== 'POST') {
      const shown = await pages.showPage(runtime.store, runtime.tenants, id, check.caller);
      return html(shown.status, shown.html);
    }
    const form = await readForm(request);
    if (typeof form === 'string')
      return html(
        form === 'too-large' ? 413 : 415,
        messagePage(
          'Not sent',
          form === 'too-large'
            ? `The form is over ${MAX_FORM_BYTES} bytes.`
            : 'The form must be sent as application/x-www-form-urlencoded.',
        ),
      );
    try {
      const posted = await pages.postPage(
        runtime.store,
        runtime.tenants,
        id,
        check.caller,
        request.headers,
        form,
        (order) => runtime.voteOnApproval(order),
      );
      return html(posted.status, posted.html);
    } catch (error) {
      context.error(error instanceof Error ? error.message : String(error));
      return html(
        503,
        messagePage('Try again shortly', 'The decision could not be recorded and sent on; reload the page.'),
      );
    }
  },
);

/** The page's urlencoded form, bounded; or why not. */
async function readForm(request: HttpRequest): Promise<URLSearchParams | 'too-large' | 'not-a-form'> {
  const type = request.headers.get('content-type')?.split(';')[0]?.trim().toLowerCase();
  if (type !== 'application/x-www-form-urlencoded') return 'not-a-form';
  const { readBodyWithin, isHttpProblem } = await import('../shared/intake/http-body');
  const read = await readBodyWithin(request.body, MAX_FORM_BYTES);
  if (isHttpProblem(read)) return 'too-large';
  return new URLSearchParams(Buffer.from(read.bytes).toString('utf8'));
}

/** Every approval endpoint, as registered (the OpenAPI test compares shared/openapi.json with this). */
export const APPROVAL_FUNCTIONS = {
  approvals: { methods: ['GET'], authLevel: 'function', route: 'approvals', handler: approvals },
  approveApproval: {
    methods: ['POST'],
    authLevel: 'function',
    route: 'approvals/{id}/approve',
    handler: approveApproval,
  },
  denyApproval: {
    methods: ['POST'],
    authLevel: 'function',
    route: 'approvals/{id}/deny',
    handler: denyApproval,
  },
  approvalPage: {
    methods: ['GET', 'POST'],
    authLevel: 'anonymous',
    route: 'approvals/{id}/page',
    handler: approvalPage,
  },
} as const;

for (const [name, options] of Object.entries(APPROVAL_FUNCTIONS))
  app.http(name, { ...options, methods: [...options.methods] });
