/**
 * A request in dry-run ends here, before anything is held or posted: it reports what enforce would do
 * with the device's actions in MDE (dry-run.ts), and changes nothing.
 */
import { dryRunVerdict } from './dry-run';
import { type Ending, isEnding, outcome } from './ending';
import { asOf, type Plan, type Target, type WorkerDeps, where } from './life';
import { actionsSinceReceipt, actionsUnderWay, ownership } from './prior-actions';

/**
 * Why the request ends as a dry run, or null to enforce it. Both modes must say enforce: the one the
 * request was decided in (a request queued in dry-run stays a dry run even if enforce was switched
 * on while it waited) and the policy's mode now.
 */
export function dryRunCause(
  { policy }: Pick<WorkerDeps, 'policy'>,
  { request }: Target,
  { decision }: Plan,
): string | null {
  if (request.mode === 'dry-run') return 'queued in dry-run mode';
  return (decision?.mode ?? policy.modeFor(request.alert)) === 'dry-run' ? 'policy in dry-run mode' : null;
}

export async function endAsDryRun(
  deps: WorkerDeps,
  target: Target,
  { decision }: Plan,
  dryRunBy: string,
): Promise<Ending> {
  const seen = await actionsUnderWay(deps, target);
  if (isEnding(seen)) return seen;
  const { request, verb, machine } = target;
  const name = machine.computerDnsName ?? machine.id;
  const since = actionsSinceReceipt(target, seen.go);
  const ours = await ownership(deps, seen.go.ledger);
  const { would, actionId } = dryRunVerdict(verb, name, decision, seen.go.history, since, asOf(deps), ours);
  return outcome(request, {
    ...where(machine),
    outcome: 'dry-run',
    rule: decision?.rule,
    ...(actionId && { actionId }),
    reason: `dry-run: ${would} [${dryRunBy}; nothing posted]`,
  });
}
