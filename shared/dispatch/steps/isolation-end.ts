/**
 * What a successful isolation schedules for its end (docs/decisions/0016-isolation-expiry-and-time-
 * boxes.md): the release of its time box (time-box.ts), or its renewal at MDE's lift (renewal.ts). The
 * tracker and the worker (an isolation adopted already done) call this one step.
 */
import type { MachineAction } from '../../mde/types';
import type { IsolationRequest } from '../request';
import type { RequestQueue } from '../transport/queue';
import { scheduleRenewal } from './renewal';
import { scheduleTimeBoxRelease } from './time-box';

export async function scheduleIsolationEnd(
  queue: RequestQueue,
  request: IsolationRequest,
  isolation: MachineAction,
  platformLiftMs: number,
  now: number,
): Promise<void> {
  const box = request.isolateForMs;
  if (box !== undefined && box < platformLiftMs)
    return scheduleTimeBoxRelease(queue, request, isolation, platformLiftMs, now);
  return scheduleRenewal(queue, request, isolation, platformLiftMs, now);
}
