import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import type { ManualAnswer } from '../shared/manual/answer';
import type { Caller, CallerRole } from '../shared/manual/caller';
import type { ManualCommand, OrderProblem } from '../shared/manual/order';
import type { Runtime } from '../shared/runtime';
import { httpRuntime, jsonProblem } from './http-runtime';
import { inInvocation } from './invocation';

/**
 * The manual operations (docs/guide/manual-operations.md): isolate and release in this app's shape and in
 * MDE's, the register, and cancelling a pending action. Functions of their own, so their keys are not the alert relays' key; with
 * Easy Auth on (MANUAL_EASY_AUTH) every call also needs a principal holding the operator role.
 * The pipeline loads on first call, as in alerts.ts (docs/architecture.md §8).
 */

/** A manual order is a few hundred bytes; this bounds what a caller can make the function buffer. */
const MAX_ORDER_BYTES = 16 * 1024;

export function send(answer: ManualAnswer): HttpResponseInit {
  return { status: answer.status, jsonBody: answer.body, headers: answer.headers };
}

export type Session = { runtime: Runtime; caller: Caller };

/** The runtime and the caller, or the answer that ends the call: misconfigured, not signed in, no role. */
export async function openSession(
  request: HttpRequest,
  context: InvocationContext,
  role?: CallerRole,
): Promise<Session | HttpResponseInit> {
  const opened = await httpRuntime(context);
  if ('response' in opened) return opened.response;
  const { runtime } = opened;
  const { identifyCaller } = await import('../shared/manual/caller');
  const check = identifyCaller(request.headers, runtime.config.manualEasyAuth, role);
  if (!check.ok) return jsonProblem(check.status, check.code, check.message);
  return { runtime, caller: check.caller };
}

export const isSession = (value: Session | HttpResponseInit): value is Session => 'runtime' in value;

/**
 * The session in the tenant `?tenant=` names (docs/decisions/0033-operator-authorization-per-tenant.md):
 * a listed tenant's client, store and policy, if the caller may act there; the deployment's without
 * a tenant list. A device id means nothing across customers, so with a list the tenant is required.
 */
export async function openTenantSession(
  request: HttpRequest,
  context: InvocationContext,
  role?: CallerRole,
): Promise<Session | HttpResponseInit> {
  const session = await openSession(request, context, role);
  if (!isSession(session)) return session;
  const { orderTenant, QUERY_TENANT } = await import('../shared/manual/tenant');
  const { runtime, caller } = session;
  const tenant = orderTenant(request.query.get('tenant'), runtime.tenants, caller, QUERY_TENANT);
  if ('refused' in tenant) return send(tenant.refused);
  if (tenant.tenantId === undefined) return session;
  return { caller, runtime: { ...runtime, ...runtime.tenant(tenant.tenantId) } };
}

async function readOrder(request: HttpRequest): Promise<{ order: unknown } | HttpResponseInit> {
  const { checkRequestHead, isHttpProblem, parseJsonBody, readBodyWithin } = await import(
    '../shared/intake/http-body'
  );
  const head = checkRequestHead(request.method, request.headers, MAX_ORDER_BYTES);
  const read = head ?? (await readBodyWithin(request.body, MAX_ORDER_BYTES));
  if (isHttpProblem(read)) return jsonProblem(read.status, read.code, read.message, read.path);
  const parsed = parseJsonBody(read.bytes);
  if (isHttpProblem(parsed)) return jsonProblem(parsed.status, parsed.code, parsed.message, parsed.path);
  return { order: parsed.value };
}

type Parse = (body: unknown, request: HttpRequest) => Promise<ManualCommand | OrderProblem>;

/** One order endpoint: session, body, parse, carry out; `shape` turns a posted action into MDE's answer. */
function orderEndpoint(parse: Parse, shape: (answer: ManualAnswer) => ManualAnswer = (a) => a) {
  return inInvocation(async (request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> => {
    const session = await openSession(request, context);
    if (!isSession(session)) return session;
    const read = await readOrder(request);
    if (!('order' in read)) return read;
    const { isOrderProblem } = await import('../shared/manual/order');
    const command = await parse(read.order, request);
    if (isOrderProblem(command))
      return jsonProblem(command.status, command.code, command.message, command.path);
    const { carryOutManualOrder } = await import('../shared/manual/operations');
    try {
      return send(shape(await carryOutManualOrder(command, session.caller, session.runtime)));
    } catch (error) {
      // Nothing the caller can fix, and nothing posted unchecked: the details go to the log only.
      context.error(error instanceof Error ? error.message : String(error));
      return jsonProblem(
        503,
        'unavailable',
        'the order could not be carried out; nothing was posted: try again shortly',
      );
    }
  });
}

const native =
  (verb: 'isolate' | 'release'): Parse =>
  async (body) =>
    (await import('../shared/manual/order')).parseOrder(verb, body);
const mdeShaped =
  (verb: 'isolate' | 'release'): Parse =>
  async (body, request) =>
    (await import('../shared/manual/order')).parseMdeOrder(verb, request.params.id ?? '', body);

/** MDE answers a posted action with the MachineAction itself; scripts written for it read that. */
function asMdeAnswer(answer: ManualAnswer): ManualAnswer {
  const { action } = answer.body;
  return (answer.status === 201 || answer.status === 200) && action && typeof action === 'object'
    ? { ...answer, body: action as Record<string, unknown> }
    : answer;
}

export const isolate = orderEndpoint(native('isolate'));
export const release = orderEndpoint(native('release'));
export const machineIsolate = orderEndpoint(mdeShaped('isolate'), asMdeAnswer);
export const machineUnisolate = orderEndpoint(mdeShaped('release'), asMdeAnswer);

export async function isolations(
  request: HttpRequest,
  context: InvocationContext,
): Promise<HttpResponseInit> {
  const session = await openTenantSession(request, context);
  if (!isSession(session)) return session;
  const { listIsolations } = await import('../shared/manual/reads');
  return send(await listIsolations(session.runtime.store, request.query));
}

export async function isolation(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  const session = await openTenantSession(request, context);
  if (!isSession(session)) return session;
  const { isolationOf } = await import('../shared/manual/reads');
  return send(await isolationOf(session.runtime.store, request.params.machineId ?? ''));
}

export async function action(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  const session = await openTenantSession(request, context);
  if (!isSession(session)) return session;
  const { actionOf } = await import('../shared/manual/reads');
  return send(await actionOf(session.runtime.api, session.runtime.store, request.params.actionId ?? ''));
}

/**
 * A keyed POST about one thing named in the route (an action, a machine): session, body, `parse`, then
 * `act` answers it for the caller.
 */
export function bodyEndpoint<Body extends object>(
  parse: (body: unknown) => Promise<Body | OrderProblem>,
  act: (session: Session, body: Body, request: HttpRequest) => Promise<ManualAnswer>,
  role?: CallerRole,
  /** What the route names lives in one tenant (`?tenant=`): an action, an isolated machine. */
  inTenant = false,
) {
  return inInvocation(async (request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> => {
    const session = await (inTenant ? openTenantSession : openSession)(request, context, role);
    if (!isSession(session)) return session;
    const read = await readOrder(request);
    if (!('order' in read)) return read;
    const { isOrderProblem } = await import('../shared/manual/order');
    const body = await parse(read.order);
    if (isOrderProblem(body)) return jsonProblem(body.status, body.code, body.message, body.path);
    return send(await act(session, body, request));
  });
}

/** `POST /api/actions/{actionId}/cancel` with `{ reason, force? }` (shared/manual/cancel.ts). */
export const cancelAction = bodyEndpoint(
  async (body) => (await import('../shared/manual/order')).parseCancelBody(body),
  async ({ runtime, caller }, body, request) =>
    (await import('../shared/manual/cancel')).cancelForCaller(
      runtime,
      request.params.actionId ?? '',
      body,
      caller,
    ),
  undefined,
  true,
);

/** `POST /api/isolations/{machineId}/extend` with `{ for, reason }` (shared/manual/extend.ts). */
export const extendIsolation = bodyEndpoint(
  async (body) => (await import('../shared/manual/order')).parseExtendBody(body),
  async ({ runtime, caller }, body, request) => {
    const { extendForCaller } = await import('../shared/manual/extend');
    const { asOfFor } = await import('../shared/dispatch/steps/expiry');
    return extendForCaller(runtime, request.params.machineId ?? '', body, caller, asOfFor(runtime));
  },
  undefined,
  true,
);

/** Every manual endpoint, as registered (the OpenAPI test compares docs/openapi.json with this). */
export const MANUAL_FUNCTIONS = {
  isolate: { methods: ['POST'], authLevel: 'function', route: 'isolate', handler: isolate },
  release: { methods: ['POST'], authLevel: 'function', route: 'release', handler: release },
  machineIsolate: {
    methods: ['POST'],
    authLevel: 'function',
    route: 'machines/{id}/isolate',
    handler: machineIsolate,
  },
  machineUnisolate: {
    methods: ['POST'],
    authLevel: 'function',
    route: 'machines/{id}/unisolate',
    handler: machineUnisolate,
  },
  isolations: { methods: ['GET'], authLevel: 'function', route: 'isolations', handler: isolations },
  isolation: { methods: ['GET'], authLevel: 'function', route: 'isolations/{machineId}', handler: isolation },
  extendIsolation: {
    methods: ['POST'],
    authLevel: 'function',
    route: 'isolations/{machineId}/extend',
    handler: extendIsolation,
  },
  action: { methods: ['GET'], authLevel: 'function', route: 'actions/{actionId}', handler: action },
  cancelAction: {
    methods: ['POST'],
    authLevel: 'function',
    route: 'actions/{actionId}/cancel',
    handler: cancelAction,
  },
} as const;

for (const [name, options] of Object.entries(MANUAL_FUNCTIONS))
  app.http(name, { ...options, methods: [...options.methods] });
