/**
 * `doctor`: checks what a run needs, one pass/fail line each: the settings, the store (and says when
 * it is this process's own), a token (its audience and permissions, never the token itself), the MDE
 * API, the queue where one is configured, and the deployed app's sign-in (cli/deployed-checks.ts); with
 * `-o json`, one object per check. Exit 0 when all pass, 1 when one fails, 2 on bad settings.
 */

import type { TokenCredential } from '@azure/identity';
import type { Command } from 'commander';
import { type AppConfig, ConfigError, loadConfig } from '../shared/config';
import { DEFAULT_TIMING } from '../shared/dispatch/timing';
import { errorMessage } from '../shared/kernel/errors';
import { createCredential } from '../shared/mde/credential';
import { TenantCredentials } from '../shared/mde/tenant-credential';
import { claimsOf } from '../shared/mde/token-claims';
import type { ReadOnlyRuntime } from '../shared/runtime';
import { type CliContext, type CliIo, EXIT } from './context';
import { forgedPrincipalCheck } from './deployed-checks';
import { withExamples } from './help';
import { storageWords } from './mode';
import { fitLine, formatOf, type OutputFlags, withOutputOptions, writeJson } from './output';
import { preflight, sayRetries } from './preflight';
import { openReads } from './read-session';

type Check = { pass: boolean; line: string } | { skip: string };

/** A check as `-o json` prints it: its name (the line's first word), its result and what it found. */
interface CheckResult {
  check: string;
  result: 'pass' | 'fail' | 'skip' | 'note';
  detail: string;
}

function resultOf(check: Check): CheckResult {
  const line = 'skip' in check ? check.skip : check.line;
  const [name, ...detail] = line.split(': ');
  const result = 'skip' in check ? 'skip' : check.pass ? 'pass' : 'fail';
  return { check: name, result, detail: detail.join(': ') };
}

/** Application permissions (app tokens: `roles`) or delegated ones (a user's sign-in: `scp`) a run needs (docs/mde-api.md §2). */
const APPLICATION_NEEDS = [['Machine.Isolate'], ['Machine.Read.All', 'Machine.ReadWrite.All']];
const DELEGATED_NEEDS = [['Machine.Isolate'], ['Machine.Read', 'Machine.ReadWrite']];

/** The resource a `.default` scope names: what a token's `aud` must be. */
function resourceOf(scope: string): string {
  return scope.replace(/\/\.default$/, '');
}

/** Where a token is for: the check's name, its scope and cloud, and what to do when none comes. */
interface TokenTarget {
  name: string;
  tokenScope: string;
  cloud: AppConfig['cloud'];
  /** Added to the failure when no token comes. */
  fix: string;
}

async function tokenCheck(credential: TokenCredential, target: TokenTarget): Promise<Check> {
  const { name, tokenScope } = target;
  let token: string | undefined;
  try {
    token = (await credential.getToken(tokenScope))?.token;
  } catch (error) {
    // The class only: the library's message may quote the identity endpoint's answer.
    const kind = error instanceof Error ? error.name : 'error';
    return { pass: false, line: `${name}: no token for ${tokenScope} (${kind}; ${target.fix})` };
  }
  const claims = token ? claimsOf(token) : null;
  if (!claims) return { pass: false, line: `${name}: the credential returned no JWT access token` };
  const who = String(claims.upn ?? claims.appid ?? claims.oid ?? '?');
  const audience = String(claims.aud ?? '');
  if (audience.replace(/\/$/, '') !== resourceOf(tokenScope))
    return {
      pass: false,
      line: `${name}: audience ${audience} is not ${resourceOf(tokenScope)} (MDE_CLOUD=${target.cloud}); MDE refuses it`,
    };
  const delegated = typeof claims.scp === 'string';
  const granted = delegated
    ? String(claims.scp).split(' ')
    : Array.isArray(claims.roles)
      ? claims.roles.map(String)
      : [];
  const needs = delegated ? DELEGATED_NEEDS : APPLICATION_NEEDS;
  const missing = needs
    .filter((anyOf) => !anyOf.some((p) => granted.includes(p)))
    .map((anyOf) => anyOf.join(' or '));
  const kind = delegated ? 'delegated (a user sign-in)' : 'application';
  return missing.length === 0
    ? {
        pass: true,
        line: `${name}: ${who}, tenant ${String(claims.tid ?? '?')}, audience ${audience}, ${kind} permissions ${granted.join(', ')}`,
      }
    : {
        pass: false,
        line: `${name}: ${who} lacks ${kind} permission ${missing.join(', ')}; grant it and give admin consent`,
      };
}

const LIBRARY_DETAILS = "AZURE_LOG_LEVEL=info logs the library's details";

/**
 * Each listed tenant's consent (MDE_TENANTS): the app's token for that tenant, through the federated
 * identity (shared/mde/tenant-credential.ts), judged as the deployment's token is. No token: the tenant
 * has not consented yet, or the identity is no federated credential of the app.
 */
export async function tenantChecks(config: AppConfig, credentials?: TenantCredentials): Promise<Check[]> {
  const { tenants, tenantAppClientId, managedIdentityClientId } = config;
  if (!tenants || !tenantAppClientId || !managedIdentityClientId) return [];
  const perTenant =
    credentials ?? new TenantCredentials({ appClientId: tenantAppClientId, managedIdentityClientId });
  const checks: Check[] = [];
  for (const tenant of tenants)
    checks.push(
      await tokenCheck(perTenant.forTenant(tenant), {
        name: `tenant ${tenant.displayName}`,
        tokenScope: tenant.tokenScope,
        cloud: tenant.cloud,
        fix: `has ${tenant.tenantId} consented? scripts/tenant-consent-urls.sh; ${LIBRARY_DETAILS}`,
      }),
    );
  return checks;
}

async function apiCheck(runtime: ReadOnlyRuntime, io: CliIo): Promise<Check> {
  const failure = await preflight(runtime.api, io.env, runtime.config, {
    timing: DEFAULT_TIMING,
    retrying: sayRetries(io.stderr, 'doctor'),
  });
  return failure
    ? { pass: false, line: `MDE API: ${failure.kind}: ${failure.message}` }
    : { pass: true, line: `MDE API: ${runtime.config.apiBaseUrl} answers a machines lookup` };
}

async function storeCheck(runtime: ReadOnlyRuntime): Promise<Check> {
  try {
    await runtime.store.ping();
    return { pass: true, line: `store: ${storageWords(runtime.storage)} answers` };
  } catch (error) {
    return {
      pass: false,
      line: `store: ${storageWords(runtime.storage)} does not answer: ${errorMessage(error)}`,
    };
  }
}

/** What to do about a queue that does not answer. */
const QUEUE_FIX = {
  unauthorized: 'this identity lacks Listen on it: grant Azure Service Bus Data Receiver on the queue',
  'not-found': 'no such queue in the namespace: check ISOLATION_QUEUE',
  unreachable:
    'the namespace cannot be reached: check ServiceBusConnection__fullyQualifiedNamespace and the network',
  failed: 'Service Bus refused the peek',
} as const;

/**
 * The app's request queue, where one is configured: one peek with the CLI's credential. The CLI itself
 * dispatches inline, but an operator who sees this pass knows the namespace, the queue and their
 * rights on it are right.
 */
async function queueCheck(config: AppConfig): Promise<Check> {
  const namespace = config.serviceBusNamespace;
  if (!namespace) return { skip: 'queue: none configured (inline dispatch)' };
  const { probeQueue } = await import('../shared/dispatch/transport/service-bus-queue');
  const where = `${config.queueName} on ${namespace}`;
  const probe = await probeQueue({ namespace, credential: createCredential(config) }, config.queueName);
  if (probe.ok)
    return {
      pass: true,
      line: `queue: ${where} answers a peek (${probe.messageWaiting ? 'messages waiting' : 'empty'})`,
    };
  return { pass: false, line: `queue: ${where}: ${probe.kind}: ${QUEUE_FIX[probe.kind]} (${probe.message})` };
}

function textOf(check: Check): string {
  return 'skip' in check ? `skip  ${check.skip}` : `${check.pass ? 'pass' : 'FAIL'}  ${check.line}`;
}

export async function runDoctor(options: OutputFlags, io: CliIo): Promise<number> {
  const json = formatOf(options, io) === 'json';
  let config: AppConfig;
  try {
    config = loadConfig(io.env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    const failed: Check = { pass: false, line: `settings: ${error.message}` };
    if (json) writeJson(io, options, [resultOf(failed)]);
    else io.stdout.write(`${textOf(failed)}\n`);
    return EXIT.badInput;
  }
  const runtime = openReads('doctor', io);
  if (typeof runtime === 'number') return runtime;
  try {
    const note =
      runtime.storage === 'embedded' ? `store: the CLI runs with a ${storageWords('embedded')}` : null;
    if (note && !json) io.stdout.write(fitLine(io, options, `note  ${note.replace(/^store: /, '')}`, 6));
    const checks: Check[] = [
      { pass: true, line: `settings: MDE_CLOUD=${config.cloud}, MDE_API_URL=${config.apiBaseUrl}` },
      await storeCheck(runtime),
      await tokenCheck(createCredential(config), {
        name: 'token',
        tokenScope: config.tokenScope,
        cloud: config.cloud,
        fix: LIBRARY_DETAILS,
      }),
      ...(await tenantChecks(config)),
      await apiCheck(runtime, io),
      await queueCheck(config),
      await forgedPrincipalCheck(io.env),
    ];
    if (json) {
      const results = checks.map(resultOf);
      const noted: CheckResult[] = note ? [{ ...resultOf({ skip: note }), result: 'note' }] : [];
      writeJson(io, options, [...noted, ...results]);
    } else for (const check of checks) io.stdout.write(fitLine(io, options, textOf(check), 6));
    return checks.some((c) => 'pass' in c && !c.pass) ? EXIT.failure : EXIT.ok;
  } finally {
    await runtime.close();
  }
}

export function registerDoctor(program: Command, cli: CliContext): void {
  const command = program
    .command('doctor')
    .description(
      'check settings, store, token (audience, permissions), MDE API and queue: one pass/fail line each',
    );
  withExamples(withOutputOptions(command), [
    'mde-isolator doctor',
    'mde-isolator doctor -o json -q check,result',
  ]).action(async (options: OutputFlags) => {
    cli.exitWith(await runDoctor(options, cli.io));
  });
}
