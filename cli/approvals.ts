/**
 * `approvals list|approve|deny`: the isolations held for approval (shared/approvals/), read from the
 * store, and a person's decision on one. An approval this process completes sends the held request on
 * and, as `isolate` does, runs it here until it ends (the worker decides it again first); a second
 * approver still needed, or a deny, ends the verb at once.
 */
import type { Command } from 'commander';
import { heldTenantLabel, viewOf } from '../shared/approvals/views';
import type { VoteOrder } from '../shared/approvals/vote';
import { APPROVAL_STATES, type ApprovalRecord, type ApprovalState } from '../shared/state/store';
import { tenantDirectory } from '../shared/tenants/lookup';
import { type CliContext, type CliIo, EXIT } from './context';
import {
  DEFAULT_WAIT_SECONDS,
  outcomeRow,
  renderSummary,
  type SessionFlags,
  startSession,
  timeScaleOption,
  writeJsonResult,
  writeNotes,
} from './dispatch-session';
import { withExamples } from './help';
import { dispatchExitCode } from './outcome-exit';
import {
  type Column,
  endOnStoreError,
  formatOf,
  type OutputFlags,
  rowsText,
  withOutputOptions,
  writeJson,
} from './output';
import { openReads, operatorName } from './read-session';

export interface ApprovalsListOptions extends OutputFlags {
  state?: string;
}

const COLUMNS: Column[] = [
  { head: 'Approval', min: 8, kind: 'id' },
  { head: 'Device', min: 12 },
  { head: 'State', min: 8 },
  { head: 'Deadline', min: 16, kind: 'time' },
  { head: 'Held by', min: 10 },
  { head: 'Reason', min: 15, flex: true, dropBelow: 100 },
];

/** With a tenant list, the tenant each held isolation acts in: one list holds every tenant's. */
const TENANT_COLUMNS: Column[] = [
  COLUMNS[0],
  { head: 'Tenant', min: 8 },
  ...COLUMNS.slice(1).map((column) => (column.kind === 'time' ? { ...column, min: 10 } : column)),
];

function rowOf(record: ApprovalRecord): string[] {
  return [
    record.id,
    record.computerDnsName ?? record.machineId,
    record.state,
    record.deadline,
    record.askedBy,
    record.reason,
  ];
}

/** Exit 0 with the approvals (none is an answer too), 2 on an unknown state, 1 when the store failed. */
export async function runApprovalsList(options: ApprovalsListOptions, io: CliIo): Promise<number> {
  const state = options.state as ApprovalState | undefined;
  if (state !== undefined && !APPROVAL_STATES.includes(state)) {
    io.stderr.write(
      `approvals: --state must be one of ${APPROVAL_STATES.join(', ')}, not "${options.state}"\n`,
    );
    return EXIT.badInput;
  }
  const runtime = openReads('approvals', io, true);
  if (typeof runtime === 'number') return runtime;
  try {
    const records = await runtime.store.approvals.list({ state });
    const format = formatOf(options, io);
    const tenants = tenantDirectory(runtime.config.tenants);
    if (format === 'json')
      writeJson(
        io,
        options,
        records.map((record) => viewOf(record, tenants)),
      );
    else
      io.stdout.write(
        rowsText(
          io,
          options,
          format,
          tenants.mode === 'multi' ? TENANT_COLUMNS : COLUMNS,
          records.map((record) => {
            const row = rowOf(record);
            if (tenants.mode === 'single') return row;
            // A request queued before the list names no tenant: the deployment's own.
            return [row[0], heldTenantLabel(record, tenants)?.displayName ?? '-', ...row.slice(1)];
          }),
          `no approval${state ? ` ${state}` : ''}`,
        ),
      );
    return EXIT.ok;
  } catch (error) {
    return endOnStoreError(io, formatOf(options, io), 'approvals', error);
  } finally {
    await runtime.close();
  }
}

export interface VoteOptions extends SessionFlags {
  reason?: string;
  by?: string;
}

/**
 * Exit 0 once approved and ended as asked, or denied, or counted awaiting a second approver; 3 when
 * refused (self-approval, decided, expired, unknown) or the re-decided isolation was not carried out;
 * 1 when a call failed; 2 on bad input.
 */
export async function runVote(
  verdict: VoteOrder['verdict'],
  approvalId: string,
  options: VoteOptions,
  io: CliIo,
): Promise<number> {
  const verb = `approvals ${verdict}`;
  const reason = options.reason?.trim();
  if (!reason) {
    io.stderr.write(`${verb}: --reason is required; it is recorded with your name\n`);
    return EXIT.badInput;
  }
  const started = await startSession(verb, io, { ...options, policy: undefined });
  if (typeof started === 'number') return started;
  const session = started;
  try {
    const result = await session.runtime.voteOnApproval({
      approvalId: approvalId.trim(),
      verdict,
      reason,
      // The CLI signs in as the app's identity, which acts in every listed tenant: no role to check.
      approver: { label: operatorName(io, options.by), objectId: null, tenants: 'every' },
    });
    if (result.kind === 'refused') {
      io.stderr.write(`${verb}: ${result.message}\n`);
      return EXIT.notCarriedOut;
    }
    if (result.kind !== 'approved') {
      const said =
        result.kind === 'denied'
          ? 'denied: nothing is posted'
          : 'approval counted: a second, different person must approve';
      if (session.format === 'json')
        writeJsonResult(io, session, 'ended', { status: result.kind, approvalId });
      else io.stdout.write(`${approvalId}: ${said}\n`);
      return EXIT.ok;
    }
    session.startProgress(1, 'isolating');
    const end = await session.finish();
    const outcomes = session.outcomes.filter((o) => o.requestId === result.approval.id);
    if (session.format === 'json') writeJsonResult(io, session, end, { outcomes });
    else if (outcomes.length > 0)
      io.stdout.write(
        renderSummary(
          outcomes.map((o) => outcomeRow(o, 'isolate (approved)')),
          io,
          session,
        ),
      );
    writeNotes(io, session.notes);
    if (end === 'interrupted') return EXIT.interrupted;
    return dispatchExitCode({ outcomes, unfinished: outcomes.length === 0 ? 1 : 0 });
  } finally {
    await session.close();
  }
}

export function registerApprovals(program: Command, cli: CliContext): void {
  const approvals = program
    .command('approvals')
    .description('isolations held for approval: list them, approve or deny one with a reason');
  const list = approvals
    .command('list')
    .description('list approvals, newest first: pending and recent ones with every decision')
    .option('--state <state>', `only approvals in this state (${APPROVAL_STATES.join(', ')})`);
  withExamples(withOutputOptions(list), [
    'mde-isolator approvals list --state pending',
    'mde-isolator approvals list -o json',
  ]).action(async (options: ApprovalsListOptions) => {
    cli.exitWith(await runApprovalsList(options, cli.io));
  });
  for (const verdict of ['approve', 'deny'] as const) {
    const command = approvals
      .command(verdict)
      .description(
        verdict === 'approve'
          ? 'approve a held isolation; once approved it is decided again and posted here'
          : 'deny a held isolation: nothing is posted',
      )
      .argument('<approvalId>', 'the approval id (approvals list)')
      .option('--reason <text>', 'why: recorded with your name (required)')
      .option('--by <name>', 'who decides (default: the login name)')
      .option('--wait <seconds>', `longest wait for the isolation to end (default ${DEFAULT_WAIT_SECONDS})`)
      .addOption(timeScaleOption());
    withExamples(withOutputOptions(command), [
      `mde-isolator approvals ${verdict} "$APPROVAL" --reason 'IR-1042: ${verdict === 'approve' ? 'confirmed' : 'false positive'}'`,
    ]).action(async (approvalId: string, options: VoteOptions) => {
      cli.exitWith(await runVote(verdict, approvalId, options, cli.io));
    });
  }
}
