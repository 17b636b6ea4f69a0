/**
 * `doctor`'s checks of the deployed app, made from outside as any caller would. The one here: with Entra
 * sign-in on (MANUAL_EASY_AUTH), the app takes the caller's identity from `x-ms-client-principal`, which App
 * Service authentication sets and no outside request can (docs/guide/manual-operations.md "Signing in with Entra ID (optional)"). If the
 * platform's authentication is off or does not cover the manual routes while the app trusts that header,
 * anyone holding a function key can claim to be any operator. So a forged header, with a valid function
 * key and no token, must be refused by the platform before the function runs.
 * https://learn.microsoft.com/azure/app-service/configure-authentication-user-identities
 */
import { readBodyWithin } from '../shared/intake/http-body';
import { isRecord } from '../shared/kernel/records';
import { OPERATOR_ROLE, PRINCIPAL_HEADER } from '../shared/manual/caller';

/** Where the deployed app is and a key valid for its keyed functions (the default host key). */
export const DEPLOYED_APP_SETTINGS = {
  url: 'MDE_ISOLATOR_APP_URL',
  key: 'MDE_ISOLATOR_FUNCTION_KEY',
} as const;

export type DeployedCheck = { pass: boolean; line: string } | { skip: string };

const TIMEOUT_MS = 15_000;
/** Answers read for their error code; a larger body is not one of the app's. */
const BODY_MAX = 64 * 1024;
const KEY_HOWTO = 'az functionapp keys list -g <rg> -n <app> --query functionKeys.default -o tsv';

/**
 * A principal as Easy Auth would encode it, for a made-up caller without the operator role: if the app
 * does trust it, it answers 403 for the missing role, so the probe never acts as an operator.
 */
const FORGED_PRINCIPAL = Buffer.from(
  JSON.stringify({
    auth_typ: 'aad',
    name_typ: 'name',
    role_typ: 'roles',
    claims: [{ typ: 'name', val: 'mde-isolator doctor (forged principal)' }],
  }),
).toString('base64');

/** The app's base URL: https, or http on loopback only (a function key never crosses a network in clear). */
function appUrl(value: string): URL | string {
  const url = URL.canParse(value) ? new URL(value) : null;
  if (!url) return `${DEPLOYED_APP_SETTINGS.url} is not a URL: give https://<app>.azurewebsites.net`;
  const loopback = ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback))
    return `${DEPLOYED_APP_SETTINGS.url} must be an https URL (the function key is sent to it)`;
  return new URL(url.origin);
}

interface Answer {
  status: number;
  /** The `error.code` of the app's JSON problem answers; null for anything else (the platform's). */
  code: string | null;
}

async function get(base: URL, path: string, headers: Record<string, string>): Promise<Answer> {
  const response = await fetch(new URL(path, base), {
    headers,
    redirect: 'manual',
    signal: AbortSignal.timeout(TIMEOUT_MS),
  });
  const read = await readBodyWithin(response.body, BODY_MAX);
  let code: string | null = null;
  if ('bytes' in read) {
    try {
      const body: unknown = JSON.parse(read.bytes.toString('utf8'));
      const error = isRecord(body) && isRecord(body.error) ? body.error : null;
      code = typeof error?.code === 'string' ? error.code : null;
    } catch {
      code = null;
    }
  }
  return { status: response.status, code };
}

function verdict(host: string, answer: Answer): DeployedCheck {
  const at = `deployed app: ${host}`;
  if (answer.status === 401 && answer.code === null)
    return { pass: true, line: `${at} refuses a forged ${PRINCIPAL_HEADER} with a valid key (401, sign-in)` };
  if (answer.status === 302)
    return { pass: true, line: `${at} sends a forged ${PRINCIPAL_HEADER} to sign-in (302)` };
  if (answer.status === 401 && answer.code === 'unauthenticated')
    return { pass: true, line: `${at} strips a forged ${PRINCIPAL_HEADER}; the app then asks for sign-in` };
  if (answer.status === 403 && answer.code === 'forbidden')
    return {
      pass: false,
      line:
        `${at} trusts a forged ${PRINCIPAL_HEADER}: MANUAL_EASY_AUTH is on but App Service ` +
        `authentication does not guard the manual routes, so any key holder can claim to hold ` +
        `${OPERATOR_ROLE}; turn authentication on (redeploy with manualAuthClientId) or set MANUAL_EASY_AUTH=off`,
    };
  if (answer.status >= 200 && answer.status < 300)
    return { skip: `${at}: Entra sign-in is off (manual endpoints on function keys alone)` };
  return { pass: false, line: `${at} answered ${answer.status} to the forged-principal probe; expected 401` };
}

/** Skipped unless MDE_ISOLATOR_APP_URL is set; the key is sent, never printed. */
export async function forgedPrincipalCheck(
  env: Readonly<Record<string, string | undefined>>,
): Promise<DeployedCheck> {
  const setting = env[DEPLOYED_APP_SETTINGS.url];
  if (!setting) return { skip: `deployed app: ${DEPLOYED_APP_SETTINGS.url} not set` };
  const base = appUrl(setting);
  if (typeof base === 'string') return { pass: false, line: `deployed app: ${base}` };
  const key = env[DEPLOYED_APP_SETTINGS.key];
  if (!key)
    return { pass: false, line: `deployed app: ${DEPLOYED_APP_SETTINGS.key} is not set: ${KEY_HOWTO}` };
  const keyed = { 'x-functions-key': key };
  try {
    // Two keyed functions outside sign-in accept it: a host key, valid on the manual routes too, so a 401
    // there can only be the platform's sign-in (function keys are per function).
    for (const path of ['/api/health/details', '/api/alerts']) {
      const answer = await get(base, path, keyed);
      if (answer.status === 401 || answer.status === 403)
        return {
          pass: false,
          line: `deployed app: ${base.host}${path} refuses the key; give the host key: ${KEY_HOWTO}`,
        };
    }
    return verdict(
      base.host,
      await get(base, '/api/isolations', { ...keyed, [PRINCIPAL_HEADER]: FORGED_PRINCIPAL }),
    );
  } catch (error) {
    const kind = error instanceof Error ? error.name : 'error';
    return {
      pass: false,
      line: `deployed app: ${base.host} cannot be reached (${kind}); check ${DEPLOYED_APP_SETTINGS.url}`,
    };
  }
}
