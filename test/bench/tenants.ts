/**
 * `npm run bench -- tenants [--speedup N] [--tenants N,…] [--devices N] [--store memory|table]`:
 * tenants storming one deployment at once (docs/decisions/0029-many-tenants.md). For 1, 5 and 20
 * tenants by default, each tenant has its own simulator playing it (its devices, its quota, enforced:
 * a 429 past any window) and its token from a loopback Entra authority through the federated
 * identity; its tables are in the process, or with `--store table` in one Azurite behind the Table
 * transaction counter, by the tenant's table prefix. The storm bench's alerts (ten per device, mixed
 * naming and severities, duplicates) of every tenant arrive together, a batch of each in turn, in one
 * runtime.
 *
 * Figures per tenant count: each tenant's makespan (its first alert's arrival to its last isolate
 * POST) over the quota-optimal for its alerts' arrival times (shared/dispatch/quota/optimum.ts), and
 * the first to last POST over the optimum as if all had come at once, the worst, median and best
 * tenant; devices isolated,
 * duplicate POSTs and 429s over all tenants; the process's CPU share and event-loop p99
 * (process-load.ts); process CPU per isolated device, and Table transactions per isolated device with
 * `--store table`. The simulators run in this process, so its CPU includes theirs; Azurite runs in a
 * process of its own, outside that figure.
 */
import { setImmediate as yieldToIo } from 'node:timers/promises';
import { parseRateLimits } from '../../shared/config';
import { quotaOptimalSpanMs, quotaSchedule } from '../../shared/dispatch/quota/optimum';
import { compressTiming } from '../../shared/dispatch/timing';
import { loadPolicy } from '../../shared/policy/load';
import { createRuntime } from '../../shared/runtime';
import { InMemoryStateStore } from '../../shared/state/memory';
import { TableStateStore, tenantTablePrefix } from '../../shared/state/table';
import { type RunningSimulator, startSimulator } from '../../simulator';
import { startAzurite } from '../../simulator/azurite';
import { USER_ASSIGNED_IDENTITY, USER_ASSIGNED_ROLES } from '../support/identity';
import {
  type LoopbackAuthority,
  startAuthority,
  trustLoopbackInProcess,
} from '../support/loopback-authority';
import { startSimulatorWithIdentity } from '../support/simulator';
import { startTransactionCounter } from '../support/table-transaction-counter';
import { stormOptions, UsageError } from './options';
import { describeLoad, startLoadMeter } from './process-load';
import { ALERTS_PER_DEVICE, POLICY, rateLimitsAt, stormAlerts } from './storm';

const DEFAULT_TENANTS = [1, 5, 20];
/** As many as MDE_TENANTS may list. */
const MAX_TENANTS = 200;
/**
 * Three minute windows' worth of calls, so the quota paces each tenant; few enough that 20 tenants'
 * storms end within about five minutes on a busy 2-core machine.
 */
const DEFAULT_DEVICES_PER_TENANT = 300;
/** Alerts per intake call and tenant; the worker runs between calls, as with HTTP requests arriving. */
const BATCH = 50;
const APP_CLIENT_ID = '6a1f0e2d-3c4b-4a59-8e7f-90a1b2c3d4e5';

/**
 * Where each tenant's tables are: in the process (the default, as the storm bench), or in Azurite
 * behind the Table transaction counter. On a loaded 2-core machine Azurite answers in tens of
 * milliseconds, so with `table` intake, not the quota, paces the storm: its figure is the store's cost.
 */
type StoreKind = 'memory' | 'table';
const STORES: readonly StoreKind[] = ['memory', 'table'];

interface TenantsOptions {
  speedup: number;
  tenants: number[];
  devicesPerTenant: number;
  store: StoreKind;
}

/** `flag`'s value taken out of `args`: the value (null when absent) and the args left for stormOptions. */
function takeFlag(args: string[], flag: string, usage: string): { value: string | null; rest: string[] } {
  const at = args.indexOf(flag);
  if (at === -1) return { value: null, rest: args };
  const value = args[at + 1];
  if (value === undefined) throw new UsageError(`${flag} needs a value; usage: ${usage}`);
  return { value, rest: [...args.slice(0, at), ...args.slice(at + 2)] };
}

function tenantsOptions(args: string[]): TenantsOptions {
  const usage = `[--speedup N] [--tenants N[,N…] (1–${MAX_TENANTS}, default ${DEFAULT_TENANTS.join(',')})] [--devices N (per tenant, default ${DEFAULT_DEVICES_PER_TENANT})] [--store memory|table]`;
  const tenantsFlag = takeFlag(args, '--tenants', usage);
  const storeFlag = takeFlag(tenantsFlag.rest, '--store', usage);
  const rest = storeFlag.rest;
  if (rest.includes('--arrival'))
    throw new UsageError(`every tenant's storm arrives at once; usage: ${usage}`);
  const { speedup, devices } = stormOptions(rest, { devices: [DEFAULT_DEVICES_PER_TENANT] });
  if (devices.length !== 1) throw new UsageError(`--devices takes one count per tenant; usage: ${usage}`);
  const tenants = (tenantsFlag.value ?? DEFAULT_TENANTS.join(',')).split(',').map(Number);
  if (tenants.some((n) => !Number.isInteger(n) || n < 1 || n > MAX_TENANTS))
    throw new UsageError(
      `--tenants takes whole numbers from 1 to ${MAX_TENANTS}, not "${tenantsFlag.value}"`,
    );
  const store = (storeFlag.value ?? 'memory') as StoreKind;
  if (!STORES.includes(store)) throw new UsageError(`--store takes memory or table, not "${store}"`);
  return { speedup, tenants, devicesPerTenant: devices[0], store };
}

/** Tenant ids of the run: GUIDs that say which tenant they are. */
const tenantIdOf = (index: number) => `7e0a0000-0000-4000-8000-${String(index).padStart(12, '0')}`;

interface TenantFigures {
  isolated: number;
  posts: number;
  duplicates: number;
  throttled: number;
  /** From the first alert's arrival to the last POST, over the quota-optimal for the arrivals. */
  ratio: number;
  /** From the first POST to the last, over the quota-optimal as if every alert had come at once. */
  ratioAtOnce: number;
}

/**
 * What one tenant's simulator saw of its storm. `dueAt` holds, for each device, when the first alert
 * naming it arrived: no throttle can post before that, and one process taking in every tenant's
 * alerts spreads each tenant's arrivals over the whole intake (deployed, intake runs on the HTTP
 * instances, apart from the worker). The quota-optimal for those arrivals (optimum.ts) is what each
 * tenant's worker is measured against; the figure as if everything had come at once is printed too.
 */
function tenantFigures(
  sim: RunningSimulator,
  rateLimits: string,
  dueAt: ReadonlyMap<string, number>,
): TenantFigures {
  const calls = sim.calls();
  const postTimes = calls
    .filter((c) => c.api === 'isolate' && c.method === 'POST' && c.status === 201)
    .map((c) => c.timeMs);
  const perMachine = new Map<string, number>();
  for (const action of sim.actions().filter((a) => a.type === 'Isolate'))
    perMachine.set(action.machineId, (perMachine.get(action.machineId) ?? 0) + 1);
  const windows = parseRateLimits(rateLimits);
  const arrivals = [...dueAt.values()].sort((a, b) => a - b);
  const schedule = quotaSchedule(arrivals, windows);
  const lastPost = Math.max(...postTimes);
  return {
    isolated: sim.machines().filter((m) => sim.machineState(m.id)?.isolated).length,
    posts: postTimes.length,
    duplicates: [...perMachine.values()].reduce((sum, n) => sum + Math.max(0, n - 1), 0),
    throttled: calls.filter((c) => c.status === 429).length,
    ratio: (lastPost - arrivals[0]) / (schedule[schedule.length - 1] - arrivals[0]),
    ratioAtOnce: (lastPost - Math.min(...postTimes)) / quotaOptimalSpanMs(postTimes.length, windows),
  };
}

async function storm(
  tenantCount: number,
  options: TenantsOptions,
  identity: { provider: RunningSimulator; authority: LoopbackAuthority },
): Promise<void> {
  const { speedup, devicesPerTenant } = options;
  const rateLimits = rateLimitsAt(speedup);
  const headroom = process.env.MDE_RATE_HEADROOM;
  const tables = options.store === 'table' ? await startTables() : null;
  const tenants = await Promise.all(
    Array.from({ length: tenantCount }, async (_, index) => {
      const id = tenantIdOf(index + 1);
      const sim = await startSimulator({
        tenantId: id,
        fleet: { curated: false, generate: devicesPerTenant, offlineShare: 0, seed: index + 1 },
        rateLimits,
        lifecycle: { pendingMs: 5_000 / speedup, inProgressMs: 10_000 / speedup },
      });
      const { alerts, machineIdOf } = stormAlerts(sim, ALERTS_PER_DEVICE * devicesPerTenant);
      return {
        id,
        sim,
        alerts: alerts.map((alert) => ({ ...(alert as object), aadTenantId: id })),
        machineIdOf,
        dueAt: new Map<string, number>(),
      };
    }),
  );
  const runtime = createRuntime({
    env: {
      ...identity.provider.env(),
      AZURE_CLIENT_ID: USER_ASSIGNED_IDENTITY,
      MDE_TENANT_APP_CLIENT_ID: APP_CLIENT_ID,
      MDE_TENANTS: JSON.stringify(
        tenants.map((t, i) => ({ tenantId: t.id, displayName: `Tenant ${i + 1}`, apiUrl: t.sim.baseUrl })),
      ),
      MDE_RATE_LIMITS: rateLimits,
      ...(headroom === undefined ? {} : { MDE_RATE_HEADROOM: headroom }),
      MDE_REQUEST_TIMEOUT_MS: '3000',
    },
    policy: loadPolicy({ kind: 'inline', text: JSON.stringify(POLICY) }, null),
    // As the storm bench: seconds become 2/speedup of a second.
    timing: compressTiming(2 / speedup),
    concurrency: 32,
    maxConcurrentCalls: 16,
    // The deployment's own store holds nothing of a tenant's storm (the approvals only).
    store: new InMemoryStateStore(),
    tenantStore: (tenantId) => tables?.storeOf(tenantId) ?? new InMemoryStateStore(),
    authorityHost: identity.authority.host,
    reporter: { outcome: () => undefined, note: () => undefined },
  });
  try {
    // The tables each tenant's lane creates at start are not the storm's.
    await runtime.waitForIdle(60_000);
    tables?.counter.reset();
    const meter = startLoadMeter();
    const cpu = process.cpuUsage();
    const started = Date.now();
    const alertsPerTenant = ALERTS_PER_DEVICE * devicesPerTenant;
    for (let i = 0; i < alertsPerTenant; i += BATCH)
      for (const t of tenants) {
        // Every tenant's sources post in turn, each batch an HTTP request of its own: as a host does
        // between requests, the worker's answers that came meanwhile are taken before the next. Taken
        // all at once, 20 tenants' batches held the worker for a thousand alerts of intake a turn.
        const arrivedAt = t.sim.now();
        for (const machineId of t.machineIdOf.slice(i, i + BATCH))
          if (!t.dueAt.has(machineId)) t.dueAt.set(machineId, arrivedAt);
        await runtime.receiveAlerts(t.alerts.slice(i, i + BATCH));
        await yieldToIo();
      }
    const intakeMs = Date.now() - started;
    await runtime.inline?.idle();
    const totalMs = Date.now() - started;
    const load = meter.stop();
    const used = process.cpuUsage(cpu);

    const figures = tenants.map((t) => tenantFigures(t.sim, rateLimits, t.dueAt));
    const isolated = figures.reduce((sum, f) => sum + f.isolated, 0);
    const spread = (pick: (f: TenantFigures) => number) => {
      const sorted = figures.map(pick).sort((a, b) => a - b);
      return `worst ${sorted[sorted.length - 1].toFixed(3)}, median ${sorted[Math.floor(sorted.length / 2)].toFixed(3)}, best ${sorted[0].toFixed(3)}`;
    };
    const sum = (pick: (f: TenantFigures) => number) => figures.reduce((total, f) => total + pick(f), 0);
    const lines = [
      `tenants (${tenantCount} at once): ${devicesPerTenant} devices and ${alertsPerTenant} alerts each, quota ${rateLimits} per tenant on both sides (${speedup}× real time), headroom ${runtime.config.rateHeadroom}, ${options.store === 'table' ? 'tables in Azurite' : 'tables in process'}`,
      `  devices isolated ${isolated} of ${tenantCount * devicesPerTenant}; isolate POSTs accepted ${sum((f) => f.posts)}; duplicate POSTs ${sum((f) => f.duplicates)}; 429s ${sum((f) => f.throttled)}; dead letters ${runtime.inline?.deadLetters.length ?? 0}`,
      `  makespan over the quota-optimal for its alerts' arrival, per tenant: ${spread((f) => f.ratio)}`,
      `  as if every alert had come at once: ${spread((f) => f.ratioAtOnce)} (optimal ${(quotaOptimalSpanMs(devicesPerTenant, parseRateLimits(rateLimits)) / 1000).toFixed(2)} s)`,
      `  ratio of each tenant, in order: ${figures.map((f) => f.ratio.toFixed(3)).join(' ')}`,
      `  per isolated device: process CPU ${((used.user + used.system) / 1_000 / Math.max(1, isolated)).toFixed(2)} ms (intake, worker and the simulators)${tables ? `, Table transactions ${(tables.counter.total() / Math.max(1, isolated)).toFixed(1)}` : ''}`,
      `  intake of every alert ${(intakeMs / 1000).toFixed(2)} s; everything ended after ${(totalMs / 1000).toFixed(2)} s; ${describeLoad(load)}`,
    ];
    process.stdout.write(`${lines.join('\n')}\n\n`);
  } finally {
    await runtime.close();
    await Promise.all(tenants.map((t) => t.sim.close()));
    await tables?.close();
  }
}

/** One Azurite behind the transaction counter; each tenant's tables by its prefix, as deployed. */
async function startTables() {
  const azurite = await startAzurite();
  const counter = await startTransactionCounter(azurite.port);
  return {
    counter,
    storeOf: (tenantId: string) =>
      new TableStateStore(
        { kind: 'connection-string', connectionString: counter.connectionString },
        { tablePrefix: tenantTablePrefix(tenantId) },
      ),
    async close() {
      await counter.close();
      await azurite.stop();
    },
  };
}

export async function run(args: string[] = []): Promise<void> {
  const options = tenantsOptions(args);
  // The provider's own tenant: its identity endpoint holds the user-assigned identity whose token
  // each tenant's authority exchanges.
  const provider = await startSimulatorWithIdentity({ userAssignedIdentities: USER_ASSIGNED_ROLES });
  const authority = await startAuthority();
  const distrust = trustLoopbackInProcess(authority.certificate);
  try {
    for (const count of options.tenants) await storm(count, options, { provider, authority });
  } finally {
    distrust();
    await authority.close();
    await provider.close();
  }
}
