/**
 * The calls that already hold a budget slot, lined up per API by priority with at most
 * `maxConcurrent` in flight at once. Bottleneck does the lining; its reservoir is not used, the budget
 * is the sliding-window log (docs/decisions/0007-bottleneck-and-sliding-window-budget.md).
 */
import Bottleneck from 'bottleneck';
import { MDE_APIS, type MdeApiName } from '../../mde/api';

export class CallLine {
  private readonly limiters: Record<MdeApiName, Bottleneck>;

  constructor(maxConcurrent: number) {
    const limiters = {} as Record<MdeApiName, Bottleneck>;
    for (const api of MDE_APIS) limiters[api] = new Bottleneck({ maxConcurrent });
    this.limiters = limiters;
  }

  /** Runs `call` once one of the API's places is free and no call of higher priority (lower number) waits. */
  run<T>(api: MdeApiName, priority: number, call: () => Promise<T>): Promise<T> {
    return this.limiters[api].schedule({ priority }, call);
  }

  /** Resolves once the calls in line have run. */
  async stop(): Promise<void> {
    await Promise.all(MDE_APIS.map((api) => this.limiters[api].stop({ dropWaitingJobs: false })));
  }
}
