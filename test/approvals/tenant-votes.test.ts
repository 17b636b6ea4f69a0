/**
 * An approver decides a held isolation of a listed tenant only with that tenant's role
 * (docs/decisions/0033-operator-authorization-per-tenant.md); in a single-tenant deployment, where no
 * held request names a tenant, approvers are as before.
 */
import { voteAnswer } from '../../shared/approvals/answers';
import type { ApprovalDeps } from '../../shared/approvals/deps';
import { NO_APPROVAL_EVENTS } from '../../shared/approvals/events';
import { type Approver, voteOnApproval } from '../../shared/approvals/vote';
import { InProcessQueue } from '../../shared/dispatch/transport/in-process-queue';
import { InMemoryStateStore } from '../../shared/state/memory';
import type { ApprovalRecord } from '../../shared/state/store';
import { pendingApproval } from '../support/approvals';
import { handClock } from '../support/hand-clock';
import { recordingReporter } from '../support/reporter';

const CONTOSO = '2f4a9c1e-7b3d-4e8a-9c21-5d6e7f8a9b0c';
const FABRIKAM = '8d1b6e3f-2a4c-4b5d-8e9f-0a1b2c3d4e5f';
const APPROVAL = '0d0d0d0d-0000-4000-8000-0000000000a1';

/** A two-person approval of an isolation, its held request in `tenantId` when given. */
function held(createdAt: number, tenantId?: string): ApprovalRecord {
  return pendingApproval(APPROVAL, createdAt, 'drop', tenantId);
}

const queues: InProcessQueue[] = [];
afterEach(async () => {
  for (const queue of queues.splice(0)) await queue.close();
});

async function withApproval(tenantId?: string): Promise<ApprovalDeps> {
  const clock = handClock();
  const store = new InMemoryStateStore({ clock });
  const queue = new InProcessQueue({ clock });
  queues.push(queue);
  const approval = held(clock.now(), tenantId);
  await store.approvals.update(approval.id, () => ({ next: approval, result: undefined }));
  return { store, queue, reporter: recordingReporter().reporter, clock, events: NO_APPROVAL_EVENTS };
}

const approver = (label: string, tenants: Approver['tenants']): Approver => ({
  label,
  objectId: null,
  tenants,
});
const approve = (by: Approver) => ({
  approvalId: APPROVAL,
  verdict: 'approve' as const,
  reason: 'ok',
  approver: by,
});

describe('a held isolation of a listed tenant', () => {
  it("refuses an approver without the tenant's role with 403, naming the role, and records nothing", async () => {
    const deps = await withApproval(CONTOSO);
    const result = await voteOnApproval(deps, approve(approver('bob@fabrikam.com', [FABRIKAM])));
    expect(voteAnswer(result)).toEqual({
      status: 403,
      body: {
        error: {
          code: 'tenant-forbidden',
          message: `deciding an isolation in tenant ${CONTOSO} needs the app role Isolation.Tenant.${CONTOSO} or Isolation.Tenant.All`,
        },
      },
    });
    expect(await deps.store.approvals.get(APPROVAL)).toMatchObject({ state: 'pending', votes: [] });
  });

  it("counts the votes of an approver with the tenant's role and of one with every tenant's", async () => {
    const deps = await withApproval(CONTOSO);
    const first = await voteOnApproval(deps, approve(approver('carol@contoso.com', [CONTOSO])));
    expect(first.kind).toBe('recorded');
    const second = await voteOnApproval(deps, approve(approver('lead@mssp.example', 'every')));
    expect(second.kind).toBe('approved');
  });
});

it('leaves approvers of a single-tenant deployment as they were: no held request names a tenant', async () => {
  const deps = await withApproval();
  const result = await voteOnApproval(deps, approve(approver('carol@contoso.com', [])));
  expect(result.kind).toBe('recorded');
});
