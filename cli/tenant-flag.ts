/**
 * `--tenant ID|NAME`: the listed tenant (MDE_TENANTS) a verb acts in or reads
 * (docs/decisions/0033-operator-authorization-per-tenant.md). With a list every verb about one
 * tenant's devices needs it: a host name means nothing across customers. Without a list it is refused,
 * never ignored: the verb would act in the identity's own tenant, whichever the person meant.
 */
import type { Command } from 'commander';
import { ConfigError, loadConfig } from '../shared/config';
import { resolveNamedTenant, tenantDirectory } from '../shared/tenants/lookup';
import type { Tenant } from '../shared/tenants/tenant';
import type { CliIo } from './context';
import { endOnBadInput, formatOf, type OutputFlags } from './output';

export interface TenantFlags {
  tenant?: string;
}

export function withTenantOption(command: Command): Command {
  return command.option(
    '--tenant <id|name>',
    'with MDE_TENANTS: the tenant to act in or read, by id or exact displayName',
  );
}

/**
 * The tenant `flags` name (null: the deployment's one tenant), or the exit code once why not is
 * reported as `VERB: why` (bad input: nothing was started). A setting the runtime would refuse is
 * reported the same way, before any work.
 */
export function tenantOfFlags(
  verb: string,
  io: CliIo,
  flags: TenantFlags & OutputFlags,
): Tenant | null | number {
  let tenants: Tenant[] | null;
  try {
    ({ tenants } = loadConfig(io.env));
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return endOnBadInput(io, formatOf(flags, io), verb, error.message);
  }
  const resolution = resolveNamedTenant(tenantDirectory(tenants), flags.tenant ?? null, '--tenant ID|NAME');
  if (resolution.kind === 'refused') return endOnBadInput(io, formatOf(flags, io), verb, resolution.message);
  return resolution.kind === 'tenant' ? resolution.tenant : null;
}
