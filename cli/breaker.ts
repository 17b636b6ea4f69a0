/**
 * `breaker status` and `breaker reset --reason TEXT [--by NAME]`: the shared blast-radius breaker
 * (docs/architecture.md §7), and the deployment-wide cap across tenants when the settings set one. A
 * reset closes it and forgets the window's count; the store records who reset it and why.
 */
import type { Command } from 'commander';
import { type AppConfig, ConfigError, type IsolationCap, loadConfig } from '../shared/config';
import { breakerLimits } from '../shared/dispatch/steps/blast-radius';
import { loadPolicy } from '../shared/policy/load';
import { PolicyError } from '../shared/policy/validate';
import type { ReadOnlyRuntime } from '../shared/runtime';
import type { BreakerLimits, SharedBreakerStatus } from '../shared/state/store';
import { deploymentPolicy, policyForTenant } from '../shared/tenants/policy';
import type { Tenant } from '../shared/tenants/tenant';
import { type CliContext, type CliIo, EXIT } from './context';
import { withExamples } from './help';
import {
  endOnBadInput,
  endOnStoreError,
  formatOf,
  type OutputFlags,
  withOutputOptions,
  writeJson,
} from './output';
import { openReads, operatorName } from './read-session';
import { type TenantFlags, tenantOfFlags, withTenantOption } from './tenant-flag';

export interface ResetOptions extends OutputFlags, TenantFlags {
  reason?: string;
  by?: string;
}

type BreakerOptions = OutputFlags & TenantFlags;

/**
 * What a breaker verb reads or resets, each with the limits it is measured against: a listed tenant's
 * breaker (`--tenant`), against its own policy (the deployment's merged with its override); without
 * `--tenant`, the deployment's breaker in a single-tenant deployment, against its policy, and the
 * deployment-wide cap when MDE_DEPLOYMENT_MAX_ISOLATIONS sets one
 * (docs/decisions/0035-a-deployment-wide-isolation-cap.md).
 */
interface BreakerTargets {
  tenant: Tenant | null;
  breaker: BreakerLimits | null;
  cap: IsolationCap | null;
}

/** The breaker's status, the cap's, or both, as the targets name them. */
interface BreakerView {
  breaker: SharedBreakerStatus | null;
  deploymentCap: SharedBreakerStatus | null;
}

/** The targets of the flags, or the exit code once why not is reported. */
function targetsOf(verb: string, io: CliIo, options: BreakerOptions): BreakerTargets | number {
  let config: AppConfig;
  try {
    config = loadConfig(io.env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return endOnBadInput(io, formatOf(options, io), verb, error.message);
  }
  // With a tenant list the deployment's own breaker serves only requests naming no tenant: without
  // --tenant the verb is about the cap across them, and needs --tenant when there is none.
  if (options.tenant === undefined && config.tenants && config.deploymentCap)
    return { tenant: null, breaker: null, cap: config.deploymentCap };
  const tenant = tenantOfFlags(verb, io, options);
  if (typeof tenant === 'number') return tenant;
  try {
    return tenant
      ? { tenant, breaker: breakerLimits(policyForTenant(deploymentPolicy(config), tenant)), cap: null }
      : {
          tenant: null,
          breaker: breakerLimits(loadPolicy(config.policySource, null)),
          cap: config.deploymentCap,
        };
  } catch (error) {
    if (!(error instanceof ConfigError || error instanceof PolicyError)) throw error;
    io.stderr.write(`${verb}: ${error.message}\n`);
    return EXIT.badInput;
  }
}

function statusText(name: string, status: SharedBreakerStatus): string[] {
  const lines = [
    `${name} ${status.open ? 'OPEN' : 'closed'}: ${status.count} isolation(s) in the last ${status.windowMs / 60_000} min ` +
      `(limit ${status.limit}), ${status.reserved} being posted`,
  ];
  if (status.open)
    lines.push(
      `  why: ${status.reason ?? '-'}`,
      `  closes by itself at: ${status.closesAt?.toISOString() ?? '-'}`,
    );
  for (const reset of status.resets) lines.push(`  reset ${reset.at} by ${reset.by}: ${reset.reason}`);
  return lines;
}

function viewText({ breaker, deploymentCap }: BreakerView): string {
  const lines = [
    ...(breaker ? statusText('breaker', breaker) : []),
    ...(deploymentCap ? statusText('deployment-wide cap', deploymentCap) : []),
  ];
  return `${lines.join('\n')}\n`;
}

/** The breaker's status as before, with the cap's under `deploymentCap` when the verb read it. */
function viewJson({ breaker, deploymentCap }: BreakerView): unknown {
  return { ...breaker, ...(deploymentCap && { deploymentCap }) };
}

async function withBreaker(
  verb: string,
  io: CliIo,
  options: BreakerOptions,
  act: (targets: BreakerTargets, runtime: ReadOnlyRuntime) => Promise<void>,
): Promise<number> {
  const targets = targetsOf(verb, io, options);
  if (typeof targets === 'number') return targets;
  const runtime = openReads(verb, io, true, targets.tenant);
  if (typeof runtime === 'number') return runtime;
  try {
    const { store } = runtime;
    await act(targets, runtime);
    const view: BreakerView = {
      breaker: targets.breaker && (await store.breaker.status(targets.breaker)),
      deploymentCap: targets.cap && (await store.deploymentCap.status(targets.cap)),
    };
    if (formatOf(options, io) === 'json') writeJson(io, options, viewJson(view));
    else io.stdout.write(viewText(view));
    return EXIT.ok;
  } catch (error) {
    return endOnStoreError(io, formatOf(options, io), verb, error);
  } finally {
    await runtime.close();
  }
}

export function runBreakerStatus(options: BreakerOptions, io: CliIo): Promise<number> {
  return withBreaker('breaker status', io, options, async () => undefined);
}

export async function runBreakerReset(options: ResetOptions, io: CliIo): Promise<number> {
  const reason = options.reason?.trim();
  if (!reason) {
    io.stderr.write('breaker reset: --reason is required; it is recorded with who reset the breaker\n');
    return EXIT.badInput;
  }
  return withBreaker('breaker reset', io, options, async (targets, { store, notify }) => {
    const by = operatorName(io, options.by);
    if (targets.breaker) await store.breaker.reset(by, reason);
    // Beside the breaker (one tenant), the cap is reset only when it is open and so holds isolations
    // back: reopening a tripped breaker must not wipe the count of the ceiling it sits under.
    const cap = targets.cap && (!targets.breaker || (await store.deploymentCap.status(targets.cap)).open);
    if (cap) await store.deploymentCap.reset(by, reason);
    // One reset, one notification (the channels tell one reset per moment), saying what it closed.
    const what = cap ? (targets.breaker ? 'breaker and deployment-wide cap' : 'deployment-wide cap') : null;
    notify({
      kind: 'breaker-reset',
      at: new Date().toISOString(),
      by,
      reason: what ? `${what}: ${reason}` : reason,
    });
  });
}

export function registerBreaker(program: Command, cli: CliContext): void {
  const breaker = withExamples(
    program.command('breaker').description('show or reset the blast-radius breaker'),
    [
      'mde-isolator breaker status',
      "mde-isolator breaker reset --reason 'false positive, rule fixed'",
      "mde-isolator breaker reset --tenant Contoso --reason 'false positive, rule fixed'",
    ],
  );
  withOutputOptions(
    withTenantOption(
      breaker.command('status').description('show the breaker: open or closed, count, resets'),
    ),
  ).action(async (options: BreakerOptions) => cli.exitWith(await runBreakerStatus(options, cli.io)));
  withOutputOptions(
    withTenantOption(
      breaker
        .command('reset')
        .description('close the breaker and forget its count; recorded with who and why')
        .option('--reason <text>', 'why (required)')
        .option('--by <name>', 'who resets (default: the login name)'),
    ),
  ).action(async (options: ResetOptions) => cli.exitWith(await runBreakerReset(options, cli.io)));
}
