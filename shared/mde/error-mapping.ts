/**
 * Turns an MDE HTTP answer or a failure before one into one of the typed errors of errors.ts.
 */
import { NoAnswerError, retryAfterOf, TokenUnavailableError } from '../http/json-client';
import { errorMessage } from '../kernel/errors';
import type { MdeApiName } from './api';
import {
  ActionAlreadyInProgressError,
  type AnyMdeError,
  BadRequestError,
  ForbiddenError,
  type MdeErrorDetails,
  NotFoundError,
  RateLimitedError,
  RestrictedDeviceError,
  type TransientCause,
  TransientError,
  UnauthorizedError,
  UnsupportedError,
} from './errors';

export interface FailedCall {
  operation: string;
  api: MdeApiName;
  method: 'GET' | 'POST';
}

interface MdeErrorBody {
  code?: string;
  message?: string;
  target?: string;
}

/** The `{ error: { code, message, target } }` object of §3, if the body has one. */
function errorBodyOf(data: unknown): MdeErrorBody {
  const error = (data as { error?: unknown } | null)?.error;
  if (!error || typeof error !== 'object') return {};
  const { code, message, target } = error as Record<string, unknown>;
  return {
    code: typeof code === 'string' ? code : undefined,
    message: typeof message === 'string' ? message : undefined,
    target: typeof target === 'string' ? target : undefined,
  };
}

/**
 * The duplicate-action answer: the code clients match on, or the documented message alone, which is
 * all the unisolate page quotes (docs/mde-api.md §6, §10, §11).
 */
function isAlreadyInProgress(body: MdeErrorBody): boolean {
  return (
    body.code === 'ActiveRequestAlreadyExists' ||
    /\bAction is already in progress\b/i.test(body.message ?? '')
  );
}

/** What a refusal of a response action on a restricted or excluded device says (docs/mde-api.md §15). */
const RESTRICTION_WORDING = /\b(restricted|excluded)\b/i;

/**
 * A refusal that names the device, not the app: an isolate or release MDE will not carry out on this
 * device whoever asks (docs/mde-api.md §15). MDE documents no code for it, so a 400 or 403 on an action
 * POST counts when its code is `DisallowedOperation` or its message says the device's response
 * actions are restricted or the device excluded; a missing permission names roles, never the device.
 */
function isRestrictedDevice(call: FailedCall, status: number, body: MdeErrorBody): boolean {
  if (call.api !== 'isolate' && call.api !== 'unisolate') return false;
  if (status !== 400 && status !== 403) return false;
  if (/missing application roles/i.test(body.message ?? '')) return false;
  return body.code === 'DisallowedOperation' || RESTRICTION_WORDING.test(body.message ?? '');
}

/** The permission an app token needs for a family of calls (docs/mde-api.md §2). */
export function requiredPermission(api: MdeApiName): string {
  // Cancelling takes any action permission; this app holds Machine.Isolate (docs/mde-api.md §2).
  return api === 'isolate' || api === 'unisolate' || api === 'cancel'
    ? 'Machine.Isolate'
    : 'Machine.Read.All';
}

export function errorFromResponse(
  call: FailedCall,
  status: number,
  data: unknown,
  headers: Record<string, unknown>,
): AnyMdeError {
  const body = errorBodyOf(data);
  const details: MdeErrorDetails = {
    operation: call.operation,
    api: call.api,
    status,
    code: body.code,
    apiMessage: body.message,
    target: body.target,
  };
  const said = `${status}${body.code ? ` ${body.code}` : ''}${body.message ? `: ${body.message}` : ''}`;
  const message = `MDE ${call.operation} failed with ${said}`;

  if (status === 429) return new RateLimitedError(message, details, retryAfterOf(headers));
  if (status >= 500) return new TransientError(message, details, 'server-error', call.method === 'POST');
  if (status === 401) return new UnauthorizedError(message, details);
  if (isRestrictedDevice(call, status, body))
    return new RestrictedDeviceError(
      `MDE refuses response actions on this device (${said}): it was onboarded with restricted response actions or is excluded; retrying will not change that, contain it by other means or change its onboarding`,
      details,
    );
  if (status === 403) return new ForbiddenError(requiredPermission(call.api), details);
  if (status === 404) return new NotFoundError(message, details);
  if (isAlreadyInProgress(body)) return new ActionAlreadyInProgressError(message, details);
  if (body.code === 'OsPlatformNotSupported' || body.code === 'ClientVersionNotSupported')
    return new UnsupportedError(message, details);
  return new BadRequestError(message, details);
}

/**
 * A request that got no HTTP answer at all (a NoAnswerError of the HTTP client, or anything else
 * thrown on the way, read as a network failure).
 */
export function errorFromNetwork(call: FailedCall, error: unknown): TransientError {
  const details: MdeErrorDetails = { operation: call.operation, api: call.api };
  const cause: TransientCause = error instanceof NoAnswerError ? error.noAnswerCause : 'network';
  // A refused connection never reached MDE; anything later may have, for a POST.
  const mayHaveExecuted = call.method === 'POST' && cause !== 'connection-refused';
  const reason = error instanceof NoAnswerError ? error.reason : errorMessage(error);
  return new TransientError(
    `MDE ${call.operation} got no answer (${cause}: ${reason})`,
    details,
    cause,
    mayHaveExecuted,
  );
}

/** What the HTTP client threw before MDE answered, as a typed error; anything else unchanged. */
export function errorBeforeAnswer(call: FailedCall, error: unknown): unknown {
  if (error instanceof TokenUnavailableError)
    return new TransientError(
      error.message,
      { operation: call.operation, api: call.api },
      'token-unavailable',
      false,
    );
  if (error instanceof NoAnswerError) return errorFromNetwork(call, error);
  return error;
}
