/**
 * The approval page (`GET /api/approvals/{id}/page`, docs/decisions/0028-approvals-and-break-glass.md):
 * what is asked and why, the device and alert with links, the deadline, and Approve / Deny with a
 * reason. Plain HTML with one inline style the Content-Security-Policy names by its hash: no script,
 * nothing loaded from anywhere, so it works without JavaScript and a page injected text cannot run.
 * Its form posts back to the same route with a token bound to the approval and the caller
 * (page-token.ts); the function also refuses a POST a browser marks as cross-site.
 */
import { createHash } from 'node:crypto';
import type { Caller } from '../manual/caller';
import type { ApprovalRecord } from '../state/store';
import { tenantText } from '../tenants/label';
import type { TenantDirectory } from '../tenants/lookup';
import { continuationOf } from './continuation';
import { pageToken } from './page-token';
import { heldTenantLabel, portalLinks } from './views';
import { VOTE_REASON_MAX } from './vote';
import { describeVotes, expiryText } from './wording';

const STYLE = `body{font:16px/1.5 system-ui,sans-serif;margin:2rem auto;max-width:44rem;padding:0 1rem;color:#1b1b1b}
h1{font-size:1.4rem}dl{display:grid;grid-template-columns:max-content 1fr;gap:.3rem 1rem}dt{font-weight:600}
dd{margin:0;overflow-wrap:anywhere}textarea{width:100%;min-height:5rem;font:inherit}
.notice{padding:.6rem 1rem;border-left:4px solid #0f6cbd;background:#eef5fc}
.refused{border-color:#c50f1f;background:#fdf3f4}button{font:inherit;padding:.4rem 1.4rem;margin-right:1rem}
button[value=approve]{background:#0f6cbd;color:#fff;border:0}button[value=deny]{background:#fff;border:1px solid #c50f1f;color:#c50f1f}`;

const STYLE_HASH = createHash('sha256').update(STYLE).digest('base64');

/** Nothing but this page's own style; forms post to this app only; never framed. */
export const APPROVAL_PAGE_CSP = [
  "default-src 'none'",
  `style-src 'sha256-${STYLE_HASH}'`,
  // The empty icon (data:,) keeps the browser from asking for /favicon.ico.
  'img-src data:',
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/** Headers of every answer of the page route. */
export const APPROVAL_PAGE_HEADERS = {
  'Content-Type': 'text/html; charset=utf-8',
  'Content-Security-Policy': APPROVAL_PAGE_CSP,
  'Cache-Control': 'no-store',
  // Not no-referrer: with it a browser sends `Origin: null` on the form's POST, which the origin check refuses.
  'Referrer-Policy': 'same-origin',
  'X-Content-Type-Options': 'nosniff',
};

function htmlText(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string,
  );
}

/** A page around `body`. */
function layout(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${htmlText(title)}</title>
<link rel="icon" href="data:,">
<style>${STYLE}</style>
</head>
<body>
<main>
${body}
</main>
</body>
</html>
`;
}

/** Just a message: no approval to show (unknown id, sign-in missing). */
export function messagePage(title: string, message: string): string {
  return layout(title, `<h1>${htmlText(title)}</h1>\n<p class="notice refused">${htmlText(message)}</p>`);
}

export interface PageNotice {
  text: string;
  refused: boolean;
}

/**
 * The approval as `caller` sees it, with the form while it is pending; with a tenant list (`tenants`),
 * the tenant its isolation acts in, since one page serves every tenant's approvals.
 */
export function approvalPage(
  record: ApprovalRecord,
  caller: Caller,
  tenants: TenantDirectory,
  notice: PageNotice | null = null,
): string {
  const device = record.computerDnsName ?? record.machineId;
  const { isolationType } = continuationOf(record);
  const title = `Isolate ${device}?`;
  const tenant = heldTenantLabel(record, tenants);
  const rows: [string, string][] = [
    ...(tenant ? [['Tenant', tenantText(tenant)] as [string, string]] : []),
    ['Asked', `${isolationType} isolation of ${device} (machine ${record.machineId})`],
    ['Why', record.reason],
    ['Held by', record.askedBy],
    ['Requested by', `${record.requestedBy.kind === 'rule' ? 'rule ' : ''}${record.requestedBy.name}`],
    [
      'Alert',
      `${record.alert.title} (${record.alert.severity}, ${record.alert.source} ${record.alert.alertId})`,
    ],
    ['Approvers needed', record.approvers === 2 ? 'two different people' : 'one person'],
    ['Deadline', `${record.deadline}: ${expiryText(record.onExpiry)}`],
    ['State', record.state],
  ];
  if (record.votes.length > 0) rows.push(['Decisions', describeVotes(record.votes)]);
  const details = rows
    .map(([name, value]) => `<dt>${htmlText(name)}</dt><dd>${htmlText(value)}</dd>`)
    .join('\n');
  const links = portalLinks(record)
    .map((l) => `<li><a href="${htmlText(l.href)}" rel="noreferrer">${htmlText(l.label)}</a></li>`)
    .join('\n');
  const shown = notice && `<p class="notice${notice.refused ? ' refused' : ''}">${htmlText(notice.text)}</p>`;
  const form =
    record.state === 'pending'
      ? `<form method="post">
<input type="hidden" name="token" value="${htmlText(pageToken(record, caller))}">
<p><label for="reason">Your reason (recorded with your name)</label><br>
<textarea id="reason" name="reason" required maxlength="${VOTE_REASON_MAX}"></textarea></p>
<p><button type="submit" name="verdict" value="approve">Approve</button><button type="submit" name="verdict" value="deny">Deny</button></p>
</form>`
      : '';
  return layout(
    title,
    [
      `<h1>${htmlText(title)}</h1>`,
      shown ?? '',
      `<p>Signed in as ${htmlText(caller.label)}.</p>`,
      `<dl>\n${details}\n</dl>`,
      `<ul>\n${links}\n</ul>`,
      form,
    ]
      .filter(Boolean)
      .join('\n'),
  );
}
