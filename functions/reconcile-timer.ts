import { app, type InvocationContext, type Timer } from '@azure/functions';
import { readReconcileSchedule, type SettingProblem } from '../shared/config';

/**
 * The reconcile timer: on its schedule (RECONCILE_SCHEDULE, every 15 minutes by default) it queues one
 * reconciliation for the worker and ends. It never calls MDE itself: on Flex a timer runs on an
 * instance of its own, and only the worker spends the quota (docs/decisions/0017-reconciler-and-drift.md).
 * A run missed while the app was stopped is not made up (`runOnStartup` off, the host's past-due flag
 * only noted): the next run reads everything since the oldest isolation in force anyway.
 */
export async function reconcileTimer(timer: Timer, context: InvocationContext): Promise<void> {
  const { getRuntime } = await import('../shared/runtime');
  const orderId = await getRuntime().requestReconciliation('timer');
  context.log(
    JSON.stringify({ event: 'reconciliation-queued', reconciliationId: orderId, pastDue: timer.isPastDue }),
  );
}

/**
 * Registers the timer with its schedule from the settings. A schedule the host would refuse is not
 * registered (the host would not start at all): the log and the health details name the setting.
 */
export function registerReconcileTimer(
  env: Readonly<Record<string, string | undefined>> = process.env,
): boolean {
  const problems: SettingProblem[] = [];
  const schedule = readReconcileSchedule(env, problems);
  if (problems.length > 0) {
    console.error(
      `reconcileTimer not registered: ${problems.map((p) => `${p.setting}: ${p.message}`).join('; ')}`,
    );
    return false;
  }
  app.timer('reconcileTimer', { schedule, runOnStartup: false, handler: reconcileTimer });
  return true;
}

registerReconcileTimer();
