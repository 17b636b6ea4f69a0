/**
 * For tests of the HTTP intake: the process runtime queues isolation requests in memory but handles
 * none, as if no worker were running, so intake tests never reach MDE or an identity endpoint.
 */
import { closeRuntime, createRuntime, installRuntime, type Runtime } from '../../shared/runtime';
import { silentReporter } from '../support/reporter';

export function useQueueOnlyRuntime(): () => Runtime {
  let runtime: Runtime | null = null;
  beforeAll(() => {
    runtime = installRuntime(createRuntime({ startWorker: false, reporter: silentReporter }));
  });
  afterAll(() => closeRuntime());
  return () => {
    if (!runtime) throw new Error('runtime not installed yet');
    return runtime;
  };
}
