/**
 * Typed failures of the Defender for Endpoint API (docs/mde-api.md §3, §4, §10). Each
 * class carries a `kind` so the dispatch layer can switch on it without instanceof chains, and the
 * fields an operator needs to open a support case: HTTP status, MDE error code and the correlation
 * id MDE returns in `target`.
 */
import type { NoAnswerCause } from '../http/json-client';
import type { MdeApiName } from './api';

export type MdeErrorKind =
  | 'refused-before-sending'
  | 'bad-request'
  | 'unauthorized'
  | 'forbidden'
  | 'not-found'
  | 'action-already-in-progress'
  | 'unsupported'
  | 'restricted-device'
  | 'rate-limited'
  | 'transient';

/** Why a transient failure happened; `timeout`/`connection-reset` on a POST may hide an executed action. */
export type TransientCause = NoAnswerCause | 'server-error' | 'token-unavailable';

export interface MdeErrorDetails {
  /** Which client operation failed, e.g. `isolate` or `findMachinesByHostname`. */
  operation: string;
  api: MdeApiName;
  status?: number;
  code?: string;
  apiMessage?: string;
  /** MDE's tracking id for the failed call (`error.target`). */
  target?: string;
}

export abstract class MdeApiError extends Error {
  abstract readonly kind: MdeErrorKind;
  readonly operation: string;
  readonly api: MdeApiName;
  readonly status: number | undefined;
  readonly code: string | undefined;
  readonly apiMessage: string | undefined;
  readonly target: string | undefined;

  constructor(message: string, details: MdeErrorDetails, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.operation = details.operation;
    this.api = details.api;
    this.status = details.status;
    this.code = details.code;
    this.apiMessage = details.apiMessage;
    this.target = details.target;
  }
}

/**
 * The client refused an argument (an id, name, comment, date, page size...) before sending anything:
 * MDE was never called, so nothing was counted, decided or executed there.
 */
export class RefusedBeforeSendingError extends MdeApiError {
  readonly kind = 'refused-before-sending';
  constructor(
    readonly field: string,
    value: string,
    expected: string,
    details: MdeErrorDetails,
  ) {
    // Cut the echo short: the value may be attacker-supplied alert content.
    super(
      `${details.operation} refused before sending to MDE: ${field} "${String(value).slice(0, 80)}" is not ${expected}`,
      details,
    );
  }
}

export class BadRequestError extends MdeApiError {
  readonly kind = 'bad-request';
}

export class UnauthorizedError extends MdeApiError {
  readonly kind = 'unauthorized';
}

/** The identity lacks an application permission (or the token audience is wrong). */
export class ForbiddenError extends MdeApiError {
  readonly kind = 'forbidden';
  constructor(
    readonly requiredPermission: string,
    details: MdeErrorDetails,
  ) {
    super(
      `MDE refused ${details.operation}: the app identity needs the WindowsDefenderATP application permission ` +
        `${requiredPermission} (granted by an app-role assignment to the managed identity)` +
        (details.apiMessage ? `. MDE said: ${details.apiMessage}` : ''),
      details,
    );
  }
}

export class NotFoundError extends MdeApiError {
  readonly kind = 'not-found';
}

/** 400 `ActiveRequestAlreadyExists`: an isolate/unisolate is already pending on the device. Adopt it. */
export class ActionAlreadyInProgressError extends MdeApiError {
  readonly kind = 'action-already-in-progress';
}

/** `OsPlatformNotSupported` or `ClientVersionNotSupported`: retrying never helps. */
export class UnsupportedError extends MdeApiError {
  readonly kind = 'unsupported';
}

/**
 * MDE refuses response actions on this device and will go on refusing them: it was onboarded with
 * restricted response actions, or Defender excludes it (docs/mde-api.md §15). Retrying never helps;
 * a person has to contain the device by other means.
 */
export class RestrictedDeviceError extends MdeApiError {
  readonly kind = 'restricted-device';
}

export class RateLimitedError extends MdeApiError {
  readonly kind = 'rate-limited';
  constructor(
    message: string,
    details: MdeErrorDetails,
    /** How long MDE asked to wait; null when it sent no usable `Retry-After`. */
    readonly retryAfterMs: number | null,
  ) {
    super(message, details);
  }
}

export class TransientError extends MdeApiError {
  readonly kind = 'transient';
  constructor(
    message: string,
    details: MdeErrorDetails,
    readonly transientCause: TransientCause,
    /**
     * True when the request may have reached MDE and been executed although no answer came back
     * (a POST that timed out, lost its connection or got a 5xx). Dispatch must look for an existing
     * action before posting again.
     */
    readonly mayHaveExecuted: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, details, options);
  }
}

export type AnyMdeError =
  | RefusedBeforeSendingError
  | BadRequestError
  | UnauthorizedError
  | ForbiddenError
  | NotFoundError
  | ActionAlreadyInProgressError
  | UnsupportedError
  | RestrictedDeviceError
  | RateLimitedError
  | TransientError;

export function isMdeApiError(error: unknown): error is AnyMdeError {
  return error instanceof MdeApiError;
}

/** Whether sending the same request later can succeed: throttling and temporary failures only. */
export function isRetryable(error: unknown): boolean {
  return isMdeApiError(error) && (error.kind === 'rate-limited' || error.kind === 'transient');
}
