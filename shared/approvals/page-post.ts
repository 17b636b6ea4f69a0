/**
 * The approval page's answers, GET and POST, without HTTP: the POST is refused unless it comes from
 * the page itself (Sec-Fetch-Site and Origin, where the browser sends them, and always the form
 * token), then counted like any vote (vote.ts).
 */
import type { Caller } from '../manual/caller';
import { type StateStore, StoreUnavailableError } from '../state/store';
import type { TenantDirectory } from '../tenants/lookup';
import { approvalPage, messagePage, type PageNotice } from './page';
import { tokenMatches } from './page-token';
import { VOTE_REASON_MAX, type VoteOrder, type VoteResult } from './vote';

export interface PageAnswer {
  status: 200 | 400 | 403 | 404 | 409 | 503;
  html: string;
}

interface Headers {
  get(name: string): string | null;
}

/**
 * Why a POST is not the page's own, or null. A browser names a cross-site request in Sec-Fetch-Site
 * and its Origin; a request without either still needs the token.
 */
export function crossSiteProblem(headers: Headers): string | null {
  const site = headers.get('sec-fetch-site');
  if (site !== null && site !== 'same-origin')
    return `the form was sent from another site (${site.slice(0, 20)})`;
  const origin = headers.get('origin');
  if (origin === null) return null;
  let host: string | null = null;
  try {
    host = new URL(origin).host;
  } catch {
    host = null;
  }
  return host !== null && host === headers.get('host') ? null : 'the form was sent from another origin';
}

const UNAVAILABLE: PageAnswer = {
  status: 503,
  html: messagePage(
    'Try again shortly',
    'The state store does not answer; nothing was changed. Reload the page in a minute.',
  ),
};

async function answering(read: () => Promise<PageAnswer>): Promise<PageAnswer> {
  try {
    return await read();
  } catch (error) {
    if (error instanceof StoreUnavailableError) return UNAVAILABLE;
    throw error;
  }
}

const UNKNOWN: PageAnswer = {
  status: 404,
  html: messagePage('No such approval', 'This approval does not exist (or the link is incomplete).'),
};

/** `tenants`: the tenant list, which names the tenant of an approval (the runtime's). */
export function showPage(
  store: StateStore,
  tenants: TenantDirectory,
  approvalId: string,
  caller: Caller,
): Promise<PageAnswer> {
  return answering(async () => {
    const record = await store.approvals.get(approvalId);
    return record ? { status: 200, html: approvalPage(record, caller, tenants) } : UNKNOWN;
  });
}

const NOTICE: Record<Exclude<VoteResult['kind'], 'refused'>, string> = {
  approved: 'Approved. The isolation goes ahead once the worker has checked the device again.',
  recorded: 'Your approval is recorded. A second, different person must approve too.',
  denied: 'Denied. Nothing is posted to the device.',
};

export async function postPage(
  store: StateStore,
  tenants: TenantDirectory,
  approvalId: string,
  caller: Caller,
  headers: Headers,
  form: URLSearchParams,
  vote: (order: VoteOrder) => Promise<VoteResult>,
): Promise<PageAnswer> {
  return answering(async () => {
    const record = await store.approvals.get(approvalId);
    if (!record) return UNKNOWN;
    const refuse = (status: PageAnswer['status'], text: string): PageAnswer => ({
      status,
      html: approvalPage(record, caller, tenants, { text, refused: true }),
    });
    const crossSite = crossSiteProblem(headers);
    if (crossSite) return refuse(403, `Refused: ${crossSite}. Open the approval page itself.`);
    if (!tokenMatches(record, caller, form.get('token') ?? ''))
      return refuse(403, 'Refused: this form was not issued to you for this approval. Reload the page.');
    const verdict = form.get('verdict');
    if (verdict !== 'approve' && verdict !== 'deny') return refuse(400, 'Choose Approve or Deny.');
    const reason = (form.get('reason') ?? '').trim();
    if (reason.length === 0 || reason.length > VOTE_REASON_MAX)
      return refuse(
        400,
        `Write a reason (1 to ${VOTE_REASON_MAX} characters): it is recorded with your name.`,
      );
    const result = await vote({
      approvalId,
      verdict,
      reason,
      approver: { label: caller.label, objectId: caller.objectId, tenants: caller.tenants },
    });
    const notice: PageNotice =
      result.kind === 'refused'
        ? { text: `Refused: ${result.message}.`, refused: true }
        : { text: NOTICE[result.kind], refused: false };
    const shown = result.approval ?? record;
    const forbidden =
      result.kind === 'refused' && ['self-approval', 'tenant-forbidden'].includes(result.code);
    const status = result.kind !== 'refused' ? 200 : forbidden ? 403 : 409;
    return { status, html: approvalPage(shown, caller, tenants, notice) };
  });
}
