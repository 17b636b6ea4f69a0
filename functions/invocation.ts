import type { InvocationContext } from '@azure/functions';
import { withinInvocation } from '../shared/kernel/invocation-log';

/**
 * A handler whose records go to its invocation's log, so Application Insights ties them to the
 * invocation's operation, and whose queue messages carry its trace context to the worker
 * (docs/decisions/0019-records-through-the-invocation-context.md).
 */
export function inInvocation<T, R>(
  handler: (trigger: T, context: InvocationContext) => Promise<R>,
): (trigger: T, context: InvocationContext) => Promise<R> {
  return (trigger, context) =>
    withinInvocation({ writer: context, traceParent: context.traceContext?.traceParent }, () =>
      handler(trigger, context),
    );
}
