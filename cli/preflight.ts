/**
 * Pre-flight: before a verb does any work, one token and one cheap read (a machines lookup of a name
 * that cannot exist, within the machines budget) tell whether the identity and the API work at all.
 * A refused sign-in, a refused connection or a refused token fails the command within seconds with one
 * line naming the cause and the fix, instead of the worker's minutes of backoff (docs/mde-api.md §3).
 */
import type { AppConfig } from '../shared/config';
import type { MdeApi } from '../shared/mde/api';
import { isMdeApiError } from '../shared/mde/errors';

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
  | 'server-error';

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
  if (config.managedIdentityClientId)
    return {
      kind: 'no-sign-in',
      message:
        `no token for the managed identity AZURE_CLIENT_ID=${config.managedIdentityClientId}: there is no managed ` +
        'identity endpoint here; on a workstation unset AZURE_CLIENT_ID and run `az login`',
    };
  return {
    kind: 'no-sign-in',
    message:
      'no sign-in found: run `az login` as a user with the Defender for Endpoint roles, or set ' +
      'AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET for an app registration (README "Signing in")',
  };
}

/** Why `error` (from the pre-flight call) makes every later call pointless; null when it does not. */
export function preflightFailure(
  error: unknown,
  env: Env,
  config: Pick<AppConfig, 'apiBaseUrl' | 'cloud' | 'managedIdentityClientId' | 'requestTimeoutMs'>,
): PreflightFailure | null {
  if (!isMdeApiError(error)) return null;
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
      if (error.transientCause === 'connection-refused')
        return {
          kind: 'connection-refused',
          message: `connection refused at MDE_API_URL (${config.apiBaseUrl}): nothing listens there; start the simulator or fix MDE_API_URL / MDE_CLOUD`,
        };
      if (error.transientCause === 'server-error')
        return { kind: 'server-error', message: `MDE answered with a server error: ${error.message}` };
      return {
        kind: 'no-answer',
        message: `no answer from ${config.apiBaseUrl} (${error.transientCause}) within ${config.requestTimeoutMs} ms: check the network path, a proxy, or MDE_API_URL`,
      };
    default:
      // A 429 or an answer about the name itself: the identity and the API work.
      return null;
  }
}

/** Runs the pre-flight read; the failure when the command should stop, null when it may go on. */
export async function preflight(
  api: MdeApi,
  env: Env,
  config: Pick<AppConfig, 'apiBaseUrl' | 'cloud' | 'managedIdentityClientId' | 'requestTimeoutMs'>,
): Promise<PreflightFailure | null> {
  try {
    await api.findMachinesByDnsName(PREFLIGHT_NAME);
    return null;
  } catch (error) {
    const failure = preflightFailure(error, env, config);
    if (failure) return failure;
    if (isMdeApiError(error)) return null;
    throw error;
  }
}
