/** What the reading verbs (`status`, `lookup`, `cancel`, `isolations`, `breaker`, `doctor`) share: a read-only runtime. */
import { ConfigError } from '../shared/config';
import { openReadOnly, type ReadOnlyRuntime } from '../shared/runtime';
import type { Tenant } from '../shared/tenants/tenant';
import { type CliIo, EXIT } from './context';
import { storageWords } from './mode';

/**
 * The read-only runtime (settings, throttled client, store), or exit code 2 once a bad setting is
 * reported as `VERB: why`. `withStore` prints where the register and breaker live first; `tenant`
 * (cli/tenant-flag.ts) is the listed tenant whose API and store it reads, null the deployment's.
 */
export function openReads(
  verb: string,
  io: CliIo,
  withStore = false,
  tenant: Tenant | null = null,
): ReadOnlyRuntime | number {
  let runtime: ReadOnlyRuntime;
  try {
    runtime = openReadOnly({ env: io.env, ...(tenant && { tenantId: tenant.tenantId }) });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    io.stderr.write(`${verb}: ${error.message}\n`);
    return EXIT.badInput;
  }
  if (withStore) io.stderr.write(`${storageWords(runtime.storage)}\n`);
  return runtime;
}

/** The operator's name for records (a breaker reset, a forced cancel): `--by`, else the login name. */
export function operatorName(io: CliIo, by: string | undefined): string {
  return by?.trim() || io.env.USER || io.env.USERNAME || 'mde-isolator CLI';
}
