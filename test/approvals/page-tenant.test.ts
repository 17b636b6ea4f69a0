/**
 * One approval page serves every tenant's held isolations: with a tenant list it names the tenant the
 * isolation acts in (display name and id), escaped like every other value, on the page as shown and
 * as answered after a refused form; without a list the page is as it was.
 */
import { postPage, showPage } from '../../shared/approvals/page-post';
import { viewOf } from '../../shared/approvals/views';
import type { Caller } from '../../shared/manual/caller';
import { InMemoryStateStore } from '../../shared/state/memory';
import { SINGLE_TENANT, tenantDirectory } from '../../shared/tenants/lookup';
import { parseTenantList } from '../../shared/tenants/parse';
import { pendingApproval } from '../support/approvals';

const CONTOSO = '2f4a9c1e-7b3d-4e8a-9c21-5d6e7f8a9b0c';
const APPROVAL = '0d0d0d0d-0000-4000-8000-0000000000b2';
/** A display name an attacker with write access to the settings might try: markup and an entity. */
const HOSTILE = '<script>alert("x")</script> & <b>Co</b>';

const caller: Caller = { label: 'dana@contoso.com', name: 'Dana', objectId: null, tenants: 'every' };

function listing(displayName: string) {
  const { tenants, problems } = parseTenantList(JSON.stringify([{ tenantId: CONTOSO, displayName }]));
  expect(problems).toEqual([]);
  return tenantDirectory(tenants);
}

async function storeHolding(tenantId?: string) {
  const store = new InMemoryStateStore();
  const held = pendingApproval(APPROVAL, Date.parse('2026-12-08T02:00:00Z'), 'drop', tenantId);
  await store.approvals.update(held.id, () => ({ next: held, result: undefined }));
  return { store, held };
}

const ESCAPED = '&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &lt;b&gt;Co&lt;/b&gt;';

describe('the approval page with a tenant list', () => {
  it("shows the held isolation's tenant, its display name escaped", async () => {
    const { store } = await storeHolding(CONTOSO);
    const shown = await showPage(store, listing(HOSTILE), APPROVAL, caller);
    expect(shown.status).toBe(200);
    expect(shown.html).toContain(`<dt>Tenant</dt><dd>${ESCAPED} (${CONTOSO})</dd>`);
    expect(shown.html).not.toContain('<script>');
    expect(shown.html).not.toContain('<b>');
  });

  it('still shows it on the page a refused form answers', async () => {
    const { store } = await storeHolding(CONTOSO);
    const headers = { get: () => null };
    const form = new URLSearchParams({ token: 'forged', verdict: 'approve', reason: 'ok' });
    const posted = await postPage(store, listing('Contoso'), APPROVAL, caller, headers, form, async () => {
      throw new Error('a refused form never votes');
    });
    expect(posted.status).toBe(403);
    expect(posted.html).toContain(`<dt>Tenant</dt><dd>Contoso (${CONTOSO})</dd>`);
  });

  it('gives the tenant in the approval as the API and the CLI show it', async () => {
    const { held } = await storeHolding(CONTOSO);
    expect(viewOf(held, listing('Contoso')).tenant).toEqual({ tenantId: CONTOSO, displayName: 'Contoso' });
    expect(viewOf(held)).not.toHaveProperty('tenant');
  });
});

describe('the approval page without a tenant list', () => {
  it('names no tenant', async () => {
    const { store } = await storeHolding();
    const shown = await showPage(store, SINGLE_TENANT, APPROVAL, caller);
    expect(shown.status).toBe(200);
    expect(shown.html).not.toContain('<dt>Tenant</dt>');
  });
});
