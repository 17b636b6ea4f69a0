/**
 * `breaker status` and `breaker reset --reason TEXT [--by NAME]`: the shared blast-radius breaker
 * (docs/architecture.md §7). A reset closes it and forgets the window's count; the store records who
 * reset it and why.
 */
import type { Command } from 'commander';
import { ConfigError, loadConfig } from '../shared/config';
import { breakerLimits } from '../shared/dispatch/steps/blast-radius';
import { loadPolicy } from '../shared/policy/load';
import { PolicyError } from '../shared/policy/validate';
import type { BreakerLimits, SharedBreakerStatus } from '../shared/state/store';
import { deploymentPolicy, policyForTenant } from '../shared/tenants/policy';
import type { Tenant } from '../shared/tenants/tenant';
import { type CliContext, type CliIo, EXIT } from './context';
import { withExamples } from './help';
import { endOnStoreError, formatOf, type OutputFlags, withOutputOptions, writeJson } from './output';
import { openReads, operatorName } from './read-session';
import { type TenantFlags, tenantOfFlags, withTenantOption } from './tenant-flag';

export interface ResetOptions extends OutputFlags, TenantFlags {
  reason?: string;
  by?: string;
}

type BreakerOptions = OutputFlags & TenantFlags;

/**
 * The policy's limit and window: what the breaker is measured against. A listed tenant's breaker is
 * its own, measured against its own policy (the deployment's merged with its override).
 */
function limitsFor(io: CliIo, tenant: Tenant | null): BreakerLimits {
  const config = loadConfig(io.env);
  return breakerLimits(
    tenant ? policyForTenant(deploymentPolicy(config), tenant) : loadPolicy(config.policySource, null),
  );
}

function statusText(status: SharedBreakerStatus): string {
  const lines = [
    `breaker ${status.open ? 'OPEN' : 'closed'}: ${status.count} isolation(s) in the last ${status.windowMs / 60_000} min ` +
      `(limit ${status.limit}), ${status.reserved} being posted`,
  ];
  if (status.open)
    lines.push(
      `  why: ${status.reason ?? '-'}`,
      `  closes by itself at: ${status.closesAt?.toISOString() ?? '-'}`,
    );
  for (const reset of status.resets) lines.push(`  reset ${reset.at} by ${reset.by}: ${reset.reason}`);
  return `${lines.join('\n')}\n`;
}

async function withBreaker(
  verb: string,
  io: CliIo,
  options: BreakerOptions,
  act: (
    limits: BreakerLimits,
    runtime: Exclude<ReturnType<typeof openReads>, number>,
  ) => Promise<SharedBreakerStatus>,
): Promise<number> {
  const tenant = tenantOfFlags(verb, io, options);
  if (typeof tenant === 'number') return tenant;
  let limits: BreakerLimits;
  try {
    limits = limitsFor(io, tenant);
  } catch (error) {
    if (!(error instanceof ConfigError || error instanceof PolicyError)) throw error;
    io.stderr.write(`${verb}: ${error.message}\n`);
    return EXIT.badInput;
  }
  const runtime = openReads(verb, io, true, tenant);
  if (typeof runtime === 'number') return runtime;
  try {
    const status = await act(limits, runtime);
    if (formatOf(options, io) === 'json') writeJson(io, options, status);
    else io.stdout.write(statusText(status));
    return EXIT.ok;
  } catch (error) {
    return endOnStoreError(io, formatOf(options, io), verb, error);
  } finally {
    await runtime.close();
  }
}

export function runBreakerStatus(options: BreakerOptions, io: CliIo): Promise<number> {
  return withBreaker('breaker status', io, options, (limits, runtime) =>
    runtime.store.breaker.status(limits),
  );
}

export async function runBreakerReset(options: ResetOptions, io: CliIo): Promise<number> {
  const reason = options.reason?.trim();
  if (!reason) {
    io.stderr.write('breaker reset: --reason is required; it is recorded with who reset the breaker\n');
    return EXIT.badInput;
  }
  return withBreaker('breaker reset', io, options, async (limits, runtime) => {
    const by = operatorName(io, options.by);
    await runtime.store.breaker.reset(by, reason);
    runtime.notify({ kind: 'breaker-reset', at: new Date().toISOString(), by, reason });
    return runtime.store.breaker.status(limits);
  });
}

export function registerBreaker(program: Command, cli: CliContext): void {
  const breaker = withExamples(
    program.command('breaker').description('show or reset the blast-radius breaker'),
    ['mde-isolator breaker status', "mde-isolator breaker reset --reason 'false positive, rule fixed'"],
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
