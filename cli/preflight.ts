/**
 * Pre-flight: before a verb does any work, one connection, one token and one cheap read (a machines
 * lookup of a name that cannot exist, within the machines budget) tell whether the API and the identity
 * work at all. Nothing listening at MDE_API_URL, a refused sign-in or a refused token fails the command
 * at once with one line naming the cause and the fix (docs/mde-api.md §3): no retry can fix them. A
 * transient answer (5xx, timeout, reset) is retried as the worker retries it, with the same backoff and
 * the same bound on attempts: one lost answer of a flaky API must not abandon a whole run.
 */
import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { AppConfig } from '../shared/config';
import { type DispatchTiming, transientRetryDelayMs } from '../shared/dispatch/timing';
import type { MdeApi } from '../shared/mde/api';
import { signInOf } from '../shared/mde/credential';
import { type AnyMdeError, isMdeApiError, isRetryable } from '../shared/mde/errors';
import type { CliIo } from './context';
import { mdeErrorText } from './mde-error-text';

/** A name no device has (`.invalid` is reserved, RFC 2606): the lookup reads nothing but proves the path. */
export const PREFLIGHT_NAME = 'mde-isolator-preflight.invalid';

export type PreflightFailureKind =
  | 'identity-endpoint-refused'
  | 'no-sign-in'
  | 'connection-refused'
  | 'no-answer'
  | 'token-rejected'
  | 'forbidden'
  | 'wrong-audience'
  | 'server-error'
  | 'interrupted';

export interface PreflightFailure {
  kind: PreflightFailureKind;
  /** One line: what failed and how to fix it. */
  message: string;
}

type Env = Readonly<Record<string, string | undefined>>;

function signInFailure(env: Env, config: Pick<AppConfig, 'managedIdentityClientId'>): PreflightFailure {
  if (env.IDENTITY_ENDPOINT)
    return {
      kind: 'identity-endpoint-refused',
      message:
        `the identity endpoint at IDENTITY_ENDPOINT (${env.IDENTITY_ENDPOINT}) refused the token request: ` +
        'IDENTITY_HEADER is stale or wrong; re-export the settings line the simulator printed ' +
        '(or unset IDENTITY_ENDPOINT and IDENTITY_HEADER to sign in with `az login`)',
    };
  switch (signInOf(config, env)) {
    case 'app-registration':
      return {
        kind: 'no-sign-in',
        message:
          `no token for the app registration AZURE_CLIENT_ID=${config.managedIdentityClientId}: check AZURE_TENANT_ID ` +
          'and the secret (AZURE_CLIENT_SECRET) or certificate (AZURE_CLIENT_CERTIFICATE_PATH) ' +
          '(docs/guide/cli.md "Signing in from a workstation")',
      };
    case 'user-assigned-managed-identity':
      return {
        kind: 'no-sign-in',
        message:
          `no token for the managed identity AZURE_CLIENT_ID=${config.managedIdentityClientId}: there is no managed ` +
          'identity endpoint here; on a workstation set AZURE_TENANT_ID and AZURE_CLIENT_SECRET for an app ' +
          'registration, or unset AZURE_CLIENT_ID and run `az login`',
      };
    default:
      return {
        kind: 'no-sign-in',
        message:
          'no sign-in found: run `az login` as a user with the Defender for Endpoint roles, or set ' +
          'AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET for an app registration (docs/guide/cli.md "Signing in from a workstation")',
      };
  }
}

type PreflightConfig = Pick<
  AppConfig,
  'apiBaseUrl' | 'cloud' | 'managedIdentityClientId' | 'requestTimeoutMs'
>;

function connectionRefused(config: Pick<AppConfig, 'apiBaseUrl'>): PreflightFailure {
  return {
    kind: 'connection-refused',
    message: `connection refused at MDE_API_URL (${config.apiBaseUrl}): nothing listens there; start the simulator or fix MDE_API_URL / MDE_CLOUD`,
  };
}

/**
 * Why `error` (from the pre-flight call) ends the command at once: the identity or its permissions, or
 * nothing listening at the API; null when retrying or going on may help.
 */
function immediateFailure(error: AnyMdeError, env: Env, config: PreflightConfig): PreflightFailure | null {
  switch (error.kind) {
    case 'unauthorized':
      return {
        kind: 'token-rejected',
        message:
          `MDE at ${config.apiBaseUrl} refused the token (401), also one fetched anew: the token is not for this ` +
          `API; check that MDE_CLOUD (${config.cloud}) is your tenant's cloud and that the identity belongs to that tenant`,
      };
    case 'forbidden':
      // MDE answers 403 both for a missing role and for a token of another audience (docs/mde-api.md §2):
      // only a body naming roles or permissions is a permission problem.
      if (!/\b(roles?|permissions?)\b/i.test(error.apiMessage ?? ''))
        return {
          kind: 'wrong-audience',
          message:
            `MDE at ${config.apiBaseUrl} refused the token (403) without naming a permission: the token is for another ` +
            `API; check that MDE_CLOUD (${config.cloud}) is your tenant's cloud${error.apiMessage ? ` (MDE said: ${error.apiMessage})` : ''}`,
        };
      return {
        kind: 'forbidden',
        message:
          'MDE refused the call (403): the identity lacks Machine.Read.All (application) or Machine.Read ' +
          '(delegated, with a Defender role covering the devices); grant it and give admin consent',
      };
    case 'transient':
      if (error.transientCause === 'token-unavailable') return signInFailure(env, config);
      if (error.transientCause === 'connection-refused') return connectionRefused(config);
      return null;
    default:
      return null;
  }
}

/** Why the command stops once every attempt met a transient failure, the last one `error`. */
function failureAfterRetries(
  error: AnyMdeError,
  attempts: number,
  config: PreflightConfig,
): PreflightFailure {
  const tries = `on ${attempts} attempt(s), retried with backoff`;
  const cause = error.kind === 'transient' ? error.transientCause : error.kind;
  if (cause === 'server-error')
    return {
      kind: 'server-error',
      message: `MDE answered with a server error ${tries}; last: ${mdeErrorText(error)}`,
    };
  return {
    kind: 'no-answer',
    message: `no answer from ${config.apiBaseUrl} ${tries} (last: ${cause}, ${config.requestTimeoutMs} ms each at most): check the network path, a proxy, or MDE_API_URL`,
  };
}

/** axios sends through a proxy when one of these is set (proxy-from-env), lower or upper case. */
const PROXY_VARIABLES = ['http_proxy', 'https_proxy', 'all_proxy'];

/**
 * True when the host of `url` refuses a TCP connection: nothing listens there. Asked before the token,
 * because a stopped simulator is also a stopped identity endpoint, whose sign-in library retries for
 * many seconds before failing as if the identity were wrong. A proxy (which axios honours) makes the
 * API's own port irrelevant, and a connect that neither succeeds nor is refused leaves the answer to
 * the real call: false in both cases.
 */
async function refusesConnections(url: string, timeoutMs: number): Promise<boolean> {
  if (PROXY_VARIABLES.some((name) => process.env[name] || process.env[name.toUpperCase()])) return false;
  const { hostname, port, protocol } = new URL(url);
  return new Promise((answer) => {
    const socket = connect({
      host: hostname.replace(/^\[|\]$/g, ''),
      port: Number(port || (protocol === 'http:' ? 80 : 443)),
      timeout: timeoutMs,
    });
    const end = (refused: boolean) => {
      socket.destroy();
      answer(refused);
    };
    socket.once('connect', () => end(false));
    socket.once('timeout', () => end(false));
    socket.once('error', (error: NodeJS.ErrnoException) => end(error.code === 'ECONNREFUSED'));
  });
}

export interface PreflightRetry {
  /** The worker's retry timing: its transient backoff and its bound on attempts. */
  timing: DispatchTiming;
  /** Told before each wait, e.g. to say on stderr why the command pauses. */
  retrying?: (attempt: number, error: AnyMdeError, delayMs: number) => void;
  /** The operator's Ctrl+C: a wait between attempts ends, and with it the command, before any work. */
  interrupt?: AbortSignal;
}

const INTERRUPTED: PreflightFailure = {
  kind: 'interrupted',
  message: 'interrupted during the pre-flight check; nothing was started',
};

/** Says on stderr, as `WHO: pre-flight attempt N failed (why); retrying in MS ms`, why a command pauses. */
export function sayRetries(stderr: CliIo['stderr'], who: string): PreflightRetry['retrying'] {
  return (attempt, error, delayMs) =>
    stderr.write(
      `${who}: pre-flight attempt ${attempt} failed (${mdeErrorText(error)}); retrying in ${delayMs} ms\n`,
    );
}

/** Runs the pre-flight; the failure when the command should stop, null when it may go on. */
export async function preflight(
  api: MdeApi,
  env: Env,
  config: PreflightConfig,
  retry: PreflightRetry,
): Promise<PreflightFailure | null> {
  if (await refusesConnections(config.apiBaseUrl, config.requestTimeoutMs)) return connectionRefused(config);
  const { timing } = retry;
  for (let attempt = 1; ; attempt += 1) {
    if (retry.interrupt?.aborted) return INTERRUPTED;
    try {
      await api.findMachinesByDnsName(PREFLIGHT_NAME);
      return retry.interrupt?.aborted ? INTERRUPTED : null;
    } catch (error) {
      if (!isMdeApiError(error)) throw error;
      const failure = immediateFailure(error, env, config);
      if (failure) return failure;
      // A 429 or an answer about the name itself: the identity and the API work, and the worker
      // honours Retry-After on its own calls.
      if (error.kind === 'rate-limited' || !isRetryable(error)) return null;
      if (attempt >= timing.transientMaxAttempts) return failureAfterRetries(error, attempt, config);
      const delayMs = transientRetryDelayMs(attempt, timing, Math.random);
      retry.retrying?.(attempt, error, delayMs);
      // Ends early, rejecting, only when interrupted: the loop's first line then says so.
      await sleep(delayMs, undefined, { signal: retry.interrupt }).catch(() => undefined);
    }
  }
}
