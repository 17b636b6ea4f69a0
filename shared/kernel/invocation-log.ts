/**
 * Where records go: the log of the Functions invocation doing the work, so that each trace carries
 * the invocation's `operation_Id` in Application Insights, and the console otherwise (the CLI, the
 * demo, the tests, work that outlives its invocation). The process-wide runtime reports from deep
 * inside dispatch, so the invocation is carried implicitly with the async flow, not passed down
 * (docs/decisions/0019-records-through-the-invocation-context.md).
 */
import { AsyncLocalStorage } from 'node:async_hooks';

/** What a trace is written with: the Functions `InvocationContext` fits it, and so does `console`. */
export interface TraceWriter {
  log(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

export type RecordLevel = 'info' | 'warn' | 'error';

/** The invocation a piece of work runs for. */
export interface Invocation {
  writer: TraceWriter;
  /** Its W3C trace context (`traceparent`), carried on the messages it sends. */
  traceParent?: string | null;
}

interface Scope extends Invocation {
  /** False once the invocation returned: the host drops (and warns about) logs written after its end. */
  open: boolean;
}

const scopes = new AsyncLocalStorage<Scope>();

/** Runs `work` as `invocation`: every record written from its async flow goes to its log. */
export async function withinInvocation<T>(invocation: Invocation, work: () => Promise<T>): Promise<T> {
  const scope: Scope = { ...invocation, open: true };
  try {
    return await scopes.run(scope, work);
  } finally {
    scope.open = false;
  }
}

function openScope(): Scope | null {
  const scope = scopes.getStore();
  return scope?.open ? scope : null;
}

/** One record as one JSON line, at its level, to the current invocation's log or the console. */
export function writeRecord(level: RecordLevel, record: object): void {
  const writer = openScope()?.writer ?? console;
  const line = JSON.stringify(record);
  if (level === 'error') writer.error(line);
  else if (level === 'warn') writer.warn(line);
  else writer.log(line);
}

/** `version-traceid-parentid-flags`, lowercase hex (https://www.w3.org/TR/trace-context/#traceparent-header). */
const TRACE_PARENT = /^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/;

/**
 * The current invocation's `traceparent`, when it has a well-formed one. Work that outlives its
 * invocation (timers the runtime started in the first one) belongs to no trace.
 */
export function currentTraceParent(): string | null {
  const traceParent = openScope()?.traceParent;
  return traceParent && TRACE_PARENT.test(traceParent) ? traceParent : null;
}
