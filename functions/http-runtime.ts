import type { HttpResponseInit, InvocationContext } from '@azure/functions';
import type { Runtime } from '../shared/runtime';

/** A JSON error answer: `error.code`, `error.message` and, for a bad body, `error.path`. */
export function jsonProblem(status: number, code: string, message: string, path?: string): HttpResponseInit {
  return { status, jsonBody: { error: path ? { code, message, path } : { code, message } } };
}

/**
 * The process runtime for one HTTP call, or the 503 that ends it when the settings or the policy are
 * invalid. Read on every call, not cached by a function file: getRuntime() already creates it once,
 * and one installed later (tests) or recreated after closeRuntime() must be the one used. Loaded on
 * first use, not when the host imports the function file: the pipeline's SDKs would otherwise weigh
 * on every cold start (docs/architecture.md §8).
 */
export async function httpRuntime(
  context: InvocationContext,
): Promise<{ runtime: Runtime } | { response: HttpResponseInit }> {
  const { getRuntime, isMisconfiguration } = await import('../shared/runtime');
  try {
    return { runtime: getRuntime() };
  } catch (error) {
    if (!isMisconfiguration(error)) throw error;
    // Details go to the log only: the caller of a function key learns nothing about settings or policy.
    context.error(error.message);
    return {
      response: jsonProblem(
        503,
        'misconfigured',
        'the app settings or the isolation policy are invalid; see the logs',
      ),
    };
  }
}
